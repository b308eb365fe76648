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
    /// An `env_from_secret` variable has no value to give the executor.
    #[error(
        "executor `{executor}`: env_from_secret `{var}` (key `{key}` of secret `{secret}`) has no value: {why}"
    )]
    Secret {
        /// The executor's name.
        executor: String,
        /// The environment variable the executor expects.
        var: String,
        /// The secret's name.
        secret: String,
        /// The key inside the secret.
        key: String,
        /// Where it was looked for.
        why: String,
    },
    /// An `env_from_secret` entry is malformed.
    #[error(transparent)]
    SecretRef(#[from] flowhost_flow::BadSecretRef),
    /// An executor was not started within its `timeout_ready`.
    #[error(
        "executor `{executor}` was not ready within its timeout_ready of {} ms (still {stage}); raise `timeout_ready`, or set it to -1 to wait for ever",
        timeout.as_millis()
    )]
    NotReady {
        /// The executor's name.
        executor: String,
        /// Its `timeout_ready`.
        timeout: std::time::Duration,
        /// What it was doing when the time ran out.
        stage: &'static str,
    },
}
