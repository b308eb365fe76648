//! The gateway's own ceiling: a Rust load generator against a running `flowhost run`
//! (or any Jina-protocol gateway) serving `/foo` unchanged.
//!
//! `cargo bench -p flowhost --bench gateway_load -- --grpc 127.0.0.1:PORT [--http 127.0.0.1:PORT]`
//!
//! Scenarios (the reference harness's, with a Rust client): `seq1` (sequential unary calls,
//! one document each), `stream1` (one `Call` stream of 1-document requests, 1000 in flight),
//! `stream1x4` (four such streams at once), `emb` (20,000 documents with 512 float32 each,
//! 100 a request, 100 in flight), `seq1_http` (sequential `POST /post` on one keep-alive
//! connection). Prints one JSON object per scenario.

use std::time::{Duration, Instant};

use bytes::Bytes;
use flowhost::docs::{self, Dtype, Tensor};
use flowhost::gateway::convert;
use flowhost::proto::jina::DataRequestProto;
use flowhost::proto::jina::jina_rpc_client::JinaRpcClient;
use flowhost::proto::jina::jina_single_data_request_rpc_client::JinaSingleDataRequestRpcClient;
use flowhost::router::Request;
use http_body_util::{BodyExt as _, Full};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

fn request(docs: docs::DocumentBatch) -> DataRequestProto {
    convert::request_to_proto(&Request::new("/foo", docs))
}

fn one_doc() -> DataRequestProto {
    let mut doc = docs::document(docs::json::random_id());
    doc.text = Some("hello".into());
    request(docs::batch_of([doc]))
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

async fn seq1(channel: Channel, n: usize) -> serde_json::Value {
    let mut rpc = JinaSingleDataRequestRpcClient::new(channel);
    for _ in 0..50 {
        rpc.process_single_data(one_doc()).await.expect("warm-up");
    }
    let mut latencies = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        rpc.process_single_data(one_doc()).await.expect("reply");
        latencies.push(t.elapsed());
    }
    let wall = start.elapsed().as_secs_f64();
    latencies.sort();
    json!({"scenario": "seq1", "n": n, "rps": n as f64 / wall,
           "p50_ms": percentile(&latencies, 0.5), "p99_ms": percentile(&latencies, 0.99)})
}

/// One `Call` stream with `window` requests in flight; returns the wall time.
async fn stream(channel: Channel, requests: Vec<DataRequestProto>, window: usize) -> f64 {
    let total = requests.len();
    let mut rpc = JinaRpcClient::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
    let (tx, rx) = mpsc::channel(window);
    let mut pending = requests.into_iter();
    let start = Instant::now();
    for message in pending.by_ref().take(window) {
        tx.send(message).await.expect("queue");
    }
    let mut replies = rpc
        .call(ReceiverStream::new(rx))
        .await
        .expect("call")
        .into_inner();
    let mut tx = Some(tx);
    for _ in 0..total {
        replies.message().await.expect("reply").expect("a reply");
        match (pending.next(), &tx) {
            (Some(message), Some(sender)) => sender.send(message).await.expect("queue"),
            _ => tx = None,
        }
    }
    start.elapsed().as_secs_f64()
}

async fn seq1_http(address: &str, n: usize) -> serde_json::Value {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let body = Bytes::from_static(br#"{"data": [{"text": "hello"}], "execEndpoint": "/foo"}"#);
    let mut latencies = Vec::with_capacity(n);
    let mut start = Instant::now();
    for i in 0..n + 50 {
        if i == 50 {
            start = Instant::now();
        }
        let t = Instant::now();
        sender.ready().await.expect("connection ready");
        let request = hyper::Request::post("/post")
            .header("host", address)
            .header("content-type", "application/json")
            .body(Full::new(body.clone()))
            .expect("request");
        let response = sender.send_request(request).await.expect("response");
        assert_eq!(response.status(), 200);
        response.into_body().collect().await.expect("body");
        if i >= 50 {
            latencies.push(t.elapsed());
        }
    }
    let wall = start.elapsed().as_secs_f64();
    latencies.sort();
    json!({"scenario": "seq1_http", "n": n, "rps": n as f64 / wall,
           "p50_ms": percentile(&latencies, 0.5), "p99_ms": percentile(&latencies, 0.99)})
}

fn embeddings(n: usize, dim: usize, per_request: usize) -> Vec<DataRequestProto> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..n.div_ceil(per_request))
        .map(|r| {
            let count = per_request.min(n - r * per_request);
            let batch = docs::batch_of((0..count).map(|_| {
                let mut doc = docs::document(docs::json::random_id());
                doc.embedding = Some(Tensor {
                    dtype: Dtype::Float32,
                    shape: vec![dim as u32],
                    data: (0..dim).flat_map(|_| next().to_le_bytes()).collect(),
                });
                doc
            }));
            request(batch)
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let mut grpc = None;
    let mut http = None;
    let mut n = 20_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--grpc" => grpc = args.next(),
            "--http" => http = args.next(),
            "--n" => n = args.next().and_then(|v| v.parse().ok()).unwrap_or(n),
            _ => {} // `cargo bench` adds `--bench`.
        }
    }
    if let Some(address) = &grpc {
        let channel = Channel::from_shared(format!("http://{address}"))
            .expect("address")
            .tcp_nodelay(true)
            .initial_stream_window_size(2 << 20)
            .initial_connection_window_size(8 << 20)
            .connect()
            .await
            .expect("connect");
        println!("{}", seq1(channel.clone(), n.min(5000)).await);
        let _ = stream(
            channel.clone(),
            (0..1000).map(|_| one_doc()).collect(),
            1000,
        )
        .await;
        let wall = stream(channel.clone(), (0..n).map(|_| one_doc()).collect(), 1000).await;
        println!(
            "{}",
            json!({"scenario": "stream1", "n": n, "rps": n as f64 / wall})
        );
        let mut streams = Vec::new();
        let start = Instant::now();
        for _ in 0..4 {
            let channel = Channel::from_shared(format!("http://{address}"))
                .expect("address")
                .initial_stream_window_size(2 << 20)
                .initial_connection_window_size(8 << 20)
                .connect()
                .await
                .expect("connect");
            let requests = (0..n).map(|_| one_doc()).collect();
            streams.push(tokio::spawn(stream(channel, requests, 1000)));
        }
        for s in streams {
            s.await.expect("stream");
        }
        let wall = start.elapsed().as_secs_f64();
        println!(
            "{}",
            json!({"scenario": "stream1x4", "n": 4 * n, "rps": (4 * n) as f64 / wall})
        );
        let _ = stream(channel.clone(), embeddings(1000, 512, 100), 100).await;
        let requests = embeddings(20_000, 512, 100);
        let wall = stream(channel, requests, 100).await;
        println!(
            "{}",
            json!({"scenario": "emb", "n": 20_000, "docs_per_s": 20_000.0 / wall,
                   "mb_per_s_one_way": 20_000.0 * 512.0 * 4.0 / wall / 1e6})
        );
    }
    if let Some(address) = &http {
        println!("{}", seq1_http(address, n.min(5000)).await);
    }
}
