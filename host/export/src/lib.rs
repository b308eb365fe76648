//! A flowhost Flow taken off one machine: Kubernetes manifests and a docker compose file.
//!
//! Every exported service runs the flowhost image with `flowhost run` on a flow file written
//! here, so what a cluster runs is a file flowhost already reads:
//! - the gateway's flow reaches each executor as `external: true` at its service's address,
//!   one service per shard, and keeps what the gateway decides: `needs`, `when`, `floating`,
//!   `polling`, `disable_reduce`, `uses_before` / `uses_after` (components, run in the
//!   gateway) and Jina's `timeout_send` and `retries`;
//! - each executor's flow is that executor alone, serving gRPC on [`EXECUTOR_PORT`], with
//!   everything it was configured with (`uses_with`, `uses_metas`, `uses_requests`, `env`,
//!   limits), its workspace on a volume when it has one;
//! - a monitored service (Jina's `monitoring: true`, for the flow or that executor) serves
//!   `/metrics` on [`MONITORING_PORT`], a `monitoring` port of its Service, which a
//!   Prometheus Operator `ServiceMonitor` selects (as Jina's export writes one).
//!
//! Components given as local files must be reachable from the cluster: they are named by a
//! reference in `--registry`, tagged with their content's digest, and listed in
//! [`Export::components`] for the binary to push.
//!
//! Owns: the exported topology and the manifest shapes. Must not know: wasmtime, the network,
//! registries (it names references; pushing is the binary's).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod compose;
mod kubernetes;
mod plan;

use std::path::PathBuf;

pub use compose::docker_compose;
pub use kubernetes::kubernetes;

/// The gRPC port every exported executor serves on inside its container (Jina's `K8S_PORT`).
pub const EXECUTOR_PORT: u16 = 8080;

/// Where every monitored service serves `/metrics` inside its container (Jina's
/// `K8S_PORT_MONITORING`).
pub const MONITORING_PORT: u16 = 9090;

/// How to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// The Kubernetes namespace; unset: the flow's `name`, else `default` (as Jina does).
    pub namespace: Option<String>,
    /// The flowhost container image every service runs.
    pub image: String,
    /// Where local components will be pushed (`registry.example.com/team`); required when the
    /// flow uses a local component file.
    pub registry: Option<String>,
}

impl ExportOptions {
    /// Exports running `image`, with no registry for local components.
    pub fn new(image: impl Into<String>) -> Self {
        Self {
            namespace: None,
            image: image.into(),
            registry: None,
        }
    }
}

/// What an export writes, and what must be pushed for it to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The files, by path relative to the output (a folder for Kubernetes, the compose file's
    /// folder for compose).
    pub files: Vec<ExportedFile>,
    /// Local component files the exported flows name by a registry reference.
    pub components: Vec<LocalComponent>,
}

/// One file of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFile {
    /// Relative to the output.
    pub path: PathBuf,
    /// Its contents.
    pub text: String,
}

/// A local component file the export refers to by a registry reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalComponent {
    /// The executor (or its `uses_before` / `uses_after`) that uses it.
    pub executor: String,
    /// The file.
    pub file: PathBuf,
    /// `oci://REGISTRY/NAME:DIGEST12`: where it must be pushed.
    pub reference: String,
}

/// Why a flow could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The flow itself is not valid.
    #[error(transparent)]
    Flow(#[from] flowhost_flow::FlowError),
    /// The executors cannot be wired (unknown `needs`, a cycle).
    #[error(transparent)]
    Topology(#[from] flowhost_flow::topology::TopologyError),
    /// An `env_from_secret` entry is malformed.
    #[error(transparent)]
    Secret(#[from] flowhost_flow::BadSecretRef),
    /// An executor's name cannot be a Kubernetes or compose service name.
    #[error(
        "executor `{executor}`: `{service}` cannot be a service name (lower-case letters, digits \
         and `-`, starting with a letter, at most 63 characters)"
    )]
    ServiceName {
        /// The executor.
        executor: String,
        /// The name it would get.
        service: String,
    },
    /// A local component, but no registry to name it in.
    #[error(
        "executor `{executor}` uses the local file {}, which a cluster cannot read: pass \
         --registry REGISTRY to name it there (and --push to push it)",
        file.display()
    )]
    NoRegistry {
        /// The executor.
        executor: String,
        /// The component file.
        file: PathBuf,
    },
    /// A local component could not be read (to name it by its digest).
    #[error("executor `{executor}`: cannot read {}: {source}", file.display())]
    Read {
        /// The executor.
        executor: String,
        /// The component file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A manifest could not be written as YAML.
    #[error("cannot write {what} as YAML: {source}")]
    Yaml {
        /// Which object.
        what: String,
        /// Why.
        #[source]
        source: serde_norway::Error,
    },
}

/// A serializable manifest as YAML text.
fn yaml(what: &str, value: &impl serde::Serialize) -> Result<String, ExportError> {
    serde_norway::to_string(value).map_err(|source| ExportError::Yaml {
        what: what.to_owned(),
        source,
    })
}
