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
        "jtype: Flow\nwith:\n  protocol: [http, grpc]\n  monitoring: true\n  port_monitoring: {metrics_port}\n  max_request_size: 4KiB\nexecutors:\n  - name: guard\n    uses: {}\n  - name: slow\n    uses: {}\n    replicas: 2\n",
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
    // Refused before the flow: unreadable JSON, and a body or message over 4 KiB.
    assert_eq!(http_post(http, "/post", "{not json").0, 422);
    let large = json!({"data": [{"text": "x".repeat(5000)}]}).to_string();
    assert_eq!(http_post(http, "/post", &large).0, 413);
    let refused = grpc
        .post(
            "/index",
            docs::batch_of([docs::document("x".repeat(5000))]),
            Map::new(),
        )
        .await;
    assert!(
        refused.map_or(true, |results| results.iter().any(|r| r.is_err())),
        "a message over the limit is refused"
    );

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
    let refused = |protocol, reason| {
        value(
            &samples,
            "flowhost_refused_requests_total",
            &[("protocol", protocol), ("reason", reason)],
        )
    };
    assert_eq!(refused("http", "unreadable"), 1.0);
    assert_eq!(refused("http", "too_large"), 1.0);
    assert_eq!(refused("grpc", "too_large"), 1.0);
    assert!(
        samples
            .iter()
            .any(|s| s.name == "flowhost_refused_requests_total"
                && s.labels.get("reason") == Some(&json!("overloaded"))
                && s.value == 0.0),
        "every reason's series is there from the start"
    );
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
    // The three gRPC requests that reached the flow, at their size on the wire (their
    // request ids are uuids, so every one is the same size).
    let one =
        flowhost_wire::protobuf::request_to_proto(&flowhost_wire::Request::new("/index", batch(1)));
    assert_eq!(
        value(
            &samples,
            "flowhost_received_bytes_total",
            &[("protocol", "grpc")]
        ),
        3.0 * prost::Message::encoded_len(&one) as f64
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
            event["request_id"].as_str().expect("a request id")
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

/// One span as the receiver got it, with the `service.name` of the process that sent it.
#[derive(Debug, Clone)]
struct ReceivedSpan {
    service: String,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent: Vec<u8>,
    events: Vec<String>,
    attributes: Vec<String>,
}

/// A gRPC server (an OTLP receiver here) on a free loopback port, stopped when dropped.
struct LoopbackGrpc {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl LoopbackGrpc {
    async fn serve(services: tonic::transport::server::Router) -> LoopbackGrpc {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(services.serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            async {
                let _ = stopped.await;
            },
        ));
        LoopbackGrpc {
            port,
            stop: Some(stop),
        }
    }
}

impl Drop for LoopbackGrpc {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A real OTLP/gRPC trace receiver (the collector's own service definition, served by
/// tonic) on a free loopback port, handing every span it is sent to a channel.
struct TraceReceiver {
    server: LoopbackGrpc,
    spans: tokio::sync::mpsc::UnboundedReceiver<ReceivedSpan>,
}

struct Collect(tokio::sync::mpsc::UnboundedSender<ReceivedSpan>);

#[tonic::async_trait]
impl opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService
    for Collect
{
    async fn export(
        &self,
        request: tonic::Request<
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
        >,
    ) -> Result<
        tonic::Response<
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse,
        >,
        tonic::Status,
    > {
        use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
        for resource_spans in request.into_inner().resource_spans {
            let service = (resource_spans.resource.iter())
                .flat_map(|resource| &resource.attributes)
                .find(|attribute| attribute.key == "service.name")
                .and_then(
                    |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                        Any::StringValue(name) => Some(name.clone()),
                        _ => None,
                    },
                )
                .unwrap_or_default();
            for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                let _ = self.0.send(ReceivedSpan {
                    service: service.clone(),
                    name: span.name,
                    trace_id: span.trace_id,
                    span_id: span.span_id,
                    parent: span.parent_span_id,
                    events: span.events.into_iter().map(|e| e.name).collect(),
                    attributes: span.attributes.into_iter().map(|a| a.key).collect(),
                });
            }
        }
        Ok(tonic::Response::new(Default::default()))
    }
}

impl TraceReceiver {
    async fn start() -> TraceReceiver {
        use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;
        let (sender, spans) = tokio::sync::mpsc::unbounded_channel();
        let server = LoopbackGrpc::serve(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(Collect(sender))),
        )
        .await;
        TraceReceiver { server, spans }
    }

    /// Spans until `done` says the set is complete (or a minute passes).
    async fn until(&mut self, done: impl Fn(&[ReceivedSpan]) -> bool) -> Vec<ReceivedSpan> {
        let mut spans = Vec::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while !done(&spans) {
            match tokio::time::timeout_at(deadline, self.spans.recv()).await {
                Ok(Some(span)) => spans.push(span),
                _ => panic!("spans so far: {spans:#?}"),
            }
        }
        spans
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn traces_follow_a_request_through_a_diamond_and_across_a_remote_executor() {
    let mut receiver = TraceReceiver::start().await;
    let collector = receiver.server.port;
    // The remote executor: its own process, exporting to the same receiver.
    let far_port = free_port();
    let mut far = Command::new(crate::gateway_support::flowhost_bin());
    far.args(["executor", "serve", "--name", "far", "--uses"])
        .arg(uses("bar_executor"))
        .args(["--port", &far_port.to_string(), "--tracing"])
        .args(["--traces-exporter-host", "127.0.0.1"])
        .args(["--traces-exporter-port", &collector.to_string()]);
    let far = FlowServer::spawn(far, tempfile::tempdir().expect("temp dir"), 1);
    let yaml = format!(
        "jtype: Flow\nwith:\n  name: diamond\n  protocol: http\n  tracing: true\n  traces_exporter_host: 127.0.0.1\n  traces_exporter_port: {collector}\nexecutors:\n  - name: foo\n    uses: {foo}\n  - name: bar\n    uses: {bar}\n    needs: foo\n  - name: baz\n    uses: {baz}\n    needs: foo\n  - name: join\n    needs: [bar, baz]\n  - name: far\n    external: true\n    host: 127.0.0.1\n    port: {far_port}\n    needs: join\n",
        foo = uses("foo_executor"),
        bar = uses("bar_executor"),
        baz = uses("baz_executor"),
    );
    let flow = FlowServer::start(&yaml, 1);
    // The client's own span: the request must join its trace.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let client_span = "00f067aa0ba902b7";
    let body = r#"{"execEndpoint": "/index", "data": [{"text": "a"}]}"#;
    let (status, _, answer) = crate::gateway_support::http(
        flow.port(Protocol::Http),
        &format!(
            "POST /post HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\ntraceparent: 00-{trace_id}-{client_span}-01\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    // Stopping flushes what each process still buffers.
    assert!(flow.stop().success());
    assert!(far.stop().success());

    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let spans = receiver
        .until(|spans| {
            let named = |name: &str| spans.iter().filter(|s| s.name == name).count();
            named("http /index") == 1
                && named("grpc /index") == 1
                && ["foo", "bar", "baz", "join", "far"].iter().all(|e| {
                    spans
                        .iter()
                        .any(|s| s.name == format!("executor {e}") && s.service == "diamond")
                })
                && spans
                    .iter()
                    .any(|s| s.service == "far" && s.name == "executor far")
        })
        .await;
    let find = |service: &str, name: &str| {
        spans
            .iter()
            .find(|s| s.service == service && s.name == name)
            .unwrap_or_else(|| panic!("no span {name} from {service}: {spans:#?}"))
    };
    let request = find("diamond", "http /index");
    assert_eq!(hex(&request.trace_id), trace_id, "the client's trace");
    assert_eq!(
        hex(&request.parent),
        client_span,
        "the client's span is the parent"
    );
    for executor in ["foo", "bar", "baz", "join", "far"] {
        let call = find("diamond", &format!("executor {executor}"));
        assert_eq!(call.trace_id, request.trace_id);
        assert_eq!(
            call.parent, request.span_id,
            "{executor} is a child of the request"
        );
    }
    // A Wasm executor's call says when it waited for its instance and when it ran.
    let foo = find("diamond", "executor foo");
    assert_eq!(foo.events, ["started"]);
    for phase in ["flowhost.queue_seconds", "flowhost.compute_seconds"] {
        assert!(foo.attributes.iter().any(|a| a == phase), "{foo:?}");
    }
    // Across the remote hop: the far process's request span continues the same trace,
    // as the child of the calling process's span for `far`.
    let remote = find("far", "grpc /index");
    assert_eq!(
        hex(&remote.trace_id),
        trace_id,
        "the trace id crossed the hop"
    );
    assert_eq!(remote.parent, find("diamond", "executor far").span_id);
}

/// A real OTLP/gRPC metrics receiver, handing the value of every `jina_successful_requests_total`
/// point it is pushed to a channel.
struct PushedSuccesses(tokio::sync::mpsc::UnboundedSender<f64>);

#[tonic::async_trait]
impl opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::MetricsService
    for PushedSuccesses
{
    async fn export(
        &self,
        request: tonic::Request<
            opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest,
        >,
    ) -> Result<
        tonic::Response<
            opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse,
        >,
        tonic::Status,
    > {
        use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point::Value};
        let metrics = (request.into_inner().resource_metrics.into_iter())
            .flat_map(|r| r.scope_metrics)
            .flat_map(|s| s.metrics);
        for metric in metrics {
            if metric.name != "jina_successful_requests_total" {
                continue;
            }
            if let Some(Data::Sum(sum)) = metric.data {
                for point in sum.data_points {
                    if let Some(Value::AsDouble(value)) = point.value {
                        let _ = self.0.send(value);
                    }
                }
            }
        }
        Ok(tonic::Response::new(Default::default()))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_pushed_over_otlp_when_the_flow_says_metrics_true() {
    use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::MetricsServiceServer;
    let (sender, mut pushed) = tokio::sync::mpsc::unbounded_channel();
    let receiver = LoopbackGrpc::serve(
        tonic::transport::Server::builder()
            .add_service(MetricsServiceServer::new(PushedSuccesses(sender))),
    )
    .await;
    let collector = receiver.port;
    let dir = tempfile::tempdir().expect("temp dir");
    let flow = dir.path().join("flow.yml");
    std::fs::write(
        &flow,
        format!(
            "jtype: Flow\nwith:\n  protocol: http\n  metrics: true\n  metrics_exporter_host: 127.0.0.1\n  metrics_exporter_port: {collector}\nexecutors:\n  - name: foo\n    uses: {}\n",
            uses("foo_executor")
        ),
    )
    .expect("flow file");
    let mut command = Command::new(crate::gateway_support::flowhost_bin());
    command
        .arg("run")
        .arg(&flow)
        .env("OTEL_METRIC_EXPORT_INTERVAL", "100");
    let server = FlowServer::spawn(command, dir, 1);
    for _ in 0..3 {
        let (status, _) = http_post(
            server.port(Protocol::Http),
            "/post",
            r#"{"execEndpoint": "/index", "data": [{"text": "a"}]}"#,
        );
        assert_eq!(status, 200);
    }
    // Pushed every 100 ms: wait for a push that has counted all three.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, pushed.recv()).await {
            Ok(Some(value)) if value >= 3.0 => {
                assert_eq!(value, 3.0);
                break;
            }
            Ok(Some(_)) => continue,
            _ => panic!("no push counted the three requests"),
        }
    }
    assert!(server.stop().success());
}
