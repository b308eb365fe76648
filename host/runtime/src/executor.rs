//! An executor as the rest of flowhost sees it: a cheap, cloneable handle to
//! one instance.
//!
//! Calls take turns on the instance (a fair lock: first come, first served) and run in the
//! caller's own task. Handing each call to a task that owns the instance cost a wake-up of
//! that task and one of the caller, each possibly on another thread: tens of microseconds a
//! call on a loaded gateway, more than a no-op Wasm call itself. A call that has started
//! runs to its end even if its caller goes away. When a call poisons the instance (a trap, a
//! blown deadline or memory cap) it is dropped and a fresh one started at once, running
//! `init` again, while the next callers wait; the caller gets an error naming the executor,
//! the method and the cause, plus its documents back.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use flowhost_telemetry::{CallOutcome, ExecutorMetrics, RunningCall, trace};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::bindings::{Description, DocumentBatch};
use super::component::ExecutorComponent;
use super::error::{CallError, CallFailure, StartError};
use super::instance::{InstanceConfig, LiveInstance};

/// A handle to one running executor instance (one replica of one shard), or
/// to the built-in pass-through used by flow nodes without `uses`.
#[derive(Clone)]
pub struct Executor {
    shared: Arc<Shared>,
}

struct Shared {
    name: Arc<str>,
    description: Description,
    backend: Backend,
    in_flight: AtomicUsize,
}

enum Backend {
    PassThrough,
    Wasm(Arc<Slot>),
}

/// The instance and what it takes to start another.
struct Slot {
    component: Arc<ExecutorComponent>,
    config: InstanceConfig,
    /// `None` between a poisoned instance and its replacement.
    live: Arc<Mutex<Option<LiveInstance>>>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("name", &self.shared.name)
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// The built-in executor for a node without `uses`: returns what it gets.
    pub fn pass_through(name: impl Into<Arc<str>>) -> Self {
        Self::from_parts(
            name.into(),
            Description {
                methods: Vec::new(),
                catch_all: None,
            },
            Backend::PassThrough,
        )
    }

    /// Starts an instance of `component` (instantiate, `init`, `describe`) and
    /// the task that owns it. Fails if the first start fails; later restarts
    /// are retried on the next call instead.
    pub async fn start(
        component: Arc<ExecutorComponent>,
        config: InstanceConfig,
    ) -> Result<Self, StartError> {
        let (live, description) = LiveInstance::start(&component, &config).await?;
        let name: Arc<str> = config.name.as_str().into();
        let slot = Slot {
            component,
            config,
            live: Arc::new(Mutex::new(Some(live))),
        };
        Ok(Self::from_parts(
            name,
            description,
            Backend::Wasm(Arc::new(slot)),
        ))
    }

    fn from_parts(name: Arc<str>, description: Description, backend: Backend) -> Self {
        Self {
            shared: Arc::new(Shared {
                name,
                description,
                backend,
                in_flight: AtomicUsize::new(0),
            }),
        }
    }

    /// The executor's name in the flow ([`InstanceConfig::name`]).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The methods and default endpoint bindings the executor declared.
    pub fn description(&self) -> &Description {
        &self.shared.description
    }

    /// Whether this is the built-in pass-through of a node without `uses`, not a Wasm instance.
    pub fn is_pass_through(&self) -> bool {
        matches!(self.shared.backend, Backend::PassThrough)
    }

    /// Where this instance's calls are counted, when the flow is monitored.
    pub fn metrics(&self) -> Option<&Arc<ExecutorMetrics>> {
        match &self.shared.backend {
            Backend::Wasm(slot) => slot.config.metrics.as_ref(),
            Backend::PassThrough => None,
        }
    }

    /// Calls queued or running on this instance (for least-in-flight picking).
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// Runs `method` on `docs`. On success returns the documents after the
    /// call (the very batch that was passed in if the executor left it
    /// unchanged); on failure, the error and the documents as they were sent.
    pub async fn call(
        &self,
        method: &str,
        endpoint: &str,
        docs: DocumentBatch,
        parameters: &str,
    ) -> Result<DocumentBatch, CallFailure> {
        let slot = match &self.shared.backend {
            Backend::PassThrough => return Ok(docs),
            Backend::Wasm(slot) => slot,
        };
        let _in_flight = InFlight::enter(&self.shared.in_flight);
        let mut meter = slot.config.metrics.as_deref().map(ExecutorMetrics::queued);
        let traced = trace::enabled();
        // The clock is read for a wait only when there is one: most calls find the instance
        // free.
        let (live, queued) = match slot.live.clone().try_lock_owned() {
            Ok(live) => (live, None),
            Err(_) => {
                if let Some(meter) = meter.as_mut() {
                    meter.waits();
                }
                let queued = traced.then(Instant::now);
                (slot.live.clone().lock_owned().await, queued)
            }
        };
        // One reading for the call's start: its deadline counts from it, and so do the
        // compute time the metrics record and the trace's.
        let took_turn = Instant::now();
        let running = meter.map(|meter| meter.started_at(took_turn));
        // Once the turn is taken the call runs to its end even if the caller goes away (a
        // client hanging up): dropping a guest mid-call would throw away its instance, and
        // with it any state it keeps.
        //
        // Made into its box in a statement of its own: bound to a local, the turn's future
        // would also be laid out in this one's, which every request moves around.
        let turn = FinishOnDrop::new(take_turn(
            slot.clone(),
            live,
            method.to_owned(),
            endpoint.to_owned(),
            docs,
            parameters.to_owned(),
            TurnTaken {
                at: took_turn,
                running,
            },
        ));
        let result = turn.await;
        if traced {
            trace::call_phases(queued.unwrap_or(took_turn), took_turn, Instant::now());
        }
        result
    }
}

/// When a call took its turn on the instance, and its metrics' record of it when monitored.
struct TurnTaken {
    at: Instant,
    running: Option<RunningCall>,
}

/// One call on the instance, the lock held: restarts it first if a poisoned one was not
/// replaced yet, and replaces it after a call that poisons it.
async fn take_turn(
    slot: Arc<Slot>,
    mut live: OwnedMutexGuard<Option<LiveInstance>>,
    method: String,
    endpoint: String,
    docs: DocumentBatch,
    parameters: String,
    turn: TurnTaken,
) -> Result<DocumentBatch, CallFailure> {
    let TurnTaken {
        at: mut took_turn,
        running,
    } = turn;
    let executor = || slot.config.name.clone();
    let count = |outcome: CallOutcome, documents: usize, instance: Option<&LiveInstance>| {
        let (Some(running), Some(metrics)) = (running, &slot.config.metrics) else {
            return;
        };
        metrics.finished(running, &endpoint, documents, outcome);
        if let Some((memory, fuel)) = instance.map(LiveInstance::usage) {
            metrics.memory(memory);
            if let Some(fuel) = fuel {
                metrics.fuel(fuel);
            }
        }
    };
    let instance = match live.as_mut() {
        Some(instance) => instance,
        // Boxed: starting an instance is a large future that only a replaced instance's
        // next call needs, and it would otherwise make every call's future as large.
        None => match Box::pin(LiveInstance::start(&slot.component, &slot.config)).await {
            Ok((fresh, _)) => {
                // The restart is not the call's: its deadline counts from now.
                took_turn = Instant::now();
                live.insert(fresh)
            }
            Err(error) => {
                count(CallOutcome::Unavailable, docs.roots.len(), None);
                return Err(CallFailure {
                    error: CallError::Unavailable {
                        executor: executor(),
                        reason: format!("could not restart its instance: {error}"),
                    },
                    docs,
                });
            }
        },
    };
    let fault = match instance
        .call(took_turn, &method, &endpoint, &docs, &parameters)
        .await
    {
        Ok(answer) => {
            let answer = answer.unwrap_or(docs);
            count(CallOutcome::Ok, answer.roots.len(), Some(instance));
            return Ok(answer);
        }
        Err(fault) => fault,
    };
    count(fault.outcome(), docs.roots.len(), Some(instance));
    let poisoned = fault.poisons();
    let error = CallError::Failed {
        executor: executor(),
        method,
        endpoint,
        fault,
    };
    if poisoned {
        tracing::warn!(executor = %slot.config.name, %error, "instance poisoned; replacing it");
        if let (Some(metrics), CallError::Failed { fault, .. }) = (&slot.config.metrics, &error) {
            metrics.replaced(fault.outcome());
        }
        *live = None;
        // Replaced right away, so the next call finds it warm; the next callers wait for
        // the lock meanwhile, not this one.
        tokio::spawn(restart(slot.clone(), live));
    }
    Err(CallFailure { error, docs })
}

/// Runs a future in place, and hands it to the runtime to finish if it is dropped first.
struct FinishOnDrop<F: Future + Send + 'static>
where
    F::Output: Send,
{
    future: Option<Pin<Box<F>>>,
}

impl<F: Future + Send + 'static> FinishOnDrop<F>
where
    F::Output: Send,
{
    fn new(future: F) -> Self {
        Self {
            future: Some(Box::pin(future)),
        }
    }
}

impl<F: Future + Send + 'static> Future for FinishOnDrop<F>
where
    F::Output: Send,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let Some(future) = self.future.as_mut() else {
            return Poll::Pending;
        };
        let output = std::task::ready!(future.as_mut().poll(cx));
        self.future = None;
        Poll::Ready(output)
    }
}

impl<F: Future + Send + 'static> Drop for FinishOnDrop<F>
where
    F::Output: Send,
{
    fn drop(&mut self) {
        if let Some(future) = self.future.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(future);
        }
    }
}

struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Starts a fresh instance in place of a poisoned one, holding the lock so callers wait
/// for it rather than each starting their own.
async fn restart(slot: Arc<Slot>, mut live: OwnedMutexGuard<Option<LiveInstance>>) {
    match LiveInstance::start(&slot.component, &slot.config).await {
        Ok((fresh, _)) => *live = Some(fresh),
        Err(error) => {
            tracing::error!(executor = %slot.config.name, %error, "could not restart instance; will retry on the next call");
        }
    }
}
