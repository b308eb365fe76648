//! What an executor's deployment is made of before anything starts: its component files
//! resolved and loaded, its instance settings (limits, sandbox, metas, secrets), its
//! remote shards, and the fingerprint that tells a reload whether it changed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use flowhost_client::{Client, DEFAULT_CONNECT_TIMEOUT, Peer};
use flowhost_flow::{DynamicBatching, EffectiveExecutor, ExpandedExecutor};
use flowhost_runtime::{CacheOutcome, ExecutorComponent, InstanceConfig, InstanceLimits, Sandbox};

use super::{DeployError, DeployOptions, RemoteExecutor, ShardOf, resolve, secrets};

/// What an executor's deployment depends on: its settings after the flow's are applied and
/// the content of every component file it runs. Equal fingerprints make equal deployments.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Fingerprint {
    pub(super) spec: flowhost_flow::ExecutorSpec,
    pub(super) expanded: ExpandedExecutor,
    pub(super) effective: EffectiveExecutor,
    /// Each component file (main, `uses_before`, `uses_after`) and its content digest.
    pub(super) components: Vec<(PathBuf, String)>,
}

impl Fingerprint {
    /// The files that change this executor: its components and its config file.
    pub(super) fn files(&self) -> impl Iterator<Item = &Path> {
        (self.components.iter().map(|(path, _)| path.as_path()))
            .chain(self.expanded.config_file.as_deref())
    }
}

/// One part of a deployment (the shards, `uses_before` or `uses_after`) before start.
pub(super) struct PartPlan {
    pub(super) component: Option<Arc<ExecutorComponent>>,
    pub(super) shards: u32,
    pub(super) replicas: u32,
    pub(super) uses_requests: std::collections::BTreeMap<String, String>,
    /// `uses_dynamic_batching`: the executor's own shards only, not `uses_before`/`uses_after`.
    pub(super) batching: DynamicBatching,
}

/// What an executor's deployment is made of, before anything starts.
pub(super) struct DeploymentPlan {
    pub(super) name: String,
    pub(super) main: Shards,
    pub(super) before: Option<PartPlan>,
    pub(super) after: Option<PartPlan>,
    pub(super) polling: Option<flowhost_flow::PollingSpec>,
    pub(super) output_dtype: Option<flowhost_docs::Dtype>,
    pub(super) template: InstanceConfig,
    pub(super) metrics: Option<flowhost_telemetry::Metrics>,
}

/// The executor's shards: run here, or served elsewhere (`external: true`).
pub(super) enum Shards {
    Local(PartPlan),
    Remote(Vec<Arc<dyn flowhost_router::ExternalExecutor>>),
}

pub(super) struct Loader<'a> {
    options: &'a DeployOptions,
    search_paths: &'a [String],
    /// `uses` (and the folder it is relative to) to its file: resolved once per deployment,
    /// so a registry is asked once.
    resolved: HashMap<(String, PathBuf), PathBuf>,
    loaded: HashMap<PathBuf, Arc<ExecutorComponent>>,
}

/// The component references of one executor: `uses` (from its config file's folder when
/// it has one, else the flow's), then `uses_before` and `uses_after` (from the flow's).
fn component_refs(
    spec: &flowhost_flow::ExecutorSpec,
    expanded: &ExpandedExecutor,
    flow_dir: &Path,
) -> [Option<(String, PathBuf)>; 3] {
    let base = expanded.component_base(flow_dir).to_owned();
    let main = (expanded.component.clone())
        .filter(|_| !spec.external)
        .map(|uses| (uses, base));
    let beside = |uses: &Option<String>| uses.clone().map(|uses| (uses, flow_dir.to_owned()));
    [main, beside(&spec.uses_before), beside(&spec.uses_after)]
}

impl<'a> Loader<'a> {
    /// A loader for one deployment of a flow searching `search_paths`.
    pub(super) fn new(options: &'a DeployOptions, search_paths: &'a [String]) -> Self {
        Self {
            options,
            search_paths,
            resolved: HashMap::new(),
            loaded: HashMap::new(),
        }
    }

    async fn resolve(
        &mut self,
        executor: &str,
        uses: &str,
        base: &Path,
    ) -> Result<PathBuf, DeployError> {
        let key = (uses.to_owned(), base.to_owned());
        if let Some(path) = self.resolved.get(&key) {
            return Ok(path.clone());
        }
        let path = resolve::resolve(
            executor,
            uses,
            base,
            self.search_paths,
            self.options.remote.as_deref(),
        )
        .await?;
        self.resolved.insert(key, path.clone());
        Ok(path)
    }

    /// The executor's settings and its component files, digests not yet known.
    pub(super) async fn fingerprint(
        &mut self,
        spec: &flowhost_flow::ExecutorSpec,
        expanded: &ExpandedExecutor,
        effective: &EffectiveExecutor,
    ) -> Result<Fingerprint, DeployError> {
        let mut components = Vec::new();
        for (uses, base) in component_refs(spec, expanded, &self.options.flow_dir)
            .into_iter()
            .flatten()
        {
            let path = self.resolve(&spec.name, &uses, &base).await?;
            components.push((path, String::new()));
        }
        Ok(Fingerprint {
            spec: spec.clone(),
            expanded: expanded.clone(),
            effective: effective.clone(),
            components,
        })
    }

    /// Reads and hashes each component file of `fingerprint`, as the runtime would.
    pub(super) async fn hash(
        &self,
        executor: &str,
        fingerprint: &mut Fingerprint,
    ) -> Result<(), DeployError> {
        for (path, digest) in &mut fingerprint.components {
            let bytes = tokio::fs::read(&*path)
                .await
                .map_err(|source| DeployError::Load {
                    executor: executor.to_owned(),
                    source: flowhost_runtime::RuntimeError::Read {
                        path: path.clone(),
                        source,
                    },
                })?;
            *digest = flowhost_runtime::content_digest(&bytes);
        }
        Ok(())
    }

    /// The digests of the components just loaded for `fingerprint`.
    pub(super) fn take_digests(&self, fingerprint: &mut Fingerprint) {
        for (path, digest) in &mut fingerprint.components {
            if let Some(component) = self.loaded.get(path) {
                *digest = component.digest().to_owned();
            }
        }
    }

    async fn component(
        &mut self,
        executor: &str,
        uses: &str,
        base: &Path,
    ) -> Result<Arc<ExecutorComponent>, DeployError> {
        let path = self.resolve(executor, uses, base).await?;
        if let Some(component) = self.loaded.get(&path) {
            return Ok(component.clone());
        }
        let component = self
            .options
            .runtime
            .load_async(&path)
            .await
            .map_err(|source| DeployError::Load {
                executor: executor.to_owned(),
                source,
            })?;
        if let Some(metrics) = &self.options.metrics {
            metrics.compile_cache(component.cache_outcome() == CacheOutcome::Hit);
        }
        self.loaded.insert(path, component.clone());
        Ok(component)
    }

    pub(super) async fn plan(
        &mut self,
        spec: &flowhost_flow::ExecutorSpec,
        expanded: &ExpandedExecutor,
        effective: &EffectiveExecutor,
    ) -> Result<DeploymentPlan, DeployError> {
        let flow_dir = self.options.flow_dir.clone();
        let [main_uses, before_uses, after_uses] = component_refs(spec, expanded, &flow_dir);
        let main = if spec.external {
            Shards::Remote(remote_shards(
                spec,
                effective,
                self.options.metrics.as_ref(),
            )?)
        } else {
            let component = match &main_uses {
                Some((uses, base)) => Some(self.component(&spec.name, uses, base).await?),
                None => None,
            };
            Shards::Local(PartPlan {
                component,
                shards: spec.shards.max(1),
                replicas: spec.replicas.max(1),
                uses_requests: expanded.uses_requests.clone(),
                batching: expanded.dynamic_batching.clone(),
            })
        };
        let part = |component, shards, replicas, requests| PartPlan {
            component,
            shards,
            replicas,
            uses_requests: requests,
            batching: DynamicBatching::default(),
        };
        let before = match &before_uses {
            Some((uses, base)) => {
                let c = self.component(&spec.name, uses, base).await?;
                Some(part(Some(c), 1, 1, Default::default()))
            }
            None => None,
        };
        let after = match &after_uses {
            Some((uses, base)) => {
                let c = self.component(&spec.name, uses, base).await?;
                Some(part(Some(c), 1, 1, Default::default()))
            }
            None => None,
        };
        let mut template = instance_template(spec, expanded, effective, &flow_dir);
        if let Some(ShardOf { id, count }) = self.options.shard_of {
            template.shard_id = id;
            template.shards = count;
        }
        // An external executor's secrets are where it runs, not here.
        if !spec.external {
            let secrets = secrets::read(spec, self.options.secrets_dir.as_deref())?;
            template.sandbox.env.extend(secrets);
        }
        Ok(DeploymentPlan {
            name: spec.name.clone(),
            main,
            before,
            after,
            polling: spec.polling.clone(),
            output_dtype: output_dtype(effective),
            template,
            metrics: self.options.metrics.clone(),
        })
    }
}

/// An external executor's shards: its addresses, taken shard by shard when it has several
/// (`shards: 2` with four hosts is two shards of two replicas each), each called through
/// one persistent channel per address.
fn remote_shards(
    spec: &flowhost_flow::ExecutorSpec,
    effective: &EffectiveExecutor,
    metrics: Option<&flowhost_telemetry::Metrics>,
) -> Result<Vec<Arc<dyn flowhost_router::ExternalExecutor>>, DeployError> {
    let config_error = |message: String| DeployError::Config {
        executor: spec.name.clone(),
        message,
    };
    let addresses = spec.addresses().ok_or_else(|| {
        config_error("an external executor needs `host` and `port` (or `host: name:port`)".into())
    })?;
    let shards = spec.shards.max(1) as usize;
    if addresses.len() % shards != 0 {
        return Err(config_error(format!(
            "{} addresses cannot be split evenly into {shards} shards",
            addresses.len()
        )));
    }
    let deadline = remote_deadline(effective);
    // The client's connect timeout, or less when `timeout_send` is shorter.
    let connect_timeout =
        deadline.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.min(DEFAULT_CONNECT_TIMEOUT));
    let peer = |(host, port): &(String, u16)| {
        let mut client = Client::new(host.clone(), *port).connect_timeout(connect_timeout);
        if spec.tls {
            client = client.tls_system_roots();
        }
        if let Some(compression) = effective.compression {
            client = client.compression(compression);
        }
        Peer::new(&client, &spec.grpc_metadata).map_err(|error| config_error(error.to_string()))
    };
    let retries = effective.extra.get("retries").and_then(Value::as_i64);
    let metrics = metrics.map(|metrics| metrics.remote(&spec.name));
    addresses
        .chunks(addresses.len() / shards)
        .map(|replicas| {
            let peers = replicas.iter().map(peer).collect::<Result<_, _>>()?;
            let remote: Arc<dyn flowhost_router::ExternalExecutor> = Arc::new(
                RemoteExecutor::new(&spec.name, peers, deadline, retries).measured(metrics.clone()),
            );
            Ok(remote)
        })
        .collect()
}

fn instance_template(
    spec: &flowhost_flow::ExecutorSpec,
    expanded: &ExpandedExecutor,
    effective: &EffectiveExecutor,
    flow_dir: &Path,
) -> InstanceConfig {
    let mut config = InstanceConfig::new(spec.name.clone());
    config.uses_with = Value::Object(expanded.uses_with.clone());
    let meta = |key: &str| {
        expanded
            .uses_metas
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    config.metas_name = meta("name");
    config.description = meta("description");
    config.limits = InstanceLimits {
        timeout: Duration::from_millis(effective.limits.timeout_ms),
        start_timeout: start_timeout(effective),
        memory: effective.limits.memory_limit,
        fuel: effective.limits.fuel,
    };
    config.sandbox = Sandbox {
        workspace: effective
            .workspace
            .as_ref()
            .map(|w| flow_dir.join(w).join(&spec.name)),
        env: effective
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    config
}

/// `output_array_type` given as a numpy dtype; `numpy` (what flowhost always answers) and
/// `list` (warned about at load) convert nothing.
fn output_dtype(effective: &EffectiveExecutor) -> Option<flowhost_docs::Dtype> {
    let name = effective.output_array_type.as_ref()?.dtype()?;
    flowhost_docs::Dtype::from_numpy_name(name)
}

/// Jina's `timeout_ready` in milliseconds: unset is Jina's default (600 s), negative waits
/// for ever.
pub(super) fn start_timeout(effective: &EffectiveExecutor) -> Option<Duration> {
    match effective.timeout_ready {
        None => Some(flowhost_runtime::InstanceLimits::DEFAULT_START_TIMEOUT),
        Some(ms) if ms < 0 => None,
        Some(ms) => Some(Duration::from_millis(ms as u64)),
    }
}

/// Jina's `timeout_send` for a remote executor: milliseconds, `-1` (or any negative value)
/// waits for ever as in Jina; unset, the executor's call deadline (`timeout_ms`, 30 s by
/// default) applies, so a peer that never answers cannot hold a request without bound.
fn remote_deadline(effective: &EffectiveExecutor) -> Option<std::time::Duration> {
    match effective.timeout_send {
        Some(ms) if ms < 0 => None,
        Some(ms) => Some(std::time::Duration::from_millis(ms as u64)),
        None => Some(std::time::Duration::from_millis(
            effective.limits.timeout_ms,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowhost_flow::{Flow, LoadOptions};

    fn templates(yaml: &str) -> Vec<InstanceConfig> {
        let flow = Flow::from_yaml_str(yaml, "flow.yml", &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let dir = Path::new(".");
        let expanded = flow
            .expand_executors(dir, &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let effective = flow.effective_executors();
        flow.executors
            .iter()
            .zip(&expanded)
            .zip(&effective)
            .map(|((spec, expanded), effective)| instance_template(spec, expanded, effective, dir))
            .collect()
    }

    #[test]
    fn every_dtype_the_flow_accepts_converts_to_a_document_dtype() {
        for name in flowhost_flow::NUMPY_DTYPES {
            let format = flowhost_flow::ArrayFormat::parse(name);
            let dtype = format
                .as_ref()
                .and_then(flowhost_flow::ArrayFormat::dtype)
                .and_then(flowhost_docs::Dtype::from_numpy_name);
            assert!(
                dtype.is_some(),
                "`output_array_type: {name}` converts to nothing"
            );
        }
    }

    #[test]
    fn uses_metas_name_reaches_the_executor_not_the_logs() {
        let configs = templates(
            "jtype: Flow\nmetas: {description: every}\nexecutors:\n\
             - name: a\n  uses: a.wasm\n  uses_metas: {name: MyExec, description: mine}\n\
             - name: b\n  uses: b.wasm\n",
        );
        assert_eq!(configs[0].name, "a");
        assert_eq!(configs[0].metas_name.as_deref(), Some("MyExec"));
        assert_eq!(configs[0].description.as_deref(), Some("mine"));
        assert_eq!(configs[1].name, "b");
        assert_eq!(configs[1].metas_name, None);
        assert_eq!(configs[1].description.as_deref(), Some("every"));
    }
}
