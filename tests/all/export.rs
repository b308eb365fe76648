//! `flowhost export`: the manifests validate against Kubernetes' and the compose
//! specification's schemas, and the exported Kubernetes topology, run as local processes
//! (each service's command on its ConfigMap's flow file, service names mapped to loopback
//! ports), answers the seed's curl request.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use flowhost_flow::Flow;
use flowhost_wire::Protocol;

use crate::gateway_support::{
    FlowServer, flowhost_bin, free_port, http_post, json_texts, succeeds, venv_tool,
};
use crate::registry_support::{RegistryOptions, TestRegistry};

const TOOLS: &str = "scripts/install-test-deps.sh";

/// A flow with replicas, shards, a workspace, environment and a secret, `when` and
/// `uses_after`: everything the export maps.
fn flow_yaml(protocol: &str) -> String {
    let guest = |name: &str| flowhost_test_support::guest(name).display().to_string();
    format!(
        "jtype: Flow\nwith:\n  protocol: {protocol}\nexecutors:\n\
         \x20 - name: foo\n    uses: {}\n    replicas: 2\n    env:\n      LANG: en\n\
         \x20   workspace: ws\n\
         \x20 - name: bar_shards\n    uses: {}\n    shards: 2\n    uses_after: {}\n\
         \x20   env_from_secret:\n      TOKEN:\n        name: api\n        key: token\n",
        guest("foo_executor"),
        guest("bar_executor"),
        guest("baz_executor"),
    )
}

/// `flowhost` with a configuration and cache of its own.
fn flowhost(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(flowhost_bin());
    command
        .args(args)
        .env("FLOWHOST_CONFIG_DIR", home.join("config"))
        .env("FLOWHOST_CACHE_DIR", home.join("cache"))
        .env("HOME", home);
    command
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the export's folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn exports_validate_against_the_kubernetes_and_compose_schemas() {
    let home = tempfile::tempdir().unwrap();
    let flow = home.path().join("flow.yml");
    // Monitored: every service gets a `monitoring` port and a ServiceMonitor, which
    // kubernetes-validate knows no schema for and lets pass.
    let monitored = flow_yaml("[grpc, http]").replacen("with:\n", "with:\n  monitoring: true\n", 1);
    std::fs::write(&flow, monitored).unwrap();
    let out = home.path().join("k8s");
    let (flow_arg, out_arg) = (flow.display().to_string(), out.display().to_string());

    // A local component cannot be reached from a cluster: the export says which and what to do.
    let refused = flowhost(home.path(), &["export", "kubernetes", &flow_arg, &out_arg])
        .output()
        .expect("flowhost runs");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("executor `foo`") && stderr.contains("--registry"),
        "{stderr}"
    );

    let registry = ["--registry", "registry.example.com/acme"];
    let args = [
        &["export", "kubernetes", &flow_arg, &out_arg][..],
        &registry,
    ]
    .concat();
    let printed = succeeds(&mut flowhost(home.path(), &args));
    assert!(printed.contains("flowhost push"), "{printed}");
    let files = yaml_files(&out);
    let names: Vec<String> = (files.iter())
        .map(|f| f.strip_prefix(&out).unwrap().display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "bar-shards/bar-shards-0.yml",
            "bar-shards/bar-shards-1.yml",
            "foo/foo.yml",
            "gateway/gateway.yml",
            "namespace.yml"
        ]
    );
    let validate = venv_tool(
        "FLOWHOST_KUBERNETES_VALIDATE",
        ".venv-tools/bin/kubernetes-validate",
        TOOLS,
    );
    succeeds(
        Command::new(validate)
            .args(["--strict", "--kubernetes-version", "1.33.0"])
            .args(&files),
    );
    let foo = std::fs::read_to_string(out.join("foo/foo.yml")).unwrap();
    assert!(
        foo.contains("kind: StatefulSet"),
        "a workspace needs a volume: {foo}"
    );
    assert!(foo.contains("replicas: 2"), "{foo}");
    let bar = std::fs::read_to_string(out.join("bar-shards/bar-shards-0.yml")).unwrap();
    assert!(bar.contains("secretKeyRef"), "{bar}");
    for manifest in [&foo, &bar] {
        assert!(
            manifest.contains("kind: ServiceMonitor") && manifest.contains("containerPort: 9090"),
            "{manifest}"
        );
    }

    let compose = home.path().join("compose/docker-compose.yml");
    let compose_arg = compose.display().to_string();
    let args = [
        &["export", "docker-compose", &flow_arg, &compose_arg][..],
        &registry,
    ]
    .concat();
    succeeds(&mut flowhost(home.path(), &args));
    let check = venv_tool(
        "FLOWHOST_CHECK_JSONSCHEMA",
        ".venv-tools/bin/check-jsonschema",
        TOOLS,
    );
    succeeds(
        Command::new(check)
            .args(["--builtin-schema", "vendor.compose-spec"])
            .arg(&compose),
    );
    let text = std::fs::read_to_string(&compose).unwrap();
    for service in [
        "foo-rep-0:",
        "foo-rep-1:",
        "bar-shards-0:",
        "bar-shards-1:",
        "gateway:",
    ] {
        assert!(text.contains(service), "{service} in {text}");
    }
    // Health is checked in the protocol the gateway serves first (`flowhost ping`).
    assert!(text.contains("- --protocol\n      - grpc"), "{text}");
}

/// The flow file a service's ConfigMap holds.
fn config_map_flow(manifest: &Path) -> Flow {
    let text = std::fs::read_to_string(manifest).unwrap();
    for document in serde_norway::Deserializer::from_str(&text) {
        let value: serde_json::Value = serde::Deserialize::deserialize(document).unwrap();
        if value["kind"] == "ConfigMap" {
            let flow = value["data"]["flow.yml"].as_str().expect("flow.yml");
            return Flow::from_yaml_str(flow, "configmap.yml", &Default::default())
                .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        }
    }
    panic!("no ConfigMap in {}", manifest.display());
}

/// The arguments of the container of the Deployment (or StatefulSet) in `manifest`.
fn container_args(manifest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    for document in serde_norway::Deserializer::from_str(&text) {
        let value: serde_json::Value = serde::Deserialize::deserialize(document).unwrap();
        if value["kind"] == "Deployment" || value["kind"] == "StatefulSet" {
            let args = &value["spec"]["template"]["spec"]["containers"][0]["args"];
            return serde_json::from_value(args.clone()).unwrap();
        }
    }
    panic!("no workload in {}", manifest.display());
}

/// Exports `flow_yaml("http")` as `kind` (`kubernetes` or `docker-compose`) to `out`,
/// naming and pushing its components in a real registry (kept running while used).
fn export_pushed(kind: &str, home: &Path, out: &Path, registry: &TestRegistry) {
    let flow = home.join("flow.yml");
    std::fs::write(&flow, flow_yaml("http")).unwrap();
    let target = format!("{}/acme", registry.addr);
    let printed = succeeds(&mut flowhost(
        home,
        &[
            "export",
            kind,
            &flow.display().to_string(),
            &out.display().to_string(),
            "--registry",
            &target,
            "--push",
        ],
    ));
    assert!(printed.contains("pushed"), "{printed}");
}

/// One exported executor service as a local process: its flow file on a loopback port (the
/// workspace volume a folder beside it), started with the container's own arguments after
/// the flow file, and the environment the container would get.
fn run_service(mut flow: Flow, args: &[String], env: &[(&str, &str)]) -> (FlowServer, u16) {
    assert_eq!(flow.with.port, [flowhost_export::EXECUTOR_PORT]);
    assert_eq!(args[..2], ["run", "/etc/flowhost/flow.yml"]);
    let port = free_port();
    flow.with.port = vec![port];
    flow.with.host = Some("127.0.0.1".into());
    for executor in &mut flow.executors {
        if executor.workspace.is_some() {
            executor.workspace = Some("workspace".into());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flow.yml"), flow.to_yaml().unwrap()).unwrap();
    let mut command = Command::new(flowhost_bin());
    command
        .arg("run")
        .arg(dir.path().join("flow.yml"))
        .args(&args[2..])
        .envs(env.iter().copied());
    (FlowServer::spawn(command, dir, 1), port)
}

/// Runs the exported gateway's flow with its executors' addresses (`ports`, by the host
/// names the export gave them) on loopback, posts one request, checks the answer is the
/// flow's, and stops everything.
fn run_gateway_and_check(
    mut gateway: Flow,
    ports: &BTreeMap<String, u16>,
    executors: Vec<FlowServer>,
) {
    for executor in gateway.executors.iter_mut().filter(|e| e.external) {
        executor.port = (executor.host.iter())
            .map(|host| ports[host.as_str()])
            .collect();
        executor.host = vec!["127.0.0.1".into(); executor.port.len()];
    }
    gateway.with.host = Some("127.0.0.1".into());
    gateway.with.port = vec![free_port()];
    let gateway = FlowServer::start(&gateway.to_yaml().unwrap(), 1);
    let (status, answer) = http_post(
        gateway.port(Protocol::Http),
        "/post",
        r#"{"data": [], "execEndpoint": "/"}"#,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        json_texts(&answer),
        [
            "foo was here and got 0 document",
            "bar was here and got 1 document",
            "baz was here and got 2 document"
        ],
        "{answer}"
    );
    assert!(gateway.stop().success());
    for executor in executors {
        assert!(executor.stop().success());
    }
}

#[test]
fn the_exported_kubernetes_flow_runs_as_local_processes() {
    let registry = TestRegistry::start(RegistryOptions::default());
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("k8s");
    export_pushed("kubernetes", home.path(), &out, &registry);

    let mut executors = Vec::new();
    let mut ports = BTreeMap::new();
    for manifest in yaml_files(&out) {
        let service = manifest.file_stem().unwrap().to_str().unwrap().to_owned();
        if service == "gateway" || service == "namespace" {
            continue;
        }
        // What the Deployment's `secretKeyRef` does in a cluster: `flowhost run` refuses to
        // start an executor whose `env_from_secret` has no value.
        let (server, port) = run_service(
            config_map_flow(&manifest),
            &container_args(&manifest),
            &[("TOKEN", "from-the-secret")],
        );
        executors.push(server);
        ports.insert(format!("{service}.default.svc"), port);
    }
    assert_eq!(executors.len(), 3, "foo and two shards of bar_shards");
    run_gateway_and_check(
        config_map_flow(&out.join("gateway/gateway.yml")),
        &ports,
        executors,
    );
}

#[test]
fn the_exported_compose_file_runs_as_local_processes() {
    let registry = TestRegistry::start(RegistryOptions::default());
    let home = tempfile::tempdir().unwrap();
    let compose = home.path().join("compose/docker-compose.yml");
    export_pushed("docker-compose", home.path(), &compose, &registry);
    let folder = compose.parent().unwrap();
    let text = std::fs::read_to_string(&compose).unwrap();
    let file: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let services = file["services"].as_object().expect("services");

    // Every service but the gateway: its mounted flow file, command and environment.
    let flow_of = |service: &serde_json::Value| {
        let mount = service["volumes"][0]
            .as_str()
            .expect("the flow file's mount");
        let local = mount.split(':').next().expect("a host path");
        let path = folder.join(local);
        Flow::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let mut executors = Vec::new();
    let mut ports = BTreeMap::new();
    for (name, service) in services.iter().filter(|(name, _)| *name != "gateway") {
        let args: Vec<String> = serde_json::from_value(service["command"].clone()).unwrap();
        // Compose passes the secret's variable on from the shell it runs in.
        if name.starts_with("bar-shards") {
            assert_eq!(service["environment"]["TOKEN"], "${TOKEN}", "{text}");
        }
        let (server, port) = run_service(flow_of(service), &args, &[("TOKEN", "from-the-shell")]);
        executors.push(server);
        ports.insert(name.clone(), port);
    }
    assert_eq!(
        ports.keys().collect::<Vec<_>>(),
        ["bar-shards-0", "bar-shards-1", "foo-rep-0", "foo-rep-1"],
        "each replica of each shard is a service"
    );
    run_gateway_and_check(flow_of(&services["gateway"]), &ports, executors);
}

#[test]
fn the_flowchart_is_drawn_as_svg_or_mermaid() {
    let home = tempfile::tempdir().unwrap();
    let flow = home.path().join("flow.yml");
    std::fs::write(&flow, flow_yaml("grpc")).unwrap();
    let svg = home.path().join("flow.svg");
    let (flow_arg, svg_arg) = (flow.display().to_string(), svg.display().to_string());
    succeeds(&mut flowhost(
        home.path(),
        &["export", "flowchart", &flow_arg, &svg_arg],
    ));
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg"), "{picture}");
    assert!(picture.contains(">bar_shards<"), "{picture}");
    assert!(picture.contains("replicas: 2, shards: 1"), "{picture}");
    let mermaid = succeeds(&mut flowhost(
        home.path(),
        &["export", "flowchart", &flow_arg],
    ));
    assert!(mermaid.starts_with("flowchart LR"), "{mermaid}");
}
