//! Deploying a flow: resolving every executor's component, starting one
//! instance per replica and shard (all at once, so start-up takes as long as
//! the slowest executor, not the sum), and building the router over them.
//!
//! Owns the mapping from flow settings (limits, env, workspace, uses_with,
//! uses_requests, metas) to runtime instance settings (`plan.rs`), starting them within
//! `timeout_ready` (`start.rs`), and reloading a running flow (`watch.rs`, `live.rs`).
//! Knows nothing of protocols: the gateway serves what this returns.

mod error;
mod gateway_config;
mod live;
mod plan;
mod registry;
mod remote;
pub mod resolve;
mod secrets;
mod start;
pub mod watch;

pub use gateway_config::{gateway_config, monitoring, server_limits};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use flowhost_docs::when::Filter;
use flowhost_flow::{EffectiveExecutor, Flow, LoadOptions};
use flowhost_router::{Deployment, RouteNode, Router};
use flowhost_runtime::{Runtime, RuntimeConfig};
use flowhost_telemetry::Metrics;

pub use error::DeployError;
pub use live::LiveFlow;
pub use registry::RegistryResolver;
pub use remote::RemoteExecutor;
pub use resolve::RemoteResolver;

use plan::{DeploymentPlan, Fingerprint, Loader};
use start::{ReadyBy, start_deployment};

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
    /// This process serves one shard of an executor whose shards run elsewhere (a pod of
    /// an exported flow, as Jina's `--shard-id`/`--shards`): its instances see that shard
    /// in their metas.
    pub shard_of: Option<ShardOf>,
    /// Where executors, remote calls and start-up are counted (`monitoring: true`); `None`
    /// records nothing.
    pub metrics: Option<Metrics>,
}

/// Shard `id` of `count`, counted from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardOf {
    /// This shard, from 0.
    pub id: u32,
    /// How many shards the executor has.
    pub count: u32,
}

impl DeployOptions {
    /// Options for a flow in `flow_dir`, resolving only local `uses`.
    pub fn new(flow_dir: impl Into<PathBuf>, runtime: Arc<Runtime>) -> Self {
        Self {
            flow_dir: flow_dir.into(),
            runtime,
            remote: None,
            secrets_dir: None,
            shard_of: None,
            metrics: None,
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
        let mut loader = Loader::new(&options, &flow.with.extra_search_paths);
        // Each executor's `timeout_ready` counts from now, as each Jina pod's does from its
        // start: resolving, pulling and compiling its component, then every instance's `init`.
        let deploy_started = tokio::time::Instant::now();
        let flow_name = flow.with.name.as_deref().unwrap_or("flow");
        let mut steps = Vec::with_capacity(flow.executors.len());
        let mut fingerprints = Vec::with_capacity(flow.executors.len());
        for ((spec, expanded), effective) in flow.executors.iter().zip(&expanded).zip(&effective) {
            let ready = ReadyBy::new(&spec.name, deploy_started, effective)
                .measured(options.metrics.clone());
            let mut fingerprint = ready
                .within(
                    "resolving its component",
                    "resolve",
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
                    let mut plan = ready
                        .within(
                            "resolving and compiling its component",
                            "compile",
                            loader.plan(spec, expanded, effective),
                        )
                        .await?;
                    loader.take_digests(&mut fingerprint);
                    plan.template.flow = flow_name.to_owned();
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
                    .within(
                        "starting its instances",
                        "instantiate",
                        start_deployment(*plan),
                    )
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
