//! `flowhost export kubernetes`: a namespace, the gateway as a Deployment and Service, and
//! every executor shard as its own Deployment (a StatefulSet with a volume claim when it keeps
//! a workspace) and Service, each running `flowhost run` on its flow file from a ConfigMap.
//!
//! Probes use Kubernetes' own gRPC probe against the standard health service every flowhost
//! gateway serves: an executor is ready when it serves; the gateway is ready when every
//! executor it reaches answers its health check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use flowhost_flow::Flow;
use flowhost_wire::Protocol;

use crate::plan::{Addressing, ExecutorPlan, Plan, WORKSPACE, shard_args};
use crate::{
    EXECUTOR_PORT, Export, ExportError, ExportOptions, ExportedFile, MONITORING_PORT, yaml,
};

/// Where each container reads its flow file (the ConfigMap's mount).
const CONFIG_DIR: &str = "/etc/flowhost";
/// What the runtime needs beside the sandbox's own cap (code cache, buffers, the gateway).
const MEMORY_OVERHEAD: u64 = 256 << 20;
/// The size of a workspace volume claim.
const WORKSPACE_SIZE: &str = "1Gi";

/// The flow as Kubernetes manifests, one folder per service as Jina lays them out
/// (`gateway/gateway.yml`, `indexer/indexer.yml`, `indexer/indexer-0.yml` per shard).
pub fn kubernetes(
    flow: &Flow,
    flow_dir: &Path,
    options: &ExportOptions,
) -> Result<Export, ExportError> {
    let namespace = options
        .namespace
        .clone()
        .or_else(|| flow.with.name.clone())
        .unwrap_or_else(|| "default".to_owned())
        .to_ascii_lowercase()
        .replace(['_', ' '], "-");
    let plan = Plan::new(
        flow,
        flow_dir,
        options,
        Addressing::Kubernetes {
            namespace: &namespace,
        },
    )?;
    let mut files = vec![ExportedFile {
        path: PathBuf::from("namespace.yml"),
        text: yaml(
            "the namespace",
            &Object {
                api_version: "v1",
                kind: "Namespace",
                metadata: Metadata::named(&namespace, None),
                body: Body::Empty {},
            },
        )?,
    }];
    files.push(ExportedFile {
        path: PathBuf::from("gateway/gateway.yml"),
        text: gateway(&plan, &namespace, options)?,
    });
    for executor in &plan.executors {
        for (index, shard) in executor.shards.iter().enumerate() {
            files.push(ExportedFile {
                path: PathBuf::from(&executor.service).join(format!("{shard}.yml")),
                text: executor_shard(executor, (index, shard), &namespace, options)?,
            });
        }
    }
    Ok(Export {
        files,
        components: plan.components,
    })
}

fn gateway(plan: &Plan, namespace: &str, options: &ExportOptions) -> Result<String, ExportError> {
    let name = "gateway";
    let ports: Vec<Port> = (plan.gateway.bindings.iter())
        .map(|(protocol, port)| Port {
            name: protocol.as_str().to_owned(),
            port: *port,
            target_port: *port,
        })
        .collect();
    let grpc = (plan.gateway.bindings.iter()).find(|(p, _)| *p == Protocol::Grpc);
    let first_port = plan.gateway.bindings.first().map_or(EXECUTOR_PORT, |b| b.1);
    // Ready when the gateway says so: over gRPC its health service asks every executor.
    let ready = match grpc {
        Some((_, port)) => Probe::grpc(*port),
        None => Probe::tcp(first_port),
    };
    let mut container = Container {
        name: name.to_owned(),
        image: options.image.clone(),
        image_pull_policy: "IfNotPresent",
        command: vec!["flowhost".into()],
        args: vec!["run".into(), format!("{CONFIG_DIR}/flow.yml")],
        ports: (plan.gateway.bindings.iter())
            .map(|(protocol, port)| ContainerPort {
                name: protocol.as_str().to_owned(),
                container_port: *port,
            })
            .collect(),
        env: vec![EnvVar::value("FLOWHOST_LOG", "info")],
        volume_mounts: vec![VolumeMount::config()],
        startup_probe: Some(ready.clone().startup(plan.gateway.timeout_ready)),
        readiness_probe: Some(ready),
        liveness_probe: Some(Probe::tcp(first_port)),
        resources: None,
    };
    let mut ports = ports;
    let monitor = plan
        .gateway
        .monitoring
        .then(|| monitored(name, namespace, &mut ports, &mut container));
    let labels = labels(name, "gateway");
    let mut objects = vec![
        config_map(name, namespace, &plan.gateway.flow_yaml),
        service(name, namespace, ports),
        workload(
            name,
            namespace,
            labels,
            1,
            container,
            vec![Volume::config(name)],
            None,
        ),
    ];
    objects.extend(monitor);
    documents(&objects)
}

/// Adds the `monitoring` port to a monitored service and its container; the
/// `ServiceMonitor` that has Prometheus scrape it.
fn monitored<'a>(
    name: &str,
    namespace: &str,
    ports: &mut Vec<Port>,
    container: &mut Container,
) -> Object<'a> {
    const PORT_NAME: &str = "monitoring";
    ports.push(Port {
        name: PORT_NAME.into(),
        port: MONITORING_PORT,
        target_port: MONITORING_PORT,
    });
    container.ports.push(ContainerPort {
        name: PORT_NAME.into(),
        container_port: MONITORING_PORT,
    });
    Object {
        api_version: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: Metadata::named(name, Some(namespace)),
        body: Body::ServiceMonitor {
            spec: ServiceMonitorSpec {
                endpoints: vec![MonitorEndpoint { port: PORT_NAME }],
                namespace_selector: NamespaceSelector {
                    match_names: vec![namespace.to_owned()],
                },
                selector: Selector {
                    match_labels: BTreeMap::from([("app".to_owned(), name.to_owned())]),
                },
            },
        },
    }
}

fn executor_shard(
    executor: &ExecutorPlan,
    (index, shard): (usize, &str),
    namespace: &str,
    options: &ExportOptions,
) -> Result<String, ExportError> {
    let mut env = vec![EnvVar::value("FLOWHOST_LOG", "info")];
    env.extend(
        (executor.secrets.iter())
            .map(|(var, secret)| EnvVar::secret(var, &secret.name, &secret.key)),
    );
    let mut mounts = vec![VolumeMount::config()];
    if let Some(path) = &executor.workspace {
        mounts.push(VolumeMount {
            name: "workspace".into(),
            mount_path: path.clone(),
            read_only: None,
        });
    }
    let memory = format!(
        "{}Mi",
        (executor.memory_limit + MEMORY_OVERHEAD).div_ceil(1 << 20)
    );
    let mut container = Container {
        name: "executor".into(),
        image: options.image.clone(),
        image_pull_policy: "IfNotPresent",
        command: vec!["flowhost".into()],
        args: [
            vec!["run".into(), format!("{CONFIG_DIR}/flow.yml")],
            shard_args(index, executor.shards.len()),
        ]
        .concat(),
        ports: vec![ContainerPort {
            name: "grpc".into(),
            container_port: EXECUTOR_PORT,
        }],
        env,
        volume_mounts: mounts,
        startup_probe: Some(Probe::grpc(EXECUTOR_PORT).startup(executor.timeout_ready)),
        readiness_probe: Some(Probe::grpc(EXECUTOR_PORT)),
        liveness_probe: Some(Probe::grpc(EXECUTOR_PORT)),
        resources: Some(Resources {
            requests: BTreeMap::from([("memory", memory.clone())]),
            limits: BTreeMap::from([("memory", memory)]),
        }),
    };
    let mut ports = vec![Port {
        name: "grpc".into(),
        port: EXECUTOR_PORT,
        target_port: EXECUTOR_PORT,
    }];
    let monitor = executor
        .monitoring
        .then(|| monitored(shard, namespace, &mut ports, &mut container));
    let labels = labels(shard, "executor");
    let claim = executor.workspace.as_ref().map(|_| WORKSPACE);
    let mut objects = vec![
        config_map(shard, namespace, &executor.flow_yaml),
        service(shard, namespace, ports),
        workload(
            shard,
            namespace,
            labels,
            executor.replicas,
            container,
            vec![Volume::config(shard)],
            claim,
        ),
    ];
    objects.extend(monitor);
    documents(&objects)
}

fn documents(objects: &[Object<'_>]) -> Result<String, ExportError> {
    let mut text = String::new();
    for object in objects {
        if !text.is_empty() {
            text.push_str("---\n");
        }
        let what = format!("{} {}", object.kind, object.metadata.name);
        text.push_str(&yaml(&what, object)?);
    }
    Ok(text)
}

fn labels(name: &str, role: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app".to_owned(), name.to_owned()),
        (
            "app.kubernetes.io/part-of".to_owned(),
            "flowhost".to_owned(),
        ),
        ("flowhost/role".to_owned(), role.to_owned()),
    ])
}

fn config_map<'a>(name: &str, namespace: &str, flow_yaml: &str) -> Object<'a> {
    Object {
        api_version: "v1",
        kind: "ConfigMap",
        metadata: Metadata::named(&format!("{name}-flow"), Some(namespace)),
        body: Body::ConfigMap {
            data: BTreeMap::from([("flow.yml".to_owned(), flow_yaml.to_owned())]),
        },
    }
}

fn service<'a>(name: &str, namespace: &str, ports: Vec<Port>) -> Object<'a> {
    let mut metadata = Metadata::named(name, Some(namespace));
    // What a ServiceMonitor selects the Service by, as Jina's Services are labelled.
    if let Some(labels) = metadata.labels.as_mut() {
        labels.insert("app".to_owned(), name.to_owned());
    }
    Object {
        api_version: "v1",
        kind: "Service",
        metadata,
        body: Body::Service {
            spec: ServiceSpec {
                kind: "ClusterIP",
                selector: BTreeMap::from([("app".to_owned(), name.to_owned())]),
                ports,
            },
        },
    }
}

/// A Deployment, or a StatefulSet with a volume claim mounted at `claim`.
fn workload<'a>(
    name: &str,
    namespace: &str,
    labels: BTreeMap<String, String>,
    replicas: u32,
    container: Container,
    volumes: Vec<Volume>,
    claim: Option<&str>,
) -> Object<'a> {
    let template = PodTemplate {
        metadata: TemplateMetadata {
            labels: labels.clone(),
            // gRPC keeps one connection per client: a mesh balances its requests over the
            // replicas behind the Service, as Jina's export asks of linkerd too.
            annotations: BTreeMap::from([("linkerd.io/inject", "enabled")]),
        },
        spec: PodSpec {
            containers: vec![container],
            volumes,
            termination_grace_period_seconds: 30,
        },
    };
    let selector = Selector {
        match_labels: BTreeMap::from([("app".to_owned(), name.to_owned())]),
    };
    let metadata = Metadata {
        name: name.to_owned(),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels),
    };
    match claim {
        None => Object {
            api_version: "apps/v1",
            kind: "Deployment",
            metadata,
            body: Body::Deployment {
                spec: DeploymentSpec {
                    replicas,
                    selector,
                    template,
                },
            },
        },
        Some(_) => Object {
            api_version: "apps/v1",
            kind: "StatefulSet",
            metadata,
            body: Body::StatefulSet {
                spec: StatefulSetSpec {
                    replicas,
                    service_name: name.to_owned(),
                    selector,
                    template,
                    volume_claim_templates: vec![VolumeClaim {
                        metadata: ClaimMetadata {
                            name: "workspace".into(),
                        },
                        spec: ClaimSpec {
                            access_modes: vec!["ReadWriteOnce"],
                            resources: ClaimResources {
                                requests: BTreeMap::from([("storage", WORKSPACE_SIZE)]),
                            },
                        },
                    }],
                },
            },
        },
    }
}

// The subset of the Kubernetes API the export writes, as the API spells it.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Object<'a> {
    api_version: &'a str,
    kind: &'a str,
    metadata: Metadata,
    #[serde(flatten)]
    body: Body,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Body {
    Empty {},
    ConfigMap { data: BTreeMap<String, String> },
    Service { spec: ServiceSpec },
    Deployment { spec: DeploymentSpec },
    ServiceMonitor { spec: ServiceMonitorSpec },
    StatefulSet { spec: StatefulSetSpec },
}

#[derive(Serialize)]
struct Metadata {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<BTreeMap<String, String>>,
}

impl Metadata {
    fn named(name: &str, namespace: Option<&str>) -> Metadata {
        Metadata {
            name: name.to_owned(),
            namespace: namespace.map(str::to_owned),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/part-of".to_owned(),
                "flowhost".to_owned(),
            )])),
        }
    }
}

#[derive(Serialize)]
struct ServiceSpec {
    #[serde(rename = "type")]
    kind: &'static str,
    selector: BTreeMap<String, String>,
    ports: Vec<Port>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Port {
    name: String,
    port: u16,
    target_port: u16,
}

/// The Prometheus Operator's scrape target: the `monitoring` port of the Services labelled
/// `app: NAME` in the namespace.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceMonitorSpec {
    endpoints: Vec<MonitorEndpoint>,
    namespace_selector: NamespaceSelector,
    selector: Selector,
}

#[derive(Serialize)]
struct MonitorEndpoint {
    port: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NamespaceSelector {
    match_names: Vec<String>,
}

#[derive(Serialize)]
struct DeploymentSpec {
    replicas: u32,
    selector: Selector,
    template: PodTemplate,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatefulSetSpec {
    replicas: u32,
    service_name: String,
    selector: Selector,
    template: PodTemplate,
    volume_claim_templates: Vec<VolumeClaim>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    match_labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct PodTemplate {
    metadata: TemplateMetadata,
    spec: PodSpec,
}

#[derive(Serialize)]
struct TemplateMetadata {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<&'static str, &'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    containers: Vec<Container>,
    volumes: Vec<Volume>,
    termination_grace_period_seconds: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    name: String,
    image: String,
    image_pull_policy: &'static str,
    command: Vec<String>,
    args: Vec<String>,
    ports: Vec<ContainerPort>,
    env: Vec<EnvVar>,
    volume_mounts: Vec<VolumeMount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    startup_probe: Option<Probe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    readiness_probe: Option<Probe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    liveness_probe: Option<Probe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<Resources>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerPort {
    name: String,
    container_port: u16,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvVar {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_from: Option<EnvSource>,
}

impl EnvVar {
    fn value(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.to_owned(),
            value: Some(value.to_owned()),
            value_from: None,
        }
    }

    fn secret(name: &str, secret: &str, key: &str) -> EnvVar {
        EnvVar {
            name: name.to_owned(),
            value: None,
            value_from: Some(EnvSource {
                secret_key_ref: SecretKey {
                    name: secret.to_owned(),
                    key: key.to_owned(),
                },
            }),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvSource {
    secret_key_ref: SecretKey,
}

#[derive(Serialize)]
struct SecretKey {
    name: String,
    key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeMount {
    name: String,
    mount_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    read_only: Option<bool>,
}

impl VolumeMount {
    fn config() -> VolumeMount {
        VolumeMount {
            name: "flow".into(),
            mount_path: CONFIG_DIR.into(),
            read_only: Some(true),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    name: String,
    config_map: ConfigMapVolume,
}

impl Volume {
    fn config(service: &str) -> Volume {
        Volume {
            name: "flow".into(),
            config_map: ConfigMapVolume {
                name: format!("{service}-flow"),
            },
        }
    }
}

#[derive(Serialize)]
struct ConfigMapVolume {
    name: String,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(skip_serializing_if = "Option::is_none")]
    grpc: Option<PortOnly>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp_socket: Option<PortOnly>,
    period_seconds: u32,
    timeout_seconds: u32,
    failure_threshold: u32,
}

#[derive(Serialize, Clone)]
struct PortOnly {
    port: u16,
}

impl Probe {
    fn grpc(port: u16) -> Probe {
        Probe {
            grpc: Some(PortOnly { port }),
            tcp_socket: None,
            period_seconds: 5,
            timeout_seconds: 3,
            failure_threshold: 3,
        }
    }

    fn tcp(port: u16) -> Probe {
        Probe {
            grpc: None,
            tcp_socket: Some(PortOnly { port }),
            period_seconds: 10,
            timeout_seconds: 3,
            failure_threshold: 3,
        }
    }

    /// The same check, given `timeout_ready` (ms; -1 or unset: Jina's 10 minutes for
    /// Kubernetes) to first succeed.
    fn startup(mut self, timeout_ready: Option<i64>) -> Probe {
        let ms = match timeout_ready {
            Some(ms) if ms > 0 => ms as u64,
            _ => 600_000,
        };
        self.failure_threshold = (ms.div_ceil(u64::from(self.period_seconds) * 1000) as u32).max(3);
        self
    }
}

#[derive(Serialize)]
struct Resources {
    requests: BTreeMap<&'static str, String>,
    limits: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct VolumeClaim {
    metadata: ClaimMetadata,
    spec: ClaimSpec,
}

#[derive(Serialize)]
struct ClaimMetadata {
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimSpec {
    access_modes: Vec<&'static str>,
    resources: ClaimResources,
}

#[derive(Serialize)]
struct ClaimResources {
    requests: BTreeMap<&'static str, &'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(text: &str) -> Flow {
        Flow::from_yaml_str(text, "flow.yml", &Default::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn gateway_flow(export: &Export) -> Flow {
        let file = (export.files.iter())
            .find(|f| f.path == Path::new("gateway/gateway.yml"))
            .expect("the gateway's manifest");
        let config: serde_json::Value = serde_norway::Deserializer::from_str(&file.text)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .find(|v: &serde_json::Value| v["kind"] == "ConfigMap")
            .expect("its ConfigMap");
        flow(config["data"]["flow.yml"].as_str().unwrap())
    }

    #[test]
    fn the_gateway_reaches_each_shard_by_its_service_and_keeps_the_routing() {
        let flow = flow(
            "jtype: Flow\nwith:\n  name: Search\nexecutors:\n\
             \x20 - name: pass\n\
             \x20 - name: far\n    external: true\n    host: far.example\n    port: 9\n\
             \x20 - name: idx\n    uses: oci://r.example/idx:1\n    shards: 2\n    polling: ALL\n\
             \x20   needs: [pass, far]\n    when:\n      tags__lang: {$eq: en}\n",
        );
        let export = kubernetes(&flow, Path::new("."), &ExportOptions::new("flowhost:t")).unwrap();
        assert!(
            export.components.is_empty(),
            "registry references stay as they are"
        );
        let gateway = gateway_flow(&export);
        let [pass, far, idx] = &gateway.executors[..] else {
            panic!("three executors");
        };
        assert!(
            !pass.external && pass.uses.is_none(),
            "a pass-through stays in the gateway"
        );
        assert_eq!(far.addresses(), Some(vec![("far.example".into(), 9)]));
        assert_eq!(
            idx.addresses(),
            Some(vec![
                ("idx-0.search.svc".into(), EXECUTOR_PORT),
                ("idx-1.search.svc".into(), EXECUTOR_PORT)
            ])
        );
        assert_eq!((idx.shards, idx.uses.as_deref()), (2, None));
        assert!(idx.polling.is_some() && idx.when.is_some() && idx.needs.is_some());
        assert_eq!(gateway.with.host.as_deref(), Some("0.0.0.0"));
        let shard = (export.files.iter())
            .find(|f| f.path == Path::new("idx/idx-1.yml"))
            .expect("one manifest per shard");
        assert!(shard.text.contains("namespace: search"), "{}", shard.text);
        assert!(
            shard.text.contains("uses: oci://r.example/idx:1"),
            "{}",
            shard.text
        );
        // The pod knows which shard it is, as Jina's `--shard-id`/`--shards` tell it.
        let args = serde_norway::Deserializer::from_str(&shard.text)
            .filter_map(|document| {
                <serde_json::Value as serde::Deserialize>::deserialize(document).ok()
            })
            .find(|object| object["kind"] == "Deployment")
            .map(|deployment| {
                deployment["spec"]["template"]["spec"]["containers"][0]["args"].clone()
            });
        assert_eq!(
            args,
            Some(serde_json::json!([
                "run",
                "/etc/flowhost/flow.yml",
                "--shard-id",
                "1",
                "--shards",
                "2"
            ])),
            "{}",
            shard.text
        );
    }

    /// The objects of one exported file, as JSON.
    fn objects(export: &Export, path: &str) -> Vec<serde_json::Value> {
        let file = (export.files.iter())
            .find(|f| f.path == Path::new(path))
            .unwrap_or_else(|| panic!("no {path}"));
        serde_norway::Deserializer::from_str(&file.text)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect()
    }

    #[test]
    fn monitored_services_serve_metrics_on_jinas_port_for_a_service_monitor() {
        let flow = flow(
            "jtype: Flow\nwith:\n  monitoring: true\n  port_monitoring: 9000\nexecutors:\n\
             \x20 - name: idx\n    uses: oci://r.example/idx:1\n",
        );
        let export = kubernetes(&flow, Path::new("."), &ExportOptions::new("flowhost:t")).unwrap();
        let gateway = gateway_flow(&export);
        assert_eq!(
            gateway.gateway_args().extra.get("port_monitoring"),
            Some(&serde_json::json!(MONITORING_PORT)),
            "every pod serves /metrics on the same port"
        );
        for (path, name) in [("gateway/gateway.yml", "gateway"), ("idx/idx.yml", "idx")] {
            let objects = objects(&export, path);
            let kind = |kind: &str| {
                (objects.iter())
                    .find(|o| o["kind"] == kind)
                    .unwrap_or_else(|| panic!("no {kind} in {path}"))
            };
            let service = kind("Service");
            assert_eq!(service["metadata"]["labels"]["app"], name);
            assert!(
                (service["spec"]["ports"].as_array().unwrap().iter())
                    .any(|p| p["name"] == "monitoring" && p["port"] == MONITORING_PORT),
                "{service}"
            );
            let monitor = kind("ServiceMonitor");
            assert_eq!(monitor["spec"]["endpoints"][0]["port"], "monitoring");
            assert_eq!(monitor["spec"]["selector"]["matchLabels"]["app"], name);
            let ports = &kind("Deployment")["spec"]["template"]["spec"]["containers"][0]["ports"];
            assert!(
                (ports.as_array().unwrap().iter()).any(|p| p["containerPort"] == MONITORING_PORT),
                "{ports}"
            );
        }
        let pod = (objects(&export, "idx/idx.yml").into_iter())
            .find(|o| o["kind"] == "ConfigMap")
            .map(|config| self::flow(config["data"]["flow.yml"].as_str().unwrap()))
            .unwrap();
        assert_eq!(
            pod.switched_on("monitoring")
                .and_then(|settings| settings.get("port_monitoring").cloned()),
            Some(serde_json::json!(MONITORING_PORT))
        );

        let unmonitored = kubernetes(
            &self::flow(
                "jtype: Flow\nexecutors:\n  - name: idx\n    uses: oci://r.example/idx:1\n",
            ),
            Path::new("."),
            &ExportOptions::new("flowhost:t"),
        )
        .unwrap();
        assert!(
            (unmonitored.files.iter()).all(|f| !f.text.contains("ServiceMonitor")),
            "nothing to scrape"
        );
    }

    #[test]
    fn a_name_that_cannot_be_a_service_is_refused_naming_the_executor() {
        let flow = flow("jtype: Flow\nexecutors:\n  - name: 1st\n    uses: oci://r.example/a:1\n");
        let error = kubernetes(&flow, Path::new("."), &ExportOptions::new("i")).unwrap_err();
        assert!(error.to_string().starts_with("executor `1st`"), "{error}");
    }
}
