//! The front door: every request a client sends, by protocol, endpoint and how it ended.

use std::sync::Arc;
use std::time::Instant;

use crate::endpoints::{EndpointTable, Slot};
use crate::sharded::{Counter, Family, Histogram, UpDown};
use crate::{RegisterError, Registrar, buckets, jina};

/// The protocol a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// gRPC (`JinaRPC`, `JinaSingleDataRequestRPC`).
    Grpc,
    /// HTTP (`POST /post` and the endpoint routes).
    Http,
    /// WebSocket.
    WebSocket,
}

impl Front {
    const ALL: [Front; 3] = [Front::Grpc, Front::Http, Front::WebSocket];

    /// The `protocol` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Front::Grpc => "grpc",
            Front::Http => "http",
            Front::WebSocket => "websocket",
        }
    }
}

/// Why the gateway refused a request before the flow saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Larger than a limit: `max_request_size`, the gRPC message limit, or more memory than
    /// the whole request budget.
    TooLarge,
    /// Its body did not arrive within `read_timeout_ms`.
    ReadTimeout,
    /// Not a readable request: a malformed body, message, document or compression.
    Unreadable,
    /// The request memory budget was spent by the requests in flight.
    Overloaded,
    /// The flow was shutting down.
    ShuttingDown,
}

impl Refused {
    const ALL: [Refused; 5] = [
        Refused::TooLarge,
        Refused::ReadTimeout,
        Refused::Unreadable,
        Refused::Overloaded,
        Refused::ShuttingDown,
    ];

    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::TooLarge => "too_large",
            Refused::ReadTimeout => "read_timeout",
            Refused::Unreadable => "unreadable",
            Refused::Overloaded => "overloaded",
            Refused::ShuttingDown => "shutting_down",
        }
    }
}

pub(crate) struct Families {
    pending: Family<UpDown>,
    refused: Family<Counter>,
    received_request_bytes: Family<Histogram>,
    sent_response_bytes: Family<Histogram>,
    requests: Family<Counter>,
    request_seconds: Family<Histogram>,
    received_bytes: Family<Counter>,
    sent_bytes: Family<Counter>,
}

impl Families {
    pub(crate) fn register(register: &mut Registrar<'_>) -> Result<Self, RegisterError> {
        Ok(Self {
            refused: register.counter(
                "flowhost_refused_requests_total",
                "Requests refused before the flow saw them, by protocol and reason",
                &["protocol", "reason"],
            )?,
            pending: register.up_down(
                "jina_number_of_pending_requests",
                "Number of pending requests",
                &["runtime_name"],
            )?,
            received_request_bytes: register.histogram(
                "jina_received_request_bytes",
                "The size in bytes of the requests received from clients",
                &["runtime_name"],
                buckets::BYTES,
            )?,
            sent_response_bytes: register.histogram(
                "jina_sent_response_bytes",
                "The size in bytes of the responses returned to clients",
                &["runtime_name"],
                buckets::BYTES,
            )?,
            requests: register.counter(
                "flowhost_requests_total",
                "Requests answered, by protocol, endpoint and status (ok, or the kind of error)",
                &["protocol", "endpoint", "status"],
            )?,
            request_seconds: register.histogram(
                "flowhost_request_seconds",
                "Time from a request's arrival to its answer, by protocol and endpoint",
                &["protocol", "endpoint"],
                buckets::SECONDS,
            )?,
            received_bytes: register.counter(
                "flowhost_received_bytes_total",
                "Bytes of requests received, by protocol",
                &["protocol"],
            )?,
            sent_bytes: register.counter(
                "flowhost_sent_bytes_total",
                "Bytes of answers sent, by protocol",
                &["protocol"],
            )?,
        })
    }
}

/// The gateway's handles: clone freely.
#[derive(Clone)]
pub struct GatewayMetrics {
    inner: Arc<Inner>,
}

struct Inner {
    jina: jina::Requests,
    pending: UpDown,
    received_request_bytes: Histogram,
    sent_response_bytes: Histogram,
    fronts: [FrontHandles; 3],
}

struct FrontHandles {
    refused: [Counter; Refused::ALL.len()],
    received_bytes: Counter,
    sent_bytes: Counter,
    endpoints: EndpointTable<EndpointHandles>,
}

#[derive(Clone)]
struct EndpointHandles {
    seconds: Histogram,
    ok: Counter,
    requests: Family<Counter>,
    protocol: &'static str,
    endpoint: Arc<str>,
}

impl GatewayMetrics {
    pub(crate) fn new(families: &Families, jina: &jina::Families) -> Self {
        const RUNTIME: &str = "gateway";
        let fronts = Front::ALL.map(|front| {
            let protocol = front.as_str();
            let request_seconds = families.request_seconds.clone();
            let requests = families.requests.clone();
            FrontHandles {
                refused: Refused::ALL.map(|why| {
                    families
                        .refused
                        .with_label_values(&[protocol, why.as_str()])
                }),
                received_bytes: families.received_bytes.with_label_values(&[protocol]),
                sent_bytes: families.sent_bytes.with_label_values(&[protocol]),
                endpoints: EndpointTable::new(move |endpoint: &str| EndpointHandles {
                    seconds: request_seconds.with_label_values(&[protocol, endpoint]),
                    ok: requests.with_label_values(&[protocol, endpoint, "ok"]),
                    requests: requests.clone(),
                    protocol,
                    endpoint: endpoint.into(),
                }),
            }
        });
        Self {
            inner: Arc::new(Inner {
                jina: jina.for_runtime(RUNTIME),
                pending: families.pending.with_label_values(&[RUNTIME]),
                received_request_bytes: families
                    .received_request_bytes
                    .with_label_values(&[RUNTIME]),
                sent_response_bytes: families.sent_response_bytes.with_label_values(&[RUNTIME]),
                fronts,
            }),
        }
    }

    /// Fixes the endpoints the flow binds, so looking them up takes no lock.
    pub fn bind_endpoints(&self, endpoints: &[String]) {
        for front in &self.inner.fronts {
            front.endpoints.bind(endpoints.iter().map(String::as_str));
        }
    }

    /// A request that came in on `front` was refused before the flow saw it.
    pub fn refused(&self, front: Front, why: Refused) {
        self.refused_many(front, why, 1);
    }

    /// `count` requests that came in on `front` were refused as one (the rest of a stream).
    pub fn refused_many(&self, front: Front, why: Refused, count: u64) {
        self.inner.fronts[front as usize].refused[why as usize].inc_by(count);
    }

    /// A request of `received_bytes` arrived for `endpoint`: it is pending until the
    /// meter is finished (or dropped, which counts it as `cancelled`).
    pub fn request(&self, front: Front, endpoint: &str, received_bytes: usize) -> RequestMeter {
        let inner = &self.inner;
        let handles = &inner.fronts[front as usize];
        handles.received_bytes.inc_by(received_bytes as u64);
        inner.received_request_bytes.observe(received_bytes as u64);
        inner.pending.inc();
        RequestMeter {
            metrics: self.clone(),
            front,
            endpoint: handles.endpoints.slot(endpoint),
            started: Instant::now(),
            finished: false,
        }
    }
}

/// One request in flight at the gateway.
pub struct RequestMeter {
    metrics: GatewayMetrics,
    front: Front,
    endpoint: Slot<EndpointHandles>,
    started: Instant,
    finished: bool,
}

impl RequestMeter {
    /// The request was answered with `sent_bytes`; `error` is its [`error_kind`] when it
    /// failed.
    pub fn finish(mut self, error: Option<&'static str>, sent_bytes: usize) {
        self.finished = true;
        let inner = &self.metrics.inner;
        let took = self.started.elapsed();
        let endpoint = self.handles();
        endpoint.seconds.observe_duration(took);
        inner.fronts[self.front as usize]
            .sent_bytes
            .inc_by(sent_bytes as u64);
        inner.sent_response_bytes.observe(sent_bytes as u64);
        match error {
            None => {
                endpoint.ok.inc();
                inner.jina.successful.inc();
                inner.jina.receiving_seconds.observe_duration(took);
            }
            Some(kind) => {
                self.count(kind);
                inner.jina.failed.inc();
            }
        }
    }

    fn handles(&self) -> &EndpointHandles {
        let front = &self.metrics.inner.fronts[self.front as usize];
        front.endpoints.handles(&self.endpoint)
    }

    fn count(&self, status: &str) {
        let handles = self.handles();
        handles
            .requests
            .with_label_values(&[handles.protocol, &handles.endpoint, status])
            .inc();
    }
}

impl Drop for RequestMeter {
    fn drop(&mut self) {
        self.metrics.inner.pending.dec();
        if !self.finished {
            self.count("cancelled");
        }
    }
}

/// The `status` label of a failed request: flowhost's own kinds by name, anything an
/// executor raised as `raised` (its exception names are unbounded).
pub fn error_kind(exception: &str) -> &'static str {
    match exception {
        "Trap" => "trap",
        "DeadlineExceeded" => "deadline",
        "MemoryLimitExceeded" => "memory",
        "OutOfFuel" => "fuel",
        "InvalidOutput" => "invalid_output",
        "ExecutorUnavailable" => "unavailable",
        _ => "raised",
    }
}
