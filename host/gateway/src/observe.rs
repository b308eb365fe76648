//! What the gateway records of one request: its count in the metrics, its span in the
//! traces, and its id in the log lines written while it runs; begun where a protocol hands
//! the request to the flow, ended with the reply's size.

use std::sync::Arc;

use flowhost_telemetry::request::in_request;
use flowhost_telemetry::trace::{TRACEPARENT, Traced};
use flowhost_telemetry::{Failure, Front, RequestMeter};
use flowhost_wire::{Request, Response, Status};

use super::Shared;

/// One request being recorded; recording nothing when the gateway is neither monitored nor
/// traced.
pub struct Observed<'a> {
    meter: Option<RequestMeter<'a>>,
    traced: Traced,
    request_id: Arc<str>,
}

impl<'a> Observed<'a> {
    /// Begins recording `request`, `received` bytes on the wire, whose client sent
    /// `traceparent` (W3C) if any.
    pub fn begin(
        shared: &'a Shared,
        front: Front,
        request: &Request,
        received: usize,
        traceparent: Option<&str>,
    ) -> Self {
        let request_id: Arc<str> = request.request_id.as_str().into();
        Self {
            meter: (shared.metrics.as_ref())
                .map(|metrics| metrics.request(front, &request.endpoint, received)),
            traced: Traced::request(front.as_str(), &request.endpoint, &request_id, traceparent),
            request_id,
        }
    }

    /// Runs `request` through the flow in the request's span, as the request its guests'
    /// log lines name.
    pub async fn process(&self, shared: &Shared, request: Request) -> Response {
        let work = self.traced.run(shared.service.process(request));
        in_request(self.request_id.clone(), work).await
    }

    /// How `response` ended, for [`Observed::answered`]: `None` when it succeeded.
    pub fn failure(&self, response: &Response) -> Option<Failure> {
        match &response.status {
            Status::Success => None,
            Status::Error(info) => {
                let failure = Failure::of_exception(&info.name);
                self.traced.fail(failure.as_str(), &info.description);
                Some(failure)
            }
        }
    }

    /// Ends the record: the reply of `sent` bytes ended as `failure` says.
    pub fn answered(self, failure: Option<Failure>, sent: impl FnOnce() -> usize) {
        if let Some(meter) = self.meter {
            meter.finish(failure, sent());
        }
    }
}

/// The W3C `traceparent` of a request's headers (HTTP, WebSocket upgrade) or gRPC metadata.
pub fn traceparent(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(TRACEPARENT)
        .and_then(|value| value.to_str().ok())
}
