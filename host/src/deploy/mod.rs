//! Deploying a flow: resolving every executor's component, starting one
//! instance per replica and shard (all at once, so start-up takes as long as
//! the slowest executor, not the sum), and building the router over them.
//!
//! Owns the mapping from flow settings (limits, env, workspace, uses_with,
//! uses_requests, metas) to runtime instance settings. Knows nothing of
//! protocols: the gateway serves what this returns.

mod error;
mod gateway_config;
mod live;
mod registry;
mod remote;
pub mod resolve;
mod secrets;
pub mod watch;

pub use gateway_config::{gateway_config, server_limits};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use flowhost_client::{Client, DEFAULT_CONNECT_TIMEOUT, Peer};
use flowhost_docs::when::Filter;
use flowhost_flow::{DynamicBatching, EffectiveExecutor, ExpandedExecutor, Flow, LoadOptions};
use flowhost_router::{Deployment, MethodTable, ReplicaSet, RouteNode, Router};
use flowhost_runtime::{
    Executor, ExecutorComponent, Fault, InstanceConfig, InstanceLimits, Runtime, RuntimeConfig,
    Sandbox, StartError,
};

pub use error::DeployError;
pub use live::LiveFlow;
pub use registry::RegistryResolver;
pub use remote::RemoteExecutor;
pub use resolve::RemoteResolver;

/// What deploying needs besides the flow.
#[derive(Clone)]
pub struct DeployOptions {
    /// The folder of the flow file: relative `uses` start here.
    pub flow_dir: PathBuf,
    /// The runtime every executor instance is started on.
    pub runtime: Arc<Runtime>,
    /// Resolves `oci://`, `hub://` and `docker://` references.
    pub remote: Option<Arc<dyn RemoteResolver>>,
    /// Where `env_from_secret` values are read as files, `DIR/SECRET/KEY` (a Kubernetes
    /// secret mounted per secret); without it, or without the file, the variable must be
    /// in flowhost's own environment.
    pub secrets_dir: Option<PathBuf>,
}

impl DeployOptions {
    /// Options for a flow in `flow_dir`, resolving only local `uses`.
    pub fn new(flow_dir: impl Into<PathBuf>, runtime: Arc<Runtime>) -> Self {
        Self {
            flow_dir: flow_dir.into(),
            runtime,
            remote: None,
            secrets_dir: None,
        }
    }
}

/// The runtime settings a flow needs: fuel metering only if an executor asks, and an
/// instance pool with room for every replica and shard the flow starts (a quarter more,
/// so replacing a poisoned instance never waits for a slot), at least the default.
/// `FLOWHOST_MAX_INSTANCES` overrides the pool's size.
pub fn runtime_config_for(flow: &Flow) -> RuntimeConfig {
    let defaults = RuntimeConfig::default();
    let needed: u32 = flow
        .executors
        .iter()
        .filter(|e| !e.external && e.uses.is_some())
        .map(|e| {
            let shards = e.shards.max(1);
            let parts =
                shards + u32::from(e.uses_before.is_some()) + u32::from(e.uses_after.is_some());
            parts.saturating_mul(e.replicas.max(1))
        })
        .fold(0u32, u32::saturating_add);
    let sized = needed
        .saturating_add(needed / 4)
        .max(defaults.max_instances);
    let max_instances = std::env::var("FLOWHOST_MAX_INSTANCES")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(sized);
    RuntimeConfig {
        consume_fuel: flow
            .effective_executors()
            .iter()
            .any(|e| e.limits.fuel.is_some()),
        max_instances,
        ..defaults
    }
}

/// A flow with every executor running.
pub struct RunningFlow {
    flow: Flow,
    router: Arc<Router>,
    executors: Vec<DeployedExecutor>,
}

/// One executor as started, with what it was started from (to tell whether a reloaded flow
/// can keep it).
struct DeployedExecutor {
    fingerprint: Fingerprint,
    deployment: Arc<Deployment>,
}

/// What an executor's deployment depends on: its settings after the flow's are applied and
/// the content of every component file it runs. Equal fingerprints make equal deployments.
#[derive(Debug, Clone, PartialEq)]
struct Fingerprint {
    spec: flowhost_flow::ExecutorSpec,
    expanded: ExpandedExecutor,
    effective: EffectiveExecutor,
    /// Each component file (main, `uses_before`, `uses_after`) and its content digest.
    components: Vec<(PathBuf, String)>,
}

impl Fingerprint {
    /// The files that change this executor: its components and its config file.
    fn files(&self) -> impl Iterator<Item = &Path> {
        (self.components.iter().map(|(path, _)| path.as_path()))
            .chain(self.expanded.config_file.as_deref())
    }
}

/// How one executor gets running: kept from the flow being replaced, or started.
enum Step {
    Keep(Arc<Deployment>),
    Start(Box<DeploymentPlan>),
}

impl RunningFlow {
    /// Resolves and starts every executor (in parallel), then builds the router.
    pub async fn start(flow: Flow, options: DeployOptions) -> Result<RunningFlow, DeployError> {
        Self::start_reusing(flow, options, None).await
    }

    /// Deploys `flow` to replace this one: executors whose settings and component files
    /// are unchanged keep running as they are (instances, state and connections included);
    /// the rest start fresh. This flow keeps serving until the caller swaps the router;
    /// requests it has in flight finish on it.
    pub async fn reload(
        &self,
        flow: Flow,
        options: DeployOptions,
    ) -> Result<RunningFlow, DeployError> {
        Self::start_reusing(flow, options, Some(self)).await
    }

    async fn start_reusing(
        flow: Flow,
        options: DeployOptions,
        previous: Option<&RunningFlow>,
    ) -> Result<RunningFlow, DeployError> {
        let topology = flow.topology()?;
        let expanded = flow.expand_executors(&options.flow_dir, &LoadOptions::default())?;
        let effective = flow.effective_executors();
        let mut loader = Loader {
            options: &options,
            search_paths: &flow.with.extra_search_paths,
            resolved: HashMap::new(),
            loaded: HashMap::new(),
        };
        // Each executor's `timeout_ready` counts from now, as each Jina pod's does from its
        // start: resolving, pulling and compiling its component, then every instance's `init`.
        let deploy_started = tokio::time::Instant::now();
        let mut steps = Vec::with_capacity(flow.executors.len());
        let mut fingerprints = Vec::with_capacity(flow.executors.len());
        for ((spec, expanded), effective) in flow.executors.iter().zip(&expanded).zip(&effective) {
            let ready = ReadyBy::new(&spec.name, deploy_started, effective);
            let mut fingerprint = ready
                .within(
                    "resolving its component",
                    loader.fingerprint(spec, expanded, effective),
                )
                .await?;
            // Only a reload compares: a first start takes the digests the runtime computes
            // as it loads, rather than reading and hashing every component twice.
            let kept = match previous {
                Some(previous) => {
                    loader.hash(&spec.name, &mut fingerprint).await?;
                    previous.unchanged(&fingerprint)
                }
                None => None,
            };
            let step = match kept {
                Some(deployment) => Step::Keep(deployment),
                None => {
                    let plan = ready
                        .within(
                            "resolving and compiling its component",
                            loader.plan(spec, expanded, effective),
                        )
                        .await?;
                    loader.take_digests(&mut fingerprint);
                    Step::Start(Box::new(plan))
                }
            };
            fingerprints.push(fingerprint);
            steps.push((step, ready));
        }
        let kept = steps
            .iter()
            .filter(|(step, _)| matches!(step, Step::Keep(_)))
            .count();
        let starts = steps.into_iter().map(|(step, ready)| async move {
            match step {
                Step::Keep(deployment) => Ok(deployment),
                Step::Start(plan) => ready
                    .within("starting its instances", start_deployment(*plan))
                    .await
                    .map(Arc::new),
            }
        });
        let deployments = futures::future::try_join_all(starts).await?;
        let mut nodes = Vec::with_capacity(deployments.len());
        for (spec, deployment) in flow.executors.iter().zip(&deployments) {
            let when = spec
                .when
                .as_ref()
                .map(Filter::parse)
                .transpose()
                .map_err(|error| DeployError::Config {
                    executor: spec.name.clone(),
                    message: error.to_string(),
                })?;
            nodes.push(RouteNode {
                deployment: deployment.clone(),
                when,
                disable_reduce: spec.disable_reduce,
            });
        }
        let router = Arc::new(Router::new(nodes, &topology));
        tracing::info!(executors = flow.executors.len(), kept, "flow deployed");
        let executors = fingerprints
            .into_iter()
            .zip(deployments)
            .map(|(fingerprint, deployment)| DeployedExecutor {
                fingerprint,
                deployment,
            })
            .collect();
        Ok(RunningFlow {
            flow,
            router,
            executors,
        })
    }

    /// The running deployment of an executor with exactly this fingerprint, if any.
    fn unchanged(&self, fingerprint: &Fingerprint) -> Option<Arc<Deployment>> {
        self.executors
            .iter()
            .find(|running| running.fingerprint == *fingerprint)
            .map(|running| running.deployment.clone())
    }

    /// The files whose change changes this flow's executors (component files and executor
    /// config files), for the executors `include` picks by their effective settings.
    pub fn executor_files(&self, include: impl Fn(&EffectiveExecutor) -> bool) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = (self.executors.iter())
            .filter(|running| include(&running.fingerprint.effective))
            .flat_map(|running| running.fingerprint.files().map(Path::to_path_buf))
            .collect();
        files.sort();
        files.dedup();
        files
    }

    /// The router to serve (what the gateway is given).
    pub fn router(&self) -> &Arc<Router> {
        &self.router
    }

    /// The flow as deployed.
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// Waits for floating work, then stops every executor.
    pub async fn close(self) {
        self.router.close().await;
    }
}

/// One part of a deployment (the shards, `uses_before` or `uses_after`) before start.
struct PartPlan {
    component: Option<Arc<ExecutorComponent>>,
    shards: u32,
    replicas: u32,
    uses_requests: std::collections::BTreeMap<String, String>,
    /// `uses_dynamic_batching`: the executor's own shards only, not `uses_before`/`uses_after`.
    batching: DynamicBatching,
}

/// What an executor's deployment is made of, before anything starts.
struct DeploymentPlan {
    name: String,
    main: Shards,
    before: Option<PartPlan>,
    after: Option<PartPlan>,
    polling: Option<flowhost_flow::PollingSpec>,
    output_dtype: Option<flowhost_docs::Dtype>,
    template: InstanceConfig,
}

/// The executor's shards: run here, or served elsewhere (`external: true`).
enum Shards {
    Local(PartPlan),
    Remote(Vec<Arc<dyn flowhost_router::ExternalExecutor>>),
}

struct Loader<'a> {
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
    let base = expanded
        .config_file
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(flow_dir)
        .to_owned();
    let main = (expanded.component.clone())
        .filter(|_| !spec.external)
        .map(|uses| (uses, base));
    let beside = |uses: &Option<String>| uses.clone().map(|uses| (uses, flow_dir.to_owned()));
    [main, beside(&spec.uses_before), beside(&spec.uses_after)]
}

impl Loader<'_> {
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
    async fn fingerprint(
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
    async fn hash(&self, executor: &str, fingerprint: &mut Fingerprint) -> Result<(), DeployError> {
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
    fn take_digests(&self, fingerprint: &mut Fingerprint) {
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
        self.loaded.insert(path, component.clone());
        Ok(component)
    }

    async fn plan(
        &mut self,
        spec: &flowhost_flow::ExecutorSpec,
        expanded: &ExpandedExecutor,
        effective: &EffectiveExecutor,
    ) -> Result<DeploymentPlan, DeployError> {
        let flow_dir = self.options.flow_dir.clone();
        let [main_uses, before_uses, after_uses] = component_refs(spec, expanded, &flow_dir);
        let main = if spec.external {
            Shards::Remote(remote_shards(spec, effective)?)
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
        })
    }
}

/// An external executor's shards: its addresses, taken shard by shard when it has several
/// (`shards: 2` with four hosts is two shards of two replicas each), each called through
/// one persistent channel per address.
fn remote_shards(
    spec: &flowhost_flow::ExecutorSpec,
    effective: &EffectiveExecutor,
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
    addresses
        .chunks(addresses.len() / shards)
        .map(|replicas| {
            let peers = replicas.iter().map(peer).collect::<Result<_, _>>()?;
            let remote: Arc<dyn flowhost_router::ExternalExecutor> =
                Arc::new(RemoteExecutor::new(&spec.name, peers, deadline, retries));
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

async fn start_part(
    name: &str,
    part: PartPlan,
    template: &InstanceConfig,
) -> Result<Vec<ReplicaSet>, DeployError> {
    let Some(component) = part.component else {
        let replica = Executor::pass_through(name);
        return Ok(vec![ReplicaSet::new(vec![replica], MethodTable::default())]);
    };
    let starts = (0..part.shards).flat_map(|shard| {
        let component = component.clone();
        (0..part.replicas).map(move |replica| {
            let mut config = template.clone();
            config.shard_id = shard;
            config.replica_id = replica;
            config.shards = part.shards;
            config.replicas = part.replicas;
            if part.shards > 1 {
                config.sandbox.workspace =
                    config.sandbox.workspace.map(|w| w.join(shard.to_string()));
            }
            Executor::start(component.clone(), config)
        })
    });
    let mut started = futures::future::try_join_all(starts).await?.into_iter();
    let mut sets = Vec::with_capacity(part.shards as usize);
    for _ in 0..part.shards {
        let replicas: Vec<Executor> = started.by_ref().take(part.replicas as usize).collect();
        let methods = match replicas.first() {
            Some(first) => {
                MethodTable::new(first.description(), &part.uses_requests).map_err(|error| {
                    DeployError::Config {
                        executor: name.to_owned(),
                        message: error.to_string(),
                    }
                })?
            }
            None => MethodTable::default(),
        };
        sets.push(ReplicaSet::new(replicas, methods).with_dynamic_batching(part.batching.clone()));
    }
    Ok(sets)
}

async fn start_deployment(plan: DeploymentPlan) -> Result<Deployment, DeployError> {
    let DeploymentPlan {
        name,
        main,
        before,
        after,
        polling,
        output_dtype,
        template,
    } = plan;
    let (local, remotes) = match main {
        Shards::Local(part) => (Some(part), Vec::new()),
        Shards::Remote(remotes) => (None, remotes),
    };
    let shards = async {
        match local {
            Some(part) => start_part(&name, part, &template).await,
            None => Ok(Vec::new()),
        }
    };
    let before = async {
        match before {
            Some(part) => start_part(&name, part, &template)
                .await
                .map(|mut s| s.pop()),
            None => Ok(None),
        }
    };
    let after = async {
        match after {
            Some(part) => start_part(&name, part, &template)
                .await
                .map(|mut s| s.pop()),
            None => Ok(None),
        }
    };
    let (shards, before, after) = futures::future::try_join3(shards, before, after).await?;
    let deployment = if remotes.is_empty() {
        Deployment::new(name, shards, before, after, polling)
    } else {
        Deployment::external(name, remotes, before, after, polling)
    };
    Ok(deployment.with_output_dtype(output_dtype))
}

/// `output_array_type` given as a numpy dtype; `numpy` (what flowhost always answers) and
/// `list` (warned about at load) convert nothing.
fn output_dtype(effective: &EffectiveExecutor) -> Option<flowhost_docs::Dtype> {
    let name = effective.output_array_type.as_ref()?.dtype()?;
    flowhost_docs::Dtype::from_numpy_name(name)
}

/// When an executor must be ready by: Jina's `timeout_ready` (600 s unset, for ever when
/// negative), counted from the start of the deployment.
struct ReadyBy {
    executor: String,
    timeout: Option<Duration>,
    deadline: Option<tokio::time::Instant>,
}

impl ReadyBy {
    fn new(executor: &str, started: tokio::time::Instant, effective: &EffectiveExecutor) -> Self {
        let timeout = start_timeout(effective);
        Self {
            executor: executor.to_owned(),
            timeout,
            deadline: timeout.map(|timeout| started + timeout),
        }
    }

    /// `step`, or [`DeployError::NotReady`] naming `stage` when the deadline passes first.
    async fn within<T>(
        &self,
        stage: &'static str,
        step: impl std::future::Future<Output = Result<T, DeployError>>,
    ) -> Result<T, DeployError> {
        let (Some(deadline), Some(timeout)) = (self.deadline, self.timeout) else {
            return step.await;
        };
        let not_ready = |stage| DeployError::NotReady {
            executor: self.executor.clone(),
            timeout,
            stage,
        };
        match tokio::time::timeout_at(deadline, step).await {
            // The instance's own start deadline is the same `timeout_ready`, and may fire
            // first: it is the same failure.
            Ok(Err(DeployError::Start(StartError::Init {
                fault: Fault::Deadline(_),
                ..
            }))) => Err(not_ready("running its init")),
            Ok(Err(DeployError::Start(StartError::Describe {
                fault: Fault::Deadline(_),
                ..
            }))) => Err(not_ready("describing its methods")),
            Ok(result) => result,
            Err(_elapsed) => Err(not_ready(stage)),
        }
    }
}

/// Jina's `timeout_ready` in milliseconds: unset is Jina's default (600 s), negative waits
/// for ever.
fn start_timeout(effective: &EffectiveExecutor) -> Option<Duration> {
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
