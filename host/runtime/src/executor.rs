//! An executor as the rest of flowhost sees it: a cheap, cloneable handle to
//! one instance.
//!
//! Calls take turns on the instance (a fair lock: first come, first served) and run in the
//! caller's own task. Handing each call to a task that owns the instance cost a wake-up of
//! that task and one of the caller, each possibly on another thread: tens of microseconds a
//! call on a loaded gateway, more than a no-op Wasm call itself. When a call poisons the
//! instance (a trap, a blown deadline or memory cap, or a caller that gave up mid-call) it
//! is dropped and a fresh one started at once, running `init` again, while the next callers
//! wait; the caller gets an error naming the executor, the method and the cause, plus its
//! documents back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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
        let mut live = slot.live.clone().lock_owned().await;
        if live.is_none() {
            match LiveInstance::start(&slot.component, &slot.config).await {
                Ok((fresh, _)) => *live = Some(fresh),
                Err(error) => {
                    return Err(CallFailure {
                        error: CallError::Unavailable {
                            executor: slot.config.name.clone(),
                            reason: format!("could not restart its instance: {error}"),
                        },
                        docs,
                    });
                }
            }
        }
        let outcome = {
            // A caller dropped mid-call leaves the guest half-way through: poison it.
            let mut turn = Turn {
                live: &mut live,
                done: false,
            };
            let outcome = match turn.live.as_mut() {
                Some(instance) => Some(instance.call(method, endpoint, &docs, parameters).await),
                None => None,
            };
            turn.done = true;
            outcome
        };
        let (result, poisoned) = match outcome {
            Some(Ok(Some(answer))) => (Ok(answer), false),
            Some(Ok(None)) => (Ok(docs), false),
            Some(Err(fault)) => {
                let poisoned = fault.poisons();
                let error = CallError::Failed {
                    executor: slot.config.name.clone(),
                    method: method.to_owned(),
                    endpoint: endpoint.to_owned(),
                    fault,
                };
                if poisoned {
                    tracing::warn!(executor = %slot.config.name, %error, "instance poisoned; replacing it");
                }
                (Err(CallFailure { error, docs }), poisoned)
            }
            // Started just above; only a start that did not happen leaves it empty.
            None => (Err(self.gone(docs)), false),
        };
        if poisoned {
            *live = None;
            // Replaced right away, so the next call finds it warm; it waits for the lock
            // meanwhile, not this caller.
            tokio::spawn(restart(slot.clone(), live));
        }
        result
    }

    fn gone(&self, docs: DocumentBatch) -> CallFailure {
        CallFailure {
            error: CallError::Unavailable {
                executor: self.name().to_owned(),
                reason: "its instance is not running".into(),
            },
            docs,
        }
    }
}

/// One caller's turn on the instance: unless it ends normally (`done`), the instance is
/// dropped, since a guest interrupted mid-call may have half-updated its state.
struct Turn<'a> {
    live: &'a mut OwnedMutexGuard<Option<LiveInstance>>,
    done: bool,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if !self.done {
            **self.live = None;
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
