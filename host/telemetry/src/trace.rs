//! OpenTelemetry traces: a span per request at the gateway (the child of the client's W3C
//! `traceparent` when it sends one), a child span per executor call, and on that span the
//! call's wait for its instance and its run in it (a `started` event between the two, and
//! both durations as attributes).
//!
//! Spans are made through the global tracer provider, which the binary installs with an
//! exporter and then [`enable`]s; until then every function here is one atomic load and
//! returns at once, so a flow without `tracing: true` pays nothing. The current span travels
//! with the request's future ([`Traced::run`]), which is how the router, the runtime and a
//! remote call find their parent without being handed it.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use opentelemetry::global::BoxedTracer;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue, global};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// The instrumentation scope every flowhost span is made in.
const SCOPE: &str = "flowhost";

static ENABLED: AtomicBool = AtomicBool::new(false);
static TRACER: OnceLock<BoxedTracer> = OnceLock::new();

/// Starts recording spans through the global tracer provider (install it first).
pub fn enable() {
    TRACER.get_or_init(|| global::tracer(SCOPE));
    ENABLED.store(true, Ordering::Release);
}

/// The tracer, once [`enable`]d.
fn tracer() -> Option<&'static BoxedTracer> {
    if enabled() { TRACER.get() } else { None }
}

/// Whether spans are recorded.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// A span to run a piece of work in, or nothing when tracing is off. The span ends when the
/// last clone of it is dropped.
#[derive(Clone, Default)]
pub struct Traced(Option<Context>);

impl Traced {
    /// The gateway's span for one request: `protocol endpoint`, a server span, the child of
    /// `traceparent` (a W3C `traceparent` header value) when the client sent a valid one.
    pub fn request(
        protocol: &'static str,
        endpoint: &str,
        request_id: &str,
        traceparent: Option<&str>,
    ) -> Self {
        let Some(tracer) = tracer() else {
            return Self(None);
        };
        let parent = match traceparent {
            Some(header) => TraceContextPropagator::new().extract(&OneHeader(TRACEPARENT, header)),
            None => Context::new(),
        };
        let span = tracer
            .span_builder(format!("{protocol} {endpoint}"))
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("rpc.system", protocol),
                KeyValue::new("flowhost.endpoint", endpoint.to_owned()),
                KeyValue::new("flowhost.request_id", request_id.to_owned()),
            ])
            .start_with_context(tracer, &parent);
        Self(Some(parent.with_span(span)))
    }

    /// A span for one call of `executor`, the child of the span the caller runs in.
    pub fn executor(executor: &str) -> Self {
        let Some(tracer) = tracer() else {
            return Self(None);
        };
        let parent = Context::current();
        // Named after the executor; the endpoint is the request span's. No attributes: every
        // allocation here is paid per call, and freed on the exporter's thread.
        let span = tracer
            .span_builder(format!("executor {executor}"))
            .with_kind(SpanKind::Internal)
            .start_with_context(tracer, &parent);
        Self(Some(parent.with_span(span)))
    }

    /// Runs `work` with this span as the current one.
    pub async fn run<F: Future>(&self, work: F) -> F::Output {
        match &self.0 {
            Some(context) => work.with_context(context.clone()).await,
            None => work.await,
        }
    }

    /// Marks the span failed, with `kind` (the error's kind or exception name) and `message`.
    pub fn fail(&self, kind: &str, message: &str) {
        if let Some(context) = &self.0 {
            let span = context.span();
            span.set_attribute(KeyValue::new("error.type", kind.to_owned()));
            span.set_status(Status::error(message.to_owned()));
        }
    }
}

/// Records a call's wait for its instance and its run in it on the current span (the
/// executor call's, which starts when the call queues and ends when it returns): a `started`
/// event where the wait ends and the run begins, and the two durations as attributes. Not
/// child spans: two more spans per call cost a quarter of a busy gateway's throughput here.
pub fn call_phases(queued: SystemTime, started: SystemTime, ended: SystemTime) {
    if !enabled() {
        return;
    }
    let context = Context::current();
    if !context.has_active_span() {
        return;
    }
    let span = context.span();
    let seconds = |from: SystemTime, to: SystemTime| {
        to.duration_since(from).unwrap_or_default().as_secs_f64()
    };
    span.add_event_with_timestamp("started", started, Vec::new());
    span.set_attribute(KeyValue::new(
        "flowhost.queue_seconds",
        seconds(queued, started),
    ));
    span.set_attribute(KeyValue::new(
        "flowhost.compute_seconds",
        seconds(started, ended),
    ));
}

/// The current span as a W3C `traceparent` header value, for a call to another process.
pub fn traceparent() -> Option<String> {
    if !enabled() {
        return None;
    }
    let mut header = None;
    TraceContextPropagator::new().inject_context(&Context::current(), &mut Capture(&mut header));
    header
}

/// Runs `work` (spawned elsewhere) in the span current now.
pub fn in_current<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let context = enabled().then(Context::current);
    async move {
        match context {
            Some(context) => work.with_context(context).await,
            None => work.await,
        }
    }
}

/// The W3C header's name.
pub const TRACEPARENT: &str = "traceparent";

struct OneHeader<'a>(&'a str, &'a str);

impl Extractor for OneHeader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == self.0).then_some(self.1)
    }

    fn keys(&self) -> Vec<&str> {
        vec![self.0]
    }
}

struct Capture<'a>(&'a mut Option<String>);

impl Injector for Capture<'_> {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACEPARENT {
            *self.0 = Some(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_records_nothing_and_sends_no_header() {
        assert!(!enabled());
        assert!(Traced::request("http", "/index", "id", None).0.is_none());
        assert!(Traced::executor("e").0.is_none());
        assert_eq!(traceparent(), None);
    }
}
