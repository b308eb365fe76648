//! What one remote hop costs, against its floors, in one run: the same client (the `Peer`
//! a flow calls its `external: true` executors through) sends one-document requests one
//! after another (`process_single_data`, as Jina's gateway calls its executors) to:
//!
//! - **grpc echo**: a bare tonic server that answers each request with what it got. This
//!   is the floor under any gRPC hop on this machine: HTTP/2 on loopback, protobuf both ways;
//! - **gateway, pass-through**: flowhost's gateway over a flow of one built-in pass-through
//!   executor, which adds admission, the envelope and the router to the floor;
//! - **gateway, Wasm no-op**: the same with a Wasm executor that does nothing (what
//!   `flowhost executor serve` is to a flow that calls it);
//!
//! and, for the hop's other side, the same flow called in process (no hop at all).
//! The servers run on a runtime of their own, as they would in their own process.
//!
//! `bash scripts/build-guests.sh && cargo bench -p flowhost --bench remote_hop`
//! (`-- --quick` for a short run).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowhost::deploy::{DeployOptions, RunningFlow, gateway_config};
use flowhost_client::{Client, Peer};
use flowhost_docs as docs;
use flowhost_flow::{ExecutorSpec, Flow};
use flowhost_gateway::Gateway;
use flowhost_runtime::{Runtime, RuntimeConfig};
use flowhost_wire::proto::jina::DataRequestProto;
use flowhost_wire::proto::jina::jina_single_data_request_rpc_server::{
    JinaSingleDataRequestRpc, JinaSingleDataRequestRpcServer,
};
use flowhost_wire::{Protocol, Request};

/// The allocator the `flowhost` binary runs with (`host/src/main.rs`): the far side of a hop
/// is a `flowhost executor serve`, so the servers here allocate as it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Answers every request with the request itself: gRPC and nothing else.
struct Echo;

#[tonic::async_trait]
impl JinaSingleDataRequestRpc for Echo {
    async fn process_single_data(
        &self,
        request: tonic::Request<DataRequestProto>,
    ) -> Result<tonic::Response<DataRequestProto>, tonic::Status> {
        Ok(tonic::Response::new(request.into_inner()))
    }
}

fn request() -> Request {
    let mut doc = docs::document("d");
    doc.text = Some("hello".into());
    Request::new("/", docs::batch_of([doc]))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// `count` sequential calls; their latencies, sorted.
async fn sequential(peer: &Peer, count: usize) -> Vec<Duration> {
    let request = request();
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let began = Instant::now();
        peer.process(&request, None, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        times.push(began.elapsed());
    }
    times.sort();
    times
}

async fn in_process(running: &RunningFlow, count: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let began = Instant::now();
        running.router().process(request()).await;
        times.push(began.elapsed());
    }
    times.sort();
    times
}

fn flow(port: u16, wasm: bool) -> Flow {
    let executor = ExecutorSpec::new("e");
    let executor = if wasm {
        executor.uses(
            flowhost_test_support::guest("noop_executor")
                .display()
                .to_string(),
        )
    } else {
        executor
    };
    Flow::new()
        .with_protocol(Protocol::Grpc)
        .with_port(port)
        .add(executor)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Turns each setup takes.
const ROUNDS: usize = 20;

fn main() {
    let count = if std::env::args().any(|a| a == "--quick") {
        500
    } else {
        10_000
    };
    // The servers' runtime, as their own process would have.
    let servers = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let echo_port = free_port();
    servers.spawn(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", echo_port))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tonic::transport::Server::builder()
            .add_service(JinaSingleDataRequestRpcServer::new(Echo))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    });
    let engine = Arc::new(Runtime::new(RuntimeConfig::default()).unwrap_or_else(|e| panic!("{e}")));
    let root = flowhost_test_support::workspace_root();
    let (pass_port, wasm_port) = (free_port(), free_port());
    let (gateways, in_process_flow) = servers.block_on(async {
        let mut gateways = Vec::new();
        for (port, wasm) in [(pass_port, false), (wasm_port, true)] {
            let flow = flow(port, wasm);
            let config = gateway_config(&flow.gateway_args(), &root);
            let running = RunningFlow::start(flow, DeployOptions::new(&root, engine.clone()))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let gateway = Gateway::start(config, running.router().clone())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            gateways.push((gateway, running));
        }
        let in_process =
            RunningFlow::start(flow(0, true), DeployOptions::new(&root, engine.clone()))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        (gateways, in_process)
    });

    // The client's runtime: the load generator's process.
    let client = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = client.block_on(async {
        let peer = |port: u16| {
            Peer::new(&Client::new("127.0.0.1", port), &BTreeMap::new())
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let targets = [
            ("grpc echo (the floor)", peer(echo_port)),
            ("gateway, pass-through executor", peer(pass_port)),
            ("gateway, Wasm no-op executor", peer(wasm_port)),
        ];
        // Warm every connection, then take turns in short rounds: this machine's latency
        // drifts by a fifth within a minute, and each setup must see the same drift.
        for (_, peer) in &targets {
            sequential(peer, 200).await;
        }
        in_process(&in_process_flow, 200).await;
        let mut rows: Vec<(&str, Vec<Duration>)> = Vec::new();
        for _ in 0..ROUNDS {
            for (label, peer) in &targets {
                rows.push((label, sequential(peer, count / ROUNDS).await));
            }
            rows.push((
                "in process, Wasm no-op (no hop)",
                in_process(&in_process_flow, count / ROUNDS).await,
            ));
        }
        rows
    });

    let mut merged: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for (label, times) in rows {
        merged.entry(label).or_default().extend(times);
    }
    for times in merged.values_mut() {
        times.sort();
    }
    let p50 = |label: &str| percentile(&merged[label], 0.5);
    println!(
        "{count} sequential one-document requests per setup, in {ROUNDS} alternating rounds\n"
    );
    println!("| setup | p50 | p90 | p99 |");
    println!("|---|---|---|---|");
    for (label, times) in &merged {
        println!(
            "| {label} | {:.0} µs | {:.0} µs | {:.0} µs |",
            percentile(times, 0.5).as_secs_f64() * 1e6,
            percentile(times, 0.9).as_secs_f64() * 1e6,
            percentile(times, 0.99).as_secs_f64() * 1e6
        );
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let floor = p50("grpc echo (the floor)");
    let hop = p50("gateway, Wasm no-op executor");
    println!(
        "\nthe remote call (hop + far side): {:.0} µs p50; its gRPC floor: {:.0} µs; flowhost's gateway adds {:.0} µs over the floor (the Wasm no-op itself, in process: {:.0} µs)",
        us(hop),
        us(floor),
        us(hop) - us(floor),
        us(p50("in process, Wasm no-op (no hop)"))
    );
    servers.block_on(async {
        for (gateway, running) in gateways {
            gateway.shutdown().await;
            running.close().await;
        }
        in_process_flow.close().await;
    });
}
