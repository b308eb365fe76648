//! Hardening: nothing a guest, a client or a remote peer sends can crash `flowhost run` or
//! make it hold unbounded resources. Each attack is made for real against the binary on
//! loopback, and each test checks both the clear refusal and that the process still serves.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::Bytes;
use flowhost_client::{Client, RequestError};
use flowhost_docs as docs;
use flowhost_wire::Protocol;
use flowhost_wire::proto::jina::DataRequestProto;
use futures::{SinkExt as _, StreamExt as _};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::Frame;
use prost::Message as _;
use serde_json::{Map, json};

use crate::gateway_support::{FlowServer, http_post, uses};

fn flow(extra_with: &str, executors: &str) -> String {
    format!(
        "jtype: Flow\nwith:\n  host: 127.0.0.1\n  protocol: [grpc, http, websocket]\n{extra_with}executors:\n{executors}"
    )
}

fn hostile_flow() -> String {
    flow(
        "",
        &format!("  - name: hostile\n    uses: {}\n", uses("hostile_output")),
    )
}

fn noop_flow(extra_with: &str) -> String {
    flow(
        extra_with,
        &format!("  - name: noop\n    uses: {}\n", uses("noop_executor")),
    )
}

/// A request for `endpoint` with `parameters`, on `protocol`, through the Rust client.
async fn post_one(
    port: u16,
    protocol: Protocol,
    endpoint: &str,
    parameters: serde_json::Value,
) -> Result<flowhost_wire::Response, RequestError> {
    let parameters = parameters.as_object().cloned().unwrap_or_default();
    let mut results = Client::new("127.0.0.1", port)
        .protocol(protocol)
        .post(endpoint, docs::empty_batch(), parameters)
        .await
        .unwrap_or_else(|e| panic!("{protocol:?} {endpoint}: the call itself fails: {e}"));
    results.pop().expect("one result")
}

const PROTOCOLS: [Protocol; 3] = [Protocol::Grpc, Protocol::Http, Protocol::Websocket];

#[tokio::test(flavor = "multi_thread")]
async fn guest_output_no_client_could_send_is_refused_naming_the_executor() {
    let server = FlowServer::start(&hostile_flow(), 3);
    let attacks = [
        ("/deep", json!({"depth": 5000}), "nests 81 levels deep"),
        (
            "/deep",
            json!({"depth": 5000, "kind": "matches"}),
            "nests 81 levels deep",
        ),
        ("/many-dims", json!({}), "has 10000 dimensions"),
        ("/short-tensor", json!({}), "has 8 bytes, but shape [2, 3]"),
        ("/overflow-shape", json!({}), "overflows"),
    ];
    for protocol in PROTOCOLS {
        let port = server.port(protocol);
        for (endpoint, parameters, problem) in &attacks {
            let error = post_one(port, protocol, endpoint, parameters.clone())
                .await
                .expect_err("refused");
            let RequestError::Executor(info) = &error else {
                panic!("{protocol:?} {endpoint}: {error:?}");
            };
            assert_eq!(info.name, "InvalidOutput", "{info:?}");
            assert_eq!(info.executor, "hostile", "{info:?}");
            assert!(
                info.description.contains(problem),
                "{protocol:?} {endpoint}: {}",
                info.description
            );
        }
    }
    // As deep as a client may send comes back whole, from the same (not poisoned) instance.
    let grpc = server.port(Protocol::Grpc);
    let answer = post_one(
        grpc,
        Protocol::Grpc,
        "/deep",
        json!({"depth": docs::MAX_DEPTH}),
    )
    .await
    .unwrap_or_else(|e| panic!("the deepest allowed tree over gRPC: {e:?}"));
    assert_eq!(answer.docs.nodes.len(), docs::MAX_DEPTH);
    assert_eq!(docs::validate(&answer.docs), Ok(()));
    // Over HTTP too (read as text: serde_json itself stops at 128 nested values).
    let body =
        json!({"data": [], "execEndpoint": "/deep", "parameters": {"depth": docs::MAX_DEPTH}});
    let (status, _, raw) = crate::gateway_support::http(
        server.port(Protocol::Http),
        &format!(
            "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.to_string().len()
        ),
    );
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(&format!("\"level-{}\"", docs::MAX_DEPTH - 1)));
    assert!(
        server.stop().success(),
        "the host stayed up and exits cleanly"
    );
}

/// An HTTP/2 connection to the gRPC port, for sending exactly the bytes a test wants.
async fn h2(port: u16) -> hyper::client::conn::http2::SendRequest<GrpcBody> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (sender, connection) =
        hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
            .handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    sender
}

type GrpcBody =
    StreamBody<futures::channel::mpsc::Receiver<Result<Frame<Bytes>, std::convert::Infallible>>>;

/// A gRPC call to `JinaRPC/Call` whose body is fed through the returned sender.
fn grpc_call(
    encoding: Option<&str>,
) -> (
    hyper::Request<GrpcBody>,
    futures::channel::mpsc::Sender<Result<Frame<Bytes>, std::convert::Infallible>>,
) {
    let (sender, receiver) = futures::channel::mpsc::channel(16);
    let mut request = hyper::Request::post("http://localhost/jina.JinaRPC/Call")
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(encoding) = encoding {
        request = request.header("grpc-encoding", encoding);
    }
    (
        request.body(StreamBody::new(receiver)).expect("request"),
        sender,
    )
}

/// The `grpc-status` and `grpc-message` a call ended with (headers or trailers).
async fn grpc_outcome(response: hyper::Response<hyper::body::Incoming>) -> (String, String) {
    let (parts, body) = response.into_parts();
    let mut status = parts.headers.get("grpc-status").cloned();
    let mut message = parts.headers.get("grpc-message").cloned();
    if status.is_none() {
        let collected = body.collect().await.expect("body");
        let trailers = collected.trailers().cloned().unwrap_or_default();
        status = trailers.get("grpc-status").cloned();
        message = trailers.get("grpc-message").cloned();
    }
    let text = |v: Option<hyper::http::HeaderValue>| {
        v.map(|v| {
            let raw = v.to_str().unwrap_or_default().to_owned();
            percent_decode(&raw)
        })
        .unwrap_or_default()
    };
    (text(status), text(message))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn frame(compressed: bool, payload: &[u8]) -> Bytes {
    let mut bytes = vec![u8::from(compressed)];
    bytes.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    bytes.extend_from_slice(payload);
    Bytes::from(bytes)
}

/// The resident memory of a process, from /proc.
fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024)
}

#[tokio::test(flavor = "multi_thread")]
async fn length_prefixes_declaring_gigabytes_reserve_nothing() {
    let server = FlowServer::start(&noop_flow(""), 3);
    let port = server.port(Protocol::Grpc);
    let before = rss_mib(server.pid());
    // Thousands of streams, each sending only a prefix that declares 4 GiB.
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let mut sender = h2(port).await;
        let mut calls = Vec::new();
        for _ in 0..500 {
            if sender.ready().await.is_err() {
                break;
            }
            let (request, mut body) = grpc_call(None);
            let mut prefix = vec![0u8];
            prefix.extend_from_slice(&u32::MAX.to_be_bytes());
            body.send(Ok(Frame::data(Bytes::from(prefix))))
                .await
                .expect("queued");
            calls.push((sender.send_request(request), body));
        }
        for (call, body) in calls {
            if let Ok(response) = call.await {
                outcomes.push(grpc_outcome(response).await);
            }
            drop(body);
        }
    }
    assert!(outcomes.len() >= 1000, "{} calls answered", outcomes.len());
    for (status, message) in &outcomes {
        assert_eq!(status, "8", "RESOURCE_EXHAUSTED: {message}");
        assert!(
            message.contains(
                "4294967295 bytes is larger than this flow's gRPC message limit (64.0 MiB"
            ),
            "{message}"
        );
    }
    let after = rss_mib(server.pid());
    assert!(
        after < before + 200,
        "RSS went from {before} to {after} MiB"
    );
    // Still serving.
    let answer = post_one(port, Protocol::Grpc, "/", json!({})).await;
    assert!(answer.is_ok(), "{answer:?}");
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compression_bomb_stops_at_the_size_limit() {
    let server = FlowServer::start(&noop_flow("  max_request_size: 1MiB\n"), 3);
    let port = server.port(Protocol::Grpc);
    // 200 MiB of zeros inside one text field, gzipped to a few hundred KiB.
    let request = DataRequestProto {
        data: Some(
            flowhost_wire::proto::jina::data_request_proto::DataContentProto {
                documents: Some(
                    flowhost_wire::proto::jina::data_request_proto::data_content_proto::Documents::DocsBytes(
                        vec![0u8; 200 << 20],
                    ),
                ),
            },
        ),
        ..Default::default()
    };
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(&request.encode_to_vec()).unwrap();
    let bomb = gzip.finish().unwrap();
    assert!(
        bomb.len() < 1 << 20,
        "the bomb itself is small: {}",
        bomb.len()
    );
    let before = rss_mib(server.pid());
    let mut sender = h2(port).await;
    let mut calls = Vec::new();
    for _ in 0..3 {
        sender.ready().await.expect("ready");
        let (request, mut body) = grpc_call(Some("gzip"));
        body.send(Ok(Frame::data(frame(true, &bomb))))
            .await
            .unwrap();
        calls.push((sender.send_request(request), body));
    }
    for (call, body) in calls {
        let (status, message) = grpc_outcome(call.await.expect("answered")).await;
        assert_eq!(status, "8", "{message}");
        assert!(
            message.contains("a message inflated of 1048577 bytes"),
            "{message}"
        );
        drop(body);
    }
    let after = rss_mib(server.pid());
    assert!(
        after < before + 100,
        "RSS went from {before} to {after} MiB"
    );
    // A compressed request within the limit still works.
    let mut doc = docs::document("small");
    doc.text = Some("a".repeat(100 << 10));
    let results = Client::new("127.0.0.1", port)
        .compression(flowhost_wire::Compression::Gzip)
        .post("/", docs::batch_of([doc]), Map::new())
        .await
        .expect("answered");
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_memory_budget_refuses_new_requests_once_spent() {
    let server = FlowServer::start(
        &noop_flow("  request_memory_budget: 3MiB\n  max_request_size: 2MiB\n"),
        3,
    );
    let http = server.port(Protocol::Http);
    let grpc = server.port(Protocol::Grpc);
    // One large request held in flight by a slow executor leaves too little for a second
    // one on any protocol (a JSON body is charged at 12 times its size: 150 KiB → 1.8 MiB).
    let big = |text: &str, endpoint: &str, sleep_ms: u64| {
        json!({"data": [{"text": text.repeat(150 << 10)}], "execEndpoint": endpoint,
               "parameters": {"sleep_ms": sleep_ms}})
        .to_string()
    };
    // Held long enough that the checks below finish while it is in flight, even when the
    // whole suite shares the two cores; the executor says when it has it.
    let body = big("x", "/slow", 8000);
    let held = std::thread::spawn(move || http_post(http, "/post", &body));
    server.wait_for_log("sleeping 8000 ms", Duration::from_secs(60));
    let (status, refused) = http_post(http, "/post", &big("y", "/", 0));
    assert_eq!(status, 503, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("request memory budget (3.0 MiB) is spent"),
        "{refused}"
    );
    let mut doc = docs::document("big");
    doc.text = Some("z".repeat(1500 << 10));
    let results = Client::new("127.0.0.1", grpc)
        .post("/", docs::batch_of([doc]), Map::new())
        .await;
    let error = match results {
        Ok(mut results) => format!("{:?}", results.pop()),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("request memory budget"), "{error}");
    // Once the first is answered, the budget is back.
    let (status, _) = held.join().unwrap();
    assert_eq!(status, 200);
    let (status, answer) = http_post(http, "/post", &big("y", "/", 0));
    assert_eq!(status, 200, "{answer}");
    // A JSON body that could never fit the budget is too large, not a busy gateway.
    let (status, answer) = http_post(http, "/post", &big("w", "/", 0).repeat(2));
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("request_memory_budget (3.0 MiB)"),
        "{answer}"
    );
    assert!(server.stop().success());
}

#[test]
fn oversized_slow_and_idle_http_clients_are_cut_off() {
    let server = FlowServer::start(
        &noop_flow("  max_request_size: 1KiB\n  read_timeout_ms: 300\n  idle_timeout_ms: 300\n"),
        3,
    );
    let port = server.port(Protocol::Http);
    // Too large: refused naming the setting, whether declared or streamed.
    let (status, answer) = http_post(port, "/post", &"x".repeat(2048));
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("max_request_size (1.0 KiB)"),
        "{answer}"
    );
    // A body dribbled a byte at a time is cut at the read deadline.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        slow,
        "POST /post HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    )
    .unwrap();
    let started = Instant::now();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("read_timeout_ms (300 ms)"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Headers that never finish (slowloris): the connection is closed.
    let mut loris = TcpStream::connect(("127.0.0.1", port)).unwrap();
    loris
        .write_all(b"POST /post HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    loris
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = loris.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // An idle connection is closed; a busy one is not.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let read = idle.read(&mut [0u8; 16]).unwrap_or(0);
    assert_eq!(read, 0, "closed without a word");
    assert!(started.elapsed() < Duration::from_secs(5));
    let body =
        json!({"data": [], "execEndpoint": "/slow", "parameters": {"sleep_ms": 1000}}).to_string();
    let (status, answer) = http_post(port, "/post", &body);
    assert_eq!(
        status, 200,
        "a request longer than the idle timeout is answered: {answer}"
    );
    assert!(server.stop().success());
}

#[test]
fn connections_past_the_limit_are_closed_and_the_rest_served() {
    let server = FlowServer::start(&noop_flow("  max_connections: 4\n"), 3);
    let port = server.port(Protocol::Http);
    let held: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    // The accept loop takes connections in order; the fifth finds no slot.
    let mut fifth = TcpStream::connect(("127.0.0.1", port)).unwrap();
    fifth
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(fifth.read(&mut [0u8; 1]).unwrap_or(0), 0);
    drop(held);
    // Slots come back as connections close.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut probe = TcpStream::connect(("127.0.0.1", port)).unwrap();
        probe
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = probe.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut answer = String::new();
        let _ = probe.read_to_string(&mut answer);
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "no slot came back");
    }
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_executor_that_never_answers_fails_at_timeout_send() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    // Accepts, then says nothing.
    let accepted = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().take(2) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    let server = FlowServer::start(
        &flow(
            "",
            &format!(
                "  - name: far\n    external: true\n    host: 127.0.0.1\n    port: {silent_port}\n    timeout_send: 500\n"
            ),
        ),
        3,
    );
    let started = Instant::now();
    let error = post_one(server.port(Protocol::Grpc), Protocol::Grpc, "/", json!({}))
        .await
        .expect_err("no answer");
    let took = started.elapsed();
    let RequestError::Executor(info) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(info.executor, "far");
    assert!(
        info.description
            .contains("within its timeout_send of 500 ms"),
        "{}",
        info.description
    );
    assert!(took < Duration::from_secs(3), "failed after {took:?}");
    assert!(server.stop().success());
    drop(accepted);
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_tells_stream_clients_what_was_not_taken() {
    // Two replicas, so both slow requests are running (and say so) when SIGTERM comes.
    let two_replicas = format!(
        "  - name: noop\n    uses: {}\n    replicas: 2\n",
        uses("noop_executor")
    );
    let server = FlowServer::start(&flow("", &two_replicas), 3);
    let grpc = server.port(Protocol::Grpc);
    let ws = server.port(Protocol::Websocket);

    // gRPC: a Call stream that stays open, one request in flight when SIGTERM comes.
    let mut sender = h2(grpc).await;
    let (request, mut body) = grpc_call(None);
    let slow = flowhost_wire::protobuf::request_to_proto(
        &flowhost_wire::Request::new("/slow", docs::empty_batch())
            .with_parameters(json!({"sleep_ms": 800}).as_object().cloned().unwrap()),
    );
    body.send(Ok(Frame::data(frame(false, &slow.encode_to_vec()))))
        .await
        .unwrap();
    let call = sender.send_request(request);

    // WebSocket (JSON): likewise.
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{ws}/"))
        .await
        .expect("websocket");
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            json!({"data": [], "execEndpoint": "/slow", "parameters": {"sleep_ms": 800}})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    for _ in 0..2 {
        server.wait_for_log("sleeping 800 ms", Duration::from_secs(30));
    }
    crate::gateway_support::signal_term(server.pid());

    let response = call.await.expect("answered");
    let (parts, incoming) = response.into_parts();
    assert_eq!(parts.status, 200);
    let collected = incoming.collect().await.expect("body");
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let data = collected.to_bytes();
    let reply = DataRequestProto::decode(&data[5..]).expect("the request in flight was answered");
    assert!(reply.header.unwrap().status.is_none());
    assert_eq!(trailers.get("grpc-status").unwrap(), "14", "UNAVAILABLE");
    let message = percent_decode(trailers.get("grpc-message").unwrap().to_str().unwrap());
    assert!(message.contains("the flow is shutting down"), "{message}");
    drop(body);

    let mut answered = false;
    let mut close = None;
    while let Some(Ok(message)) = socket.next().await {
        match message {
            tokio_tungstenite::tungstenite::Message::Text(_) => answered = true,
            tokio_tungstenite::tungstenite::Message::Close(frame) => {
                close = frame;
                break;
            }
            _ => {}
        }
    }
    assert!(answered, "the WebSocket request in flight was answered");
    let close = close.expect("a close frame");
    assert_eq!(u16::from(close.code), 1001, "going away");
    assert!(close.reason.contains("shutting down"), "{}", close.reason);
    assert!(server.stop().success());
}
