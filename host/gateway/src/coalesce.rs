//! A `Call` stream's replies, handed to the encoder in bursts rather than one by one.
//!
//! Each request on a stream finishes in its own task and sends its reply on a channel. Read
//! straight, every reply wakes the response writer, which encodes that one reply and has the
//! connection write it: a write syscall (and a wake-up of the client) for every four replies,
//! where a do-nothing server answering the same stream writes once per hundred (#17,
//! BENCHMARKS.md). So when a reply wakes the writer, the stream yields first: the writer's
//! task goes to the back of the run queue, and the tasks already runnable there (requests
//! finishing meanwhile) add their replies. It yields again while each pass brings more, at
//! most `MAX_YIELDS` times and for `MAX_WAIT`, then takes everything ready into one frame.
//! A lone reply waits one pass of the queue.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_stream::Stream;

/// The receiving end of a stream's replies, read in bursts.
pub(crate) struct Bursts<T> {
    replies: mpsc::Receiver<T>,
    /// Yields since the writer was woken, while replies kept arriving; `None` once draining.
    yields: Option<u32>,
    /// Replies waiting at the last yield.
    waiting: usize,
    /// When the first yield of this burst was taken.
    since: Option<Instant>,
}

/// The most times a woken writer yields before it writes what has come. Each yield is one
/// pass of the run queue; the writer keeps yielding only while each pass brings more replies,
/// so a lone reply (a sequential client) waits one pass, not this many.
const MAX_YIELDS: u32 = 16;

/// And the longest the first reply of a burst waits for the others: a pass of the queue can
/// hold a slow guest call, and a burst must not wait for sixteen of them.
const MAX_WAIT: Duration = Duration::from_micros(250);

impl<T> Bursts<T> {
    pub(crate) fn new(replies: mpsc::Receiver<T>) -> Self {
        Self {
            replies,
            yields: Some(0),
            waiting: 0,
            since: None,
        }
    }
}

impl<T> Stream for Bursts<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(yields) = self.yields {
            let waiting = self.replies.len();
            let first = yields == 0;
            let growing = first || waiting > self.waiting;
            let in_time = first || self.since.is_some_and(|since| since.elapsed() < MAX_WAIT);
            if growing && in_time && yields < MAX_YIELDS {
                if first {
                    self.since = Some(Instant::now());
                }
                self.yields = Some(yields + 1);
                self.waiting = waiting;
                // Woken while it runs, the task is put at the back of the queue (tokio's yield).
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.yields = None;
        }
        let next = self.replies.poll_recv(cx);
        if next.is_pending() {
            self.yields = Some(0);
            self.waiting = 0;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_stream::StreamExt as _;

    #[tokio::test]
    async fn hands_over_every_reply_in_order_and_ends_with_the_channel() {
        let (sender, receiver) = mpsc::channel(8);
        let mut bursts = Bursts::new(receiver);
        for i in 0..3 {
            sender.send(i).await.unwrap();
        }
        assert_eq!(bursts.next().await, Some(0));
        assert_eq!(bursts.next().await, Some(1));
        assert_eq!(bursts.next().await, Some(2));
        // A lone reply sent after the stream went idle still arrives.
        let late = tokio::spawn(async move {
            tokio::task::yield_now().await;
            sender.send(3).await.unwrap();
        });
        assert_eq!(bursts.next().await, Some(3));
        late.await.unwrap();
        assert_eq!(bursts.next().await, None);
    }

    #[tokio::test]
    async fn yields_once_before_reading_a_burst() {
        let (sender, receiver) = mpsc::channel(8);
        sender.send(1).await.unwrap();
        let mut bursts = Bursts::new(receiver);
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut bursts).poll_next(&mut cx).is_pending());
        assert_eq!(
            Pin::new(&mut bursts).poll_next(&mut cx),
            Poll::Ready(Some(1))
        );
        assert!(Pin::new(&mut bursts).poll_next(&mut cx).is_pending());
        sender.send(2).await.unwrap();
        // Woken again: one yield, then the reply.
        assert!(Pin::new(&mut bursts).poll_next(&mut cx).is_pending());
        assert_eq!(
            Pin::new(&mut bursts).poll_next(&mut cx),
            Poll::Ready(Some(2))
        );
    }

    #[tokio::test]
    async fn keeps_yielding_while_replies_keep_coming_then_takes_them_all() {
        let (sender, receiver) = mpsc::channel(64);
        let mut bursts = Bursts::new(receiver);
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut poll = || Pin::new(&mut bursts).poll_next(&mut cx);
        sender.send(0).await.unwrap();
        assert!(poll().is_pending());
        for i in 1..3 {
            sender.send(i).await.unwrap();
            assert!(poll().is_pending(), "reply {i} came during the yield");
        }
        // A pass that brought nothing: what came is taken at once.
        for i in 0..3 {
            assert_eq!(poll(), Poll::Ready(Some(i)));
        }
        assert!(poll().is_pending());
        // However fast replies come, a burst yields at most MAX_YIELDS times.
        sender.send(10).await.unwrap();
        let mut yields = 0;
        while poll().is_pending() {
            yields += 1;
            sender.send(10 + yields).await.unwrap();
        }
        assert!(yields <= MAX_YIELDS, "{yields}");
    }
}
