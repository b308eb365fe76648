//! Jina keys that act as in Jina (#14), each shown on a deployed flow: `timeout_ready`,
//! `env_from_secret`, `uses_dynamic_batching`, `output_array_type`.

use std::time::{Duration, Instant};

use flowhost::deploy::RunningFlow;
use flowhost_docs as docs;
use flowhost_flow::{Flow, LoadOptions};
use serde_json::json;

use crate::support::{deploy, deploy_options, ok, post_flow, tags, uses};

fn flow(yaml: &str) -> Flow {
    Flow::from_yaml_str(yaml, "flow.yml", &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// A flow of one `slow_guest` executor with the given extra lines.
fn slow(extra: &str) -> Flow {
    flow(&format!(
        "jtype: Flow\nexecutors:\n- name: slow\n  uses: {}\n{extra}",
        uses("slow_guest")
    ))
}

#[tokio::test]
async fn timeout_ready_bounds_init_and_the_call_deadline_does_not() {
    // `init` takes 300 ms, past the 100 ms call deadline: Jina bounds it by timeout_ready only.
    let running = deploy(slow(
        "  uses_with: {init_ms: 300}\n  timeout_ms: 100\n  timeout_ready: 20000\n",
    ))
    .await;
    ok(post_flow(
        &running,
        "/",
        docs::batch_of([docs::document("a")]),
        json!({}),
    )
    .await);
    running.close().await;

    let began = Instant::now();
    let error = match RunningFlow::start(
        slow("  uses_with: {init_ms: 60000}\n  timeout_ready: 300\n"),
        deploy_options(),
    )
    .await
    {
        Ok(_) => panic!("an executor whose init outlasts timeout_ready started"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("executor `slow`") && error.contains("timeout_ready of 300 ms"),
        "{error}"
    );
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "{:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn env_from_secret_reads_a_mounted_secret_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(dir.path().join("api")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("api/token"), "s3cret\n").unwrap_or_else(|e| panic!("{e}"));
    // The escape guest reports the `HOME` it sees; the secret lands there.
    let secret_flow = || {
        flow(&format!(
            "jtype: Flow\nexecutors:\n- name: e\n  uses: {}\n  env_from_secret:\n    HOME: {{name: api, key: token}}\n",
            uses("escape_guest")
        ))
    };
    let mut options = deploy_options();
    options.secrets_dir = Some(dir.path().to_owned());
    let running = RunningFlow::start(secret_flow(), options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let out = ok(post_flow(&running, "/escape", docs::empty_batch(), json!({})).await);
    let report = docs::roots(&out).last().map(tags).unwrap_or_default();
    assert_eq!(report["home"], json!("s3cret"));
    running.close().await;

    // Without the file, the variable comes from flowhost's own environment (a pod's
    // `secretKeyRef`): this process's HOME.
    if let Ok(home) = std::env::var("HOME") {
        let running = deploy(secret_flow()).await;
        let out = ok(post_flow(&running, "/escape", docs::empty_batch(), json!({})).await);
        let report = docs::roots(&out).last().map(tags).unwrap_or_default();
        assert_eq!(report["home"], json!(home));
        running.close().await;
    }
}
