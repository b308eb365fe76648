//! Flows whose executors come from a real registry: pushed with the
//! `flowhost` binary, pulled by tag, by digest, through a hub, and from a
//! `docker://` image assembled by skopeo.

use std::path::Path;
use std::process::Command;

use flowhost::deploy::{DeployOptions, RegistryResolver, RunningFlow};
use flowhost_docs as docs;
use flowhost_flow::{ExecutorSpec, Flow};
use flowhost_registry::HubConfig;
use flowhost_wire::Request;

use crate::gateway_support::{FlowServer, flowhost_bin, json_texts};
use crate::registry_support::{RegistryOptions, TestRegistry, oci_layout_with_wasm, skopeo};
use crate::support::texts;

/// `flowhost push`, isolated from the user's config and cache; returns the digest it printed.
fn push(home: &Path, file: &Path, reference: &str) -> String {
    let output = Command::new(flowhost_bin())
        .args(["push", &file.display().to_string(), reference])
        .env("FLOWHOST_CONFIG_DIR", home.join("config"))
        .env("FLOWHOST_CACHE_DIR", home.join("cache"))
        .env("HOME", home)
        .output()
        .expect("flowhost push runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "push failed: {}{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("digest: "))
        .expect("push prints the digest")
        .trim()
        .to_owned()
}

async fn run(flow: Flow, resolver: RegistryResolver) -> Vec<String> {
    let mut options = DeployOptions::new(
        flowhost_test_support::workspace_root(),
        flowhost_test_support::runtime(),
    );
    options.remote = Some(std::sync::Arc::new(resolver));
    let running = RunningFlow::start(flow, options)
        .await
        .unwrap_or_else(|e| panic!("flow deploys: {e}"));
    let response = running
        .router()
        .process(Request::new("/", docs::empty_batch()))
        .await;
    assert!(!response.status.is_error(), "{:?}", response.status);
    texts(&response.docs)
}

#[tokio::test]
async fn a_flow_pulls_its_executors_by_tag_digest_and_hub() {
    let registry = TestRegistry::start(RegistryOptions::default());
    let home = tempfile::tempdir().unwrap();
    let addr = &registry.addr;
    push(
        home.path(),
        &flowhost_test_support::guest("foo_executor"),
        &format!("oci://{addr}/acme/foo:1.0"),
    );
    let bar_digest = push(
        home.path(),
        &flowhost_test_support::guest("bar_executor"),
        &format!("oci://{addr}/acme/bar:1.0"),
    );
    push(
        home.path(),
        &flowhost_test_support::guest("baz_executor"),
        &format!("oci://{addr}/acme/baz:2.1"),
    );

    let mut context = registry.context(home.path(), None);
    context.settings.hub = Some(HubConfig {
        registry: addr.clone(),
        namespace: "acme".into(),
    });
    let flow = Flow::new()
        .add(ExecutorSpec::new("foo").uses(format!("oci://{addr}/acme/foo:1.0")))
        .add(ExecutorSpec::new("bar").uses(format!("oci://{addr}/acme/bar@{bar_digest}")))
        .add(ExecutorSpec::new("baz").uses("hub://baz:2.1"));
    let out = run(flow, RegistryResolver::new(context)).await;
    assert_eq!(
        out,
        [
            "foo was here and got 0 document",
            "bar was here and got 1 document",
            "baz was here and got 2 document"
        ]
    );
}

#[tokio::test]
async fn a_docker_image_with_a_wasm_layer_runs_in_a_flow() {
    let registry = TestRegistry::start(RegistryOptions::default());
    let home = tempfile::tempdir().unwrap();
    let layout = home.path().join("layout");
    let wasm = std::fs::read(flowhost_test_support::guest("foo_executor")).unwrap();
    oci_layout_with_wasm(&layout, "1.0", "app.wasm", &wasm);
    let status = skopeo()
        .args([
            "copy",
            "--all",
            "--dest-tls-verify=false",
            &format!("oci:{}:1.0", layout.display()),
            &format!("docker://{}/acme/foo-image:1.0", registry.addr),
        ])
        .status()
        .expect("skopeo runs");
    assert!(status.success(), "skopeo copy");
    let flow = Flow::new().add(
        ExecutorSpec::new("foo").uses(format!("docker://{}/acme/foo-image:1.0", registry.addr)),
    );
    let out = run(
        flow,
        RegistryResolver::new(registry.context(home.path(), None)),
    )
    .await;
    assert_eq!(out, ["foo was here and got 0 document"]);
}

#[tokio::test]
async fn a_missing_tag_fails_the_deploy_naming_executor_and_reference() {
    let registry = TestRegistry::start(RegistryOptions::default());
    let home = tempfile::tempdir().unwrap();
    let reference = format!("oci://{}/acme/nothing:9.9", registry.addr);
    let flow = Flow::new().add(ExecutorSpec::new("ghost").uses(reference.clone()));
    let mut options = DeployOptions::new(
        flowhost_test_support::workspace_root(),
        flowhost_test_support::runtime(),
    );
    options.remote = Some(std::sync::Arc::new(RegistryResolver::new(
        registry.context(home.path(), None),
    )));
    let error = crate::support::deploy_error(flow, options).await;
    assert!(
        error.contains("ghost") && error.contains(&reference),
        "{error}"
    );
}

#[test]
fn flowhost_run_serves_a_flow_pulled_from_the_registry() {
    let registry = TestRegistry::start(RegistryOptions::default());
    let home = tempfile::tempdir().unwrap();
    let reference = format!("oci://{}/acme/foo:run", registry.addr);
    let digest = push(
        home.path(),
        &flowhost_test_support::guest("foo_executor"),
        &reference,
    );
    let yaml = format!(
        "jtype: Flow\nwith:\n  protocol: http\nexecutors:\n  - name: foo\n    uses: {reference}\n  - name: pinned\n    uses: oci://{}/acme/foo@{digest}\n",
        registry.addr
    );
    let server = FlowServer::start(&yaml, 1);
    let port = server.port(flowhost_wire::Protocol::Http);
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--request", "POST"])
        .arg(format!("http://127.0.0.1:{port}/post"))
        .args(["--header", "Content-Type: application/json", "-d"])
        .arg(r#"{"data": [], "execEndpoint": "/"}"#)
        .output()
        .expect("curl runs");
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON answer");
    assert_eq!(
        json_texts(&answer),
        [
            "foo was here and got 0 document",
            "foo was here and got 1 document"
        ]
    );
    assert!(server.stop().success());
}
