//! One executor instance: how long calls wait for it and how long they compute, apart, so a
//! slow executor and a starved one look different.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use prometheus::proto::MetricType;

use crate::endpoints::{EndpointTable, INLINE};
use crate::scrape::{Def, Out, outstanding};
use crate::sharded::{HistogramCells, HistogramTotals, Shards, add, my_shard, nanos};
use crate::{buckets, jina};

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

const INSTANCE: &[&str] = &["executor", "replica", "shard"];

const PROCESS_SECONDS: Def = Def {
    name: "jina_process_request_seconds",
    help: "Time spent when calling the executor request method",
    labels: &["executor", "executor_endpoint", "runtime_name"],
    kind: MetricType::HISTOGRAM,
};
const DOCUMENTS: Def = Def {
    name: "jina_document_processed_total",
    help: "Number of Documents that have been processed by the executor",
    labels: &["executor_endpoint", "executor", "runtime_name"],
    kind: MetricType::COUNTER,
};
const QUEUE_SECONDS: Def = Def {
    name: "flowhost_executor_queue_seconds",
    help: "Time a call waited for its instance (the instance was busy with other calls)",
    labels: INSTANCE,
    kind: MetricType::HISTOGRAM,
};
const COMPUTE_SECONDS: Def = Def {
    name: "flowhost_executor_compute_seconds",
    help: "Time a call ran in its instance",
    labels: INSTANCE,
    kind: MetricType::HISTOGRAM,
};
const IN_FLIGHT: Def = Def {
    name: "flowhost_executor_calls_in_flight",
    help: "Calls waiting for or running in the instance",
    labels: INSTANCE,
    kind: MetricType::GAUGE,
};
const CALLS: Def = Def {
    name: "flowhost_executor_calls_total",
    help: "Calls that ended, by outcome",
    labels: &["executor", "replica", "shard", "outcome"],
    kind: MetricType::COUNTER,
};
const REPLACEMENTS: Def = Def {
    name: "flowhost_executor_replacements_total",
    help: "Instances replaced after a call poisoned them, by cause",
    labels: &["executor", "replica", "shard", "cause"],
    kind: MetricType::COUNTER,
};
const MEMORY: Def = Def {
    name: "flowhost_executor_memory_bytes",
    help: "Linear memory the instance has grown to",
    labels: INSTANCE,
    kind: MetricType::GAUGE,
};
const FUEL: Def = Def {
    name: "flowhost_executor_fuel_consumed_total",
    help: "Fuel the instance's calls consumed (only when the executor has a fuel limit)",
    labels: INSTANCE,
    kind: MetricType::COUNTER,
};

/// The families the instances' blocks serve.
pub(crate) const DEFS: [&Def; 9] = [
    &PROCESS_SECONDS,
    &DOCUMENTS,
    &QUEUE_SECONDS,
    &COMPUTE_SECONDS,
    &IN_FLIGHT,
    &CALLS,
    &REPLACEMENTS,
    &MEMORY,
    &FUEL,
];

/// What one thread records of the calls to one instance.
///
/// A call that finds the instance free (most do) waited zero, and Jina's arrival-to-end time
/// is its compute time: it records only its arrival, its outcome and its endpoint's compute
/// time, all in the first 128 bytes. Its zero wait and its Jina time are derived at scrape.
/// Only a call that waited records its wait and its Jina time.
#[derive(Default)]
#[repr(C)]
struct CallCells {
    arrived: AtomicU64,
    /// Calls by [`CallOutcome`].
    outcomes: [AtomicU64; CallOutcome::ALL.len()],
    /// Calls whose caller went away before they took the instance.
    abandoned: AtomicU64,
    fuel: AtomicU64,
    /// The first bound endpoints' cells ([`Slot::Inline`](crate::endpoints::Slot::Inline)).
    endpoints: [EndpointCells; INLINE],
    /// The waits of calls that waited.
    queue: HistogramCells,
    /// From arrival to the end, as Jina's worker times a request, of calls that waited.
    receiving: HistogramCells,
}

impl CallCells {
    /// The cells of the bound endpoint at `at` (below [`INLINE`]).
    fn endpoint(&self, at: usize) -> &EndpointCells {
        &self.endpoints[at]
    }
}

/// What one thread records of one instance's calls to one endpoint.
#[derive(Default)]
#[repr(C)]
struct EndpointCells {
    documents: AtomicU64,
    /// The compute time of calls that found the instance free.
    compute_free: HistogramCells,
    /// The compute time of calls that waited for it.
    compute_waited: HistogramCells,
}

/// One instance's blocks.
///
/// `repr(C)`: the cells' pointer and the endpoints' short names first, on one line.
#[repr(C)]
pub struct ExecutorMetrics {
    cells: Shards<CallCells>,
    endpoints: EndpointTable<Shards<EndpointCells>>,
    executor: String,
    replica: String,
    shard: String,
    runtime_name: String,
    /// Replacements by cause: rare, so one shared cell each.
    replacements: [AtomicU64; CallOutcome::ALL.len()],
    memory: AtomicU64,
}

impl std::fmt::Debug for ExecutorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutorMetrics")
            .field("runtime_name", &self.runtime_name)
            .finish_non_exhaustive()
    }
}

impl ExecutorMetrics {
    pub(crate) fn new(labels: InstanceLabels<'_>) -> Self {
        let InstanceLabels {
            executor,
            replica,
            shard,
            shards,
        } = labels;
        Self {
            executor: executor.to_owned(),
            replica: replica.to_string(),
            shard: shard.to_string(),
            runtime_name: jina::runtime_name(executor, replica, shard, shards),
            cells: Shards::new(),
            endpoints: EndpointTable::new(|_| Shards::new()),
            replacements: Default::default(),
            memory: AtomicU64::new(0),
        }
    }

    /// Fixes the endpoints the instance is bound to, so looking them up takes no lock.
    pub fn bind_endpoints<'a>(&self, endpoints: impl IntoIterator<Item = &'a str>) {
        self.endpoints.bind(endpoints);
    }

    /// A call arrives for the instance; [`CallMeter::waits`] if it has to wait for it.
    pub fn queued(&self) -> CallMeter<'_> {
        let (cells, alone) = self.cells.at(my_shard());
        add(&cells.arrived, 1, alone);
        CallMeter {
            metrics: self,
            waiting: None,
            started: false,
        }
    }

    /// The call `running` ended with `outcome`, having carried `documents` for `endpoint`.
    pub fn finished(
        &self,
        running: RunningCall,
        endpoint: &str,
        documents: usize,
        outcome: CallOutcome,
    ) {
        let now = Instant::now();
        let shard = my_shard();
        let (call, alone) = self.cells.at(shard);
        add(&call.outcomes[outcome as usize], 1, alone);
        let slot = self.endpoints.slot(endpoint);
        let cells = slot.cells(shard, |at| call.endpoint(at));
        let compute = nanos(now - running.started);
        match running.waiting {
            None => cells
                .compute_free
                .observe(&buckets::SECONDS, compute, alone),
            Some(waiting) => {
                cells
                    .compute_waited
                    .observe(&buckets::SECONDS, compute, alone);
                let receiving = nanos(now - waiting);
                call.receiving.observe(&buckets::SECONDS, receiving, alone);
            }
        }
        if outcome == CallOutcome::Ok {
            add(&cells.documents, documents as u64, alone);
        }
    }

    /// The instance was replaced after a call ended with `cause`.
    pub fn replaced(&self, cause: CallOutcome) {
        if cause.poisons() {
            self.replacements[cause as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The instance's linear memory now.
    pub fn memory(&self, bytes: u64) {
        // Read first: it rarely changes, and a line only read stays in every core's cache.
        if self.memory.load(Ordering::Relaxed) != bytes {
            self.memory.store(bytes, Ordering::Relaxed);
        }
    }

    /// A call consumed `fuel`.
    pub fn fuel(&self, fuel: u64) {
        let (cells, alone) = self.cells.at(my_shard());
        add(&cells.fuel, fuel, alone);
    }

    /// Writes the instance's families, derived from its blocks.
    pub(crate) fn render(&self, out: &mut Out) {
        let instance = [
            self.executor.as_str(),
            self.replica.as_str(),
            self.shard.as_str(),
        ];
        let runtime = self.runtime_name.as_str();
        let mut compute_all = HistogramTotals::default();
        // Calls that found the instance free: their compute time is their Jina time.
        let mut free = HistogramTotals::default();
        self.endpoints.for_each(|endpoint, slot| {
            let mut compute = HistogramTotals::default();
            let mut documents = 0u64;
            let add_up = |cells: &EndpointCells| {
                free.add(&cells.compute_free);
                compute.add(&cells.compute_free);
                compute.add(&cells.compute_waited);
                documents = documents.wrapping_add(cells.documents.load(Ordering::Relaxed));
            };
            slot.each(&self.cells, CallCells::endpoint, add_up);
            out.histogram(
                &PROCESS_SECONDS,
                &[&self.executor, endpoint, runtime],
                &compute,
                &buckets::SECONDS,
            );
            out.counter(&DOCUMENTS, &[endpoint, &self.executor, runtime], documents);
            compute_all.merge(&compute);
        });
        // Ends first: see `scrape::outstanding`.
        let mut outcomes = [0u64; CallOutcome::ALL.len()];
        let mut ended = 0u64;
        let mut arrived = 0u64;
        let mut fuel = 0u64;
        let mut queue = HistogramTotals::default();
        let mut receiving = HistogramTotals::default();
        for cells in self.cells.all() {
            for (total, count) in outcomes.iter_mut().zip(&cells.outcomes) {
                *total = total.wrapping_add(count.load(Ordering::Relaxed));
            }
            ended = ended.wrapping_add(cells.abandoned.load(Ordering::Relaxed));
            queue.add(&cells.queue);
            receiving.add(&cells.receiving);
            fuel = fuel.wrapping_add(cells.fuel.load(Ordering::Relaxed));
        }
        ended = (outcomes.iter()).fold(ended, |sum, &count| sum.wrapping_add(count));
        queue.add_zeros(free.count());
        receiving.merge(&free);
        for cells in self.cells.all() {
            arrived = arrived.wrapping_add(cells.arrived.load(Ordering::Relaxed));
        }
        out.histogram(&QUEUE_SECONDS, &instance, &queue, &buckets::SECONDS);
        out.histogram(&COMPUTE_SECONDS, &instance, &compute_all, &buckets::SECONDS);
        out.gauge(&IN_FLIGHT, &instance, outstanding(ended, arrived));
        let [executor, replica, shard] = instance;
        for (outcome, &count) in CallOutcome::ALL.iter().zip(&outcomes) {
            out.counter(&CALLS, &[executor, replica, shard, outcome.as_str()], count);
        }
        for cause in CallOutcome::ALL.into_iter().filter(|c| c.poisons()) {
            let count = self.replacements[cause as usize].load(Ordering::Relaxed);
            out.counter(
                &REPLACEMENTS,
                &[executor, replica, shard, cause.as_str()],
                count,
            );
        }
        out.gauge(&MEMORY, &instance, self.memory.load(Ordering::Relaxed));
        out.counter(&FUEL, &instance, fuel);
        let successful = outcomes[CallOutcome::Ok as usize];
        jina::Requests {
            runtime_name: runtime,
            successful,
            failed: (outcomes.iter().sum::<u64>()).wrapping_sub(successful),
            receiving: &receiving,
        }
        .render(out);
    }
}

/// One call, from the moment it arrives for the instance until it takes it; dropped before
/// that, it counts as abandoned.
pub struct CallMeter<'a> {
    metrics: &'a ExecutorMetrics,
    waiting: Option<Instant>,
    started: bool,
}

impl CallMeter<'_> {
    /// The instance is busy: the call waits from now. A call that finds it free does not read
    /// the clock until it starts, and its wait counts as zero.
    pub fn waits(&mut self) {
        self.waiting = Some(Instant::now());
    }

    /// The call took the instance at `now`: its wait ends, its compute begins. What is left
    /// to record is [`ExecutorMetrics::finished`]'s, which the call's end must reach.
    ///
    /// The caller reads the clock: it needs the same reading for the call's deadline.
    pub fn started_at(mut self, now: Instant) -> RunningCall {
        self.started = true;
        if let Some(waiting) = self.waiting {
            let (cells, alone) = self.metrics.cells.at(my_shard());
            cells
                .queue
                .observe(&buckets::SECONDS, nanos(now - waiting), alone);
        }
        RunningCall {
            waiting: self.waiting,
            started: now,
        }
    }
}

impl Drop for CallMeter<'_> {
    fn drop(&mut self) {
        if !self.started {
            let (cells, alone) = self.metrics.cells.at(my_shard());
            add(&cells.abandoned, 1, alone);
        }
    }
}

/// A call running in its instance: when it waited from, and when it started.
#[derive(Debug, Clone, Copy)]
pub struct RunningCall {
    waiting: Option<Instant>,
    started: Instant,
}
