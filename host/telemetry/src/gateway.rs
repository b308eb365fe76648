//! The front door: every request a client sends, by protocol, endpoint and how it ended.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use prometheus::proto::MetricType;

use crate::endpoints::{EndpointTable, INLINE, Slot};
use crate::scrape::{Def, Out, outstanding};
use crate::sharded::{HistogramGroup, HistogramTotals, Shard, Shards, add, my_shard, nanos};
use crate::{buckets, jina};

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

/// How a request that reached the flow failed: its `status` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// An executor's guest trapped.
    Trap,
    /// An executor's call ran past its deadline.
    Deadline,
    /// An executor's guest asked for more memory than its cap.
    Memory,
    /// An executor's guest ran out of fuel.
    Fuel,
    /// An executor answered documents that do not form a valid batch.
    InvalidOutput,
    /// An executor could not be reached or restarted.
    Unavailable,
    /// An executor raised an error of its own (its exception names are unbounded).
    Raised,
}

impl Failure {
    const ALL: [Failure; 7] = [
        Failure::Trap,
        Failure::Deadline,
        Failure::Memory,
        Failure::Fuel,
        Failure::InvalidOutput,
        Failure::Unavailable,
        Failure::Raised,
    ];

    /// The `status` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Trap => "trap",
            Failure::Deadline => "deadline",
            Failure::Memory => "memory",
            Failure::Fuel => "fuel",
            Failure::InvalidOutput => "invalid_output",
            Failure::Unavailable => "unavailable",
            Failure::Raised => "raised",
        }
    }

    /// The failure an error reply's exception name reports: flowhost's own kinds by name,
    /// anything an executor raised as [`Failure::Raised`].
    pub fn of_exception(exception: &str) -> Failure {
        match exception {
            "Trap" => Failure::Trap,
            "DeadlineExceeded" => Failure::Deadline,
            "MemoryLimitExceeded" => Failure::Memory,
            "OutOfFuel" => Failure::Fuel,
            "InvalidOutput" => Failure::InvalidOutput,
            "ExecutorUnavailable" => Failure::Unavailable,
            _ => Failure::Raised,
        }
    }
}

/// The `status` of a request whose client went away before its answer.
const CANCELLED: usize = Failure::ALL.len();

const RUNTIME: &str = "gateway";

const REFUSED: Def = Def {
    name: "flowhost_refused_requests_total",
    help: "Requests refused before the flow saw them, by protocol and reason",
    labels: &["protocol", "reason"],
    kind: MetricType::COUNTER,
};
const PENDING: Def = Def {
    name: "jina_number_of_pending_requests",
    help: "Number of pending requests",
    labels: &["runtime_name"],
    kind: MetricType::GAUGE,
};
const RECEIVED_REQUEST_BYTES: Def = Def {
    name: "jina_received_request_bytes",
    help: "The size in bytes of the requests received from clients",
    labels: &["runtime_name"],
    kind: MetricType::HISTOGRAM,
};
const SENT_RESPONSE_BYTES: Def = Def {
    name: "jina_sent_response_bytes",
    help: "The size in bytes of the responses returned to clients",
    labels: &["runtime_name"],
    kind: MetricType::HISTOGRAM,
};
const REQUESTS: Def = Def {
    name: "flowhost_requests_total",
    help: "Requests answered, by protocol, endpoint and status (ok, or the kind of error)",
    labels: &["protocol", "endpoint", "status"],
    kind: MetricType::COUNTER,
};
const REQUEST_SECONDS: Def = Def {
    name: "flowhost_request_seconds",
    help: "Time from a request's arrival to its answer, by protocol and endpoint",
    labels: &["protocol", "endpoint"],
    kind: MetricType::HISTOGRAM,
};
const RECEIVED_BYTES: Def = Def {
    name: "flowhost_received_bytes_total",
    help: "Bytes of requests received, by protocol",
    labels: &["protocol"],
    kind: MetricType::COUNTER,
};
const SENT_BYTES: Def = Def {
    name: "flowhost_sent_bytes_total",
    help: "Bytes of answers sent, by protocol",
    labels: &["protocol"],
    kind: MetricType::COUNTER,
};

/// The families the gateway's blocks serve.
pub(crate) const DEFS: [&Def; 8] = [
    &REFUSED,
    &PENDING,
    &RECEIVED_REQUEST_BYTES,
    &SENT_RESPONSE_BYTES,
    &REQUESTS,
    &REQUEST_SECONDS,
    &RECEIVED_BYTES,
    &SENT_BYTES,
];

/// What one thread records of one protocol's requests.
#[derive(Default)]
#[repr(C)]
struct FrontCells {
    /// The first bound endpoints' cells ([`Slot::Inline`]).
    endpoints: [EndpointCells; INLINE],
    refused: [AtomicU64; Refused::ALL.len()],
}

impl FrontCells {
    /// The cells of the bound endpoint at `at` (below [`INLINE`]).
    fn endpoint(&self, at: usize) -> &EndpointCells {
        &self.endpoints[at]
    }
}

/// The histograms of [`EndpointCells::requests`].
const RECEIVED: usize = 0;
const SENT: usize = 1;
/// The time of each request answered successfully: their count is the `ok` status, and
/// Jina's success count and latency.
const ANSWERED: usize = 2;
/// The time of each request answered with an error.
const FAILED: usize = 3;

/// What one thread records of one protocol's requests to one endpoint. A request begins with
/// its size received (their count is the requests begun) and ends with its size sent and its
/// time: three observations in one group, on one or two lines.
///
/// Aligned to a line, so that a small request's sums and first buckets take two lines, not
/// three.
#[derive(Default)]
#[repr(C, align(64))]
struct EndpointCells {
    requests: HistogramGroup<4>,
    /// Requests by [`Failure`], then cancelled.
    statuses: [AtomicU64; CANCELLED + 1],
}

/// The gateway's blocks: clone freely.
#[derive(Clone)]
pub struct GatewayMetrics {
    fronts: Arc<[FrontBlocks; 3]>,
}

/// `repr(C)`: the cells' pointer and the endpoints' short names on one line.
#[repr(C)]
struct FrontBlocks {
    cells: Shards<FrontCells>,
    endpoints: EndpointTable<Shards<EndpointCells>>,
}

impl GatewayMetrics {
    pub(crate) fn new() -> Self {
        Self {
            fronts: Arc::new(Front::ALL.map(|_| FrontBlocks {
                cells: Shards::new(),
                endpoints: EndpointTable::new(|_| Shards::new()),
            })),
        }
    }

    /// Fixes the endpoints the flow binds, so looking them up takes no lock.
    pub fn bind_endpoints(&self, endpoints: &[String]) {
        for front in self.fronts.iter() {
            front.endpoints.bind(endpoints.iter().map(String::as_str));
        }
    }

    /// A request that came in on `front` was refused before the flow saw it.
    pub fn refused(&self, front: Front, why: Refused) {
        self.refused_many(front, why, 1);
    }

    /// `count` requests that came in on `front` were refused as one (the rest of a stream).
    pub fn refused_many(&self, front: Front, why: Refused, count: u64) {
        let (cells, alone) = self.fronts[front as usize].cells.at(my_shard());
        add(&cells.refused[why as usize], count, alone);
    }

    /// A request of `received_bytes` arrived for `endpoint`: it is pending until the
    /// meter is finished (or dropped, which counts it as `cancelled`).
    pub fn request(&self, front: Front, endpoint: &str, received_bytes: usize) -> RequestMeter<'_> {
        let blocks = &self.fronts[front as usize];
        let meter = RequestMeter {
            front: blocks,
            endpoint: blocks.endpoints.slot(endpoint),
            started: Instant::now(),
            finished: false,
        };
        let shard = my_shard();
        (meter.cells(shard).requests).observe(
            RECEIVED,
            &buckets::BYTES,
            received_bytes as u64,
            shard.alone(),
        );
        meter
    }

    /// Writes the gateway's families, derived from its blocks.
    pub(crate) fn render(&self, out: &mut Out) {
        let mut received_all = HistogramTotals::default();
        let mut sent_all = HistogramTotals::default();
        let mut answered_all = HistogramTotals::default();
        let mut failed_all = 0u64;
        let mut pending = 0u64;
        for (front, blocks) in Front::ALL.iter().zip(self.fronts.iter()) {
            let protocol = front.as_str();
            let mut received = HistogramTotals::default();
            let mut sent = HistogramTotals::default();
            blocks.endpoints.for_each(|endpoint, slot| {
                // Ends first: see `scrape::outstanding`.
                let mut answered = HistogramTotals::default();
                let mut failed = HistogramTotals::default();
                let mut statuses = [0u64; CANCELLED + 1];
                slot.each(&blocks.cells, FrontCells::endpoint, |cells| {
                    cells.requests.add_to(ANSWERED, &mut answered);
                    cells.requests.add_to(FAILED, &mut failed);
                    for (total, count) in statuses.iter_mut().zip(&cells.statuses) {
                        *total = total.wrapping_add(count.load(Ordering::Relaxed));
                    }
                });
                let mut began = HistogramTotals::default();
                slot.each(&blocks.cells, FrontCells::endpoint, |cells| {
                    cells.requests.add_to(RECEIVED, &mut began);
                    cells.requests.add_to(SENT, &mut sent);
                });
                out.counter(&REQUESTS, &[protocol, endpoint, "ok"], answered.count());
                let names = Failure::ALL.map(Failure::as_str);
                for (status, &count) in names.iter().chain(&["cancelled"]).zip(&statuses) {
                    if count > 0 {
                        out.counter(&REQUESTS, &[protocol, endpoint, status], count);
                    }
                }
                let mut seconds = answered;
                seconds.merge(&failed);
                out.histogram(
                    &REQUEST_SECONDS,
                    &[protocol, endpoint],
                    &seconds,
                    &buckets::SECONDS,
                );
                let ended = seconds.count().wrapping_add(statuses[CANCELLED]);
                pending = pending.wrapping_add(outstanding(ended, began.count()));
                received.merge(&began);
                answered_all.merge(&answered);
                failed_all = failed_all.wrapping_add(failed.count());
            });
            let mut refused = [0u64; Refused::ALL.len()];
            for cells in blocks.cells.all() {
                for (total, count) in refused.iter_mut().zip(&cells.refused) {
                    *total = total.wrapping_add(count.load(Ordering::Relaxed));
                }
            }
            out.counter(&RECEIVED_BYTES, &[protocol], received.sum());
            out.counter(&SENT_BYTES, &[protocol], sent.sum());
            for (why, count) in Refused::ALL.iter().zip(refused) {
                out.counter(&REFUSED, &[protocol, why.as_str()], count);
            }
            received_all.merge(&received);
            sent_all.merge(&sent);
        }
        let runtime = [RUNTIME];
        out.gauge(&PENDING, &runtime, pending);
        out.histogram(
            &RECEIVED_REQUEST_BYTES,
            &runtime,
            &received_all,
            &buckets::BYTES,
        );
        out.histogram(&SENT_RESPONSE_BYTES, &runtime, &sent_all, &buckets::BYTES);
        jina::Requests {
            runtime_name: RUNTIME,
            successful: answered_all.count(),
            failed: failed_all,
            receiving: &answered_all,
        }
        .render(out);
    }
}

/// One request in flight at the gateway.
pub struct RequestMeter<'a> {
    front: &'a FrontBlocks,
    endpoint: Slot<'a, Shards<EndpointCells>>,
    started: Instant,
    finished: bool,
}

impl RequestMeter<'_> {
    /// The request was answered with `sent_bytes`, having failed as `failure` says.
    pub fn finish(mut self, failure: Option<Failure>, sent_bytes: usize) {
        self.finished = true;
        let took = nanos(self.started.elapsed());
        // The thread may not be the one the request began on.
        let shard = my_shard();
        let alone = shard.alone();
        let cells = self.cells(shard);
        let requests = &cells.requests;
        requests.observe(SENT, &buckets::BYTES, sent_bytes as u64, alone);
        match failure {
            None => requests.observe(ANSWERED, &buckets::SECONDS, took, alone),
            Some(failure) => {
                requests.observe(FAILED, &buckets::SECONDS, took, alone);
                add(&cells.statuses[failure as usize], 1, alone);
            }
        }
    }

    /// The endpoint's cells of the thread at `shard` (the same kind of shard, owned or
    /// shared, as its front's).
    fn cells(&self, shard: Shard) -> &EndpointCells {
        (self.endpoint).cells(shard, |at| self.front.cells.at(shard).0.endpoint(at))
    }
}

impl Drop for RequestMeter<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let shard = my_shard();
            add(&self.cells(shard).statuses[CANCELLED], 1, shard.alone());
        }
    }
}
