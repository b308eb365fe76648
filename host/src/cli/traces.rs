//! Jina's `tracing: true`: the spans flowhost records (`flowhost_telemetry::trace`) exported
//! over OTLP/gRPC to `traces_exporter_host:traces_exporter_port`, as Jina exports them.
//!
//! The batching and sampling follow OpenTelemetry's environment variables, as an SDK's
//! batch processor would: `OTEL_BSP_SCHEDULE_DELAY` (ms, 5000), `OTEL_BSP_MAX_QUEUE_SIZE`
//! (2048), `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` (512), `OTEL_BSP_EXPORT_TIMEOUT` (ms, 30000),
//! `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::Semaphore;
use tonic::client::Grpc;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

use flowhost_flow::Flow;
use flowhost_telemetry::trace::{self, Batching, Sampler, SpanQueue};

use super::otlp::{collector_channel, env_number};
use super::span_wire::{SpanWriter, WallClock, WrittenCodec};

const EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Spans being exported; [`TraceExport::shutdown`] sends what is still queued.
pub struct TraceExport {
    queue: Arc<SpanQueue>,
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
    // The exporter runs on a runtime of its own, on one thread that waits for batches,
    // writes them and sends them: it takes no turn on the workers that serve requests, and
    // an export is not handed from one thread to another (waking a second thread for each
    // cost more than writing the batch).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the trace exporter's runtime")?;
    let channel = {
        let _in_runtime = runtime.enter();
        collector_channel(&endpoint, "traces", schedule.timeout)?
    };
    let queue = Arc::new(trace::enable(sampler(), schedule.batching)?);
    let exporter = Exporter {
        client: Grpc::new(channel),
        writer: SpanWriter::new(service),
        endpoint: endpoint.as_str().into(),
        batch: schedule.batching.batch,
    };
    let thread = std::thread::Builder::new()
        .name("trace-export".to_owned())
        .spawn({
            let queue = queue.clone();
            move || runtime.block_on(exporter.run(&queue, schedule.delay))
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

/// At most this many exports wait for the collector's answer at once, while the next batch
/// is written and sent: waiting for each answer before taking more left spans piling up
/// behind a slow one, and at 100,000 requests/s on two cores a quarter of them overflowed
/// the queue.
const IN_FLIGHT: u32 = 4;

/// Takes batches off the span queue, writes them and sends them, on the exporter's thread.
struct Exporter {
    client: Grpc<Channel>,
    writer: SpanWriter,
    endpoint: Arc<str>,
    batch: usize,
}

impl Exporter {
    async fn run(mut self, queue: &SpanQueue, delay: Duration) {
        let sending = Arc::new(Semaphore::new(IN_FLIGHT as usize));
        let mut spans = Vec::new();
        loop {
            // Past the delay, whatever waits is sent.
            let _ = tokio::time::timeout(delay, queue.batch_ready()).await;
            let taken = queue.take(&mut spans);
            if taken.dropped > 0 {
                tracing::warn!(
                    dropped = taken.dropped,
                    "spans dropped: more ended than the export queue holds (OTEL_BSP_MAX_QUEUE_SIZE)"
                );
            }
            let clock = WallClock::now();
            for batch in spans.chunks(self.batch) {
                let request = self.writer.request(batch, clock);
                // The semaphore is never closed.
                let Ok(permit) = sending.clone().acquire_owned().await else {
                    return;
                };
                let (mut client, endpoint, count) =
                    (self.client.clone(), self.endpoint.clone(), batch.len());
                tokio::spawn(async move {
                    if let Err(status) = export(&mut client, request).await {
                        tracing::warn!(%endpoint, %status, spans = count, "spans not exported");
                    }
                    drop(permit);
                });
            }
            spans.clear();
            if taken.closed {
                // The last batches reach the collector before the exporter stops.
                let _ = sending.acquire_many(IN_FLIGHT).await;
                return;
            }
        }
    }
}

/// Sends one written `ExportTraceServiceRequest`.
async fn export(client: &mut Grpc<Channel>, request: Vec<u8>) -> Result<(), tonic::Status> {
    client.ready().await.map_err(|error| {
        tonic::Status::unavailable(format!("the collector cannot be reached: {error}"))
    })?;
    let path = PathAndQuery::from_static(EXPORT);
    client
        .unary(tonic::Request::new(request), path, WrittenCodec)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::trace::v1::{span, status};
    use prost::Message as _;

    use super::*;
    use flowhost_telemetry::trace::{CallPhases, Failure, Operation, Span};

    /// Written by [`SpanWriter`], read by the collector's own generated types.
    #[test]
    fn spans_are_written_as_the_collector_reads_them() {
        // The clock's instant is the Unix epoch plus a second, so the test writes times
        // before it as well as after.
        let epoch = Instant::now();
        let clock = WallClock::at(epoch + Duration::from_secs(1), 1_000_000_000);
        let at = |nanos| epoch + Duration::from_nanos(nanos);
        let root = Span {
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
            failure: Some(Failure {
                kind: "trap".into(),
                message: "unreachable".into(),
            }),
        };
        let call = Span {
            trace_id: root.trace_id,
            span_id: 0x1122334455667788,
            parent_span_id: Some(root.span_id),
            operation: Operation::ExecutorCall {
                executor: "encoder".into(),
            },
            start: at(2_000),
            end: at(4_000),
            phases: Some(CallPhases {
                queued: at(2_000),
                started: at(2_500_000_000),
                ended: at(2_750_000_000),
            }),
            failure: None,
        };
        let mut writer = SpanWriter::new("my-flow");
        // Twice: the second request reuses the writer's buffers and must read the same.
        writer.request(std::slice::from_ref(&call), clock);
        let written = writer.request(&[root, call], clock);
        let request = ExportTraceServiceRequest::decode(written.as_slice()).expect("OTLP");

        let [resource_spans] = request.resource_spans.as_slice() else {
            panic!("one resource: {request:?}");
        };
        let resource = resource_spans.resource.as_ref().expect("a resource");
        assert_eq!(resource.attributes[0].key, "service.name");
        assert_eq!(
            resource.attributes[0]
                .value
                .as_ref()
                .and_then(|v| v.value.clone()),
            Some(Value::StringValue("my-flow".into()))
        );
        let [scope_spans] = resource_spans.scope_spans.as_slice() else {
            panic!("one scope: {resource_spans:?}");
        };
        let scope = scope_spans.scope.as_ref().expect("a scope");
        assert_eq!(scope.name, "flowhost");
        assert_eq!(scope.version, env!("CARGO_PKG_VERSION"));
        let [span, child] = scope_spans.spans.as_slice() else {
            panic!("two spans: {scope_spans:?}");
        };

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
        assert_eq!(span.flags, 1, "sampled");
        assert_eq!(
            (span.start_time_unix_nano, span.end_time_unix_nano),
            (1_000, 5_000)
        );
        let attributes: Vec<(&str, Option<Value>)> = (span.attributes.iter())
            .map(|a| {
                (
                    a.key.as_str(),
                    a.value.as_ref().and_then(|v| v.value.clone()),
                )
            })
            .collect();
        let text = |s: &str| Some(Value::StringValue(s.into()));
        assert_eq!(
            attributes,
            [
                ("rpc.system", text("grpc")),
                ("flowhost.endpoint", text("/index")),
                ("flowhost.request_id", text("r1")),
                ("error.type", text("trap")),
            ]
        );
        let status = span.status.as_ref().expect("a failed span has a status");
        assert_eq!(status.code, i32::from(status::StatusCode::Error));
        assert_eq!(status.message, "unreachable");

        assert_eq!(
            child.parent_span_id, span.span_id,
            "the child names its parent"
        );
        assert_eq!(child.name, "executor encoder");
        assert_eq!(child.kind, i32::from(span::SpanKind::Internal));
        assert!(child.status.is_none());
        let numbers: Vec<(&str, Option<Value>)> = (child.attributes.iter())
            .map(|a| {
                (
                    a.key.as_str(),
                    a.value.as_ref().and_then(|v| v.value.clone()),
                )
            })
            .collect();
        assert_eq!(
            numbers,
            [
                ("flowhost.queue_seconds", Some(Value::DoubleValue(2.499998))),
                ("flowhost.compute_seconds", Some(Value::DoubleValue(0.25))),
            ]
        );
        let [started] = child.events.as_slice() else {
            panic!("one event: {child:?}");
        };
        assert_eq!(
            (started.name.as_str(), started.time_unix_nano),
            ("started", 2_500_000_000)
        );
    }
}
