//! `external: true` executors: a flow here reaching an executor served by
//! `flowhost executor serve` in another process.

use std::process::Command;

use flowhost::deploy::{DeployOptions, RunningFlow};
use flowhost::docs;
use flowhost::flow::{Executor, Flow, Protocol};
use flowhost::router::{Request, Status};

use crate::gateway_support::{FlowServer, flowhost_bin, uses};
use crate::support::texts;

fn serve(guest: &str, name: &str) -> FlowServer {
    let mut command = Command::new(flowhost_bin());
    command
        .args(["executor", "serve", "--name", name, "--uses"])
        .arg(uses(guest));
    FlowServer::spawn(command, tempfile::tempdir().unwrap(), 1)
}

async fn deploy(flow: Flow) -> RunningFlow {
    let options = DeployOptions::new(flowhost_tests::workspace_root(), flowhost_tests::runtime());
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
            .add(Executor::new("remote").external("127.0.0.1", port))
            .add(Executor::new("bar").uses(uses("bar_executor"))),
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
    let flow = deploy(Flow::new().add(Executor::new("far").external("127.0.0.1", port))).await;
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
