//! `external: true` executors: a flow here reaching an executor served by
//! `flowhost executor serve` in another process.

use std::process::Command;

use flowhost::deploy::{DeployOptions, RunningFlow};
use flowhost_docs as docs;
use flowhost_flow::{ExecutorSpec, Flow};
use flowhost_wire::Protocol;
use flowhost_wire::{Request, Status};

use crate::gateway_support::{FlowServer, flowhost_bin, http_post, json_texts, uses};
use crate::support::texts;

fn serve(guest: &str, name: &str) -> FlowServer {
    let mut command = Command::new(flowhost_bin());
    command
        .args(["executor", "serve", "--name", name, "--uses"])
        .arg(uses(guest));
    FlowServer::spawn(command, tempfile::tempdir().unwrap(), 1)
}

async fn deploy(flow: Flow) -> RunningFlow {
    let options = DeployOptions::new(
        flowhost_test_support::workspace_root(),
        flowhost_test_support::runtime(),
    );
    RunningFlow::start(flow, options)
        .await
        .unwrap_or_else(|e| panic!("flow deploys: {e}"))
}

#[tokio::test]
async fn a_flow_uses_an_executor_served_elsewhere() {
    let remote = serve("foo_executor", "remote_foo");
    let port = remote.port(Protocol::Grpc);
    let flow = deploy(
        Flow::new()
            .add(ExecutorSpec::new("remote").external("127.0.0.1", port))
            .add(ExecutorSpec::new("bar").uses(uses("bar_executor"))),
    )
    .await;
    let response = flow
        .router()
        .process(Request::new("/index", docs::empty_batch()))
        .await;
    assert!(!response.status.is_error(), "{:?}", response.status);
    assert_eq!(
        texts(&response.docs),
        [
            "foo was here and got 0 document",
            "bar was here and got 1 document"
        ]
    );
    assert!(remote.stop().success());
}

#[tokio::test]
async fn remote_errors_and_unreachable_executors_name_the_executor() {
    let remote = serve("trap_guest", "remote_trap");
    let port = remote.port(Protocol::Grpc);
    let flow = deploy(Flow::new().add(ExecutorSpec::new("far").external("127.0.0.1", port))).await;
    let response = flow
        .router()
        .process(Request::new("/error", docs::empty_batch()))
        .await;
    match &response.status {
        Status::Error(e) => {
            assert_eq!(e.name, "ValueError");
            assert_eq!(e.executor, "far");
            assert!(e.description.contains("bad input"), "{}", e.description);
        }
        Status::Success => panic!("expected the remote error"),
    }
    assert!(remote.stop().success());

    // The server is gone now: the next request says the executor is unreachable.
    let response = flow
        .router()
        .process(Request::new("/fine", docs::empty_batch()))
        .await;
    match &response.status {
        Status::Error(e) => {
            assert_eq!(e.name, "ExecutorUnavailable");
            assert!(e.description.contains("far"), "{}", e.description);
        }
        Status::Success => panic!("expected the executor to be unreachable"),
    }
}

/// `tls: true`: the far side serves gRPC over TLS with a certificate made for the test; the
/// near side trusts it through `SSL_CERT_FILE`, and without it (the system's roots) the
/// request fails naming the executor.
#[test]
fn a_tls_external_executor_is_trusted_through_ssl_cert_file() {
    let far_flow = format!(
        "jtype: Flow\nwith:\n  protocol: grpc\n  ssl_certfile: cert.pem\n  ssl_keyfile: key.pem\n\
         executors:\n  - name: foo\n    uses: {}\n",
        uses("foo_executor")
    );
    let far = FlowServer::start_with(&far_flow, 1, crate::gateway::write_certificate);
    let near_flow = format!(
        "jtype: Flow\nwith:\n  host: 127.0.0.1\n  protocol: http\nexecutors:\n\
         \x20 - name: far\n    external: true\n    host: localhost\n    port: {}\n    tls: true\n\
         \x20 - name: bar\n    uses: {}\n",
        far.port(Protocol::Grpc),
        uses("bar_executor")
    );
    let post = |ca: Option<&std::path::Path>| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("flow.yml"), &near_flow).unwrap();
        let mut command = Command::new(flowhost_bin());
        command.arg("run").arg(dir.path().join("flow.yml"));
        match ca {
            Some(ca) => command.env("SSL_CERT_FILE", ca),
            None => command.env_remove("SSL_CERT_FILE"),
        };
        let near = FlowServer::spawn(command, dir, 1);
        let answer = http_post(
            near.port(Protocol::Http),
            "/post",
            r#"{"data": [], "execEndpoint": "/index"}"#,
        );
        assert!(near.stop().success());
        answer
    };

    let (status, answer) = post(Some(&far.path("cert.pem")));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        json_texts(&answer),
        [
            "foo was here and got 0 document",
            "bar was here and got 1 document"
        ],
        "{answer}"
    );

    let (status, answer) = post(None);
    assert_eq!(status, 200, "{answer}");
    let failure = &answer["header"]["status"];
    assert_eq!(failure["code"], 1, "{answer}");
    assert_eq!(failure["exception"]["executor"], "far", "{answer}");
    let description = failure["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("`far`") && description.contains("certificate"),
        "{description}"
    );
    assert!(far.stop().success());
}

/// A loopback TCP proxy that counts the connections it forwards to `target`.
struct CountingProxy {
    port: u16,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CountingProxy {
    async fn start(target: u16) -> CountingProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        CountingProxy { port, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_to_a_remote_executor_share_one_persistent_connection() {
    let remote = serve("foo_executor", "remote_foo");
    let proxy = CountingProxy::start(remote.port(Protocol::Grpc)).await;
    let flow =
        deploy(Flow::new().add(ExecutorSpec::new("far").external("127.0.0.1", proxy.port))).await;
    assert_eq!(
        proxy.connections(),
        0,
        "nothing is connected before the first call"
    );
    let requests = (0..40).map(|_| {
        flow.router()
            .process(Request::new("/index", docs::empty_batch()))
    });
    for response in futures::future::join_all(requests).await {
        assert!(!response.status.is_error(), "{:?}", response.status);
        assert_eq!(texts(&response.docs), ["foo was here and got 0 document"]);
    }
    assert_eq!(flow.router().readiness().await, Ok(()));
    assert_eq!(
        proxy.connections(),
        1,
        "40 concurrent calls and a health check over one connection"
    );
    assert!(remote.stop().success());
    let error = flow.router().readiness().await.unwrap_err();
    assert!(error.contains("`far`"), "{error}");
}

#[tokio::test]
async fn an_unreachable_remote_is_tried_as_often_as_jina_tries_it() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    for (retries, attempts) in [(None, 4), (Some(0), 1), (Some(2), 3)] {
        let mut spec = ExecutorSpec::new("gone").external("127.0.0.1", closed_port);
        if let Some(retries) = retries {
            spec.extra.insert("retries".into(), retries.into());
        }
        let flow = deploy(Flow::new().add(spec)).await;
        let response = flow
            .router()
            .process(Request::new("/index", docs::empty_batch()))
            .await;
        let Status::Error(error) = &response.status else {
            panic!("a closed port answers nothing");
        };
        assert_eq!(error.name, "ExecutorUnavailable");
        assert!(
            error
                .description
                .contains(&format!("after {attempts} attempt(s)")),
            "retries {retries:?}: {}",
            error.description
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_finds_one_replica_down_is_retried_on_the_next() {
    let remote = serve("foo_executor", "remote_foo");
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut spec = ExecutorSpec::new("far");
    spec.external = true;
    spec.host = vec!["127.0.0.1".into(), "127.0.0.1".into()];
    spec.port = vec![closed_port, remote.port(Protocol::Grpc)];
    let flow = deploy(Flow::new().add(spec)).await;
    // Round robin starts half of the calls on the closed port; each is retried on the other.
    for _ in 0..6 {
        let response = flow
            .router()
            .process(Request::new("/index", docs::empty_batch()))
            .await;
        assert!(!response.status.is_error(), "{:?}", response.status);
        assert_eq!(texts(&response.docs), ["foo was here and got 0 document"]);
    }
    assert_eq!(
        flow.router().readiness().await,
        Ok(()),
        "ready while one replica serves"
    );
    assert!(remote.stop().success());
}

/// Shards served elsewhere, with `polling` and `uses_after` kept here: what an exported
/// Kubernetes flow's gateway runs (each shard its own service).
#[tokio::test(flavor = "multi_thread")]
async fn an_external_executor_may_be_sharded_with_uses_after_run_here() {
    let shard0 = serve("foo_executor", "foo_shard0");
    let shard1 = serve("foo_executor", "foo_shard1");
    let mut spec = ExecutorSpec::new("far")
        .shards(2)
        .uses_after(uses("bar_executor"));
    spec.external = true;
    spec.host = vec!["127.0.0.1".into(), "127.0.0.1".into()];
    spec.port = vec![shard0.port(Protocol::Grpc), shard1.port(Protocol::Grpc)];
    let flow = deploy(Flow::new().add(spec)).await;
    let answer = |endpoint: &'static str| {
        let router = flow.router().clone();
        async move {
            let response = router
                .process(Request::new(endpoint, docs::empty_batch()))
                .await;
            assert!(!response.status.is_error(), "{:?}", response.status);
            texts(&response.docs)
        }
    };
    // `/search` polls ALL shards (Jina's default) and merges; `/index` goes to ANY one.
    assert_eq!(
        answer("/search").await,
        [
            "foo was here and got 0 document",
            "foo was here and got 0 document",
            "bar was here and got 2 document"
        ]
    );
    assert_eq!(
        answer("/index").await,
        [
            "foo was here and got 0 document",
            "bar was here and got 1 document"
        ]
    );
    assert!(shard0.stop().success());
    let error = flow.router().readiness().await.unwrap_err();
    assert!(error.contains("`far`"), "every shard must answer: {error}");
    assert!(shard1.stop().success());
}

/// Jina's own gateway calls a flowhost `executor serve` as its `external: true` executor, and
/// the stock client's documents (text, tags, embeddings, chunks) survive the trip.
#[test]
fn a_jina_flow_calls_a_flowhost_executor() {
    let remote = serve("foo_executor", "wasm");
    let script = flowhost_test_support::workspace_root().join("tests/python/jina_interop.py");
    let stdout = crate::gateway_support::succeeds(
        Command::new(crate::gateway_support::jina_python())
            .arg(script)
            .args(["gateway-to", &remote.port(Protocol::Grpc).to_string()]),
    );
    assert!(stdout.contains("roundtrip ok"), "{stdout}");
    assert!(remote.stop().success());
}

/// A flowhost flow calls a Python executor served by Jina as its `external: true` executor.
#[tokio::test(flavor = "multi_thread")]
async fn a_flowhost_flow_calls_a_jina_executor() {
    use std::io::BufRead as _;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let script = flowhost_test_support::workspace_root().join("tests/python/jina_interop.py");
    let mut jina = KillOnDrop(
        Command::new(crate::gateway_support::jina_python())
            .arg(script)
            .args(["serve", &port.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python runs"),
    );
    let stdout = jina.0.stdout.take().expect("stdout");
    let ready = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line == "READY");
    assert!(ready, "the Jina executor did not start");

    let flow = deploy(Flow::new().add(ExecutorSpec::new("py").external("127.0.0.1", port))).await;
    assert_eq!(
        flow.router().readiness().await,
        Ok(()),
        "Jina serves the health check"
    );
    let mut doc = docs::document("d1");
    doc.text = Some("hello".into());
    doc.tags = Some(r#"{"lang":"en"}"#.into());
    doc.embedding = Some(docs::Tensor {
        dtype: docs::Dtype::Float32,
        shape: vec![2],
        data: [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
    });
    let mut chunk = docs::document("c1");
    chunk.text = Some("a chunk".into());
    let mut batch = docs::batch_of([doc]);
    let chunk_index = batch.nodes.len() as u32;
    batch.nodes.push(chunk);
    batch.nodes[0].chunks.push(chunk_index);
    let response = flow.router().process(Request::new("/index", batch)).await;
    assert!(!response.status.is_error(), "{:?}", response.status);
    let roots: Vec<_> = docs::roots(&response.docs).collect();
    assert_eq!(roots.len(), 2, "{:?}", response.docs);
    let back = roots[0];
    assert_eq!(
        (back.id.as_str(), back.text.as_deref()),
        ("d1", Some("hello"))
    );
    let tags: serde_json::Value = serde_json::from_str(back.tags.as_deref().unwrap()).unwrap();
    assert_eq!(tags, serde_json::json!({"lang": "en", "seen_by": "jina"}));
    assert_eq!(
        docs::tensor_values(back.embedding.as_ref().unwrap()),
        [1.5, -2.0]
    );
    let chunk = &response.docs.nodes[back.chunks[0] as usize];
    assert_eq!(chunk.text.as_deref(), Some("a chunk"));
    assert_eq!(
        roots[1].text.as_deref(),
        Some("jina was here and got 1 document")
    );
}

/// A child process ended when the test ends, pass or fail (a Jina executor left running
/// would hold the test harness's output open). Closing its stdin lets it shut its own
/// executor processes down; it is killed if it has not within 20 s.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while matches!(self.0.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
