//! Why a flow could not be deployed, naming the executor and file at fault.

use std::path::PathBuf;

use flowhost_flow::FlowError;
use flowhost_flow::topology::TopologyError;
use flowhost_runtime::{RuntimeError, StartError};

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Flow(#[from] FlowError),
    #[error(transparent)]
    Topology(#[from] TopologyError),
    #[error("executor `{executor}`: {uses} not found (looked in {})", searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    ComponentNotFound {
        executor: String,
        uses: String,
        searched: Vec<PathBuf>,
    },
    #[error("executor `{executor}`: cannot resolve `{uses}`: {reason}")]
    Resolve {
        executor: String,
        uses: String,
        reason: String,
    },
    #[error("executor `{executor}`: {source}")]
    Load {
        executor: String,
        #[source]
        source: RuntimeError,
    },
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("executor `{executor}`: {message}")]
    Config { executor: String, message: String },
}
