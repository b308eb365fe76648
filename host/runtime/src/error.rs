//! What can go wrong in the runtime, each error naming the executor, file or
//! method at fault.

use std::path::PathBuf;

use super::bindings::ExecutorError;

/// Setting up the engine or loading a component.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("could not create the Wasm engine ({what}): {source:#}")]
    Engine {
        /// Which part of the set-up failed, e.g. `pooling allocator`.
        what: &'static str,
        #[source]
        source: wasmtime::Error,
    },
    #[error("could not start the epoch ticker thread: {0}")]
    Ticker(#[source] std::io::Error),
    #[error("cannot read component {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid Wasm component: {source:#}", path.display())]
    Compile {
        path: PathBuf,
        #[source]
        source: wasmtime::Error,
    },
    #[error(
        "{} does not fit flowhost: {source:#}\n(an executor must implement the `flowhost:executor/executor` interface and import nothing but WASI and `flowhost:executor/logging`)",
        path.display()
    )]
    Link {
        path: PathBuf,
        #[source]
        source: wasmtime::Error,
    },
}

/// Starting (or restarting) an executor instance.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("executor `{executor}`: {reason}")]
    Config { executor: String, reason: String },
    #[error("executor `{executor}`: cannot open workspace {}: {reason}", path.display())]
    Workspace {
        executor: String,
        path: PathBuf,
        reason: String,
    },
    #[error("executor `{executor}`: could not instantiate: {reason}")]
    Instantiate { executor: String, reason: String },
    #[error("executor `{executor}`: init failed: {0}", .fault)]
    Init { executor: String, fault: Fault },
    #[error("executor `{executor}`: describe failed: {fault}")]
    Describe { executor: String, fault: Fault },
}

/// Why one guest invocation did not return normally.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Fault {
    /// The executor returned an error value; the instance is fine.
    #[error("{}: {}", .0.name, .0.message)]
    Raised(ExecutorError),
    #[error("trapped: {0}")]
    Trap(String),
    #[error("exceeded its deadline of {0:?}")]
    Deadline(std::time::Duration),
    #[error("{0}")]
    Memory(String),
    #[error("ran out of fuel ({0} units)")]
    Fuel(u64),
    #[error("returned an invalid document batch: {0}")]
    InvalidOutput(String),
}

impl Fault {
    /// Whether the instance must be thrown away: after a trap or an
    /// interrupted call its state may be half-updated.
    pub fn poisons(&self) -> bool {
        !matches!(self, Fault::Raised(_) | Fault::InvalidOutput(_))
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
    #[error("executor `{executor}` failed in `{method}` on {endpoint}: {fault}")]
    Failed {
        executor: String,
        method: String,
        endpoint: String,
        fault: Fault,
    },
    #[error("executor `{executor}` is unavailable: {reason}")]
    Unavailable { executor: String, reason: String },
}

impl CallError {
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
    pub error: CallError,
    pub docs: super::bindings::DocumentBatch,
}
