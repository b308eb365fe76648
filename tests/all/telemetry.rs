//! Observability: `/metrics` after known traffic, read with prometheus_client's own parser
//! (`tests/python/parse_metrics.py`, in `.venv-tools`).

use std::io::Write as _;
use std::process::{Command, Stdio};

use flowhost_client::Client;
use flowhost_docs as docs;
use flowhost_wire::Protocol;
use serde_json::{Map, Value, json};

use crate::gateway_support::{FlowServer, free_port, http_get, http_post, uses, venv_tool};

/// One parsed sample.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Map<String, Value>,
    value: f64,
}

/// Scrapes `/metrics` on `port` and parses it as a Prometheus client does.
fn scrape(port: u16) -> Vec<Sample> {
    let (status, headers, body) = http_get(port, "/metrics");
    assert_eq!(status, 200);
    assert!(
        headers.contains("text/plain; version=0.0.4"),
        "Prometheus' text format: {headers}"
    );
    let python = venv_tool(
        "FLOWHOST_TOOLS_PYTHON",
        ".venv-tools/bin/python",
        "scripts/install-test-deps.sh",
    );
    let script = flowhost_test_support::workspace_root().join("tests/python/parse_metrics.py");
    let mut parser = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the parser runs");
    parser
        .stdin
        .take()
        .expect("stdin")
        .write_all(&body)
        .expect("metrics written to the parser");
    let output = parser.wait_with_output().expect("the parser ends");
    assert!(
        output.status.success(),
        "prometheus_client could not parse /metrics: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&body)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let sample: Value = serde_json::from_str(line).expect("a JSON sample");
            Sample {
                name: sample["name"].as_str().unwrap_or_default().to_owned(),
                labels: sample["labels"].as_object().cloned().unwrap_or_default(),
                value: sample["value"].as_f64().unwrap_or(f64::NAN),
            }
        })
        .collect()
}

/// The value of the sample `name` whose labels include `labels`, summed over the rest.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).and_then(Value::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

fn batch(n: usize) -> docs::DocumentBatch {
    docs::batch_of((0..n).map(|i| docs::document(format!("doc{i}"))))
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_known_traffic_by_protocol_endpoint_executor_and_outcome() {
    let metrics_port = free_port();
    let yaml = format!(
        "jtype: Flow\nwith:\n  protocol: [http, grpc]\n  monitoring: true\n  port_monitoring: {metrics_port}\nexecutors:\n  - name: guard\n    uses: {}\n  - name: slow\n    uses: {}\n    replicas: 2\n",
        uses("trap_guest"),
        uses("slow_guest"),
    );
    let server = FlowServer::start(&yaml, 2);
    let http = server.port(Protocol::Http);
    for _ in 0..4 {
        let (status, _) = http_post(
            http,
            "/post",
            r#"{"execEndpoint": "/index", "data": [{"text": "a"}, {"text": "b"}]}"#,
        );
        assert_eq!(status, 200);
    }
    http_post(
        http,
        "/post",
        r#"{"execEndpoint": "/error", "data": [{"text": "x"}]}"#,
    );
    http_post(
        http,
        "/post",
        r#"{"execEndpoint": "/trap", "data": [{"text": "x"}]}"#,
    );
    let grpc = Client::new("127.0.0.1", server.port(Protocol::Grpc));
    for _ in 0..3 {
        let results = grpc.post("/index", batch(1), Map::new()).await.unwrap();
        assert!(results.into_iter().all(|r| r.is_ok()));
    }

    let samples = scrape(metrics_port);
    let requests = |protocol, endpoint, status| {
        value(
            &samples,
            "flowhost_requests_total",
            &[
                ("protocol", protocol),
                ("endpoint", endpoint),
                ("status", status),
            ],
        )
    };
    assert_eq!(requests("http", "/index", "ok"), 4.0);
    assert_eq!(requests("http", "/error", "raised"), 1.0);
    assert_eq!(requests("http", "/trap", "trap"), 1.0);
    assert_eq!(requests("grpc", "/index", "ok"), 3.0);
    let gateway = [("runtime_name", "gateway")];
    assert_eq!(
        value(&samples, "jina_successful_requests_total", &gateway),
        7.0
    );
    assert_eq!(value(&samples, "jina_failed_requests_total", &gateway), 2.0);
    assert_eq!(
        value(&samples, "jina_receiving_request_seconds_count", &gateway),
        7.0,
        "Jina times successful requests only"
    );
    assert_eq!(
        value(&samples, "jina_number_of_pending_requests", &gateway),
        0.0
    );
    assert!(
        value(
            &samples,
            "flowhost_received_bytes_total",
            &[("protocol", "grpc")]
        ) > 0.0
    );
    assert!(
        value(
            &samples,
            "flowhost_sent_bytes_total",
            &[("protocol", "http")]
        ) > 0.0
    );

    // The executors: calls by outcome, queue and compute apart, documents per endpoint.
    let slow = [("executor", "slow")];
    assert_eq!(
        value(
            &samples,
            "flowhost_executor_calls_total",
            &[("executor", "slow"), ("outcome", "ok")]
        ),
        7.0,
        "the 7 requests that got past `guard`"
    );
    assert_eq!(
        value(&samples, "flowhost_executor_queue_seconds_count", &slow),
        7.0
    );
    assert_eq!(
        value(&samples, "flowhost_executor_compute_seconds_count", &slow),
        7.0
    );
    // Sequential calls all go to the least busy replica; both have their series from the start.
    for replica in ["0", "1"] {
        assert!(
            samples
                .iter()
                .any(|s| s.name == "flowhost_executor_calls_in_flight"
                    && s.labels.get("executor") == Some(&json!("slow"))
                    && s.labels.get("replica") == Some(&json!(replica))),
            "replica {replica} is measured"
        );
    }
    assert_eq!(
        value(
            &samples,
            "jina_document_processed_total",
            &[("executor", "slow"), ("executor_endpoint", "/index")]
        ),
        11.0,
        "4 requests of 2 documents and 3 of 1"
    );
    assert_eq!(
        value(
            &samples,
            "jina_process_request_seconds_count",
            &[("executor", "slow"), ("runtime_name", "slow/rep-1")]
        ),
        value(
            &samples,
            "flowhost_executor_calls_total",
            &[("executor", "slow"), ("replica", "1")]
        ),
        "Jina's per-pod name"
    );
    let guard = |outcome| {
        value(
            &samples,
            "flowhost_executor_calls_total",
            &[("executor", "guard"), ("outcome", outcome)],
        )
    };
    assert_eq!(
        (guard("ok"), guard("raised"), guard("trap")),
        (7.0, 1.0, 1.0)
    );
    assert_eq!(
        value(
            &samples,
            "flowhost_executor_replacements_total",
            &[("executor", "guard"), ("cause", "trap")]
        ),
        1.0
    );
    assert_eq!(
        value(&samples, "flowhost_executor_calls_in_flight", &[]),
        0.0
    );
    assert!(value(&samples, "flowhost_executor_memory_bytes", &slow) > 0.0);
    // Start-up: every phase of every executor, and the compile cache.
    for phase in ["resolve", "compile", "instantiate"] {
        assert!(
            samples.iter().any(|s| s.name == "flowhost_startup_seconds"
                && s.labels.get("phase") == Some(&json!(phase))
                && s.labels.get("executor") == Some(&json!("slow"))),
            "start-up phase {phase}"
        );
    }
    assert_eq!(
        value(&samples, "flowhost_compile_cache_total", &[]),
        2.0,
        "two components loaded"
    );
    assert!(server.stop().success());
}

#[test]
fn json_logs_tag_guest_output_with_flow_executor_replica_shard_and_request_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let flow = dir.path().join("flow.yml");
    std::fs::write(
        &flow,
        format!(
            "jtype: Flow\nwith:\n  name: tagged\n  protocol: http\nexecutors:\n  - name: printer\n    uses: {}\n    shards: 2\n    polling: ALL\n",
            uses("param_printer")
        ),
    )
    .expect("flow file");
    let mut command = Command::new(crate::gateway_support::flowhost_bin());
    command
        .args([
            "--log-format",
            "json",
            "--log-level",
            "warn,executor=info",
            "run",
        ])
        .arg(&flow);
    let server = FlowServer::spawn(command, dir, 1);
    let (status, _) = http_post(
        server.port(Protocol::Http),
        "/post",
        r#"{"execEndpoint": "/", "data": [{"text": "a"}], "parameters": {"x": 1}}"#,
    );
    assert_eq!(status, 200);
    // Every shard prints its parameters: wait for both lines, then read them.
    let mut lines = Vec::new();
    while lines.len() < 2 {
        let line = server
            .stderr
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the guests' log lines");
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            panic!("a log line that is not JSON: {line}");
        };
        if event["target"] == "executor" && event["message"] == "param1: 1" {
            lines.push(event);
        }
    }
    let mut shards: Vec<i64> = lines.iter().filter_map(|e| e["shard"].as_i64()).collect();
    shards.sort();
    assert_eq!(shards, [0, 1], "{lines:?}");
    let ids: Vec<&str> = lines
        .iter()
        .map(|event| {
            assert_eq!(event["flow"], "tagged");
            assert_eq!(event["executor"], "printer");
            assert_eq!(event["replica"], 0);
            assert_eq!(event["source"], "logging");
            event["spans"][0]["request_id"]
                .as_str()
                .expect("a request id")
        })
        .collect();
    assert_eq!(ids[0], ids[1], "one request");
    assert_eq!(ids[0].len(), 32, "{ids:?}");
    assert!(server.stop().success());
}

#[test]
fn metrics_count_remote_attempts_retries_and_unreachable_peers() {
    let (metrics_port, dead_port) = (free_port(), free_port());
    let yaml = format!(
        "jtype: Flow\nwith:\n  protocol: http\n  monitoring: true\n  port_monitoring: {metrics_port}\nexecutors:\n  - name: far\n    external: true\n    host: 127.0.0.1\n    port: {dead_port}\n    retries: 2\n    timeout_send: 2000\n"
    );
    let server = FlowServer::start(&yaml, 1);
    let (status, answer) = http_post(
        server.port(Protocol::Http),
        "/post",
        r#"{"execEndpoint": "/", "data": [{"text": "a"}]}"#,
    );
    assert_eq!(status, 200);
    assert_ne!(
        answer["header"]["status"],
        Value::Null,
        "an error answer: {answer}"
    );

    let samples = scrape(metrics_port);
    let far = |name: &str, labels: &[(&str, &str)]| {
        let mut all = vec![("executor", "far")];
        all.extend_from_slice(labels);
        value(&samples, name, &all)
    };
    assert_eq!(
        far(
            "flowhost_remote_attempts_total",
            &[("result", "unreachable")]
        ),
        3.0,
        "retries: 2"
    );
    assert_eq!(far("flowhost_remote_retries_total", &[]), 2.0);
    assert_eq!(
        far("flowhost_remote_attempts_total", &[("result", "answered")]),
        0.0
    );
    assert_eq!(
        far(
            "flowhost_remote_connected",
            &[("address", &format!("127.0.0.1:{dead_port}"))]
        ),
        0.0
    );
    assert_eq!(
        value(
            &samples,
            "flowhost_requests_total",
            &[("protocol", "http"), ("status", "unavailable")]
        ),
        1.0
    );
    assert!(server.stop().success());
}
