//! Executor config files: `uses: encoder.yml` instead of a component.
//!
//! Such a file is Jina's executor YAML with one flowhost addition, the component to run:
//!
//! ```yaml
//! jtype: Encoder                 # informative
//! with: {dim: 128}               # defaults; the flow's `uses_with` wins per key
//! metas: {name: encoder}         # defaults; the flow's `metas`, then `uses_metas`, win
//! requests: {/index: encode}     # defaults; the flow's `uses_requests` wins per endpoint
//! dynamic_batching: {/index: {preferred_batch_size: 8}}  # the flow's `uses_dynamic_batching` wins per key
//! component: ../target/wasm32-wasip2/release/encoder.wasm   # or `uses:`; relative to this file
//! ```
//!
//! The file is looked for relative to the flow file's folder, then in each of
//! `with.extra_search_paths` in order (relative ones taken from the flow file's folder). The
//! component reference is not resolved further here: that is the registry's job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};
use serde_norway::Value;

use crate::env::substitute;
use crate::error::{Ctx, FlowError, Pos};
use crate::keys::{KeyWarning, Level};
use crate::locate::Target;
use crate::source::{Source, yaml_path};
use crate::spec::{DynamicBatching, Flow};
use crate::yaml::{
    At, LoadOptions, Reader, describe, expand_dollar_vars, parse_value, python_only,
};

/// An executor with its config file (if any) folded in: what the runtime should start.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpandedExecutor {
    /// The executor's `name` in the flow.
    pub name: String,
    /// The component reference to run (a path, `oci://...`, ...); `None` for a pass-through.
    pub component: Option<String>,
    /// The executor config file the component came from, if `uses` named one.
    pub config_file: Option<PathBuf>,
    /// The config's `jtype`.
    pub jtype: Option<String>,
    /// The config's `with` with the flow's `uses_with` over it, per key.
    pub uses_with: Map<String, Json>,
    /// The config's `metas`, then the flow's top-level `metas`, then the executor's `uses_metas`,
    /// each over the one before, per key.
    pub uses_metas: Map<String, Json>,
    /// The config's `requests` with the flow's `uses_requests` over them, per endpoint.
    pub uses_requests: BTreeMap<String, String>,
    /// The config's `dynamic_batching` with the executor's effective `uses_dynamic_batching`
    /// (its own, else the flow's) over it, per endpoint or method: an entry replaces the
    /// config's entry for the same key whole, as Jina's `dict.update` does. What the runtime
    /// batches by (see [`crate::DynamicBatching::for_call`]).
    pub dynamic_batching: DynamicBatching,
}

impl ExpandedExecutor {
    /// The folder a relative `component` is relative to: the flow's, when `uses` named the
    /// component; none (the process's), when it came from a config file, whose folder is
    /// already joined to it.
    pub fn component_base<'a>(&self, flow_dir: &'a Path) -> &'a Path {
        match self.config_file {
            Some(_) => Path::new(""),
            None => flow_dir,
        }
    }
}

/// Whether `uses` names an executor config file rather than a component.
pub fn is_executor_config(uses: &str) -> bool {
    let lower = uses.to_ascii_lowercase();
    !uses.contains("://") && (lower.ends_with(".yml") || lower.ends_with(".yaml"))
}

/// Where an executor config is found: the flow's folder, then the search paths, in order.
/// On failure, the list of paths tried.
pub fn find_executor_config(
    uses: &str,
    flow_dir: &Path,
    extra_search_paths: &[String],
) -> Result<PathBuf, Vec<PathBuf>> {
    let uses_path = Path::new(uses);
    let candidates: Vec<PathBuf> = if uses_path.is_absolute() {
        vec![uses_path.to_path_buf()]
    } else {
        std::iter::once(flow_dir.to_path_buf())
            .chain(extra_search_paths.iter().map(|p| flow_dir.join(p)))
            .map(|dir| dir.join(uses_path))
            .collect()
    };
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(candidates)
}

impl Flow {
    /// The executor at `index` with its config file folded in. `flow_dir` is the folder of
    /// the flow file (relative `uses` and search paths start there).
    pub fn expand_executor(
        &self,
        index: usize,
        flow_dir: &Path,
        opts: &LoadOptions,
    ) -> Result<ExpandedExecutor, FlowError> {
        let Some(e) = self.executors.get(index) else {
            return Err(FlowError::BadConfig {
                at: Box::new(Pos::builder()),
                message: format!("no executor at position {index}"),
            });
        };
        let (metas, batching) = self
            .effective_executor(index)
            .map(|eff| (eff.uses_metas, eff.dynamic_batching))
            .unwrap_or_default();
        let mut out = ExpandedExecutor {
            name: e.name.clone(),
            component: e.uses.clone(),
            config_file: None,
            jtype: None,
            uses_with: e.uses_with.clone(),
            uses_metas: metas,
            uses_requests: e.uses_requests.clone(),
            dynamic_batching: batching.clone(),
        };
        let Some(file) = self.executor_config_file(index, flow_dir)? else {
            return Ok(out);
        };
        let config = ExecutorConfig::load(&file, opts)?;
        out.component = config.component;
        out.jtype = config.jtype;
        out.config_file = Some(file);
        out.uses_with = merged(config.with, &e.uses_with);
        out.uses_metas = merged(config.metas, &out.uses_metas);
        let mut requests = config.requests;
        requests.extend(e.uses_requests.iter().map(|(k, v)| (k.clone(), v.clone())));
        out.uses_requests = requests;
        let mut dynamic_batching = config.dynamic_batching;
        for (key, spec) in batching.entries() {
            dynamic_batching.insert(key, *spec);
        }
        out.dynamic_batching = dynamic_batching;
        Ok(out)
    }

    /// The executor config file the executor at `index` names in `uses`, found beside the flow
    /// or along the search paths; `None` when `uses` is not a config file (or out of range).
    pub(crate) fn executor_config_file(
        &self,
        index: usize,
        flow_dir: &Path,
    ) -> Result<Option<PathBuf>, FlowError> {
        let Some(e) = self.executors.get(index) else {
            return Ok(None);
        };
        let Some(uses) = e.uses.as_deref().filter(|u| is_executor_config(u)) else {
            return Ok(None);
        };
        find_executor_config(uses, flow_dir, &self.with.extra_search_paths)
            .map(Some)
            .map_err(|searched| FlowError::ConfigNotFound {
                at: Box::new(Pos::file(flow_dir.display().to_string())),
                executor: e.name.clone(),
                uses: uses.to_string(),
                searched,
            })
    }

    /// Every executor expanded, in flow order.
    pub fn expand_executors(
        &self,
        flow_dir: &Path,
        opts: &LoadOptions,
    ) -> Result<Vec<ExpandedExecutor>, FlowError> {
        (0..self.executors.len())
            .map(|i| self.expand_executor(i, flow_dir, opts))
            .collect()
    }
}

/// `base` with `over`'s keys replacing it (Jina's shallow `dict.update`).
fn merged(mut base: Map<String, Json>, over: &Map<String, Json>) -> Map<String, Json> {
    base.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
    base
}

/// A parsed executor config file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutorConfig {
    /// `jtype` (or the document's `!Tag`): the executor class, informative. `None` or
    /// `BaseExecutor` may go without a component (a pass-through).
    pub jtype: Option<String>,
    /// `with`: default keyword arguments for the executor.
    pub with: Map<String, Json>,
    /// `metas`: default metas.
    pub metas: Map<String, Json>,
    /// `requests`: default endpoint -> method map.
    pub requests: BTreeMap<String, String>,
    /// `dynamic_batching`: default batching per endpoint or method (the flow's
    /// `uses_dynamic_batching` wins per key).
    pub dynamic_batching: DynamicBatching,
    /// The component, already made relative to the config file's folder.
    pub component: Option<String>,
    /// Keys in the file that have no effect in flowhost, one per occurrence.
    pub warnings: Vec<KeyWarning>,
}

impl ExecutorConfig {
    /// Reads and checks an executor config file.
    pub fn load(file: &Path, opts: &LoadOptions) -> Result<ExecutorConfig, FlowError> {
        let text = std::fs::read_to_string(file).map_err(|source| FlowError::Io {
            path: file.to_path_buf(),
            source,
        })?;
        let name = file.display().to_string();
        let text = substitute(&text, &name, &opts.vars)?;
        let src = Source {
            file: &name,
            text: &text,
        };
        let reader = Reader::new(src);
        let mut parsed = parse_value(&src)?;
        expand_dollar_vars(&mut parsed, &opts.vars);
        let (root, tag) = match parsed {
            Value::Tagged(t) => (
                t.value,
                Some(t.tag.to_string().trim_start_matches('!').to_string()),
            ),
            other => (other, None),
        };
        let ctx = Ctx::ExecutorConfig;
        let at = At {
            path: &[],
            ctx: &ctx,
        };
        if !matches!(root, Value::Mapping(_)) {
            return Err(FlowError::BadConfig {
                at: src.pos(&[], Target::Value),
                message: format!(
                    "an executor config is a mapping (`jtype`, `with`, `component`, ...), found {}",
                    describe(&root)
                ),
            });
        }
        let mut config = ExecutorConfig {
            jtype: tag,
            ..ExecutorConfig::default()
        };
        let mut component_key: Option<String> = None;
        for (key, v) in reader.entries(&at, "executor config", &root)? {
            reader.known(&at, Level::ExecutorConfig, &key)?;
            match key.as_str() {
                "jtype" => config.jtype = reader.opt_string(&at, &key, v)?,
                "with" => config.with = reader.json_map(&at, &key, v)?,
                "metas" => {
                    reader.metas_keys(&at, &key, v, true)?;
                    config.metas = reader.json_map(&at, &key, v)?
                }
                "requests" => config.requests = reader.string_map(&at, &key, v)?,
                "dynamic_batching" => {
                    config.dynamic_batching = reader.dynamic_batching(&at, &key, v)?
                }
                // Read by the Python SDK when it builds the component, not by the host.
                "py_modules" => {}
                "uses" | "component" => {
                    if let Some(first) = &component_key {
                        return Err(reader.bad(
                            &at,
                            &key,
                            format!("`{first}` is already set; keep only one of them"),
                        ));
                    }
                    component_key = Some(key.clone());
                    let c = reader.string(&at, &key, v)?;
                    if let Some(message) = python_only(&c) {
                        return Err(reader.refuse(
                            &at,
                            &key,
                            Target::Value,
                            format!("`{key}: {}`", c.trim()),
                            message,
                        ));
                    }
                    if is_executor_config(&c) {
                        return Err(reader.bad(
                            &at,
                            &key,
                            "must name a component (.wasm), not another executor config",
                        ));
                    }
                    config.component = Some(relative_to(&c, file));
                }
                _ => return Err(reader.unknown(&at, &key, Level::ExecutorConfig)),
            }
        }
        let pass_through = matches!(config.jtype.as_deref(), None | Some("BaseExecutor"));
        if config.component.is_none() && !pass_through {
            return Err(FlowError::BadConfig {
                at: src.pos(&yaml_path!["jtype"], Target::Value),
                message: format!(
                    "executor config (jtype `{}`) names no component; add `component: path/to/executor.wasm` (relative to this file)",
                    config.jtype.as_deref().unwrap_or_default()
                ),
            });
        }
        config.warnings = reader.into_warnings();
        Ok(config)
    }
}

/// A plain relative path is taken from the config file's folder; references with a scheme
/// (`oci://...`) and absolute paths are kept as written.
fn relative_to(component: &str, config_file: &Path) -> String {
    let p = Path::new(component);
    if component.contains("://") || p.is_absolute() {
        return component.to_string();
    }
    let dir = config_file.parent().unwrap_or_else(|| Path::new(""));
    dir.join(p).display().to_string()
}
