//! Counts the gateway's exchanges in flight, so draining waits for requests and not for
//! connections.
//!
//! An exchange lasts from the request's arrival until its response body has been handed to
//! the connection (finished or dropped). The count is a [`TaskTracker`]'s: a token rides in
//! each response body. The gateway keeps one count in all (for draining) and one per
//! connection (an idle connection is one with nothing in flight).

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use http_body::{Frame, SizeHint};
use tokio_util::task::TaskTracker;

/// A connection's service with each exchange counted twice: in the gateway's count (for
/// draining) and in the connection's own (for its idle timeout).
#[derive(Clone)]
pub struct Counted<S> {
    inner: S,
    gateway: TaskTracker,
    connection: TaskTracker,
}

impl<S> Counted<S> {
    pub fn new(inner: S, gateway: TaskTracker, connection: TaskTracker) -> Self {
        Self {
            inner,
            gateway,
            connection,
        }
    }
}

impl<S, B> tower::Service<axum::http::Request<B>> for Counted<S>
where
    S: tower::Service<axum::http::Request<B>, Response = axum::response::Response>,
    S::Future: Send + 'static,
{
    type Response = axum::response::Response;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        let tokens = (self.gateway.token(), self.connection.token());
        let response = self.inner.call(request);
        Box::pin(async move {
            response
                .await
                .map(|response| response.map(|inner| Body::new(Holding::new(inner, tokens))))
        })
    }
}

/// A response body that holds something until it has been handed to the connection (an
/// exchange's token, a budget charge); it forwards everything, the size hint included, so
/// `Content-Length` answers keep their length.
pub struct Holding<T> {
    inner: Body,
    _held: T,
}

impl<T> Holding<T> {
    pub fn new(inner: Body, held: T) -> Self {
        Self { inner, _held: held }
    }
}

impl<T: Unpin> HttpBody for Holding<T> {
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
        let (gateway, connection) = (TaskTracker::new(), TaskTracker::new());
        let app = Counted::new(
            axum::Router::new().route("/", axum::routing::get(|| async { "hello" })),
            gateway.clone(),
            connection.clone(),
        );
        let request = axum::http::Request::get("/").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(gateway.len(), 1, "the body is not sent yet");
        assert_eq!(connection.len(), 1);
        assert_eq!(response.body().size_hint().exact(), Some(5));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"hello");
        assert_eq!((gateway.len(), connection.len()), (0, 0));
    }
}
