//! One live instance of an executor: instantiation, `init`, `describe`, and
//! every call into the guest run under the instance's deadline, memory cap and
//! fuel, with a failure turned into a [`Fault`] that says what happened.

use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use flowhost_telemetry::ExecutorMetrics;
use wasmtime::{Store, Trap, UpdateDeadline};

use super::bindings::{Description, DocumentBatch, ExecutorWorld, WitMetas, WitOutput};
use super::component::ExecutorComponent;
use super::error::{Fault, StartError};
use super::limits::{InstanceLimits, MemoryLimiter};
use super::log_stream::LogTags;
use super::sandbox::{RefuseOutgoing, Sandbox, WORKSPACE_GUEST_PATH, build_wasi};
use super::state::InstanceState;
use super::ticker::{EpochTicker, TICK};

/// Who an instance is and what it is allowed; one per replica and per shard.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    /// The executor's name in the flow, used in every log line and error.
    pub name: String,
    /// The flow's name, in the guest's log lines; default `flow`.
    pub flow: String,
    /// Jina's `metas.name` when the flow sets one (`uses_metas: {name: ...}`); the guest
    /// sees [`InstanceConfig::name`] otherwise. Logs and errors always use `name`.
    pub metas_name: Option<String>,
    /// Jina's `metas.description` (from the flow's `uses_metas`), passed to the guest in `metas`.
    pub description: Option<String>,
    /// Jina's `uses_with`: a JSON object of constructor arguments.
    pub uses_with: serde_json::Value,
    /// This instance's replica index, from 0 (Jina's `metas.replica_id`); default 0.
    pub replica_id: u32,
    /// This instance's shard index, from 0 (Jina's `metas.shard_id`); default 0.
    pub shard_id: u32,
    /// How many replicas the executor has (the flow's `replicas`); default 1.
    pub replicas: u32,
    /// How many shards the executor has (the flow's `shards`); default 1.
    pub shards: u32,
    /// What the guest may see beyond the empty sandbox; default nothing.
    pub sandbox: Sandbox,
    /// Deadline, memory and fuel caps; [`InstanceLimits::default`] unless the flow sets them.
    pub limits: InstanceLimits,
    /// Where this instance's calls are counted and timed; `None` (the default) records
    /// nothing and costs nothing.
    pub metrics: Option<Arc<ExecutorMetrics>>,
}

impl InstanceConfig {
    /// A single-replica, single-shard instance with default limits and an empty sandbox.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            flow: "flow".into(),
            metas_name: None,
            description: None,
            uses_with: serde_json::Value::Object(Default::default()),
            replica_id: 0,
            shard_id: 0,
            replicas: 1,
            shards: 1,
            sandbox: Sandbox::default(),
            limits: InstanceLimits::default(),
            metrics: None,
        }
    }

    fn metas(&self) -> WitMetas {
        WitMetas {
            name: self.metas_name.as_ref().unwrap_or(&self.name).clone(),
            description: self.description.clone(),
            workspace: self
                .sandbox
                .workspace
                .as_ref()
                .map(|_| WORKSPACE_GUEST_PATH.to_owned()),
            replica_id: self.replica_id,
            shard_id: self.shard_id,
            shards: self.shards,
            replicas: self.replicas,
        }
    }
}

pub(crate) struct LiveInstance {
    store: Store<InstanceState>,
    world: ExecutorWorld,
    limits: InstanceLimits,
    ticker: Arc<EpochTicker>,
}

/// Extra time the host-side timer allows past the epoch deadline: the epoch
/// path traps a running guest first; the timer only catches a guest parked in
/// a host call (a WASI sleep), which no epoch check can interrupt.
const TIMER_GRACE: Duration = Duration::from_millis(50);

impl LiveInstance {
    /// Instantiates, runs `init` and `describe`.
    pub(crate) async fn start(
        component: &ExecutorComponent,
        config: &InstanceConfig,
    ) -> Result<(Self, Description), StartError> {
        let mut instance = Self::instantiate_only(component, config).await?;
        let uses_with = config.uses_with.to_string();
        let metas = config.metas();
        let budget = config.limits.start_timeout;
        let deadline = instance.arm(budget, Instant::now());
        let guest = instance.world.flowhost_executor_executor();
        let outcome = timed(
            &instance.ticker,
            deadline,
            guest.call_init(&mut instance.store, &uses_with, &metas),
        )
        .await;
        instance
            .settle(outcome, budget)
            .and_then(|raised| raised.map_err(Fault::Raised))
            .map_err(|fault| StartError::Init {
                executor: config.name.clone(),
                fault,
            })?;
        let description = instance
            .describe()
            .await
            .map_err(|fault| StartError::Describe {
                executor: config.name.clone(),
                fault,
            })?;
        Ok((instance, description))
    }

    /// A fresh store and instance, before `init`.
    pub(crate) async fn instantiate_only(
        component: &ExecutorComponent,
        config: &InstanceConfig,
    ) -> Result<Self, StartError> {
        let executor: Arc<str> = config.name.as_str().into();
        let config_error = |reason: String| StartError::Config {
            executor: config.name.clone(),
            reason,
        };
        if config.limits.memory > component.max_memory {
            return Err(config_error(format!(
                "memory limit {} is above the runtime's per-instance maximum {}",
                super::limits::human_bytes(config.limits.memory),
                super::limits::human_bytes(component.max_memory)
            )));
        }
        if config.limits.fuel.is_some() && !component.fuel_enabled {
            return Err(config_error(
                "a fuel limit needs the runtime to meter fuel (RuntimeConfig::consume_fuel)".into(),
            ));
        }
        let log = Arc::new(LogTags {
            flow: config.flow.as_str().into(),
            executor: executor.clone(),
            replica: config.replica_id,
            shard: config.shard_id,
        });
        let state = InstanceState {
            wasi: build_wasi(&executor, &log, &config.sandbox)?,
            log,
            table: Default::default(),
            http: Default::default(),
            http_hooks: RefuseOutgoing,
            limiter: MemoryLimiter::new(config.limits.memory),
            deadline: None,
            deadline_hit: false,
        };
        let mut store = Store::new(&component.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_callback(|mut context| {
            let state = context.data_mut();
            match state.deadline {
                Some(deadline) if Instant::now() >= deadline => {
                    state.deadline_hit = true;
                    Ok(UpdateDeadline::Interrupt)
                }
                // Still in time: let other tasks run, then keep going.
                _ => Ok(UpdateDeadline::Yield(1)),
            }
        });

        let world = arm_and_instantiate(&mut store, component, &config.limits)
            .await
            .map_err(|failure| match failure {
                InstantiateFailure::PoolFull(reason) => StartError::Capacity {
                    executor: config.name.clone(),
                    reason,
                },
                InstantiateFailure::Fault(fault) => StartError::Instantiate {
                    executor: config.name.clone(),
                    reason: fault.to_string(),
                },
            })?;
        Ok(Self {
            world,
            store,
            limits: config.limits.clone(),
            ticker: component.ticker.clone(),
        })
    }

    async fn describe(&mut self) -> Result<Description, Fault> {
        let budget = self.limits.start_timeout;
        let deadline = self.arm(budget, Instant::now());
        let guest = self.world.flowhost_executor_executor();
        let outcome = timed(&self.ticker, deadline, guest.call_describe(&mut self.store)).await;
        self.settle(outcome, budget)
    }

    /// Runs one method, its deadline counted from `started` (when the call took the
    /// instance). `Ok(None)` means the guest left the documents unchanged.
    pub(crate) async fn call(
        &mut self,
        started: Instant,
        method: &str,
        endpoint: &str,
        docs: &DocumentBatch,
        parameters: &str,
    ) -> Result<Option<DocumentBatch>, Fault> {
        let budget = Some(self.limits.timeout);
        let deadline = self.arm(budget, started);
        let guest = self.world.flowhost_executor_executor();
        let outcome = timed(
            &self.ticker,
            deadline,
            guest.call_call(&mut self.store, method, endpoint, docs, parameters),
        )
        .await;
        match self.settle(outcome, budget)?.map_err(Fault::Raised)? {
            WitOutput::Unchanged => Ok(None),
            WitOutput::Docs(batch) => {
                flowhost_docs::validate(&batch).map_err(|e| Fault::InvalidOutput(e.to_string()))?;
                Ok(Some(batch))
            }
        }
    }

    /// The linear memory the instance has grown to, and the fuel its last call consumed
    /// (only under a fuel limit).
    pub(crate) fn usage(&self) -> (u64, Option<u64>) {
        let memory = self.store.data().limiter.grown;
        let fuel = self
            .limits
            .fuel
            .and_then(|limit| Some(limit.saturating_sub(self.store.get_fuel().ok()?)));
        (memory, fuel)
    }

    /// Starts the clock (and the fuel meter) for one guest invocation of at most `budget`
    /// from `from`; returns its deadline.
    fn arm(&mut self, budget: Option<Duration>, from: Instant) -> Option<Instant> {
        arm(&mut self.store, &self.limits, budget, from)
    }

    /// Stops the clock and explains a failure; `None` is the host-side timer having fired.
    fn settle<T>(
        &mut self,
        outcome: Option<wasmtime::Result<T>>,
        budget: Option<Duration>,
    ) -> Result<T, Fault> {
        let state = self.store.data_mut();
        state.deadline = None;
        let error = match outcome {
            Some(Ok(value)) => return Ok(value),
            None => return Err(Fault::Deadline(budget.unwrap_or_default())),
            Some(Err(error)) => error,
        };
        Err(classify(error, self.store.data(), &self.limits, budget))
    }
}

/// Runs one guest invocation under the host-side timer, which fires `2 * TICK +
/// TIMER_GRACE` after the epoch deadline `deadline` (`None`: unbounded). `None` back means the
/// timer fired.
///
/// The timer is set only when the invocation waits: most calls finish in their first poll,
/// and the timer is there for a guest parked in a host call, which no epoch check can
/// interrupt. A call that finishes at once makes and removes no timer-wheel entry, and
/// reads no clock beyond the one `arm` read for its deadline.
///
/// The invocation keeps the epoch ticker awake while it lasts, dropped or not.
async fn timed<T>(
    ticker: &EpochTicker,
    deadline: Option<Instant>,
    invocation: impl Future<Output = wasmtime::Result<T>>,
) -> Option<wasmtime::Result<T>> {
    let _awake = ticker.awake();
    let mut invocation = std::pin::pin!(invocation);
    let first = std::future::poll_fn(|cx| Poll::Ready(invocation.as_mut().poll(cx))).await;
    match (first, deadline) {
        (Poll::Ready(outcome), _) => Some(outcome),
        (Poll::Pending, None) => Some(invocation.await),
        (Poll::Pending, Some(deadline)) => {
            let backstop = tokio::time::Instant::from_std(deadline + 2 * TICK + TIMER_GRACE);
            tokio::time::timeout_at(backstop, invocation).await.ok()
        }
    }
}

fn arm(
    store: &mut Store<InstanceState>,
    limits: &InstanceLimits,
    budget: Option<Duration>,
    from: Instant,
) -> Option<Instant> {
    let state = store.data_mut();
    let deadline = budget.map(|budget| from + budget);
    state.deadline = deadline;
    state.deadline_hit = false;
    state.limiter.refused = None;
    store.set_epoch_deadline(1);
    // With metering on, an executor without a fuel limit still needs fuel to
    // run at all; without metering `set_fuel` fails, which is what we want ignored.
    let _ = store.set_fuel(limits.fuel.unwrap_or(u64::MAX));
    deadline
}

/// Why an instance could not be created.
enum InstantiateFailure {
    /// The engine's pre-reserved pool has no free slot of some kind; carries wasmtime's
    /// account of which. Not a fault of the guest: the runtime was sized too small.
    PoolFull(String),
    /// The guest's start code faulted (or ran past its deadline or memory cap).
    Fault(Fault),
}

async fn arm_and_instantiate(
    store: &mut Store<InstanceState>,
    component: &ExecutorComponent,
    limits: &InstanceLimits,
) -> Result<ExecutorWorld, InstantiateFailure> {
    arm(store, limits, limits.start_timeout, Instant::now());
    let awake = component.ticker.awake();
    let result = component.pre.instantiate_async(&mut *store).await;
    drop(awake);
    store.data_mut().deadline = None;
    result.map_err(
        |error| match error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
            Some(full) => InstantiateFailure::PoolFull(full.to_string()),
            None => InstantiateFailure::Fault(classify(
                error,
                store.data(),
                limits,
                limits.start_timeout,
            )),
        },
    )
}

fn classify(
    error: wasmtime::Error,
    state: &InstanceState,
    limits: &InstanceLimits,
    budget: Option<Duration>,
) -> Fault {
    if state.deadline_hit {
        return Fault::Deadline(budget.unwrap_or_default());
    }
    if state.limiter.refused.is_some() {
        return Fault::Memory(error.root_cause().to_string());
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Fault::Fuel(limits.fuel.unwrap_or_default()),
        Some(trap) => Fault::Trap(format!("{trap}{}", guest_frames(&error))),
        None => Fault::Trap(format!("{error:#}")),
    }
}

/// The innermost guest frames of a trap, if wasmtime captured a backtrace:
/// enough to find the panicking function without flooding the log.
fn guest_frames(error: &wasmtime::Error) -> String {
    let Some(backtrace) = error.downcast_ref::<wasmtime::WasmBacktrace>() else {
        return String::new();
    };
    let names: Vec<String> = backtrace
        .frames()
        .iter()
        .take(4)
        .filter_map(|frame| frame.func_name().map(str::to_owned))
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" (in {})", names.join(" <- "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guest_sees_metas_name_when_set_and_the_flow_name_otherwise() {
        let mut config = InstanceConfig::new("in-the-flow");
        assert_eq!(config.metas().name, "in-the-flow");
        config.metas_name = Some("MyExec".into());
        assert_eq!(config.metas().name, "MyExec");
        assert_eq!(config.name, "in-the-flow");
    }
}
