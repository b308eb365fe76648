//! What the span queue hands the exporter for a request with executor calls: one process-wide
//! recorder, so this is its own test binary.

use std::future::Future as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Wake, Waker};
use std::time::Instant;

use flowhost_telemetry::trace::{self, Batching, Operation, Sampler, Traced};

/// Polls a future that never waits.
fn ready<F: std::future::Future>(work: F) -> F::Output {
    let mut work = std::pin::pin!(work);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match work.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the test future waited"),
    }
}

/// A waker that records that it was woken.
#[derive(Default)]
struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn a_request_and_its_calls_reach_the_exporter_as_parent_and_children() {
    let queue =
        trace::enable(Sampler::default(), Batching { queue: 3, batch: 2 }).expect("first enable");
    assert!(trace::enable(Sampler::default(), Batching::default()).is_err());

    let client = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let request = Traced::request("grpc", "/index", &"r1".into(), Some(client));
    let header = ready(request.run(async {
        let call = Traced::executor(&"encoder".into());
        let header = ready(call.run(async {
            let now = Instant::now();
            trace::call_phases(now, now, now);
            trace::traceparent()
        }));
        call.fail("trap", "wasm trap: unreachable");
        header
    }));
    assert_eq!(trace::traceparent(), None, "no span outside the request");
    drop(request);

    let mut spans = Vec::new();
    let taken = queue.take(&mut spans);
    assert_eq!(taken.dropped, 0);
    let [call, request] = &spans[..] else {
        panic!("two spans, the call ending first: {spans:#?}")
    };
    assert_eq!(request.trace_id, 0x4bf92f3577b34da6a3ce929d0e0e4736);
    assert_eq!(request.parent_span_id, Some(0x00f067aa0ba902b7));
    assert_eq!(request.operation.to_string(), "grpc /index");
    assert!(
        matches!(&request.operation, Operation::Request { request_id, .. } if &**request_id == "r1")
    );
    assert_eq!(call.trace_id, request.trace_id);
    assert_eq!(call.parent_span_id, Some(request.span_id));
    assert_eq!(call.operation.to_string(), "executor encoder");
    let phases = call.phases.expect("the call's phases");
    assert_eq!(
        call.end, phases.ended,
        "a call's span ends when the call did"
    );
    assert!(request.start <= call.start && call.start <= phases.queued);
    assert!(phases.ended <= request.end, "the request outlasts its call");
    assert_eq!(call.failure.as_ref().map(|f| &*f.kind), Some("trap"));
    assert_eq!(
        header.as_deref(),
        Some(
            format!(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-{:016x}-01",
                call.span_id
            )
            .as_str()
        ),
        "a remote call continues the call's span"
    );

    // An unsampled client trace is carried on but not recorded.
    let unsampled = Traced::request(
        "http",
        "/",
        &"r2".into(),
        Some(&client.replace("-01", "-00")),
    );
    let header = ready(unsampled.run(async { trace::traceparent() }));
    assert!(header.is_some_and(|h| h.ends_with("-00")));
    drop(unsampled);

    // The exporter waiting for a batch is woken when one fills, not before.
    let woken = Arc::new(Woken::default());
    let waker = Waker::from(woken.clone());
    let mut cx = Context::from_waker(&waker);
    let mut batch = std::pin::pin!(queue.batch_ready());
    assert!(
        batch.as_mut().poll(&mut cx).is_pending(),
        "the queue is empty"
    );
    drop(Traced::request("http", "/", &"r".into(), None));
    assert!(
        !woken.0.load(Ordering::Relaxed),
        "half a batch wakes no one"
    );
    drop(Traced::request("http", "/", &"r".into(), None));
    assert!(
        woken.0.load(Ordering::Relaxed),
        "a whole batch wakes the exporter"
    );
    assert!(batch.as_mut().poll(&mut cx).is_ready());

    // The queue holds three; the fourth and fifth are dropped and counted.
    for _ in 0..3 {
        drop(Traced::request("http", "/", &"r".into(), None));
    }
    // A whole batch is taken, and the third span waits for the next one to fill...
    let taken = queue.take(&mut spans);
    assert_eq!((spans.len(), taken.dropped, taken.closed), (2, 2, false));
    // ...or for the queue to close.
    queue.close();
    let taken = queue.take(&mut spans);
    assert_eq!((spans.len(), taken.dropped, taken.closed), (1, 0, true));
    assert!(!trace::enabled(), "closing stops recording");
}
