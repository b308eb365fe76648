//! A `Call` stream's replies, handed to the encoder in bursts rather than one by one.
//!
//! Each request on a stream finishes in its own task and sends its reply on a channel. Read
//! straight, every reply wakes the response writer, which encodes that one reply and has the
//! connection write it: a write syscall (and a wake-up of the client) for every few replies,
//! where a do-nothing server answering the same stream writes once per hundred (#17,
//! BENCHMARKS.md). So when a reply wakes the writer, the stream first yields once: the
//! writer's task goes to the back of the run queue, the tasks already runnable there (the
//! requests finishing meanwhile) add their replies, and the writer then takes everything
//! ready in one frame. A lone reply waits only for that one pass of the queue.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tokio_stream::Stream;

/// The receiving end of a stream's replies, read in bursts.
pub(crate) struct Bursts<T> {
    replies: mpsc::Receiver<T>,
    /// The writer has yielded once since it was woken; read until the channel is empty.
    draining: bool,
}

impl<T> Bursts<T> {
    pub(crate) fn new(replies: mpsc::Receiver<T>) -> Self {
        Self {
            replies,
            draining: false,
        }
    }
}

impl<T> Stream for Bursts<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if !self.draining {
            self.draining = true;
            // Woken while it runs, the task is put at the back of the queue (tokio's yield).
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let next = self.replies.poll_recv(cx);
        if next.is_pending() {
            self.draining = false;
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
}
