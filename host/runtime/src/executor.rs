//! An executor as the rest of flowhost sees it: a cheap, cloneable handle to
//! one instance owned by one task.
//!
//! Calls are queued on a bounded channel (callers wait when it is full, so
//! memory stays bounded) and run one at a time, in order. When a call poisons
//! the instance (a trap, a blown deadline or memory cap) the task drops it and
//! starts a fresh one, running `init` again; the caller gets an error naming
//! the executor, the method and the cause, plus its documents back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{mpsc, oneshot};

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
    Wasm(mpsc::Sender<Job>),
}

struct Job {
    method: String,
    endpoint: String,
    docs: DocumentBatch,
    parameters: String,
    reply: oneshot::Sender<Result<DocumentBatch, CallFailure>>,
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
        let (sender, receiver) = mpsc::channel(config.queue_capacity.max(1));
        let name: Arc<str> = config.name.as_str().into();
        tokio::spawn(serve(component, config, live, receiver));
        Ok(Self::from_parts(name, description, Backend::Wasm(sender)))
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
        let queue = match &self.shared.backend {
            Backend::PassThrough => return Ok(docs),
            Backend::Wasm(queue) => queue,
        };
        let _in_flight = InFlight::enter(&self.shared.in_flight);
        let (reply, answer) = oneshot::channel();
        let job = Job {
            method: method.to_owned(),
            endpoint: endpoint.to_owned(),
            docs,
            parameters: parameters.to_owned(),
            reply,
        };
        if let Err(mpsc::error::SendError(job)) = queue.send(job).await {
            return Err(self.gone(job.docs));
        }
        match answer.await {
            Ok(result) => result,
            // The task is gone; it took the documents with it.
            Err(_) => Err(self.gone(flowhost_docs::empty_batch())),
        }
    }

    fn gone(&self, docs: DocumentBatch) -> CallFailure {
        CallFailure {
            error: CallError::Unavailable {
                executor: self.name().to_owned(),
                reason: "its instance task has stopped".into(),
            },
            docs,
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

/// The task that owns the instance. Ends when every handle is dropped.
async fn serve(
    component: Arc<ExecutorComponent>,
    config: InstanceConfig,
    live: LiveInstance,
    mut jobs: mpsc::Receiver<Job>,
) {
    let mut live = Some(live);
    while let Some(job) = jobs.recv().await {
        let instance = match live.as_mut() {
            Some(instance) => instance,
            None => match LiveInstance::start(&component, &config).await {
                Ok((fresh, _)) => live.insert(fresh),
                Err(error) => {
                    let failure = CallFailure {
                        error: CallError::Unavailable {
                            executor: config.name.clone(),
                            reason: format!("could not restart its instance: {error}"),
                        },
                        docs: job.docs,
                    };
                    let _ = job.reply.send(Err(failure));
                    continue;
                }
            },
        };
        let outcome = instance
            .call(&job.method, &job.endpoint, &job.docs, &job.parameters)
            .await;
        let (result, poisoned) = match outcome {
            Ok(Some(docs)) => (Ok(docs), false),
            Ok(None) => (Ok(job.docs), false),
            Err(fault) => {
                let poisoned = fault.poisons();
                let error = CallError::Failed {
                    executor: config.name.clone(),
                    method: job.method,
                    endpoint: job.endpoint,
                    fault,
                };
                if poisoned {
                    tracing::warn!(executor = %config.name, %error, "instance poisoned; replacing it");
                }
                (
                    Err(CallFailure {
                        error,
                        docs: job.docs,
                    }),
                    poisoned,
                )
            }
        };
        let _ = job.reply.send(result);
        if poisoned {
            live = restart(&component, &config).await;
        }
    }
}

/// Replaces a poisoned instance right away, so the next call finds it warm.
async fn restart(component: &ExecutorComponent, config: &InstanceConfig) -> Option<LiveInstance> {
    match LiveInstance::start(component, config).await {
        Ok((fresh, _)) => Some(fresh),
        Err(error) => {
            tracing::error!(executor = %config.name, %error, "could not restart instance; will retry on the next call");
            None
        }
    }
}
