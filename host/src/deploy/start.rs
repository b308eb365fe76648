//! Starting what a plan describes: every instance of every shard and part at once, within
//! the executor's `timeout_ready`.

use std::time::Duration;

use flowhost_flow::EffectiveExecutor;
use flowhost_router::{Deployment, MethodTable, ReplicaSet};
use flowhost_runtime::{Executor, Fault, InstanceConfig, StartError};
use flowhost_telemetry::{InstanceLabels, Metrics};

use super::DeployError;
use super::plan::{DeploymentPlan, PartPlan, Shards, start_timeout};

/// Starts every replica of every shard of one part at once (a part without a component is
/// the built-in pass-through), one replica set per shard.
async fn start_part(
    name: &str,
    label: &str,
    part: PartPlan,
    template: &InstanceConfig,
    metrics: Option<&Metrics>,
) -> Result<Vec<ReplicaSet>, DeployError> {
    let Some(component) = part.component else {
        let replica = Executor::pass_through(name);
        return Ok(vec![ReplicaSet::new(vec![replica], MethodTable::default())]);
    };
    let starts = (0..part.shards).flat_map(|shard| {
        let component = component.clone();
        (0..part.replicas).map(move |replica| {
            let mut config = template.clone();
            config.replica_id = replica;
            config.replicas = part.replicas;
            // One shard here keeps the template's: shard 0 of 1, or the shard of a whole
            // executor that this process serves alone (`DeployOptions::shard_of`).
            if part.shards > 1 {
                config.shard_id = shard;
                config.shards = part.shards;
                config.sandbox.workspace =
                    config.sandbox.workspace.map(|w| w.join(shard.to_string()));
            }
            config.metrics = metrics.map(|metrics| {
                metrics.executor(InstanceLabels {
                    executor: label,
                    replica,
                    shard: config.shard_id,
                    shards: config.shards,
                })
            });
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
        for replica in &replicas {
            if let Some(metrics) = replica.metrics() {
                metrics.bind_endpoints(methods.endpoints());
            }
        }
        sets.push(ReplicaSet::new(replicas, methods).with_dynamic_batching(part.batching.clone()));
    }
    Ok(sets)
}

pub(super) async fn start_deployment(plan: DeploymentPlan) -> Result<Deployment, DeployError> {
    let DeploymentPlan {
        name,
        main,
        before,
        after,
        polling,
        output_dtype,
        template,
        metrics,
    } = plan;
    let metrics = metrics.as_ref();
    let (local, remotes) = match main {
        Shards::Local(part) => (Some(part), Vec::new()),
        Shards::Remote(remotes) => (None, remotes),
    };
    let shards = async {
        match local {
            Some(part) => start_part(&name, &name, part, &template, metrics).await,
            None => Ok(Vec::new()),
        }
    };
    // `uses_before` and `uses_after`: one instance each, counted under their own name.
    let edge = |part: Option<PartPlan>, role: &'static str| {
        let (name, template) = (&name, &template);
        async move {
            match part {
                Some(part) => {
                    let label = format!("{name}/{role}");
                    let mut sets = start_part(name, &label, part, template, metrics).await?;
                    Ok(sets.pop())
                }
                None => Ok(None),
            }
        }
    };
    let before = edge(before, "uses_before");
    let after = edge(after, "uses_after");
    let (shards, before, after) = futures::future::try_join3(shards, before, after).await?;
    let deployment = if remotes.is_empty() {
        Deployment::new(name, shards, before, after, polling)
    } else {
        Deployment::external(name, remotes, before, after, polling)
    };
    Ok(deployment.with_output_dtype(output_dtype))
}

/// When an executor must be ready by: Jina's `timeout_ready` (600 s unset, for ever when
/// negative), counted from the start of the deployment.
pub(super) struct ReadyBy {
    executor: String,
    timeout: Option<Duration>,
    deadline: Option<tokio::time::Instant>,
    metrics: Option<Metrics>,
}

impl ReadyBy {
    pub(super) fn new(
        executor: &str,
        started: tokio::time::Instant,
        effective: &EffectiveExecutor,
    ) -> Self {
        let timeout = start_timeout(effective);
        Self {
            executor: executor.to_owned(),
            timeout,
            deadline: timeout.map(|timeout| started + timeout),
            metrics: None,
        }
    }

    /// Records how long each stage took in `metrics` (`flowhost_startup_seconds`).
    pub(super) fn measured(mut self, metrics: Option<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// `step`, or [`DeployError::NotReady`] naming `stage` when the deadline passes first;
    /// its time is recorded as start-up `phase`.
    pub(super) async fn within<T>(
        &self,
        stage: &'static str,
        phase: &'static str,
        step: impl std::future::Future<Output = Result<T, DeployError>>,
    ) -> Result<T, DeployError> {
        let began = std::time::Instant::now();
        let result = self.bounded(stage, step).await;
        if let (Some(metrics), Ok(_)) = (&self.metrics, &result) {
            metrics.startup_phase(&self.executor, phase, began.elapsed());
        }
        result
    }

    async fn bounded<T>(
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
