//! The families Jina's gateway and its executors' workers both record, keyed by
//! `runtime_name` (`gateway`, or `executor/rep-0`, `executor/shard-1/rep-0` as Jina names
//! its pods). Nothing records into them directly: the gateway and each instance derive them
//! from what they record anyway, at scrape time.

use prometheus::proto::MetricType;

use crate::buckets;
use crate::scrape::{Def, Out};
use crate::sharded::HistogramTotals;

pub(crate) const RECEIVING_SECONDS: Def = Def {
    name: "jina_receiving_request_seconds",
    help: "Time spent processing a request (at the gateway: successful requests only, as Jina)",
    labels: &["runtime_name"],
    kind: MetricType::HISTOGRAM,
};

pub(crate) const SUCCESSFUL: Def = Def {
    name: "jina_successful_requests_total",
    help: "Number of successful requests",
    labels: &["runtime_name"],
    kind: MetricType::COUNTER,
};

pub(crate) const FAILED: Def = Def {
    name: "jina_failed_requests_total",
    help: "Number of failed requests",
    labels: &["runtime_name"],
    kind: MetricType::COUNTER,
};

pub(crate) const DEFS: [&Def; 3] = [&RECEIVING_SECONDS, &SUCCESSFUL, &FAILED];

/// One runtime's requests, as Jina counts them.
pub(crate) struct Requests<'a> {
    pub(crate) runtime_name: &'a str,
    pub(crate) successful: u64,
    pub(crate) failed: u64,
    pub(crate) receiving: &'a HistogramTotals,
}

impl Requests<'_> {
    pub(crate) fn render(&self, out: &mut Out) {
        let runtime = [self.runtime_name];
        out.histogram(
            &RECEIVING_SECONDS,
            &runtime,
            self.receiving,
            &buckets::SECONDS,
        );
        out.counter(&SUCCESSFUL, &runtime, self.successful);
        out.counter(&FAILED, &runtime, self.failed);
    }
}

/// Jina's name for one replica of one shard of an executor.
pub(crate) fn runtime_name(executor: &str, replica: u32, shard: u32, shards: u32) -> String {
    if shards > 1 {
        format!("{executor}/shard-{shard}/rep-{replica}")
    } else {
        format!("{executor}/rep-{replica}")
    }
}
