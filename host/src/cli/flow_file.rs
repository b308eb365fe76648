//! Reading a flow file for a command: every Jina key that has no effect in flowhost is
//! reported with its file and line (or, with `--strict`, refuses the flow).

use std::path::Path;

use flowhost_flow::{Flow, LoadOptions};

/// Whether keys that have no effect are warnings or errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPolicy {
    /// Load the flow and log one warning per key.
    Warn,
    /// Refuse the flow, listing every such key (`--strict`).
    Strict,
}

/// Loads `path` and the executor config files it names, applying `policy` to the keys
/// that have no effect.
pub fn load(path: &Path, policy: KeyPolicy) -> Result<Flow, flowhost_flow::FlowError> {
    let loaded = Flow::load_checked(path, &LoadOptions::default())?;
    if policy == KeyPolicy::Strict {
        return loaded.strict();
    }
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    Ok(loaded.flow)
}
