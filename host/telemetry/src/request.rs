//! The id of the request being run, for the log lines written while it runs (a guest's output
//! included: executor calls run in the request's task).
//!
//! A `tracing` span would carry it too, but a span formatted by the log layer for every
//! request cost several percent of a busy gateway's throughput; this is a thread-local set
//! around each poll of the request's future, with no allocation beyond the id itself.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

thread_local! {
    static CURRENT: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

pin_project_lite::pin_project! {
    /// A future run as request `id` (see [`in_request`]).
    pub struct InRequest<F> {
        id: Option<Arc<str>>,
        #[pin]
        work: F,
    }
}

/// Runs `work` as request `id`: [`with_request_id`] sees it while `work` is polled.
pub fn in_request<F: Future>(id: Arc<str>, work: F) -> InRequest<F> {
    InRequest { id: Some(id), work }
}

impl<F: Future> Future for InRequest<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let outer = CURRENT.with(|current| current.replace(this.id.take()));
        let polled = this.work.poll(cx);
        *this.id = CURRENT.with(|current| current.replace(outer));
        polled
    }
}

/// Calls `f` with the id of the request being run on this thread, if any.
pub fn with_request_id<T>(f: impl FnOnce(Option<&str>) -> T) -> T {
    CURRENT.with(|current| f(current.borrow().as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_seen_only_while_the_request_runs() {
        let seen = futures_lite_block_on(in_request("abc".into(), async {
            with_request_id(|id| id.map(str::to_owned))
        }));
        assert_eq!(seen.as_deref(), Some("abc"));
        assert_eq!(with_request_id(|id| id.map(str::to_owned)), None);
    }

    /// Polls a future that never waits.
    fn futures_lite_block_on<F: Future>(work: F) -> F::Output {
        let mut work = std::pin::pin!(work);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match work.as_mut().poll(&mut cx) {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("the test future waited"),
        }
    }
}
