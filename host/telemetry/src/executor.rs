//! One executor instance: how long calls wait for it and how long they compute, apart, so a
//! slow executor and a starved one look different.

use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus::{IntGauge, IntGaugeVec};

use crate::endpoints::EndpointTable;
use crate::sharded::{Counter, Family, Histogram, UpDown};
use crate::{RegisterError, Registrar, buckets, jina};

/// Who an instance is: one replica of one shard of an executor.
#[derive(Debug, Clone, Copy)]
pub struct InstanceLabels<'a> {
    /// The executor's name in the flow.
    pub executor: &'a str,
    /// The replica, from 0.
    pub replica: u32,
    /// The shard, from 0.
    pub shard: u32,
    /// How many shards the executor has (Jina names pods with `/shard-N` only when sharded).
    pub shards: u32,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// Answered.
    Ok,
    /// The executor raised an error; the instance is kept.
    Raised,
    /// The guest trapped.
    Trap,
    /// The call ran past its deadline.
    Deadline,
    /// The guest asked for more memory than its cap.
    Memory,
    /// The guest ran out of fuel.
    Fuel,
    /// The guest answered documents that do not form a valid batch.
    InvalidOutput,
    /// The call never ran: the instance could not be restarted.
    Unavailable,
}

impl CallOutcome {
    const ALL: [CallOutcome; 8] = [
        CallOutcome::Ok,
        CallOutcome::Raised,
        CallOutcome::Trap,
        CallOutcome::Deadline,
        CallOutcome::Memory,
        CallOutcome::Fuel,
        CallOutcome::InvalidOutput,
        CallOutcome::Unavailable,
    ];

    /// Whether an instance is replaced after a call ends this way.
    pub fn poisons(self) -> bool {
        matches!(
            self,
            CallOutcome::Trap | CallOutcome::Deadline | CallOutcome::Memory | CallOutcome::Fuel
        )
    }

    /// The `outcome` (and replacement `cause`) label.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::Raised => "raised",
            CallOutcome::Trap => "trap",
            CallOutcome::Deadline => "deadline",
            CallOutcome::Memory => "memory",
            CallOutcome::Fuel => "fuel",
            CallOutcome::InvalidOutput => "invalid_output",
            CallOutcome::Unavailable => "unavailable",
        }
    }
}

pub(crate) struct Families {
    process_seconds: Family<Histogram>,
    documents: Family<Counter>,
    queue_seconds: Family<Histogram>,
    compute_seconds: Family<Histogram>,
    in_flight: Family<UpDown>,
    calls: Family<Counter>,
    replacements: Family<Counter>,
    memory: IntGaugeVec,
    fuel: Family<Counter>,
}

const INSTANCE: &[&str] = &["executor", "replica", "shard"];

impl Families {
    pub(crate) fn register(register: &mut Registrar<'_>) -> Result<Self, RegisterError> {
        Ok(Self {
            process_seconds: register.histogram(
                "jina_process_request_seconds",
                "Time spent when calling the executor request method",
                &["executor", "executor_endpoint", "runtime_name"],
                buckets::SECONDS,
            )?,
            documents: register.counter(
                "jina_document_processed_total",
                "Number of Documents that have been processed by the executor",
                &["executor_endpoint", "executor", "runtime_name"],
            )?,
            queue_seconds: register.histogram(
                "flowhost_executor_queue_seconds",
                "Time a call waited for its instance (the instance was busy with other calls)",
                INSTANCE,
                buckets::SECONDS,
            )?,
            compute_seconds: register.histogram(
                "flowhost_executor_compute_seconds",
                "Time a call ran in its instance",
                INSTANCE,
                buckets::SECONDS,
            )?,
            in_flight: register.up_down(
                "flowhost_executor_calls_in_flight",
                "Calls waiting for or running in the instance",
                INSTANCE,
            )?,
            calls: register.counter(
                "flowhost_executor_calls_total",
                "Calls that ended, by outcome",
                &["executor", "replica", "shard", "outcome"],
            )?,
            replacements: register.counter(
                "flowhost_executor_replacements_total",
                "Instances replaced after a call poisoned them, by cause",
                &["executor", "replica", "shard", "cause"],
            )?,
            memory: register.int_gauge(
                "flowhost_executor_memory_bytes",
                "Linear memory the instance has grown to",
                INSTANCE,
            )?,
            fuel: register.counter(
                "flowhost_executor_fuel_consumed_total",
                "Fuel the instance's calls consumed (only when the executor has a fuel limit)",
                INSTANCE,
            )?,
        })
    }
}

/// One instance's handles.
pub struct ExecutorMetrics {
    jina: jina::Requests,
    queue_seconds: Histogram,
    compute_seconds: Histogram,
    in_flight: UpDown,
    calls: [Counter; 8],
    /// Only the causes that poison an instance.
    replacements: [Option<Counter>; 8],
    memory: IntGauge,
    fuel: Counter,
    endpoints: EndpointTable<EndpointHandles>,
}

impl std::fmt::Debug for ExecutorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutorMetrics").finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct EndpointHandles {
    process_seconds: Histogram,
    documents: Counter,
}

impl ExecutorMetrics {
    pub(crate) fn new(
        families: &Families,
        jina: &jina::Families,
        labels: InstanceLabels<'_>,
    ) -> Self {
        let InstanceLabels {
            executor,
            replica,
            shard,
            shards,
        } = labels;
        let runtime_name = jina::runtime_name(executor, replica, shard, shards);
        let (replica, shard) = (replica.to_string(), shard.to_string());
        let instance = [executor, replica.as_str(), shard.as_str()];
        let with = |family: &Family<Counter>, last: &str| {
            family.with_label_values(&[executor, replica.as_str(), shard.as_str(), last])
        };
        let process_seconds = families.process_seconds.clone();
        let documents = families.documents.clone();
        let executor_name: Arc<str> = executor.into();
        let runtime: Arc<str> = runtime_name.as_str().into();
        Self {
            jina: jina.for_runtime(&runtime_name),
            queue_seconds: families.queue_seconds.with_label_values(&instance),
            compute_seconds: families.compute_seconds.with_label_values(&instance),
            in_flight: families.in_flight.with_label_values(&instance),
            calls: CallOutcome::ALL.map(|outcome| with(&families.calls, outcome.as_str())),
            replacements: CallOutcome::ALL.map(|outcome| {
                outcome
                    .poisons()
                    .then(|| with(&families.replacements, outcome.as_str()))
            }),
            memory: families.memory.with_label_values(&instance),
            fuel: families.fuel.with_label_values(&instance),
            endpoints: EndpointTable::new(move |endpoint: &str| EndpointHandles {
                process_seconds: process_seconds.with_label_values(&[
                    &executor_name,
                    endpoint,
                    &runtime,
                ]),
                documents: documents.with_label_values(&[endpoint, &executor_name, &runtime]),
            }),
        }
    }

    /// Fixes the endpoints the instance is bound to, so looking them up takes no lock.
    pub fn bind_endpoints<'a>(&self, endpoints: impl IntoIterator<Item = &'a str>) {
        self.endpoints.bind(endpoints);
    }

    /// A call arrives for the instance; [`CallMeter::waits`] if it has to wait for it.
    pub fn queued(self: &Arc<Self>) -> CallMeter {
        self.in_flight.inc();
        CallMeter {
            metrics: self.clone(),
            waiting: None,
            started: None,
        }
    }

    /// The instance was replaced after a call ended with `cause`.
    pub fn replaced(&self, cause: CallOutcome) {
        if let Some(counter) = &self.replacements[cause as usize] {
            counter.inc();
        }
    }

    /// The instance's linear memory now.
    pub fn memory(&self, bytes: u64) {
        self.memory.set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// A call consumed `fuel`.
    pub fn fuel(&self, fuel: u64) {
        self.fuel.inc_by(fuel);
    }
}

/// One call, from the moment it arrives for the instance to its end.
pub struct CallMeter {
    metrics: Arc<ExecutorMetrics>,
    waiting: Option<Instant>,
    started: Option<Instant>,
}

impl CallMeter {
    /// The instance is busy: the call waits from now. A call that finds it free does not read
    /// the clock until it starts, and its wait counts as zero.
    pub fn waits(&mut self) {
        self.waiting = Some(Instant::now());
    }

    /// The call has the instance: its wait ends, its compute begins.
    pub fn started(&mut self) {
        let now = Instant::now();
        let waited = self.waiting.map_or(Duration::ZERO, |waiting| now - waiting);
        self.metrics.queue_seconds.observe_duration(waited);
        self.started = Some(now);
    }

    /// The call ended with `outcome`, having carried `documents` for `endpoint`.
    pub fn finished(self, endpoint: &str, documents: usize, outcome: CallOutcome) {
        let now = Instant::now();
        let metrics = &self.metrics;
        let started = self.started.unwrap_or(now);
        let compute = now - started;
        metrics.compute_seconds.observe_duration(compute);
        metrics.calls[outcome as usize].inc();
        metrics.endpoints.with(endpoint, |handles| {
            handles.process_seconds.observe_duration(compute);
            if outcome == CallOutcome::Ok {
                handles.documents.inc_by(documents as u64);
            }
        });
        if outcome == CallOutcome::Ok {
            metrics.jina.successful.inc();
        } else {
            metrics.jina.failed.inc();
        }
        metrics
            .jina
            .receiving_seconds
            .observe_duration(now - self.waiting.unwrap_or(started));
    }
}

impl Drop for CallMeter {
    fn drop(&mut self) {
        self.metrics.in_flight.dec();
    }
}
