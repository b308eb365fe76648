//! Jina's `tracing: true`: the spans flowhost makes (`flowhost_telemetry::trace`) exported
//! over OTLP/gRPC to `traces_exporter_host:traces_exporter_port`, as Jina exports them.

use anyhow::Context as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

use flowhost_flow::Flow;

/// Spans being exported; [`TraceExport::shutdown`] sends what is still buffered.
pub struct TraceExport {
    provider: SdkTracerProvider,
}

/// Starts exporting when the flow (its `with:`, `gateway:` or an executor) says
/// `tracing: true`; `service` names this process in the traces.
pub fn start(flow: &Flow, service: &str) -> anyhow::Result<Option<TraceExport>> {
    let Some(endpoint) =
        super::otlp::exporter_endpoint(flow, "tracing", "traces", "no spans are exported")
    else {
        return Ok(None);
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(&endpoint)
        .build()
        .with_context(|| format!("cannot export traces to {endpoint}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_owned())
                .build(),
        )
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    flowhost_telemetry::trace::enable();
    tracing::info!(%endpoint, "exporting traces over OTLP/gRPC");
    Ok(Some(TraceExport { provider }))
}

impl TraceExport {
    /// Sends the spans still buffered and stops exporting.
    pub async fn shutdown(self) {
        let provider = self.provider;
        // The batch processor's flush blocks until its thread has exported.
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(error)) = flushed {
            tracing::warn!(%error, "some spans were not exported");
        }
    }
}
