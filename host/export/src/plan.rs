//! The exported topology, whatever the target: which services exist, the flow file each runs,
//! and the components that must be pushed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use flowhost_flow::{
    EffectiveExecutor, ExecutorSpec, ExpandedExecutor, Flow, FlowArgs, Limits, LoadOptions,
};
use flowhost_wire::Protocol;

use serde_json::json;

use crate::{EXECUTOR_PORT, ExportError, ExportOptions, LocalComponent, MONITORING_PORT};

/// Where the gateway reaches an executor's services.
pub(crate) enum Addressing<'a> {
    /// One service per shard, its replicas behind it: `NAME.NAMESPACE.svc`.
    Kubernetes { namespace: &'a str },
    /// One service per replica of each shard (compose has no load-balanced service of its
    /// own that keeps gRPC balanced), reached by its name.
    Compose,
}

/// Everything an export writes, before it is shaped for a target.
pub(crate) struct Plan {
    pub gateway: GatewayPlan,
    pub executors: Vec<ExecutorPlan>,
    pub components: Vec<LocalComponent>,
}

pub(crate) struct GatewayPlan {
    /// The gateway's flow file.
    pub flow_yaml: String,
    /// What it serves, and where.
    pub bindings: Vec<(Protocol, u16)>,
    /// `timeout_ready` of the flow, in milliseconds (-1: for ever).
    pub timeout_ready: Option<i64>,
    /// Whether it serves `/metrics` on [`MONITORING_PORT`].
    pub monitoring: bool,
}

/// One executor the gateway reaches elsewhere.
pub(crate) struct ExecutorPlan {
    /// The executor's name as a service name (`my_indexer` → `my-indexer`).
    pub service: String,
    /// Its service names: one per shard (`indexer`, or `indexer-0`, `indexer-1`).
    pub shards: Vec<String>,
    pub replicas: u32,
    /// Its flow file: the executor alone (the same for every shard).
    pub flow_yaml: String,
    /// Where its workspace is mounted, when it keeps one (a volume of its own).
    pub workspace: Option<String>,
    /// The sandbox's memory cap, in bytes.
    pub memory_limit: u64,
    /// `env_from_secret`: each environment variable and the secret key it is read from.
    pub secrets: BTreeMap<String, flowhost_flow::SecretRef>,
    /// `timeout_ready` in milliseconds (-1: for ever).
    pub timeout_ready: Option<i64>,
    /// Whether it serves `/metrics` on [`MONITORING_PORT`].
    pub monitoring: bool,
}

/// Where an executor's workspace lives in its container.
pub(crate) const WORKSPACE: &str = "/workspace";

impl Plan {
    pub fn new(
        flow: &Flow,
        flow_dir: &Path,
        options: &ExportOptions,
        addressing: Addressing<'_>,
    ) -> Result<Plan, ExportError> {
        flow.topology()?;
        let expanded = flow.expand_executors(flow_dir, &LoadOptions::default())?;
        let effective = flow.effective_executors();
        let mut components = Vec::new();
        let mut executors = Vec::new();
        let mut gateway = flow.clone();
        gateway.metas.clear();
        for ((spec, expanded), effective) in
            gateway.executors.iter_mut().zip(&expanded).zip(&effective)
        {
            for part in [&mut spec.uses_before, &mut spec.uses_after] {
                if let Some(uses) = part.as_deref() {
                    let reference =
                        reference(&spec.name, uses, flow_dir, options, &mut components)?;
                    *part = Some(reference);
                }
            }
            // Already elsewhere, or nothing to run (a pass-through): the gateway keeps it.
            let Some(component) = expanded.component.as_deref().filter(|_| !spec.external) else {
                continue;
            };
            let base = expanded.component_base(flow_dir);
            let uses = reference(&spec.name, component, base, options, &mut components)?;
            let service = service_name(&spec.name)?;
            let shards: Vec<String> = match spec.shards.max(1) {
                1 => vec![service.clone()],
                n => (0..n).map(|i| format!("{service}-{i}")).collect(),
            };
            let plan = executor_plan(spec, expanded, effective, uses, service, shards, flow)?;
            let hosts = match addressing {
                Addressing::Kubernetes { namespace } => (plan.shards.iter())
                    .map(|shard| format!("{shard}.{namespace}.svc"))
                    .collect(),
                Addressing::Compose => (plan.shards.iter())
                    .flat_map(|shard| compose_replicas(shard, plan.replicas))
                    .collect(),
            };
            reach_elsewhere(spec, hosts);
            executors.push(plan);
        }
        let bindings = gateway_bindings(&flow.with);
        gateway.with.host = Some("0.0.0.0".into());
        gateway.with.protocol = bindings.iter().map(|(p, _)| *p).collect();
        gateway.with.port = bindings.iter().map(|(_, port)| *port).collect();
        // The executors' settings went with them.
        gateway.with.env.clear();
        gateway.with.workspace = None;
        let monitoring = flowhost_flow::is_on(&flow.gateway_args().extra, "monitoring");
        if monitoring {
            gateway.with.gateway.extra.remove("port_monitoring");
            (gateway.with.extra).insert("port_monitoring".into(), json!(MONITORING_PORT));
        }
        Ok(Plan {
            gateway: GatewayPlan {
                flow_yaml: gateway.to_yaml()?,
                bindings,
                // The gateway's own: a `gateway:` section's value over `with:`'s.
                timeout_ready: flow.gateway_args().timeout_ready,
                monitoring,
            },
            executors,
            components,
        })
    }
}

/// What a shard's `flowhost run` is told besides its flow file: which shard it is, when
/// the executor has several (Jina passes `--shard-id` and `--shards` the same way).
pub(crate) fn shard_args(shard: usize, shards: usize) -> Vec<String> {
    if shards <= 1 {
        return Vec::new();
    }
    vec![
        "--shard-id".into(),
        shard.to_string(),
        "--shards".into(),
        shards.to_string(),
    ]
}

/// Compose's service names for the replicas of one shard.
pub(crate) fn compose_replicas(shard: &str, replicas: u32) -> Vec<String> {
    match replicas.max(1) {
        1 => vec![shard.to_owned()],
        n => (0..n).map(|i| format!("{shard}-rep-{i}")).collect(),
    }
}

/// The executor, in the gateway's flow, as reached at `hosts` (shard by shard).
fn reach_elsewhere(spec: &mut ExecutorSpec, hosts: Vec<String>) {
    spec.external = true;
    spec.host = hosts;
    spec.port = vec![EXECUTOR_PORT];
    spec.uses = None;
    spec.uses_with.clear();
    spec.uses_metas.clear();
    spec.uses_requests.clear();
    spec.env.clear();
    spec.workspace = None;
    spec.replicas = 1;
    spec.limits = Limits::default();
    spec.tls = false;
}

/// The executor alone, as its own service runs it.
fn executor_plan(
    spec: &ExecutorSpec,
    expanded: &ExpandedExecutor,
    effective: &EffectiveExecutor,
    uses: String,
    service: String,
    shards: Vec<String>,
    flow: &Flow,
) -> Result<ExecutorPlan, ExportError> {
    let workspace = (effective.workspace.is_some() || spec.extra.contains_key("volumes"))
        .then(|| WORKSPACE.to_owned());
    let alone = ExecutorSpec {
        name: spec.name.clone(),
        uses: Some(uses),
        uses_with: expanded.uses_with.clone(),
        uses_metas: expanded.uses_metas.clone(),
        uses_requests: expanded.uses_requests.clone(),
        workspace: workspace.clone(),
        env: effective.env.clone(),
        limits: Limits {
            timeout_ms: Some(effective.limits.timeout_ms),
            memory_limit: Some(effective.limits.memory_limit),
            fuel: effective.limits.fuel,
        },
        dynamic_batching: expanded.dynamic_batching.clone(),
        output_array_type: effective.output_array_type.clone(),
        extra: (spec.extra.iter())
            .filter(|(key, _)| key.as_str() != "volumes")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..ExecutorSpec::default()
    };
    let monitoring = flowhost_flow::is_on(&effective.extra, "monitoring");
    let pod = Flow {
        with: FlowArgs {
            protocol: vec![Protocol::Grpc],
            port: vec![EXECUTOR_PORT],
            host: Some("0.0.0.0".into()),
            compression: flow.with.compression,
            extra: if monitoring {
                BTreeMap::from([
                    ("monitoring".to_owned(), json!(true)),
                    ("port_monitoring".to_owned(), json!(MONITORING_PORT)),
                ])
            } else {
                BTreeMap::new()
            },
            ..FlowArgs::default()
        },
        metas: Default::default(),
        executors: vec![alone],
    };
    Ok(ExecutorPlan {
        service,
        shards,
        replicas: spec.replicas.max(1),
        flow_yaml: pod.to_yaml()?,
        workspace,
        memory_limit: effective.limits.memory_limit,
        secrets: spec.env_from_secret()?,
        timeout_ready: effective.timeout_ready,
        monitoring,
    })
}

/// The gateway's protocols and ports: the flow's, else gRPC; a protocol without a port gets
/// 8080 + its position, as Jina's export does.
fn gateway_bindings(with: &FlowArgs) -> Vec<(Protocol, u16)> {
    let protocols = match with.protocol.as_slice() {
        [] => vec![Protocol::Grpc],
        list => list.to_vec(),
    };
    (protocols.into_iter().enumerate())
        .map(|(i, protocol)| {
            let port = with
                .port
                .get(i)
                .copied()
                .unwrap_or(EXECUTOR_PORT + i as u16);
            (protocol, port)
        })
        .collect()
}

/// A reference the cluster can resolve: a registry reference as given, or a local file
/// named in the registry by its digest (and listed to be pushed).
fn reference(
    executor: &str,
    uses: &str,
    base: &Path,
    options: &ExportOptions,
    components: &mut Vec<LocalComponent>,
) -> Result<String, ExportError> {
    if uses.contains("://") {
        return Ok(uses.to_owned());
    }
    let file: PathBuf = base.join(uses);
    let Some(registry) = &options.registry else {
        return Err(ExportError::NoRegistry {
            executor: executor.to_owned(),
            file,
        });
    };
    let bytes = std::fs::read(&file).map_err(|source| ExportError::Read {
        executor: executor.to_owned(),
        file: file.clone(),
        source,
    })?;
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(executor)
        .to_ascii_lowercase()
        .replace(['_', '.', ' '], "-");
    let reference = format!("oci://{}/{stem}:{digest}", registry.trim_end_matches('/'));
    if !components.iter().any(|c| c.reference == reference) {
        components.push(LocalComponent {
            executor: executor.to_owned(),
            file,
            reference: reference.clone(),
        });
    }
    Ok(reference)
}

/// An executor's name as a service name: lower case, `_` and `/` as `-` (Jina's rule), and
/// then a valid DNS label with room for a `-N` shard and `-rep-N` replica suffix.
fn service_name(executor: &str) -> Result<String, ExportError> {
    let name = executor.to_ascii_lowercase().replace(['_', '/'], "-");
    let valid = name.len() <= 50
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid && name != "gateway" {
        Ok(name)
    } else {
        Err(ExportError::ServiceName {
            executor: executor.to_owned(),
            service: name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_follow_jina_and_dns() {
        assert_eq!(service_name("My_Indexer").unwrap(), "my-indexer");
        assert!(service_name("9lives").is_err());
        assert!(service_name("gateway").is_err(), "the gateway's own name");
        assert!(service_name("dots.are.not.labels").is_err());
    }

    #[test]
    fn gateway_ports_default_as_jina_exports_them() {
        let with = FlowArgs {
            protocol: vec![Protocol::Grpc, Protocol::Http],
            port: vec![12345],
            ..FlowArgs::default()
        };
        assert_eq!(
            gateway_bindings(&with),
            [(Protocol::Grpc, 12345), (Protocol::Http, 8081)]
        );
        assert_eq!(
            gateway_bindings(&FlowArgs::default()),
            [(Protocol::Grpc, 8080)]
        );
    }
}
