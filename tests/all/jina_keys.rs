//! Jina keys that act as in Jina (#14), each shown on a deployed flow: `timeout_ready`,
//! `env_from_secret`, `uses_dynamic_batching`, `output_array_type`.

use std::time::{Duration, Instant};

use flowhost::deploy::RunningFlow;
use flowhost_docs as docs;
use flowhost_flow::{Flow, LoadOptions};
use serde_json::json;

use crate::gateway_support::uses;
use crate::support::{deploy, deploy_options, ok, post_flow, tags};

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

/// One document per id, each its own request, all sent at once; the answers in order.
async fn concurrently(
    running: &RunningFlow,
    requests: Vec<(Vec<docs::Document>, serde_json::Value)>,
) -> Vec<flowhost_wire::Response> {
    let calls = requests.into_iter().map(|(documents, parameters)| {
        post_flow(running, "/", docs::batch_of(documents), parameters)
    });
    futures::future::join_all(calls).await
}

fn ids_and_batches(batch: &docs::DocumentBatch) -> Vec<(String, serde_json::Value)> {
    docs::roots(batch)
        .map(|doc| (doc.id.clone(), tags(doc)["batch"].clone()))
        .collect()
}

#[tokio::test]
async fn dynamic_batching_gathers_requests_and_answers_each_its_own_documents() {
    let running = deploy(slow(
        "  uses_with: {call_us: 2000}\n  uses_dynamic_batching:\n    /:\n      preferred_batch_size: 4\n      timeout: 5000\n",
    ))
    .await;
    // Eight one-document requests: two calls of four.
    let requests = (0..8)
        .map(|i| (vec![docs::document(format!("d{i}"))], json!({})))
        .collect();
    for (i, response) in concurrently(&running, requests)
        .await
        .into_iter()
        .enumerate()
    {
        assert_eq!(
            ids_and_batches(&ok(response)),
            [(format!("d{i}"), json!(4))]
        );
    }

    // Two requests of three: one call of four (all of the first, one of the second), then
    // one of two; a request split across calls still gets its documents back in order.
    let three = |prefix: &str| {
        (0..3)
            .map(|i| docs::document(format!("{prefix}{i}")))
            .collect()
    };
    let answers = concurrently(
        &running,
        vec![(three("a"), json!({})), (three("b"), json!({}))],
    )
    .await;
    let answers: Vec<_> = answers
        .into_iter()
        .map(|r| ids_and_batches(&ok(r)))
        .collect();
    let expect = |prefix: &str, sizes: [u64; 3]| -> Vec<(String, serde_json::Value)> {
        (0..3)
            .map(|i| (format!("{prefix}{i}"), json!(sizes[i])))
            .collect()
    };
    assert_eq!(answers, [expect("a", [4, 4, 4]), expect("b", [4, 2, 2])]);
    running.close().await;
}

#[tokio::test]
async fn dynamic_batching_fails_every_request_of_a_failed_call_with_its_own_documents() {
    let running = deploy(slow(
        "  uses_dynamic_batching:\n    /:\n      preferred_batch_size: 3\n      timeout: 5000\n",
    ))
    .await;
    let mut failing = docs::document("bad");
    failing.tags = Some(r#"{"fail": true}"#.into());
    let requests = vec![
        (vec![docs::document("x")], json!({})),
        (vec![failing], json!({})),
        (vec![docs::document("y")], json!({})),
    ];
    for (response, id) in concurrently(&running, requests)
        .await
        .into_iter()
        .zip(["x", "bad", "y"])
    {
        match &response.status {
            flowhost_wire::Status::Error(error) => {
                assert!(
                    error.description.contains("bad asked to fail"),
                    "{}",
                    error.description
                )
            }
            flowhost_wire::Status::Success => {
                panic!("{id}: a request of the failed call succeeded")
            }
        }
        let returned: Vec<&str> = docs::roots(&response.docs).map(|d| d.id.as_str()).collect();
        assert_eq!(returned, [id]);
    }
    running.close().await;
}

#[tokio::test]
async fn dynamic_batching_never_mixes_parameters_and_leaves_other_endpoints_alone() {
    let running = deploy(slow(
        "  uses_dynamic_batching:\n    /:\n      preferred_batch_size: 2\n      timeout: 200\n",
    ))
    .await;
    // Different parameters never share a call: each waits out the timeout alone.
    let requests = vec![
        (vec![docs::document("p1")], json!({"k": 1})),
        (vec![docs::document("p2")], json!({"k": 2})),
    ];
    let batches: Vec<_> = concurrently(&running, requests)
        .await
        .into_iter()
        .map(|r| ids_and_batches(&ok(r)))
        .collect();
    assert_eq!(
        batches,
        [[("p1".to_owned(), json!(1))], [("p2".to_owned(), json!(1))]]
    );
    // `/other` is not batched: two concurrent requests are two calls.
    let calls = ["o1", "o2"].map(|id| {
        post_flow(
            &running,
            "/other",
            docs::batch_of([docs::document(id)]),
            json!({}),
        )
    });
    for response in futures::future::join_all(calls).await {
        let answer = ids_and_batches(&ok(response));
        assert_eq!(answer[0].1, json!(1), "{answer:?}");
    }
    running.close().await;
}

#[tokio::test]
async fn output_array_type_converts_the_executors_tensors_on_the_way_out() {
    let yaml = |format: &str| {
        flow(&format!(
            "jtype: Flow\nexecutors:\n- name: t\n  uses: {}\n  output_array_type: {format}\n",
            uses("tagger")
        ))
    };
    let doc = || {
        let mut doc = crate::support::embedded("e", &[1.5, -2.25, 70000.0]);
        doc.tensor = Some(docs::Tensor {
            dtype: docs::Dtype::Int64,
            shape: vec![2],
            data: [7i64, -3].iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        doc
    };
    let running = deploy(yaml("float16")).await;
    let out = ok(post_flow(&running, "/", docs::batch_of([doc()]), json!({})).await);
    let answered = docs::roots(&out)
        .next()
        .cloned()
        .unwrap_or_else(|| docs::document("none"));
    let embedding = answered.embedding.unwrap_or_else(|| panic!("no embedding"));
    assert_eq!(embedding.dtype, docs::Dtype::Float16);
    // float16 tops out at 65504: numpy's astype gives inf, as this does.
    assert_eq!(docs::tensor_values(&embedding), [1.5, -2.25, f64::INFINITY]);
    let tensor = answered.tensor.unwrap_or_else(|| panic!("no tensor"));
    assert_eq!(
        (tensor.dtype, docs::tensor_values(&tensor)),
        (docs::Dtype::Float16, vec![7.0, -3.0])
    );
    running.close().await;

    // `numpy` is what flowhost always answers: nothing changes.
    let running = deploy(yaml("numpy")).await;
    let out = ok(post_flow(&running, "/", docs::batch_of([doc()]), json!({})).await);
    assert_eq!(
        docs::roots(&out).next().map(|d| d.embedding.clone()),
        Some(doc().embedding)
    );
    running.close().await;
}
