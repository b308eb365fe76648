//! What can go wrong in the runtime, each error naming the executor, file or
//! method at fault.

use std::path::PathBuf;

use flowhost_telemetry::CallOutcome;

use super::bindings::ExecutorError;

/// Setting up the engine or loading a component.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Wasmtime refused the engine configuration or the linking of host imports.
    #[error("could not create the Wasm engine ({what}): {source:#}")]
    Engine {
        /// Which part of the set-up failed, e.g. `pooling allocator`.
        what: &'static str,
        /// Wasmtime's error.
        #[source]
        source: wasmtime::Error,
    },
    /// The OS would not spawn the thread that advances epochs (and so enforces deadlines).
    #[error("could not start the epoch ticker thread: {0}")]
    Ticker(#[source] std::io::Error),
    /// The component file could not be read.
    #[error("cannot read component {}: {source}", path.display())]
    Read {
        /// The component file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a valid component, or compiling them failed.
    #[error("{} is not a valid Wasm component: {source:#}", path.display())]
    Compile {
        /// The component file (or the name given to in-memory bytes).
        path: PathBuf,
        /// Wasmtime's validation or compilation error.
        #[source]
        source: wasmtime::Error,
    },
    /// The bytes are not a component the host can read: a core module, or malformed.
    #[error("{} is not a Wasm component: {reason}", path.display())]
    NotAComponent {
        /// The file.
        path: PathBuf,
        /// What the parser found.
        reason: String,
    },
    /// Refused before compiling: the component imports what the host does not link, or
    /// does not export the executor interface.
    #[error("{} cannot run as an executor: {}", path.display(), unfit_reason(unlinked, *exports_executor))]
    Unfit {
        /// The component file.
        path: PathBuf,
        /// The imports the host does not provide.
        unlinked: Vec<String>,
        /// Whether it exports `flowhost:executor/executor`.
        exports_executor: bool,
    },
    /// The component does not fit the `flowhost:executor` world: it lacks the `executor`
    /// export or imports something the host does not provide.
    #[error(
        "{} does not fit flowhost: {source:#}\n(an executor must implement the `flowhost:executor/executor` interface and import only WASI 0.2 interfaces and `flowhost:executor/logging`)",
        path.display()
    )]
    Link {
        /// The component file.
        path: PathBuf,
        /// Wasmtime's linking error, naming the missing export or unsatisfied import.
        #[source]
        source: wasmtime::Error,
    },
}

impl RuntimeError {
    /// Whether the component was refused only because it uses the component model's async
    /// built-ins, which an engine without concurrency support does not accept. Wasmtime
    /// reports these as validation errors naming the feature.
    pub(crate) fn asks_for_concurrency(&self) -> bool {
        let Self::Compile { source, .. } = self else {
            return false;
        };
        let message = format!("{source:#}");
        [
            "component model async",
            "error-context",
            "concurrency support",
        ]
        .iter()
        .any(|feature| message.contains(feature))
    }
}

fn unfit_reason(unlinked: &[String], exports_executor: bool) -> String {
    let mut reasons = Vec::new();
    if !unlinked.is_empty() {
        reasons.push(format!(
            "it imports {} which the host does not provide (an executor may import WASI 0.2: \
             cli, io, clocks, filesystem, random, sockets and http, whose outgoing requests \
             are refused; and `flowhost:executor/logging`)",
            unlinked
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !exports_executor {
        reasons.push(
            "it does not export `flowhost:executor/executor@0.1.x` (build it against \
             `wit/executor.wit`, world `executor-world`)"
                .to_owned(),
        );
    }
    reasons.join("; ")
}

/// Starting (or restarting) an executor instance.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The instance's limits do not fit the runtime: a memory limit above
    /// [`RuntimeConfig::max_memory_per_instance`](crate::RuntimeConfig::max_memory_per_instance),
    /// or a fuel limit without [`RuntimeConfig::consume_fuel`](crate::RuntimeConfig::consume_fuel).
    #[error("executor `{executor}`: {reason}")]
    Config {
        /// The executor's name in the flow.
        executor: String,
        /// Which limit, and what the runtime allows.
        reason: String,
    },
    /// The granted workspace directory could not be created or preopened.
    #[error("executor `{executor}`: cannot open workspace {}: {reason}", path.display())]
    Workspace {
        /// The executor's name in the flow.
        executor: String,
        /// The workspace directory on the host.
        path: PathBuf,
        /// The I/O error, as text.
        reason: String,
    },
    /// Instantiating the component failed (a trap in its start code, the memory cap, the
    /// deadline, or no free pool slot).
    #[error("executor `{executor}`: could not instantiate: {reason}")]
    Instantiate {
        /// The executor's name in the flow.
        executor: String,
        /// The cause, as the matching [`Fault`] would describe it.
        reason: String,
    },
    /// The runtime's instance pool is full: the flow starts more instances (or core
    /// instances, memories, tables) than [`RuntimeConfig`](crate::RuntimeConfig) reserved.
    #[error(
        "executor `{executor}`: no room for another instance: {reason} (the runtime reserves \
         room for `RuntimeConfig::max_instances` instances, which `flowhost run` sizes from the \
         flow's replicas and shards; lower them, or set FLOWHOST_MAX_INSTANCES higher)"
    )]
    Capacity {
        /// The executor's name in the flow.
        executor: String,
        /// Which pool ran out, as wasmtime says it.
        reason: String,
    },
    /// The guest's `init` raised an error or faulted.
    #[error("executor `{executor}`: init failed: {0}", .fault)]
    Init {
        /// The executor's name in the flow.
        executor: String,
        /// What went wrong in `init`.
        fault: Fault,
    },
    /// The guest's `describe` raised an error or faulted.
    #[error("executor `{executor}`: describe failed: {fault}")]
    Describe {
        /// The executor's name in the flow.
        executor: String,
        /// What went wrong in `describe`.
        fault: Fault,
    },
}

/// Why one guest invocation did not return normally.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Fault {
    /// The executor returned an error value; the instance is fine.
    #[error("{}: {}", .0.name, .0.message)]
    Raised(ExecutorError),
    /// The guest trapped (a panic, `unreachable`, an out-of-bounds access); carries the trap
    /// and, when captured, the innermost guest function names. Poisons the instance.
    #[error("trapped: {0}")]
    Trap(String),
    /// The call ran past [`InstanceLimits::timeout`](crate::InstanceLimits::timeout) (or,
    /// while starting, [`InstanceLimits::start_timeout`](crate::InstanceLimits::start_timeout)),
    /// which it carries. Poisons the instance.
    #[error("exceeded its deadline of {0:?}")]
    Deadline(std::time::Duration),
    /// The guest tried to grow its memory past
    /// [`InstanceLimits::memory`](crate::InstanceLimits::memory); carries the limiter's
    /// message (the cap and the size asked for). Poisons the instance.
    #[error("{0}")]
    Memory(String),
    /// The call used up [`InstanceLimits::fuel`](crate::InstanceLimits::fuel), the limit it
    /// carries (in fuel units). Poisons the instance.
    #[error("ran out of fuel ({0} units)")]
    Fuel(u64),
    /// The returned batch failed `flowhost_docs::validate`; carries the validation error.
    /// The instance is fine.
    #[error("returned an invalid document batch: {0}")]
    InvalidOutput(String),
}

impl Fault {
    /// Whether the instance must be thrown away: after a trap or an
    /// interrupted call its state may be half-updated.
    pub fn poisons(&self) -> bool {
        !matches!(self, Fault::Raised(_) | Fault::InvalidOutput(_))
    }

    /// How a call that ended with this fault is counted.
    pub fn outcome(&self) -> CallOutcome {
        match self {
            Fault::Raised(_) => CallOutcome::Raised,
            Fault::Trap(_) => CallOutcome::Trap,
            Fault::Deadline(_) => CallOutcome::Deadline,
            Fault::Memory(_) => CallOutcome::Memory,
            Fault::Fuel(_) => CallOutcome::Fuel,
            Fault::InvalidOutput(_) => CallOutcome::InvalidOutput,
        }
    }

    /// The exception name reported to clients (Jina's `exception.name`).
    pub fn exception_name(&self) -> &str {
        match self {
            Fault::Raised(error) => &error.name,
            Fault::Trap(_) => "Trap",
            Fault::Deadline(_) => "DeadlineExceeded",
            Fault::Memory(_) => "MemoryLimitExceeded",
            Fault::Fuel(_) => "OutOfFuel",
            Fault::InvalidOutput(_) => "InvalidOutput",
        }
    }
}

/// A failed call, naming the executor and method.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The guest call returned an error or faulted.
    #[error("executor `{executor}` failed in `{method}` on {endpoint}: {fault}")]
    Failed {
        /// The executor's name in the flow.
        executor: String,
        /// The executor method that was called.
        method: String,
        /// The request endpoint the call served (e.g. `/index`).
        endpoint: String,
        /// What went wrong.
        fault: Fault,
    },
    /// The call never ran: the instance task has stopped, or a poisoned instance could not
    /// be restarted.
    #[error("executor `{executor}` is unavailable: {reason}")]
    Unavailable {
        /// The executor's name in the flow.
        executor: String,
        /// Why no instance could take the call.
        reason: String,
    },
}

impl CallError {
    /// The name of the executor that failed.
    pub fn executor(&self) -> &str {
        match self {
            CallError::Failed { executor, .. } | CallError::Unavailable { executor, .. } => {
                executor
            }
        }
    }

    /// The exception name reported to clients.
    pub fn exception_name(&self) -> &str {
        match self {
            CallError::Failed { fault, .. } => fault.exception_name(),
            CallError::Unavailable { .. } => "ExecutorUnavailable",
        }
    }
}

/// A failed call plus the documents that were sent, handed back untouched so
/// the caller can still answer with them: nothing already accepted is lost.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct CallFailure {
    /// Why the call failed.
    pub error: CallError,
    /// The documents as they were sent (empty if the instance task died holding them).
    pub docs: super::bindings::DocumentBatch,
}
