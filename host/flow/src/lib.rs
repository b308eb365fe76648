//! The Flow model: a Jina-style Flow read from YAML or built in Rust, checked, and saved back.
//!
//! Owns parsing, validation, `${{ }}` substitution, argument propagation and executor config
//! files. Does not resolve `uses` to components (the registry does), does not wire the graph
//! (`crate::topology` does) and runs nothing.
//!
//! ```ignore
//! let flow = Flow::load("flow.yml")?;                 // parse + validate, with positions
//! let topo = flow.topology()?;                       // the DAG
//! let eff = flow.effective_executors();              // env/limits after propagation
//! let exec = flow.expand_executors(dir, &LoadOptions::default())?; // `uses: x.yml` folded in
//! flow.save("out.yml")?;                              // loads back equal
//! ```

mod builder;
mod env;
mod error;
mod executor_yaml;
mod keys;
mod limits;
mod locate;
mod propagate;
mod save;
mod source;
mod spec;
mod validate;
mod yaml;

#[cfg(test)]
mod tests;

pub use builder::IntoNeeds;
pub use env::{Vars, substitute};
pub use error::{Ctx, FlowError, Hint, Pos};
pub use executor_yaml::{
    ExecutorConfig, ExpandedExecutor, find_executor_config, is_executor_config,
};
pub use keys::did_you_mean;
pub use limits::{
    DEFAULT_MEMORY_LIMIT, DEFAULT_TIMEOUT_MS, ResolvedLimits, format_bytes, parse_bytes,
};
pub use propagate::{Binding, EffectiveExecutor, GatewayArgs, NOT_FOR_EXECUTORS, NOT_FOR_GATEWAY};
pub use spec::{
    Compression, Executor, ExposedEndpoint, Flow, FlowArgs, Limits, Polling, PollingSpec, Protocol,
    ServerSettings,
};
pub use yaml::LoadOptions;

impl Flow {
    /// The flow's DAG (see `crate::topology`).
    pub fn topology(&self) -> Result<crate::topology::Topology, crate::topology::TopologyError> {
        crate::topology::Topology::build(self)
    }
}
