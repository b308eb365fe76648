//! The gateway's own ceiling: a Rust load generator against a running `flowhost run`
//! (or any Jina-protocol gateway) serving `/foo` unchanged.
//!
//! `cargo bench -p flowhost --bench gateway_load -- --grpc 127.0.0.1:PORT [--http 127.0.0.1:PORT]`
//!
//! Scenarios (the reference harness's, with a Rust client): `seq1` (sequential unary calls,
//! one document each), `stream1` (one `Call` stream of 1-document requests, 1000 in flight),
//! `stream1x4` (four such streams at once), `emb` (20,000 documents with 512 float32 each,
//! 100 a request, 100 in flight), `emb_raw` (the same with requests encoded beforehand and
//! only each reply's header decoded: the gateway's ceiling when the load generator shares
//! its cores), `emb_floor` (no gateway: the same bytes echoed over loopback TCP by a
//! server that does nothing else, the most any gateway could answer here; only with
//! `--only emb_floor`), `seq1_http` (sequential `POST /post` on one keep-alive
//! connection), `emb_http` (the `emb` documents as Jina's JSON, 100 a `POST /post`,
//! sequential on one keep-alive connection: the JSON reader and writer at work). Prints one
//! JSON object per scenario; `--only NAME[,NAME...]` runs those. Pointed at the do-nothing
//! servers of `--bench floor_server`, the same scenarios measure the floors under the gateway.

use std::time::{Duration, Instant};

use bytes::Bytes;
use flowhost_docs::{self as docs, Dtype, Tensor};
use flowhost_wire::Request;
use flowhost_wire::proto::jina::DataRequestProto;
use flowhost_wire::proto::jina::jina_single_data_request_rpc_client::JinaSingleDataRequestRpcClient;
use flowhost_wire::protobuf as convert;
use http_body_util::{BodyExt as _, Full};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

fn request(docs: docs::DocumentBatch) -> DataRequestProto {
    convert::request_to_proto(&Request::new("/foo", docs))
}

fn one_doc() -> DataRequestProto {
    let mut doc = docs::document(docs::new_id());
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
    let codec = flowhost_wire::codec::JinaCodec::<DataRequestProto, DataRequestProto>::default();
    pipelined(channel, requests, window, codec, |_| ()).await
}

/// Sends `requests` on one `Call` stream through `codec`, keeping `window` in flight, hands
/// each reply to `check`; returns the wall time.
async fn pipelined<C>(
    channel: Channel,
    requests: Vec<C::Encode>,
    window: usize,
    codec: C,
    check: impl Fn(C::Decode),
) -> f64
where
    C: tonic::codec::Codec,
    C::Encode: Sync + std::fmt::Debug,
    C::Decode: Sync,
{
    let total = requests.len();
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
    let (tx, rx) = mpsc::channel(window);
    let mut pending = requests.into_iter();
    let start = Instant::now();
    for message in pending.by_ref().take(window) {
        tx.send(message).await.expect("queue");
    }
    grpc.ready().await.expect("channel ready");
    let mut replies = grpc
        .streaming(
            tonic::Request::new(ReceiverStream::new(rx)),
            tonic::codegen::http::uri::PathAndQuery::from_static("/jina.JinaRPC/Call"),
            codec,
        )
        .await
        .expect("call")
        .into_inner();
    let mut tx = Some(tx);
    for _ in 0..total {
        check(replies.message().await.expect("reply").expect("a reply"));
        match (pending.next(), &tx) {
            (Some(message), Some(sender)) => sender.send(message).await.expect("queue"),
            _ => tx = None,
        }
    }
    start.elapsed().as_secs_f64()
}

/// Sends pre-encoded `DataRequestProto`s and reads only each reply's header, so a
/// load generator sharing the machine spends its CPU on the transport, not on protobuf.
mod raw {
    use bytes::{Buf as _, BufMut as _, Bytes};
    use flowhost_wire::proto::jina::HeaderProto;
    use tonic::Status;
    use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

    /// A reply with everything but its header skipped by the decoder.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ReplyHeader {
        #[prost(message, optional, tag = "1")]
        pub header: Option<HeaderProto>,
    }

    #[derive(Default)]
    pub struct RawCodec;

    pub struct RawEncoder;
    pub struct HeaderDecoder;

    impl Codec for RawCodec {
        type Encode = Bytes;
        type Decode = ReplyHeader;
        type Encoder = RawEncoder;
        type Decoder = HeaderDecoder;
        fn encoder(&mut self) -> RawEncoder {
            RawEncoder
        }
        fn decoder(&mut self) -> HeaderDecoder {
            HeaderDecoder
        }
    }

    impl Encoder for RawEncoder {
        type Item = Bytes;
        type Error = Status;
        fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
            dst.put_slice(&item);
            Ok(())
        }
    }

    impl Decoder for HeaderDecoder {
        type Item = ReplyHeader;
        type Error = Status;
        fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<ReplyHeader>, Status> {
            let reply = <ReplyHeader as prost::Message>::decode(&mut *src)
                .map_err(|e| Status::internal(e.to_string()))?;
            src.advance(src.remaining());
            Ok(Some(reply))
        }
    }
}

/// [`stream`] with pre-encoded requests and header-only replies; returns the wall time.
async fn stream_raw(channel: Channel, requests: Vec<Bytes>, window: usize) -> f64 {
    pipelined(channel, requests, window, raw::RawCodec, |reply| {
        let failed = reply
            .header
            .and_then(|h| h.status)
            .is_some_and(|s| s.code != 0);
        assert!(!failed, "the gateway answered an error");
    })
    .await
}

type HttpSender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn http_connect(address: &str) -> HttpSender {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    sender
}

async fn http_post(sender: &mut HttpSender, address: &str, body: Bytes) -> Bytes {
    sender.ready().await.expect("connection ready");
    let request = hyper::Request::post("/post")
        .header("host", address)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

async fn emb_http(address: &str) -> serde_json::Value {
    let mut sender = http_connect(address).await;
    let bodies: Vec<Bytes> = embeddings(2_000, 512, 100)
        .into_iter()
        .map(|message| {
            let request = convert::request_from_proto(message).expect("a valid request");
            let data = flowhost_wire::json::documents::batch_to_json(&request.docs);
            Bytes::from(json!({"data": data, "execEndpoint": "/foo"}).to_string())
        })
        .collect();
    let bytes: usize = bodies.iter().map(Bytes::len).sum();
    http_post(&mut sender, address, bodies[0].clone()).await;
    let start = Instant::now();
    for body in &bodies {
        http_post(&mut sender, address, body.clone()).await;
    }
    let wall = start.elapsed().as_secs_f64();
    json!({"scenario": "emb_http", "n": 2_000, "docs_per_s": 2_000.0 / wall,
           "request_mib_per_s": bytes as f64 / wall / (1 << 20) as f64})
}

async fn seq1_http(address: &str, n: usize) -> serde_json::Value {
    let mut sender = http_connect(address).await;
    let body = Bytes::from_static(br#"{"data": [{"text": "hello"}], "execEndpoint": "/foo"}"#);
    let mut latencies = Vec::with_capacity(n);
    let mut start = Instant::now();
    for i in 0..n + 50 {
        if i == 50 {
            start = Instant::now();
        }
        let t = Instant::now();
        http_post(&mut sender, address, body.clone()).await;
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
                let mut doc = docs::document(docs::new_id());
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

async fn connect(address: &str) -> Channel {
    Channel::from_shared(format!("http://{address}"))
        .expect("address")
        .tcp_nodelay(true)
        .initial_stream_window_size(2 << 20)
        .initial_connection_window_size(8 << 20)
        .connect()
        .await
        .expect("connect")
}

async fn stream1(channel: Channel, n: usize) -> serde_json::Value {
    let _ = stream(
        channel.clone(),
        (0..1000).map(|_| one_doc()).collect(),
        1000,
    )
    .await;
    let wall = stream(channel, (0..n).map(|_| one_doc()).collect(), 1000).await;
    json!({"scenario": "stream1", "n": n, "rps": n as f64 / wall})
}

async fn stream1x4(address: &str, n: usize) -> serde_json::Value {
    let mut streams = Vec::new();
    let start = Instant::now();
    for _ in 0..4 {
        let channel = connect(address).await;
        let requests = (0..n).map(|_| one_doc()).collect();
        streams.push(tokio::spawn(stream(channel, requests, 1000)));
    }
    for s in streams {
        s.await.expect("stream");
    }
    let wall = start.elapsed().as_secs_f64();
    json!({"scenario": "stream1x4", "n": 4 * n, "rps": (4 * n) as f64 / wall})
}

async fn emb(channel: Channel) -> serde_json::Value {
    let _ = stream(channel.clone(), embeddings(1000, 512, 100), 100).await;
    let wall = stream(channel, embeddings(20_000, 512, 100), 100).await;
    json!({"scenario": "emb", "n": 20_000, "docs_per_s": 20_000.0 / wall,
           "mb_per_s_one_way": 20_000.0 * 512.0 * 4.0 / wall / 1e6})
}

async fn emb_raw(channel: Channel) -> serde_json::Value {
    let encode = |requests: Vec<DataRequestProto>| -> Vec<Bytes> {
        requests
            .iter()
            .map(|r| Bytes::from(prost::Message::encode_to_vec(r)))
            .collect()
    };
    let _ = stream_raw(channel.clone(), encode(embeddings(1000, 512, 100)), 100).await;
    let wall = stream_raw(channel, encode(embeddings(20_000, 512, 100)), 100).await;
    json!({"scenario": "emb_raw", "n": 20_000, "docs_per_s": 20_000.0 / wall,
           "mb_per_s_one_way": 20_000.0 * 512.0 * 4.0 / wall / 1e6})
}

/// The floor under any gateway on this machine: the `emb` requests, already encoded, echoed
/// back byte for byte over loopback TCP by a server that does nothing else (blocking sockets,
/// one thread per direction, `connections` connections sharing the requests). No protocol,
/// no parsing, no executor: the kernel's copies and the two cores alone.
fn emb_floor(connections: usize) -> serde_json::Value {
    use std::io::{Read as _, Write as _};
    use std::net::{TcpListener, TcpStream};

    let requests: Vec<Vec<u8>> = embeddings(20_000, 512, 100)
        .iter()
        .map(prost::Message::encode_to_vec)
        .collect();
    let size = requests[0].len();
    let per_connection = requests.len() / connections;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.expect("accept");
            std::thread::spawn(move || {
                stream.set_nodelay(true).expect("nodelay");
                let mut buffer = vec![0u8; size];
                while stream.read_exact(&mut buffer).is_ok() {
                    stream.write_all(&buffer).expect("echo");
                }
            });
        }
    });
    let start = Instant::now();
    let mut threads = Vec::new();
    for c in 0..connections {
        let reader = TcpStream::connect(address).expect("connect");
        reader.set_nodelay(true).expect("nodelay");
        let mut writer = reader.try_clone().expect("clone");
        let mine: Vec<Vec<u8>> = requests[c * per_connection..(c + 1) * per_connection].to_vec();
        threads.push(std::thread::spawn(move || {
            for request in &mine {
                writer.write_all(request).expect("send");
            }
        }));
        let mut reader = reader;
        threads.push(std::thread::spawn(move || {
            let mut buffer = vec![0u8; size];
            for _ in 0..per_connection {
                reader.read_exact(&mut buffer).expect("receive");
            }
        }));
    }
    for thread in threads {
        thread.join().expect("echo thread");
    }
    let wall = start.elapsed().as_secs_f64();
    let docs = (per_connection * connections * 100) as f64;
    json!({"scenario": "emb_floor", "connections": connections, "docs_per_s": docs / wall,
           "mb_per_s_one_way": docs * 2048.0 / wall / 1e6})
}

#[tokio::main]
async fn main() {
    let mut grpc = None;
    let mut http = None;
    let mut n = 20_000usize;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--grpc" => grpc = args.next(),
            "--http" => http = args.next(),
            "--only" => only = args.next(),
            "--n" => n = args.next().and_then(|v| v.parse().ok()).unwrap_or(n),
            _ => {} // `cargo bench` adds `--bench`.
        }
    }
    let run = |scenario: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|name| name == scenario))
    };
    if let Some(address) = &grpc {
        let channel = connect(address).await;
        if run("seq1") {
            println!("{}", seq1(channel.clone(), n.min(5000)).await);
        }
        if run("stream1") {
            println!("{}", stream1(channel.clone(), n).await);
        }
        if run("stream1x4") {
            println!("{}", stream1x4(address, n).await);
        }
        if run("emb") {
            println!("{}", emb(channel.clone()).await);
        }
        if run("emb_raw") {
            println!("{}", emb_raw(channel).await);
        }
    }
    if only.is_some() && run("emb_floor") {
        for connections in [1, 2] {
            println!("{}", emb_floor(connections));
        }
    }
    if let Some(address) = &http
        && run("seq1_http")
    {
        println!("{}", seq1_http(address, n.min(5000)).await);
    }
    if let Some(address) = &http
        && run("emb_http")
    {
        println!("{}", emb_http(address).await);
    }
}
