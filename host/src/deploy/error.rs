//! Why a flow could not be deployed, naming the executor and file at fault.

use std::path::PathBuf;

use flowhost_flow::FlowError;
use flowhost_flow::topology::TopologyError;
use flowhost_runtime::{RuntimeError, StartError};

/// Why a flow could not be deployed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The flow file, or an executor config file it uses, is wrong.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// The executors cannot be wired (unknown `needs`, a cycle).
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// A local `uses` names no file in any folder searched.
    #[error("executor `{executor}`: {uses} not found (looked in {})", searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    ComponentNotFound {
        /// The executor's name.
        executor: String,
        /// Its `uses`, as written.
        uses: String,
        /// Every path tried, in order.
        searched: Vec<PathBuf>,
    },
    /// A registry reference (`oci://`, `hub://`, `docker://`) could not be resolved.
    #[error("executor `{executor}`: cannot resolve `{uses}`: {reason}")]
    Resolve {
        /// The executor's name.
        executor: String,
        /// Its `uses`, as written.
        uses: String,
        /// The registry's reason.
        reason: String,
    },
    /// The component file does not load (not a component, or not this contract).
    #[error("executor `{executor}`: {source}")]
    Load {
        /// The executor's name.
        executor: String,
        /// What the runtime found wrong.
        #[source]
        source: RuntimeError,
    },
    /// An instance did not start (`init` failed, the workspace could not be opened, ...).
    #[error(transparent)]
    Start(#[from] StartError),
    /// An executor's settings cannot be applied (e.g. a `when` filter that does not parse).
    #[error("executor `{executor}`: {message}")]
    Config {
        /// The executor's name.
        executor: String,
        /// What is wrong.
        message: String,
    },
}
