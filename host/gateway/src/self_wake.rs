//! Polls a connection again, at once, when it wakes itself while being polled.
//!
//! hyper's HTTP/1 dispatcher hands a request's body to the handler through a channel, and
//! the handler runs inside the connection's own task. So every request wakes its own task
//! from inside a poll: the body's sender wakes the receiver, which is the same task. Tokio
//! treats a task woken during its own poll as one that yielded: it goes to the back of the
//! run queue and a parked worker is woken to steal it. That costs a futex wake and another
//! thread's wake-up a request, and the woken worker sometimes takes the connection, moving
//! the next request to the other core.
//!
//! [`RepollSelfWakes`] notes a wake that the connection gives itself, on the thread polling
//! it and during that poll, and polls it again in the same turn, so tokio never sees the
//! self-wake. It gives up after a few rounds, or when the task's cooperative budget is spent,
//! and then yields as usual, so a connection with endless work cannot hold its worker. A wake
//! from anywhere else (another task, the I/O driver, another thread) goes to the task as it
//! would without the wrapper: an HTTP/2 connection still gathers the replies that finish
//! while it is being polled into its next write.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures::task::AtomicWaker;

/// Polls in one turn before a still-waking future yields through the scheduler. hyper's own
/// dispatcher loops 16 times on a connection before it yields.
const MAX_POLLS_PER_TURN: usize = 16;

thread_local! {
    /// The address of the [`Signal`] whose future this thread is polling, 0 when none.
    static POLLING: Cell<usize> = const { Cell::new(0) };
}

/// Wraps a future (a connection's whole life) so that its self-wakes are served in place.
pub struct RepollSelfWakes<F> {
    inner: Pin<Box<F>>,
    signal: Arc<Signal>,
    /// A waker for `signal`, made once: the inner future sees the same waker on every poll.
    waker: Waker,
}

impl<F: Future> RepollSelfWakes<F> {
    pub fn new(inner: F) -> Self {
        let signal = Arc::new(Signal {
            woken_in_poll: AtomicBool::new(false),
            task: AtomicWaker::new(),
        });
        Self {
            inner: Box::pin(inner),
            waker: Waker::from(signal.clone()),
            signal,
        }
    }
}

impl<F: Future> Future for RepollSelfWakes<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        this.signal.task.register(cx.waker());
        let mut inner_cx = Context::from_waker(&this.waker);
        for _ in 0..MAX_POLLS_PER_TURN {
            this.signal.woken_in_poll.store(false, Ordering::Relaxed);
            let polled = {
                let _polling = PollingGuard::enter(&this.signal);
                this.inner.as_mut().poll(&mut inner_cx)
            };
            if polled.is_ready() || !this.signal.woken_in_poll.load(Ordering::Relaxed) {
                return polled;
            }
            if !tokio::task::coop::has_budget_remaining() {
                break;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Marks this thread as polling a signal's future until dropped, even by a panic: a stale
/// mark would swallow a later wake of a signal that reused the address.
struct PollingGuard {
    outer: usize,
}

impl PollingGuard {
    fn enter(signal: &Signal) -> Self {
        Self {
            outer: POLLING.replace(signal.address()),
        }
    }
}

impl Drop for PollingGuard {
    fn drop(&mut self) {
        POLLING.set(self.outer);
    }
}

/// Where the inner future's wakes land.
struct Signal {
    /// Set by a wake on the polling thread during the poll; read by that thread after it.
    woken_in_poll: AtomicBool,
    /// The task running the wrapper, for every other wake.
    task: AtomicWaker,
}

impl Signal {
    fn address(&self) -> usize {
        self as *const Self as usize
    }
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if POLLING.get() == self.address() {
            self.woken_in_poll.store(true, Ordering::Relaxed);
        } else {
            self.task.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts how often the task running it is woken.
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Wakes itself from inside `wakes` polls, then finishes.
    struct WakesItself {
        wakes: usize,
        polls: usize,
    }

    impl Future for WakesItself {
        type Output = usize;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.polls += 1;
            if self.polls > self.wakes {
                return Poll::Ready(self.polls);
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[test]
    fn a_self_wake_is_polled_again_in_the_same_turn() {
        let task = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(task.clone());
        let mut future = RepollSelfWakes::new(WakesItself { wakes: 3, polls: 0 });
        let polled = Pin::new(&mut future).poll(&mut Context::from_waker(&waker));
        assert_eq!(polled, Poll::Ready(4));
        assert_eq!(task.0.load(Ordering::SeqCst), 0, "no wake reached the task");
    }

    #[test]
    fn a_future_that_keeps_waking_itself_yields_after_a_bounded_turn() {
        let task = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(task.clone());
        let mut future = RepollSelfWakes::new(WakesItself {
            wakes: usize::MAX,
            polls: 0,
        });
        let polled = Pin::new(&mut future).poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending());
        assert_eq!(future.inner.polls, MAX_POLLS_PER_TURN);
        assert_eq!(
            task.0.load(Ordering::SeqCst),
            1,
            "it yields by waking its task"
        );
    }

    /// Hands its waker to another thread, which wakes it while it is still being polled.
    struct WokenFromElsewhere {
        polls: usize,
    }

    impl Future for WokenFromElsewhere {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls += 1;
            let waker = cx.waker().clone();
            std::thread::spawn(move || waker.wake()).join().ok();
            Poll::Pending
        }
    }

    #[test]
    fn a_wake_from_another_thread_during_the_poll_goes_to_the_task() {
        let task = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(task.clone());
        let mut future = RepollSelfWakes::new(WokenFromElsewhere { polls: 0 });
        let polled = Pin::new(&mut future).poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending());
        assert_eq!(future.inner.polls, 1, "not polled again in place");
        assert_eq!(task.0.load(Ordering::SeqCst), 1);
    }

    /// Panics in its first poll.
    struct Panics;

    impl Future for Panics {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            panic!("a connection's bug");
        }
    }

    #[test]
    fn a_panicking_poll_leaves_the_thread_unmarked() {
        let task = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(task.clone());
        let mut future = RepollSelfWakes::new(Panics);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = Pin::new(&mut future).poll(&mut Context::from_waker(&waker));
        }));
        assert!(panicked.is_err());
        assert_eq!(POLLING.get(), 0);
        future.waker.wake_by_ref();
        assert_eq!(
            task.0.load(Ordering::SeqCst),
            1,
            "the wake is not taken for a self-wake"
        );
    }

    #[test]
    fn a_wake_between_polls_reaches_the_task() {
        let task = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(task.clone());
        let mut future = RepollSelfWakes::new(std::future::pending::<()>());
        assert!(
            Pin::new(&mut future)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        future.waker.wake_by_ref();
        assert_eq!(task.0.load(Ordering::SeqCst), 1);
    }
}
