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
        description.contains("`far`") && description.contains("Certificate"),
        "{description}"
    );
    assert!(far.stop().success());
}
