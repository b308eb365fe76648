//! Jina's `tracing: true`: the spans flowhost records (`flowhost_telemetry::trace`) exported
//! over OTLP/gRPC to `traces_exporter_host:traces_exporter_port`, as Jina exports them.
//!
//! The batching and sampling follow OpenTelemetry's environment variables, as an SDK's
//! batch processor would: `OTEL_BSP_SCHEDULE_DELAY` (ms, 5000), `OTEL_BSP_MAX_QUEUE_SIZE`
//! (2048), `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` (512), `OTEL_BSP_EXPORT_TIMEOUT` (ms, 30000),
//! `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.

use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    self as otlp, ResourceSpans, ScopeSpans, span, status,
};
use tonic::transport::Channel;

use flowhost_flow::Flow;
use flowhost_telemetry::trace::{self, Batching, Operation, Sampler, SpanQueue};

use super::otlp::{collector_channel, env_number, text, unix_nanos};

/// Spans being exported; [`TraceExport::shutdown`] sends what is still queued.
pub struct TraceExport {
    queue: std::sync::Arc<SpanQueue>,
    thread: std::thread::JoinHandle<()>,
}

/// How the exporter batches, from OpenTelemetry's `OTEL_BSP_*` variables.
struct Schedule {
    batching: Batching,
    delay: Duration,
    timeout: Duration,
}

/// Starts exporting when the flow (its `with:`, `gateway:` or an executor) says
/// `tracing: true`; `service` names this process in the traces.
pub fn start(flow: &Flow, service: &str) -> anyhow::Result<Option<TraceExport>> {
    let Some(endpoint) =
        super::otlp::exporter_endpoint(flow, "tracing", "traces", "no spans are exported")
    else {
        return Ok(None);
    };
    let schedule = schedule();
    // The exporter's connection runs on a runtime of its own, driven by its thread, so
    // sending spans takes no turn on the workers that serve requests.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the trace exporter's runtime")?;
    let channel = {
        let _in_runtime = runtime.enter();
        collector_channel(&endpoint, "traces", schedule.timeout)?
    };
    let queue = std::sync::Arc::new(trace::enable(sampler(), schedule.batching)?);
    let exporter = Exporter {
        client: TraceServiceClient::new(channel),
        resource: Resource {
            attributes: vec![text("service.name", service)],
            ..Default::default()
        },
        endpoint: endpoint.clone(),
        batch: schedule.batching.batch,
    };
    let thread = std::thread::Builder::new()
        .name("trace-export".to_owned())
        .spawn({
            let queue = queue.clone();
            move || exporter.run(&queue, schedule.delay, &runtime)
        })
        .context("cannot start the trace exporter's thread")?;
    tracing::info!(%endpoint, "exporting traces over OTLP/gRPC");
    Ok(Some(TraceExport { queue, thread }))
}

impl TraceExport {
    /// Sends the spans still queued and stops exporting.
    pub async fn shutdown(self) {
        self.queue.close();
        let thread = self.thread;
        if let Ok(Err(_)) = tokio::task::spawn_blocking(move || thread.join()).await {
            tracing::warn!("the trace exporter stopped with a panic");
        }
    }
}

fn schedule() -> Schedule {
    let defaults = Batching::default();
    let millis = |name, default| {
        Duration::from_millis(env_number(name).unwrap_or(default)).max(Duration::from_millis(1))
    };
    let queue = env_number("OTEL_BSP_MAX_QUEUE_SIZE")
        .unwrap_or(defaults.queue)
        .max(1);
    // OpenTelemetry: a batch is at most the queue; and never empty.
    let batch = env_number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
        .unwrap_or(defaults.batch)
        .clamp(1, queue);
    Schedule {
        batching: Batching { queue, batch },
        delay: millis("OTEL_BSP_SCHEDULE_DELAY", 5000),
        timeout: millis("OTEL_BSP_EXPORT_TIMEOUT", 30_000),
    }
}

fn sampler() -> Sampler {
    let Ok(name) = std::env::var("OTEL_TRACES_SAMPLER") else {
        return Sampler::default();
    };
    let argument = std::env::var("OTEL_TRACES_SAMPLER_ARG").ok();
    Sampler::from_otel(&name, argument.as_deref()).unwrap_or_else(|error| {
        tracing::warn!(%error, "OTEL_TRACES_SAMPLER: every trace is recorded");
        Sampler::default()
    })
}

/// Takes batches off the span queue and sends them, on a thread of its own (the queue is
/// waited on with a condition variable, which a runtime worker must not block on), which
/// drives the connection's runtime while it sends.
struct Exporter {
    client: TraceServiceClient<Channel>,
    resource: Resource,
    endpoint: String,
    batch: usize,
}

impl Exporter {
    fn run(mut self, queue: &SpanQueue, delay: Duration, runtime: &tokio::runtime::Runtime) {
        let mut spans = Vec::new();
        loop {
            let taken = queue.take(delay, &mut spans);
            if taken.dropped > 0 {
                tracing::warn!(
                    dropped = taken.dropped,
                    "spans dropped: more ended than the export queue holds (OTEL_BSP_MAX_QUEUE_SIZE)"
                );
            }
            for batch in spans.chunks(self.batch) {
                let request = self.request(batch);
                if let Err(status) = runtime.block_on(self.client.export(request)) {
                    tracing::warn!(endpoint = %self.endpoint, %status, spans = batch.len(), "spans not exported");
                }
            }
            spans.clear();
            if taken.closed {
                return;
            }
        }
    }

    fn request(&self, spans: &[trace::Span]) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "flowhost".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..Default::default()
                    }),
                    spans: spans.iter().map(encode).collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }
}

/// One span in OTLP's shape.
fn encode(recorded: &trace::Span) -> otlp::Span {
    let mut attributes = Vec::new();
    let mut events = Vec::new();
    let kind = match &recorded.operation {
        Operation::Request {
            protocol,
            endpoint,
            request_id,
        } => {
            attributes.push(text("rpc.system", protocol));
            attributes.push(text("flowhost.endpoint", endpoint));
            attributes.push(text("flowhost.request_id", request_id));
            span::SpanKind::Server
        }
        Operation::ExecutorCall { .. } => span::SpanKind::Internal,
    };
    if let Some(phases) = &recorded.phases {
        let seconds = |from: SystemTime, to: SystemTime| {
            to.duration_since(from).unwrap_or_default().as_secs_f64()
        };
        events.push(span::Event {
            time_unix_nano: unix_nanos(phases.started),
            name: "started".to_owned(),
            ..Default::default()
        });
        attributes.push(number(
            "flowhost.queue_seconds",
            seconds(phases.queued, phases.started),
        ));
        attributes.push(number(
            "flowhost.compute_seconds",
            seconds(phases.started, phases.ended),
        ));
    }
    let status = recorded.failure.as_ref().map(|failure| {
        attributes.push(text("error.type", &failure.kind));
        otlp::Status {
            message: failure.message.to_string(),
            code: status::StatusCode::Error.into(),
        }
    });
    otlp::Span {
        trace_id: recorded.trace_id.to_be_bytes().to_vec(),
        span_id: recorded.span_id.to_be_bytes().to_vec(),
        parent_span_id: (recorded.parent_span_id)
            .map(|parent| parent.to_be_bytes().to_vec())
            .unwrap_or_default(),
        // W3C's sampled flag: every exported span was sampled.
        flags: 1,
        name: recorded.operation.to_string(),
        kind: kind.into(),
        start_time_unix_nano: unix_nanos(recorded.start),
        end_time_unix_nano: unix_nanos(recorded.end),
        attributes,
        events,
        status,
        ..Default::default()
    }
}

fn number(key: &str, value: f64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::DoubleValue(value)),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn a_span_is_written_as_otlp_reads_it() {
        let at = |nanos| UNIX_EPOCH + Duration::from_nanos(nanos);
        let root = trace::Span {
            trace_id: 0x4bf92f3577b34da6a3ce929d0e0e4736,
            span_id: 0x00f067aa0ba902b7,
            parent_span_id: None,
            operation: Operation::Request {
                protocol: "grpc",
                endpoint: "/index".into(),
                request_id: "r1".into(),
            },
            start: at(1_000),
            end: at(5_000),
            phases: None,
            failure: Some(trace::Failure {
                kind: "trap".into(),
                message: "unreachable".into(),
            }),
        };
        let span = encode(&root);
        assert_eq!(
            span.trace_id,
            [
                0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e,
                0x47, 0x36
            ],
            "the id's bytes in the order its hex reads"
        );
        assert_eq!(
            span.span_id,
            [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]
        );
        assert!(span.parent_span_id.is_empty(), "a root span has no parent");
        assert_eq!(span.name, "grpc /index");
        assert_eq!(span.kind, i32::from(span::SpanKind::Server));
        assert_eq!(
            (span.start_time_unix_nano, span.end_time_unix_nano),
            (1_000, 5_000)
        );
        let keys: Vec<_> = span.attributes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "rpc.system",
                "flowhost.endpoint",
                "flowhost.request_id",
                "error.type"
            ]
        );
        let status = span.status.expect("a failed span has a status");
        assert_eq!(status.code, i32::from(status::StatusCode::Error));
        assert_eq!(status.message, "unreachable");
    }
}
