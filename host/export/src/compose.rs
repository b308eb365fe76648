//! `flowhost export docker-compose`: the same topology as compose services. Each replica of
//! each shard is its own service (`indexer-0-rep-1`), as Jina's export does, and the gateway
//! lists them all as the executor's addresses: a persistent gRPC channel per replica, retried
//! across them. The flow files sit beside the compose file, in `flowhost/`, mounted read-only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use flowhost_flow::Flow;
use flowhost_wire::Protocol;

use crate::plan::{Addressing, Plan, compose_replicas, shard_args};
use crate::{EXECUTOR_PORT, Export, ExportError, ExportOptions, ExportedFile, yaml};

/// The folder, beside the compose file, that holds each service's flow file.
const CONFIG_FOLDER: &str = "flowhost";

/// The flow as a compose file named `file_name`, with its flow files beside it.
pub fn docker_compose(
    flow: &Flow,
    flow_dir: &Path,
    options: &ExportOptions,
    file_name: &str,
) -> Result<Export, ExportError> {
    let plan = Plan::new(flow, flow_dir, options, Addressing::Compose)?;
    let mut files = Vec::new();
    let mut services = BTreeMap::new();
    let mut executor_services = Vec::new();
    for executor in &plan.executors {
        let config = PathBuf::from(CONFIG_FOLDER).join(format!("{}.yml", executor.service));
        files.push(ExportedFile {
            path: config.clone(),
            text: executor.flow_yaml.clone(),
        });
        let mut environment = BTreeMap::from([("FLOWHOST_LOG".to_owned(), "info".to_owned())]);
        // Compose has no secrets store the way Kubernetes does: the variable is passed on
        // from the environment `docker compose` runs in.
        for var in executor.secrets.keys() {
            environment.insert(var.clone(), format!("${{{var}}}"));
        }
        for (index, shard) in executor.shards.iter().enumerate() {
            for service in compose_replicas(shard, executor.replicas) {
                let mut volumes = vec![config_mount(&config)];
                if let Some(path) = &executor.workspace {
                    volumes.push(format!("{service}-workspace:{path}"));
                }
                services.insert(
                    service.clone(),
                    Service {
                        image: options.image.clone(),
                        entrypoint: vec!["flowhost".into()],
                        command: [
                            vec!["run".into(), "/etc/flowhost/flow.yml".into()],
                            shard_args(index, executor.shards.len()),
                        ]
                        .concat(),
                        environment: environment.clone(),
                        volumes,
                        ports: Vec::new(),
                        expose: vec![EXECUTOR_PORT.to_string()],
                        depends_on: Vec::new(),
                        healthcheck: Some(Healthcheck::ping(Protocol::Grpc, EXECUTOR_PORT)),
                    },
                );
                executor_services.push(service);
            }
        }
    }
    let gateway_config = PathBuf::from(CONFIG_FOLDER).join("gateway.yml");
    files.push(ExportedFile {
        path: gateway_config.clone(),
        text: plan.gateway.flow_yaml.clone(),
    });
    let (first_protocol, first_port) =
        (plan.gateway.bindings.first().copied()).unwrap_or((Protocol::Grpc, EXECUTOR_PORT));
    services.insert(
        "gateway".to_owned(),
        Service {
            image: options.image.clone(),
            entrypoint: vec!["flowhost".into()],
            command: vec!["run".into(), "/etc/flowhost/flow.yml".into()],
            environment: BTreeMap::from([("FLOWHOST_LOG".to_owned(), "info".to_owned())]),
            volumes: vec![config_mount(&gateway_config)],
            ports: (plan.gateway.bindings.iter())
                .map(|(_, port)| format!("{port}:{port}"))
                .collect(),
            expose: Vec::new(),
            depends_on: executor_services.clone(),
            healthcheck: Some(Healthcheck::ping(first_protocol, first_port)),
        },
    );
    let volumes: BTreeMap<String, Empty> = (plan.executors.iter())
        .filter(|e| e.workspace.is_some())
        .flat_map(|e| (e.shards.iter()).flat_map(|shard| compose_replicas(shard, e.replicas)))
        .map(|service| (format!("{service}-workspace"), Empty {}))
        .collect();
    files.push(ExportedFile {
        path: PathBuf::from(file_name),
        text: yaml("the compose file", &ComposeFile { services, volumes })?,
    });
    Ok(Export {
        files,
        components: plan.components,
    })
}

fn config_mount(config: &Path) -> String {
    format!("./{}:/etc/flowhost/flow.yml:ro", config.display())
}

#[derive(Serialize)]
struct ComposeFile {
    services: BTreeMap<String, Service>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    volumes: BTreeMap<String, Empty>,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct Service {
    image: String,
    entrypoint: Vec<String>,
    command: Vec<String>,
    environment: BTreeMap<String, String>,
    volumes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    expose: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<Healthcheck>,
}

#[derive(Serialize)]
struct Healthcheck {
    test: Vec<String>,
    interval: &'static str,
    timeout: &'static str,
    retries: u32,
}

impl Healthcheck {
    /// `flowhost ping`: the gateway's readiness, as Jina's `jina ping` is used.
    fn ping(protocol: Protocol, port: u16) -> Healthcheck {
        Healthcheck {
            test: vec![
                "CMD".into(),
                "flowhost".into(),
                "ping".into(),
                format!("127.0.0.1:{port}"),
                "--protocol".into(),
                protocol.as_str().into(),
            ],
            interval: "2s",
            timeout: "5s",
            retries: 30,
        }
    }
}
