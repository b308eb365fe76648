//! An executor served elsewhere: every attempt to call it, and whether it was last reached.

use std::time::Duration;

use prometheus::{IntGauge, IntGaugeVec};

use crate::sharded::{Counter, Family, Histogram};
use crate::{RegisterError, Registrar, buckets};

/// How one attempt to call a remote executor ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteOutcome {
    /// The executor answered (with documents or with its error).
    Answered,
    /// No answer within `timeout_send`.
    Timeout,
    /// The call did not reach the executor (no connection, reset, unavailable).
    Unreachable,
    /// The peer refused the call or answered something that is not a reply.
    Refused,
}

impl RemoteOutcome {
    const ALL: [RemoteOutcome; 4] = [
        RemoteOutcome::Answered,
        RemoteOutcome::Timeout,
        RemoteOutcome::Unreachable,
        RemoteOutcome::Refused,
    ];

    /// The `result` label.
    pub fn as_str(self) -> &'static str {
        match self {
            RemoteOutcome::Answered => "answered",
            RemoteOutcome::Timeout => "timeout",
            RemoteOutcome::Unreachable => "unreachable",
            RemoteOutcome::Refused => "refused",
        }
    }
}

pub(crate) struct Families {
    sending_seconds: Family<Histogram>,
    attempts: Family<Counter>,
    retries: Family<Counter>,
    connected: IntGaugeVec,
}

impl Families {
    pub(crate) fn register(register: &mut Registrar<'_>) -> Result<Self, RegisterError> {
        Ok(Self {
            sending_seconds: register.histogram(
                "jina_sending_request_seconds",
                "Time spent between sending a request to a remote Executor and receiving the response",
                &["runtime_name"],
                buckets::SECONDS,
            )?,
            attempts: register.counter(
                "flowhost_remote_attempts_total",
                "Attempts to call a remote executor, by result (answered, timeout, unreachable, refused)",
                &["executor", "result"],
            )?,
            retries: register.counter(
                "flowhost_remote_retries_total",
                "Attempts after the first for one call to a remote executor",
                &["executor"],
            )?,
            connected: register.int_gauge(
                "flowhost_remote_connected",
                "Whether the last attempt or health check reached this address of a remote executor (1) or not (0)",
                &["executor", "address"],
            )?,
        })
    }
}

/// A remote executor's handles.
pub struct RemoteMetrics {
    executor: String,
    sending_seconds: Histogram,
    attempts: [Counter; 4],
    retries: Counter,
    connected: IntGaugeVec,
}

impl std::fmt::Debug for RemoteMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteMetrics")
            .field("executor", &self.executor)
            .finish_non_exhaustive()
    }
}

impl RemoteMetrics {
    pub(crate) fn new(families: &Families, executor: &str) -> Self {
        Self {
            executor: executor.to_owned(),
            // Jina's gateway labels its connection pool's timings with its own name.
            sending_seconds: families.sending_seconds.with_label_values(&["gateway"]),
            attempts: RemoteOutcome::ALL.map(|outcome| {
                families
                    .attempts
                    .with_label_values(&[executor, outcome.as_str()])
            }),
            retries: families.retries.with_label_values(&[executor]),
            connected: families.connected.clone(),
        }
    }

    /// The connection-state gauge of one address, to keep beside its channel.
    pub fn address(&self, address: &str) -> IntGauge {
        self.connected.with_label_values(&[&self.executor, address])
    }

    /// One attempt ended with `outcome` after `took`; `retry` when it was not the first.
    pub fn attempt(&self, outcome: RemoteOutcome, took: Duration, retry: bool) {
        self.attempts[outcome as usize].inc();
        if retry {
            self.retries.inc();
        }
        if outcome == RemoteOutcome::Answered {
            self.sending_seconds.observe_duration(took);
        }
    }
}
