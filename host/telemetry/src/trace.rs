//! Traces: a span per request at the gateway (the child of the client's W3C `traceparent`
//! when it sends one), a child span per executor call, and on that span the call's wait for
//! its instance and its run in it.
//!
//! Spans are flowhost's own small records, not an OpenTelemetry SDK's span objects: an ended
//! span is one struct pushed onto a bounded queue, which the binary's exporter takes in
//! batches and encodes as OTLP (`cli/traces.rs`). The SDK's spans (attribute vectors, a
//! context map carried through every poll, its batch processor) cost a busy gateway a fifth of
//! its throughput here; BENCHMARKS.md has the figures. The queue, batch and sampler follow
//! OpenTelemetry's `OTEL_BSP_*` and `OTEL_TRACES_SAMPLER` settings, which the binary reads.
//!
//! Until [`enable`]d every function here is one atomic load and returns at once, so a flow
//! without `tracing: true` pays nothing. The current span travels with the request's future
//! ([`Traced::run`]: a thread-local set around each of its polls), which is how the router,
//! the runtime and a remote call find their parent without being handed it.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// The W3C header's name.
pub const TRACEPARENT: &str = "traceparent";

static ENABLED: AtomicBool = AtomicBool::new(false);
static RECORDER: OnceLock<Arc<Recorder>> = OnceLock::new();

thread_local! {
    /// The span the future being polled on this thread runs in.
    static CURRENT: RefCell<Option<Arc<Open>>> = const { RefCell::new(None) };
}

/// Whether spans are recorded.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

fn recorder() -> Option<&'static Recorder> {
    if enabled() {
        RECORDER.get().map(|recorder| &**recorder)
    } else {
        None
    }
}

/// Tracing was turned on twice in one process.
#[derive(Debug, thiserror::Error)]
#[error("tracing is already on in this process")]
pub struct AlreadyEnabled;

/// How ended spans wait for the exporter, as OpenTelemetry's batch processor settings say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Spans kept at most (`OTEL_BSP_MAX_QUEUE_SIZE`); past it new ones are dropped and
    /// counted, rather than slowing requests down.
    pub queue: usize,
    /// Spans that make a batch (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`): the exporter is woken when
    /// this many wait.
    pub batch: usize,
}

impl Default for Batching {
    fn default() -> Self {
        Self {
            queue: 2048,
            batch: 512,
        }
    }
}

/// Starts recording spans, sampled by `sampler`, into a queue bounded by `batching`; the
/// returned handle is the exporter's end of it.
pub fn enable(sampler: Sampler, batching: Batching) -> Result<SpanQueue, AlreadyEnabled> {
    let queue = batching.queue.max(1);
    let recorder = Arc::new(Recorder {
        sampler,
        capacity: queue,
        batch: batching.batch.clamp(1, queue),
        state: Mutex::new(Queued {
            spans: Vec::new(),
            closed: false,
            exporter: None,
        }),
        dropped: AtomicU64::new(0),
    });
    RECORDER.set(recorder.clone()).map_err(|_| AlreadyEnabled)?;
    ENABLED.store(true, Ordering::Release);
    Ok(SpanQueue(recorder))
}

/// Which traces are recorded, as OpenTelemetry's `OTEL_TRACES_SAMPLER` names the choices.
/// A trace not recorded still carries its context on to remote executors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampler {
    /// Whether a span with a parent follows the parent's decision (`parentbased_*`).
    parent_based: bool,
    /// The share of the other traces recorded, decided from the trace id.
    ratio: f64,
}

impl Default for Sampler {
    /// OpenTelemetry's default, `parentbased_always_on`.
    fn default() -> Self {
        Self {
            parent_based: true,
            ratio: 1.0,
        }
    }
}

/// `OTEL_TRACES_SAMPLER` named a sampler there is none of.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown trace sampler `{0}` (always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio)"
)]
pub struct UnknownSampler(String);

impl Sampler {
    /// The sampler `OTEL_TRACES_SAMPLER` names, with `OTEL_TRACES_SAMPLER_ARG` as the ratio of
    /// the `traceidratio` ones (1 when missing or not a number in 0..=1, as OpenTelemetry does).
    pub fn from_otel(name: &str, argument: Option<&str>) -> Result<Self, UnknownSampler> {
        let ratio = || {
            argument
                .and_then(|argument| argument.trim().parse::<f64>().ok())
                .filter(|ratio| (0.0..=1.0).contains(ratio))
                .unwrap_or(1.0)
        };
        let (parent_based, ratio) = match name.trim() {
            "always_on" => (false, 1.0),
            "always_off" => (false, 0.0),
            "traceidratio" => (false, ratio()),
            "parentbased_always_on" => (true, 1.0),
            "parentbased_always_off" => (true, 0.0),
            "parentbased_traceidratio" => (true, ratio()),
            other => return Err(UnknownSampler(other.to_owned())),
        };
        Ok(Self {
            parent_based,
            ratio,
        })
    }

    fn samples(&self, trace_id: u128, parent: Option<SpanContext>) -> bool {
        match parent {
            Some(parent) if self.parent_based => parent.sampled,
            // OpenTelemetry's TraceIdRatioBased: the trace id's low 63 bits against the
            // ratio, so every process decides the same for one trace.
            _ if self.ratio >= 1.0 => true,
            _ if self.ratio <= 0.0 => false,
            _ => ((trace_id as u64) >> 1) < (self.ratio * (1u64 << 63) as f64) as u64,
        }
    }
}

/// One ended span, as the exporter takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The trace it belongs to.
    pub trace_id: u128,
    /// Its own id.
    pub span_id: u64,
    /// Its parent's id; `None` for a trace's first span.
    pub parent_span_id: Option<u64>,
    /// What it measured.
    pub operation: Operation,
    /// When it began, on the monotonic clock the workers read anyway (the exporter places
    /// it on the wall clock).
    pub start: Instant,
    /// When it ended.
    pub end: Instant,
    /// An executor call's wait for its instance and its run in it (Wasm executors).
    pub phases: Option<CallPhases>,
    /// How it failed, if it did.
    pub failure: Option<Failure>,
}

/// What a span measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// One request at the gateway: a server span.
    Request {
        /// `grpc`, `http` or `websocket`.
        protocol: &'static str,
        /// The endpoint it asked for.
        endpoint: Box<str>,
        /// Its request id.
        request_id: Arc<str>,
    },
    /// One call of an executor.
    ExecutorCall {
        /// The executor's name.
        executor: Arc<str>,
    },
}

impl fmt::Display for Operation {
    /// The span's name: `http /index`, `executor encoder`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request {
                protocol, endpoint, ..
            } => write!(f, "{protocol} {endpoint}"),
            Self::ExecutorCall { executor } => write!(f, "executor {executor}"),
        }
    }
}

/// When an executor call queued for its instance, began to run in it, and returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallPhases {
    /// The call began waiting for its instance.
    pub queued: Instant,
    /// The call began to run.
    pub started: Instant,
    /// The call returned.
    pub ended: Instant,
}

/// How a span's work failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error's kind or exception name.
    pub kind: Box<str>,
    /// What it said.
    pub message: Box<str>,
}

/// A span to run a piece of work in, or nothing when tracing is off. The span ends when the
/// last clone of it is dropped.
#[derive(Clone, Default)]
pub struct Traced(Option<Arc<Open>>);

impl Traced {
    /// The gateway's span for one request, the child of `traceparent` (a W3C `traceparent`
    /// header value) when the client sent a valid one.
    pub fn request(
        protocol: &'static str,
        endpoint: &str,
        request_id: &Arc<str>,
        traceparent: Option<&str>,
    ) -> Self {
        let Some(recorder) = recorder() else {
            return Self(None);
        };
        let parent = traceparent.and_then(parse_traceparent);
        Self::open(recorder, parent, || Operation::Request {
            protocol,
            endpoint: endpoint.into(),
            request_id: request_id.clone(),
        })
    }

    /// A span for one call of `executor`, the child of the span the caller runs in.
    pub fn executor(executor: &Arc<str>) -> Self {
        let Some(recorder) = recorder() else {
            return Self(None);
        };
        let parent = CURRENT.with(|current| current.borrow().as_ref().map(|open| open.context));
        Self::open(recorder, parent, || Operation::ExecutorCall {
            executor: executor.clone(),
        })
    }

    fn open(
        recorder: &Recorder,
        parent: Option<SpanContext>,
        operation: impl FnOnce() -> Operation,
    ) -> Self {
        let trace_id = match parent {
            Some(parent) => parent.trace_id,
            None => fastrand::u128(1..),
        };
        let sampled = recorder.sampler.samples(trace_id, parent);
        Self(Some(Arc::new(Open {
            context: SpanContext {
                trace_id,
                span_id: fastrand::u64(1..),
                sampled,
            },
            parent: parent.map(|parent| parent.span_id),
            // An unsampled span only carries its context; it records nothing.
            operation: sampled.then(operation),
            start: Instant::now(),
            phases: OnceLock::new(),
            failure: OnceLock::new(),
        })))
    }

    /// Runs `work` with this span as the current one.
    pub fn run<F: Future>(&self, work: F) -> InSpan<F> {
        InSpan {
            span: self.0.clone(),
            work,
        }
    }

    /// Marks the span failed, with `kind` (the error's kind or exception name) and `message`.
    pub fn fail(&self, kind: &str, message: &str) {
        if let Some(open) = self.0.as_ref().filter(|open| open.operation.is_some()) {
            let _ = open.failure.set(Failure {
                kind: kind.into(),
                message: message.into(),
            });
        }
    }
}

/// Records a call's wait for its instance and its run in it on the current span (the
/// executor call's, which starts when the call queues and ends when it returns). Not child
/// spans: two more spans per call cost a quarter of a busy gateway's throughput here. The
/// span ends when the call did, at `ended`, without reading the clock again.
pub fn call_phases(queued: Instant, started: Instant, ended: Instant) {
    if !enabled() {
        return;
    }
    CURRENT.with(|current| {
        if let Some(open) = current.borrow().as_ref() {
            let _ = open.phases.set(CallPhases {
                queued,
                started,
                ended,
            });
        }
    });
}

/// The current span as a W3C `traceparent` header value, for a call to another process.
pub fn traceparent() -> Option<String> {
    if !enabled() {
        return None;
    }
    CURRENT.with(|current| (current.borrow().as_ref()).map(|open| open.context.traceparent()))
}

/// Runs `work` (spawned elsewhere) in the span current now.
pub fn in_current<F: Future>(work: F) -> InSpan<F> {
    let span = if enabled() {
        CURRENT.with(|current| current.borrow().clone())
    } else {
        None
    };
    InSpan { span, work }
}

pin_project_lite::pin_project! {
    /// A future run in a span (see [`Traced::run`]).
    pub struct InSpan<F> {
        span: Option<Arc<Open>>,
        #[pin]
        work: F,
    }
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if this.span.is_none() {
            return this.work.poll(cx);
        }
        // The span is moved into the thread-local and back, not cloned: no reference count
        // is touched per poll. The guard puts it back even if `work` panics.
        let outer = CURRENT.with(|current| current.replace(this.span.take()));
        let restore = Restore {
            span: this.span,
            outer,
        };
        let polled = this.work.poll(cx);
        drop(restore);
        polled
    }
}

struct Restore<'a> {
    span: &'a mut Option<Arc<Open>>,
    outer: Option<Arc<Open>>,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        *self.span = CURRENT.with(|current| current.replace(self.outer.take()));
    }
}

/// A span's identity, as W3C trace context carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SpanContext {
    trace_id: u128,
    span_id: u64,
    sampled: bool,
}

impl SpanContext {
    fn traceparent(&self) -> String {
        format!(
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }
}

/// A W3C `traceparent` value (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`), or
/// `None` when it is not a valid one, which the spec says to treat as absent. Later versions
/// may append fields; version `ff` is invalid.
fn parse_traceparent(header: &str) -> Option<SpanContext> {
    let mut fields = header.trim().split('-');
    let (version, trace_id, span_id, flags) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    let hex = |field: &str, len: usize| {
        field.len() == len
            && field
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    if !(hex(version, 2) && hex(trace_id, 32) && hex(span_id, 16) && hex(flags, 2)) {
        return None;
    }
    let version = u8::from_str_radix(version, 16).ok()?;
    if version == 0xff || (version == 0 && fields.next().is_some()) {
        return None;
    }
    let trace_id = u128::from_str_radix(trace_id, 16).ok()?;
    let span_id = u64::from_str_radix(span_id, 16).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    (trace_id != 0 && span_id != 0).then_some(SpanContext {
        trace_id,
        span_id,
        sampled: flags & 1 == 1,
    })
}

/// A span being measured.
struct Open {
    context: SpanContext,
    parent: Option<u64>,
    /// `None` when the span is not sampled.
    operation: Option<Operation>,
    start: Instant,
    phases: OnceLock<CallPhases>,
    failure: OnceLock<Failure>,
}

impl Drop for Open {
    fn drop(&mut self) {
        let Some(operation) = self.operation.take() else {
            return;
        };
        let Some(recorder) = RECORDER.get() else {
            return;
        };
        let phases = self.phases.take();
        recorder.push(Span {
            trace_id: self.context.trace_id,
            span_id: self.context.span_id,
            parent_span_id: self.parent,
            operation,
            start: self.start,
            end: phases.map_or_else(Instant::now, |phases| phases.ended),
            phases,
            failure: self.failure.take(),
        });
    }
}

/// Ended spans waiting for the exporter.
struct Recorder {
    sampler: Sampler,
    capacity: usize,
    batch: usize,
    state: Mutex<Queued>,
    dropped: AtomicU64,
}

struct Queued {
    spans: Vec<Span>,
    closed: bool,
    /// The exporter waiting for a batch ([`SpanQueue::batch_ready`]), woken when one fills
    /// or the queue closes. A waker, not a runtime's notifier: this crate knows no runtime.
    exporter: Option<Waker>,
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, Queued> {
        // A panic elsewhere while holding the lock leaves a vector of spans, still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, span: Span) {
        let mut queued = self.lock();
        if queued.closed || queued.spans.len() >= self.capacity {
            drop(queued);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        queued.spans.push(span);
        if queued.spans.len() == self.batch
            && let Some(exporter) = queued.exporter.take()
        {
            drop(queued);
            exporter.wake();
        }
    }
}

/// The exporter's end of the span queue.
pub struct SpanQueue(Arc<Recorder>);

/// What [`SpanQueue::take`] found besides the spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    /// Spans dropped since the last take because the queue was full.
    pub dropped: u64,
    /// The queue was closed: these are the last spans.
    pub closed: bool,
}

impl SpanQueue {
    /// Resolves when a batch is waiting or the queue is closed; the exporter bounds the wait
    /// with its schedule's delay, on its own runtime.
    pub fn batch_ready(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| {
            let mut queued = self.0.lock();
            if queued.closed || queued.spans.len() >= self.0.batch {
                return Poll::Ready(());
            }
            queued.exporter = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    /// Moves the waiting spans into `into` (emptied first): as many whole batches as wait,
    /// or every span when fewer than a batch wait or the queue is closed. A partial batch
    /// stays for the next take, as OpenTelemetry's batch processor keeps it until the batch
    /// fills or its delay passes: sent at once, it would be a second export for the
    /// collector to answer, and at a busy gateway's rate half of the exports were such
    /// remainders.
    pub fn take(&self, into: &mut Vec<Span>) -> Taken {
        let recorder = &self.0;
        let mut queued = recorder.lock();
        into.clear();
        let waiting = queued.spans.len();
        let whole_batches = waiting - waiting % recorder.batch;
        if queued.closed || whole_batches == 0 || whole_batches == waiting {
            // Both vectors keep their allocations: they take turns.
            std::mem::swap(&mut queued.spans, into);
        } else {
            into.extend(queued.spans.drain(..whole_batches));
        }
        Taken {
            dropped: recorder.dropped.swap(0, Ordering::Relaxed),
            closed: queued.closed,
        }
    }

    /// Stops recording: spans ending from now on are dropped, [`SpanQueue::batch_ready`]
    /// resolves, and the next [`SpanQueue::take`] hands over what is left.
    pub fn close(&self) {
        ENABLED.store(false, Ordering::Release);
        let exporter = {
            let mut queued = self.0.lock();
            queued.closed = true;
            queued.exporter.take()
        };
        if let Some(exporter) = exporter {
            exporter.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_records_nothing_and_sends_no_header() {
        assert!(!enabled());
        assert!(
            Traced::request("http", "/index", &"id".into(), None)
                .0
                .is_none()
        );
        assert!(Traced::executor(&"e".into()).0.is_none());
        assert_eq!(traceparent(), None);
    }

    #[test]
    fn traceparent_is_read_as_w3c_says() {
        let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = parse_traceparent(valid).expect("valid");
        assert_eq!(context.trace_id, 0x4bf92f3577b34da6a3ce929d0e0e4736);
        assert_eq!(context.span_id, 0x00f067aa0ba902b7);
        assert!(context.sampled);
        assert_eq!(context.traceparent(), valid, "written back the same");
        assert!(
            !parse_traceparent(&valid.replace("-01", "-00"))
                .unwrap()
                .sampled
        );
        // A later version may append fields; version 00 may not.
        assert!(parse_traceparent(&format!("{}-extra", valid.replacen("00", "01", 1))).is_some());
        for invalid in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parse_traceparent(invalid), None, "{invalid:?}");
        }
    }

    #[test]
    fn samplers_follow_opentelemetry() {
        let parent = |sampled| {
            Some(SpanContext {
                trace_id: 7,
                span_id: 9,
                sampled,
            })
        };
        let default = Sampler::default();
        assert!(default.samples(7, None));
        assert!(!default.samples(7, parent(false)), "the parent said no");
        let off = Sampler::from_otel("always_off", None).unwrap();
        assert!(!off.samples(7, parent(true)));
        let half = Sampler::from_otel("traceidratio", Some("0.5")).unwrap();
        assert!(half.samples(0, None));
        assert!(!half.samples(u128::from(u64::MAX), None));
        let sampled = (0..10_000u128)
            .filter(|_| half.samples(fastrand::u128(..), None))
            .count();
        assert!((4_000..6_000).contains(&sampled), "{sampled} of 10,000");
        assert!(Sampler::from_otel("parentbased_traceidratio", Some("2")).unwrap() == default);
        assert!(Sampler::from_otel("jaeger_remote", None).is_err());
    }
}
