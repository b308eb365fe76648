//! The Flow model: a Jina-style Flow read from YAML or built in Rust, checked, saved back, and
//! wired into its DAG ([`topology`]).
//!
//! Owns parsing (a YAML reader that keeps positions, so every error names file:line:column),
//! validation, `${{ }}` substitution, argument propagation, executor config files and the graph,
//! and the table of every key a flow file may hold ([`KEYS`], `KEYS.md`): what flowhost does
//! with it, the warnings for the ones with no effect ([`LoadedFlow`]) and the refusal of what
//! only Jina's Python runtime can run.
//! Must not know how anything runs: no wasmtime, no network, no documents. `uses` stays a
//! string here (the registry resolves it), and the gateway's settings are plain values that
//! the binary hands to the gateway crate. So this crate builds and tests in seconds.
//!
//! ```ignore
//! let flow = Flow::load("flow.yml")?;                 // parse + validate, with positions
//! let loaded = Flow::load_checked("flow.yml", &LoadOptions::default())?; // + warnings
//! let flow = loaded.strict()?;                        // refuse keys with no effect
//! let topo = flow.topology()?;                       // the DAG
//! let eff = flow.effective_executors();              // env/limits after propagation
//! let exec = flow.expand_executors(dir, &LoadOptions::default())?; // `uses: x.yml` folded in
//! flow.save("out.yml")?;                              // loads back equal
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod env;
mod error;
mod executor_yaml;
mod keys;
mod limits;
mod locate;
mod propagate;
mod save;
mod secrets;
mod source;
mod spec;
pub mod topology;
mod validate;
mod yaml;

#[cfg(test)]
mod compat_tests;
#[cfg(test)]
mod tests;

pub use builder::IntoNeeds;
pub use env::{Vars, substitute};
pub use error::{Ctx, FlowError, Hint, Pos};
pub use executor_yaml::{
    ExecutorConfig, ExpandedExecutor, find_executor_config, is_executor_config,
};
pub use keys::{KEYS, KeyInfo, KeyWarning, Level, Status, did_you_mean, key_info, keys_markdown};
pub use limits::{
    DEFAULT_MEMORY_LIMIT, DEFAULT_TIMEOUT_MS, ResolvedLimits, format_bytes, parse_bytes,
};
pub use propagate::{
    Binding, EffectiveExecutor, GatewayArgs, NOT_FOR_EXECUTORS, NOT_FOR_GATEWAY, is_on,
};
pub use secrets::{BadSecretRef, SecretRef};
pub use spec::{
    ArrayFormat, BatchingSpec, DynamicBatching, ExecutorSpec, ExposedEndpoint, Flow, FlowArgs,
    GatewayOverrides, Limits, NUMPY_DTYPES, Polling, PollingSpec, ServerSettings,
};
pub use yaml::{LoadOptions, LoadedFlow};

impl Flow {
    /// The flow's DAG (see [`topology`]).
    pub fn topology(&self) -> Result<topology::Topology, topology::TopologyError> {
        topology::Topology::build(self)
    }
}
