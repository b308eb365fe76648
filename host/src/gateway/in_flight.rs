//! Counts the gateway's exchanges in flight, so draining waits for requests and not for
//! connections.
//!
//! An exchange lasts from the request's arrival until its response body has been handed to
//! the connection (finished or dropped). The count is a [`TaskTracker`]'s: a token rides in
//! each response body.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use http_body::{Frame, SizeHint};
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;

/// `app` with every exchange counted in `exchanges`.
pub fn track(app: axum::Router, exchanges: TaskTracker) -> axum::Router {
    app.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let token = exchanges.token();
            async move {
                next.run(request).await.map(|inner| {
                    Body::new(TrackedBody {
                        inner,
                        _token: token,
                    })
                })
            }
        },
    ))
}

/// A response body that holds its exchange's token; it forwards everything, the size hint
/// included, so `Content-Length` answers keep their length.
struct TrackedBody {
    inner: Body,
    _token: TaskTrackerToken,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    #[tokio::test]
    async fn an_exchange_counts_until_its_body_is_done_and_keeps_its_length() {
        let exchanges = TaskTracker::new();
        let app = track(
            axum::Router::new().route("/", axum::routing::get(|| async { "hello" })),
            exchanges.clone(),
        );
        let request = axum::http::Request::get("/").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(exchanges.len(), 1, "the body is not sent yet");
        assert_eq!(response.body().size_hint().exact(), Some(5));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"hello");
        assert_eq!(exchanges.len(), 0);
    }
}
