//! The families Jina's gateway and its executors' workers both record, keyed by
//! `runtime_name` (`gateway`, or `executor/rep-0`, `executor/shard-1/rep-0` as Jina names
//! its pods).

use crate::sharded::{Counter, Family, Histogram};
use crate::{RegisterError, Registrar, buckets};

pub(crate) struct Families {
    receiving_seconds: Family<Histogram>,
    successful: Family<Counter>,
    failed: Family<Counter>,
}

impl Families {
    pub(crate) fn register(register: &mut Registrar<'_>) -> Result<Self, RegisterError> {
        Ok(Self {
            receiving_seconds: register.histogram(
                "jina_receiving_request_seconds",
                "Time spent processing a request (at the gateway: successful requests only, as Jina)",
                &["runtime_name"],
                buckets::SECONDS,
            )?,
            successful: register.counter(
                "jina_successful_requests_total",
                "Number of successful requests",
                &["runtime_name"],
            )?,
            failed: register.counter(
                "jina_failed_requests_total",
                "Number of failed requests",
                &["runtime_name"],
            )?,
        })
    }

    pub(crate) fn for_runtime(&self, runtime_name: &str) -> Requests {
        Requests {
            receiving_seconds: self.receiving_seconds.with_label_values(&[runtime_name]),
            successful: self.successful.with_label_values(&[runtime_name]),
            failed: self.failed.with_label_values(&[runtime_name]),
        }
    }
}

/// One runtime's request handles.
#[derive(Clone)]
pub(crate) struct Requests {
    pub(crate) receiving_seconds: Histogram,
    pub(crate) successful: Counter,
    pub(crate) failed: Counter,
}

/// Jina's name for one replica of one shard of an executor.
pub(crate) fn runtime_name(executor: &str, replica: u32, shard: u32, shards: u32) -> String {
    if shards > 1 {
        format!("{executor}/shard-{shard}/rep-{replica}")
    } else {
        format!("{executor}/rep-{replica}")
    }
}
