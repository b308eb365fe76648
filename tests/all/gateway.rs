//! The gateway end to end: `flowhost run` as a real process on loopback, talked to with curl,
//! the Rust client, the stock Jina Python client, raw bytes and a standard OpenAPI validator.

use std::io::Write as _;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use flowhost_client::{Client, RequestError};
use flowhost_docs::{self as docs, Dtype, Tensor};
use flowhost_wire::{Compression, Protocol};
use serde_json::{Map, Value, json};

use crate::gateway_support::{
    FlowServer, flowhost_bin, http, http_get, http_post, jina_client, jina_python, uses,
    wait_with_timeout,
};

/// foo_executor (appends a document) then noop_executor, on every protocol.
fn example_flow(extra_with: &str) -> String {
    format!(
        "jtype: Flow\nwith:\n  host: 127.0.0.1\n  protocol: [grpc, http, websocket]\n{extra_with}\
         executors:\n  - name: foo\n    uses: {}\n  - name: noop\n    uses: {}\n",
        uses("foo_executor"),
        uses("noop_executor"),
    )
}

fn trap_flow() -> String {
    format!(
        "jtype: Flow\nwith:\n  host: 127.0.0.1\n  protocol: [grpc, http, websocket]\n\
         executors:\n  - name: trap\n    uses: {}\n",
        uses("trap_guest"),
    )
}

fn text_batch(n: usize) -> docs::DocumentBatch {
    docs::batch_of((0..n).map(|i| {
        let mut doc = docs::document(format!("doc{i}"));
        doc.text = Some(format!("text {i}"));
        doc.tags = Some(json!({"i": i}).to_string());
        doc.embedding = Some(Tensor {
            dtype: Dtype::Float32,
            shape: vec![3],
            data: [i as f32, 1.0, 2.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        });
        doc
    }))
}

#[test]
fn the_seed_curl_line_works_against_flowhost_run() {
    let server = FlowServer::start(&example_flow(""), 3);
    assert!(
        server.banner.contains("Flow is ready to use"),
        "{}",
        server.banner
    );
    assert!(server.banner.contains("Swagger UI"), "{}", server.banner);
    let port = server.port(Protocol::Http);
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--request", "POST"])
        .arg(format!("http://localhost:{port}/post"))
        .args(["--header", "Content-Type: application/json", "-d"])
        .arg(r#"{"data": [{"text": "hello world"}],"execEndpoint": "/index"}"#)
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "{output:?}");
    let answer: Value = serde_json::from_slice(&output.stdout).expect("JSON answer");
    assert_eq!(answer["header"]["execEndpoint"], json!("/index"));
    assert_eq!(answer["header"]["status"], Value::Null);
    assert_eq!(answer["header"]["requestId"].as_str().unwrap().len(), 32);
    assert_eq!(answer["data"][0]["text"], json!("hello world"));
    assert_eq!(
        answer["data"][1]["text"],
        json!("foo was here and got 1 document")
    );
    assert_eq!(
        answer["data"][0]["embedding"],
        Value::Null,
        "unset fields are null"
    );
    let routes: Vec<&str> = answer["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["executor"].as_str().unwrap())
        .collect();
    assert_eq!(routes, ["gateway", "foo", "noop"]);
    assert!(
        answer["routes"][0]["startTime"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rust_client_speaks_every_protocol() {
    let server = FlowServer::start(&example_flow(""), 3);
    for protocol in Protocol::ALL {
        let client = Client::new("127.0.0.1", server.port(protocol))
            .protocol(protocol)
            .request_size(2)
            .prefetch(2);
        assert!(client.dry_run().await.unwrap(), "{protocol:?} dry run");
        let mut parameters = Map::new();
        parameters.insert("k".into(), json!(1));
        let results = client
            .post("/index", text_batch(5), parameters)
            .await
            .unwrap();
        assert_eq!(
            results.len(),
            3,
            "{protocol:?}: 5 documents in requests of 2"
        );
        for (i, result) in results.into_iter().enumerate() {
            let response = result.unwrap_or_else(|e| panic!("{protocol:?}: {e}"));
            let texts: Vec<String> = docs::roots(&response.docs)
                .map(|d| d.text.clone().unwrap_or_default())
                .collect();
            let sent = if i < 2 { 2 } else { 1 };
            assert_eq!(texts.len(), sent + 1, "{protocol:?}: {texts:?}");
            assert_eq!(texts[sent], format!("foo was here and got {sent} document"));
            let first = docs::roots(&response.docs).next().unwrap();
            assert_eq!(first.id, format!("doc{}", i * 2));
            let embedding = first.embedding.as_ref().unwrap();
            assert_eq!(embedding.shape, vec![3]);
            // JSON carries no dtype: HTTP answers lists of numbers, read back as float64.
            if protocol != Protocol::Http {
                assert_eq!(embedding.dtype, Dtype::Float32, "{protocol:?}");
            }
            let values = docs::tensor_values(embedding);
            assert_eq!(values, [(i * 2) as f64, 1.0, 2.0], "{protocol:?}");
            assert_eq!(response.parameters["k"].as_f64(), Some(1.0));
        }
    }
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn executor_errors_reach_each_request_on_every_protocol() {
    let server = FlowServer::start(&trap_flow(), 3);
    for protocol in Protocol::ALL {
        let client = Client::new("127.0.0.1", server.port(protocol)).protocol(protocol);
        let results = client
            .post("/error", text_batch(1), Map::new())
            .await
            .unwrap();
        match &results[0] {
            Err(RequestError::Executor(info)) => {
                assert_eq!(info.name, "ValueError", "{protocol:?}");
                assert_eq!(info.args, ["bad input"], "{protocol:?}");
                assert_eq!(info.executor, "trap");
            }
            other => panic!("{protocol:?}: {other:?}"),
        }
    }
    // Over HTTP, Jina answers 200 with the error in header.status (seen with the harness).
    let (status, answer) = http_post(
        server.port(Protocol::Http),
        "/post",
        r#"{"data": [{"text": "x"}], "execEndpoint": "/error"}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(answer["header"]["status"]["code"], json!(1));
    assert_eq!(
        answer["header"]["status"]["exception"]["name"],
        json!("ValueError")
    );
    assert_eq!(
        answer["header"]["status"]["exception"]["args"],
        json!(["bad input"])
    );
    assert!(server.stop().success());
}

#[test]
fn the_stock_jina_client_gets_back_what_the_executors_did() {
    let python = jina_python();
    assert!(python.is_file());
    let server = FlowServer::start(&example_flow(""), 3);
    for protocol in Protocol::ALL {
        let port = server.port(protocol).to_string();
        let out = jina_client(&[
            "--port",
            &port,
            "--protocol",
            protocol.as_str(),
            "roundtrip",
        ]);
        assert!(out.contains("roundtrip ok"), "{out}");
    }
    assert!(server.stop().success());

    let server = FlowServer::start(&trap_flow(), 3);
    for protocol in Protocol::ALL {
        let port = server.port(protocol).to_string();
        let out = jina_client(&["--port", &port, "--protocol", protocol.as_str(), "error"]);
        assert!(out.contains("error ok"), "{out}");
        assert!(out.contains("ValueError"), "{out}");
    }
    assert!(server.stop().success());
}

pub(crate) fn write_certificate(dir: &std::path::Path) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_a_certificate_made_for_the_test() {
    let flow = example_flow("  ssl_certfile: cert.pem\n  ssl_keyfile: key.pem\n");
    let server = FlowServer::start_with(&flow, 3, write_certificate);
    let ca = server.path("cert.pem");
    for protocol in Protocol::ALL {
        let client = Client::new("localhost", server.port(protocol))
            .protocol(protocol)
            .tls_ca(&ca);
        let results = client
            .post("/index", text_batch(2), Map::new())
            .await
            .unwrap_or_else(|e| panic!("{protocol:?}: {e}"));
        let response = results.into_iter().next().unwrap().unwrap();
        assert_eq!(docs::roots(&response.docs).count(), 3, "{protocol:?}");
    }
    // Plain text on a TLS port gets nowhere, and the port keeps serving.
    let plain = Client::new("127.0.0.1", server.port(Protocol::Http)).protocol(Protocol::Http);
    let results = plain.post("/index", text_batch(1), Map::new()).await;
    assert!(!matches!(results.as_deref(), Ok([Ok(_)])), "{results:?}");
    let client = Client::new("localhost", server.port(Protocol::Grpc)).tls_ca(&ca);
    assert!(client.dry_run().await.unwrap());
    let ca_text = ca.display().to_string();
    let port = server.port(Protocol::Grpc).to_string();
    let out = jina_client(&[
        "--host",
        "localhost",
        "--port",
        &port,
        "--tls",
        "--ca",
        &ca_text,
        "roundtrip",
    ]);
    assert!(out.contains("roundtrip ok"), "{out}");
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_compression_when_the_flow_asks() {
    use flowhost_wire::proto::jina::jina_rpc_client::JinaRpcClient;
    use tonic::codec::CompressionEncoding;

    for (name, compression, encoding) in [
        ("Gzip", Compression::Gzip, CompressionEncoding::Gzip),
        (
            "Deflate",
            Compression::Deflate,
            CompressionEncoding::Deflate,
        ),
    ] {
        let server = FlowServer::start(&example_flow(&format!("  compression: {name}\n")), 3);
        let port = server.port(Protocol::Grpc);
        // The gateway compresses its answers: the reply says which encoding it used.
        let mut rpc = JinaRpcClient::new(grpc_channel(port).await)
            .send_compressed(encoding)
            .accept_compressed(encoding);
        let request = flowhost_wire::protobuf::request_to_proto(&flowhost_wire::Request::new(
            "/index",
            text_batch(3),
        ));
        let reply = rpc
            .call(futures::stream::iter(vec![request]))
            .await
            .unwrap();
        let used = reply
            .metadata()
            .get("grpc-encoding")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(used.as_deref(), Some(name.to_ascii_lowercase().as_str()));
        let mut stream = reply.into_inner();
        let answer = stream.message().await.unwrap().unwrap();
        let docs = match answer.data.unwrap().documents.unwrap() {
            flowhost_wire::proto::jina::data_request_proto::data_content_proto::Documents::Docs(
                d,
            ) => d.docs,
            other => panic!("{other:?}"),
        };
        assert_eq!(docs.len(), 4);
        // The Rust client and Jina's client with compression.
        let client = Client::new("127.0.0.1", port).compression(compression);
        let results = client
            .post("/index", text_batch(2), Map::new())
            .await
            .unwrap();
        assert!(results[0].is_ok());
        let out = jina_client(&[
            "--port",
            &port.to_string(),
            "--compression",
            name,
            "roundtrip",
        ]);
        assert!(out.contains("roundtrip ok"), "{out}");
        assert!(server.stop().success());
    }
}

#[test]
fn openapi_swagger_redoc_cors_and_exposed_endpoints() {
    let flow = example_flow(
        "  cors: true\n  title: Test flow\n  expose_endpoints:\n    /foo:\n      methods: [POST]\n      summary: my endpoint\n      description: foo things\n",
    );
    let server = FlowServer::start(&flow, 3);
    let port = server.port(Protocol::Http);
    let (status, _, body) = http_get(port, "/openapi.json");
    assert_eq!(status, 200);
    let document: Value = serde_json::from_slice(&body).unwrap();
    let paths: Vec<&String> = document["paths"].as_object().unwrap().keys().collect();
    for path in [
        "/", "/post", "/index", "/search", "/update", "/delete", "/status", "/dry_run", "/foo",
    ] {
        assert!(
            paths.iter().any(|p| *p == path),
            "{path} missing from {paths:?}"
        );
    }
    assert_eq!(
        document["paths"]["/foo"]["post"]["summary"],
        json!("my endpoint")
    );
    assert_eq!(
        document["paths"]["/foo"]["post"]["description"],
        json!("foo things")
    );
    assert_eq!(document["paths"]["/update"]["put"]["tags"], json!(["CRUD"]));
    assert_eq!(document["info"]["title"], json!("Test flow"));
    // A standard validator accepts it.
    let file = server.path("openapi.json");
    std::fs::write(&file, &body).unwrap();
    let validator = jina_python().with_file_name("openapi-spec-validator");
    crate::gateway_support::succeeds(Command::new(&validator).arg(&file));
    // Swagger UI and Redoc, with their assets served by the binary.
    let (status, _, page) = http_get(port, "/docs");
    assert_eq!(status, 200);
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("/_assets/swagger-ui-bundle.js"), "{page}");
    let (status, _, page) = http_get(port, "/redoc");
    assert_eq!(status, 200);
    assert!(
        String::from_utf8(page)
            .unwrap()
            .contains("/_assets/redoc.standalone.js")
    );
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "redoc.standalone.js",
    ] {
        let (status, _, body) = http_get(port, &format!("/_assets/{asset}"));
        assert_eq!(status, 200, "{asset}");
        assert!(body.len() > 100_000, "{asset} is {} bytes", body.len());
    }
    // The exposed endpoint runs the flow on /foo.
    let (status, answer) = http_post(port, "/foo", r#"{"data": [{"text": "x"}]}"#);
    assert_eq!(status, 200);
    assert_eq!(answer["header"]["execEndpoint"], json!("/foo"));
    // CORS preflight.
    let (status, head, _) = http(
        port,
        "OPTIONS /post HTTP/1.1\r\nHost: localhost\r\nOrigin: http://example.com\r\n\
         Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n",
    );
    assert!(status < 300, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("access-control-allow-origin: *"),
        "{head}"
    );
    assert!(server.stop().success());

    // no_crud_endpoints hides the CRUD routes from the document and the router.
    let server = FlowServer::start(&example_flow("  no_crud_endpoints: true\n"), 3);
    let port = server.port(Protocol::Http);
    let (_, _, body) = http_get(port, "/openapi.json");
    let document: Value = serde_json::from_slice(&body).unwrap();
    assert!(document["paths"].get("/index").is_none());
    assert!(document["paths"].get("/post").is_some());
    let (status, _) = http_post(port, "/index", r#"{"data": []}"#);
    assert_eq!(status, 404);
    let (_, head, _) = http(
        port,
        "OPTIONS /post HTTP/1.1\r\nHost: localhost\r\nOrigin: http://example.com\r\n\
         Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n",
    );
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "no CORS unless asked"
    );
    assert!(server.stop().success());

    // no_debug_endpoints hides Jina's "Debug" group, and only that.
    let server = FlowServer::start(&example_flow("  no_debug_endpoints: true\n"), 3);
    let port = server.port(Protocol::Http);
    let (_, _, body) = http_get(port, "/openapi.json");
    let document: Value = serde_json::from_slice(&body).unwrap();
    for hidden in ["/status", "/dry_run", "/post"] {
        assert!(document["paths"].get(hidden).is_none(), "{hidden}");
    }
    assert!(document["paths"].get("/index").is_some());
    let (status, _, _) = http_get(port, "/status");
    assert_eq!(status, 404);
    let (status, _) = http_post(port, "/post", r#"{"data": [], "execEndpoint": "/index"}"#);
    assert_eq!(status, 404);
    let (status, _) = http_post(port, "/index", r#"{"data": []}"#);
    assert_eq!(status, 200);
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_are_refused_with_the_reason() {
    let server = FlowServer::start(&example_flow(""), 3);
    let port = server.port(Protocol::Http);
    for (body, reason) in [
        ("garbage", "not valid JSON"),
        (r#"{"data": 5}"#, "`data` must be a list of documents"),
        (
            r#"{"data": [{"text": 5}]}"#,
            "`data[0].text` must be a string, got a number",
        ),
        (
            r#"{"data": [{"embedding": [[1], [2, 3]]}]}"#,
            "`data[0].embedding[1]` must be a rectangular nested list of numbers",
        ),
        (
            r#"{"execEndpoint": [7]}"#,
            "`execEndpoint` must be a string",
        ),
    ] {
        // Jina's HTTP gateway (FastAPI) answers 422 with a list of validation errors.
        let (status, answer) = http_post(port, "/post", body);
        assert_eq!(status, 422, "{body}");
        let detail = answer["detail"][0]["msg"].as_str().unwrap();
        assert!(detail.contains(reason), "{body}: {detail}");
        assert_eq!(answer["detail"][0]["loc"], json!(["body"]), "{body}");
    }
    // What Jina's models let through: unknown fields are ignored, numbers stand for strings.
    let (status, answer) = http_post(
        port,
        "/post",
        r#"{"data": [{"id": 5, "colour": "red"}], "execEndpoint": 7, "extra": true}"#,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["header"]["execEndpoint"], "7", "{answer}");
    assert_eq!(answer["data"][0]["id"], "5", "{answer}");
    // A wrong method is 405 in Jina's JSON, keeping `Allow`.
    let (status, headers, body) = crate::gateway_support::http_get(port, "/post");
    assert_eq!(status, 405);
    assert!(
        headers.to_ascii_lowercase().contains("allow: post"),
        "{headers}"
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        json!({"detail": "Method Not Allowed"})
    );
    // gRPC: a request whose tensor does not match its shape.
    use flowhost_wire::proto::docarray::{
        DenseNdArrayProto, DocumentArrayProto, DocumentProto, NdArrayProto, nd_array_proto,
    };
    use flowhost_wire::proto::jina::data_request_proto::{DataContentProto, data_content_proto};
    use flowhost_wire::proto::jina::jina_single_data_request_rpc_client::JinaSingleDataRequestRpcClient;
    let bad = flowhost_wire::proto::jina::DataRequestProto {
        data: Some(DataContentProto {
            documents: Some(data_content_proto::Documents::Docs(DocumentArrayProto {
                docs: vec![DocumentProto {
                    embedding: Some(NdArrayProto {
                        content: Some(nd_array_proto::Content::Dense(DenseNdArrayProto {
                            buffer: vec![0; 3],
                            shape: vec![1],
                            dtype: "<f4".into(),
                        })),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
            })),
        }),
        ..Default::default()
    };
    let mut rpc =
        JinaSingleDataRequestRpcClient::new(grpc_channel(server.port(Protocol::Grpc)).await);
    let status = rpc.process_single_data(bad).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("`embedding` has 3 bytes"),
        "{}",
        status.message()
    );
    // Bytes that are not a DataRequestProto at all (field 1 as a varint): UNKNOWN, as
    // Jina answers, naming the message type, not tonic's INTERNAL.
    let channel = tonic::transport::Endpoint::from_shared(format!(
        "http://127.0.0.1:{}",
        server.port(Protocol::Grpc)
    ))
    .unwrap()
    .connect()
    .await
    .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let not_a_request = prost_types::Duration {
        seconds: 5,
        nanos: 0,
    };
    let status = grpc
        .unary(
            tonic::Request::new(not_a_request),
            tonic::codegen::http::uri::PathAndQuery::from_static(
                "/jina.JinaSingleDataRequestRPC/process_single_data",
            ),
            flowhost_wire::codec::JinaCodec::<
                prost_types::Duration,
                flowhost_wire::proto::jina::DataRequestProto,
            >::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unknown, "{status:?}");
    assert!(
        status.message().contains("not a valid DataRequestProto"),
        "{}",
        status.message()
    );
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_on_every_port_leaves_the_gateway_serving() {
    let server = FlowServer::start(&example_flow(""), 3);
    let junk: [&[u8]; 5] = [
        b"\x00\x01\x02\x03 definitely not a protocol\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: bad\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\xff",
        &[0x16, 0x03, 0x01, 0xff, 0xff, 0x01],
    ];
    for (protocol, port) in server.ports.clone() {
        for bytes in junk {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
                let _ = stream.write_all(bytes);
                let mut sink = [0u8; 256];
                let _ = std::io::Read::read(&mut stream, &mut sink);
            }
        }
        // A connection that says nothing and goes away.
        drop(TcpStream::connect(("127.0.0.1", port)));
        let client = Client::new("127.0.0.1", port).protocol(protocol);
        let results = client
            .post("/index", text_batch(1), Map::new())
            .await
            .unwrap();
        assert!(
            results[0].is_ok(),
            "{protocol:?} after garbage: {:?}",
            results[0]
        );
    }
    // Undecodable frames inside a WebSocket and a gRPC stream get error replies or a clean
    // end, and the servers carry on.
    let ws_port = server.port(Protocol::Websocket);
    let client = Client::new("127.0.0.1", ws_port).protocol(Protocol::Websocket);
    assert!(client.dry_run().await.unwrap());
    let status = Command::new(flowhost_bin())
        .args([
            "ping",
            &format!("127.0.0.1:{}", server.port(Protocol::Grpc)),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_requests_in_flight_and_exits_zero() {
    let flow = format!(
        "jtype: Flow\nwith:\n  host: 127.0.0.1\n  protocol: [grpc, http]\nexecutors:\n  - name: slow\n    uses: {}\n",
        uses("noop_executor")
    );
    let server = FlowServer::start(&flow, 2);
    let port = server.port(Protocol::Grpc);
    let pid = server.pid();
    let request = tokio::spawn(async move {
        let mut parameters = Map::new();
        parameters.insert("sleep_ms".into(), json!(800));
        Client::new("127.0.0.1", port)
            .post("/slow", text_batch(1), parameters)
            .await
    });
    server.wait_for_log("sleeping 800 ms", Duration::from_secs(30));
    crate::gateway_support::signal_term(pid);
    let results = request.await.unwrap().unwrap();
    assert!(
        results[0].is_ok(),
        "the request in flight was answered: {:?}",
        results[0]
    );
    assert!(server.stop().success());
}

/// The drain waits for requests, not for connections: an idle keep-alive connection, an
/// HTTP/2 peer that never answers the server's goodbye, and a socket that never says
/// anything must not hold shutdown for the drain timeout (30 s).
#[test]
fn sigterm_does_not_wait_for_idle_or_silent_connections() {
    use std::io::{Read as _, Write as _};
    let server = FlowServer::start(&example_flow(""), 2);
    let grpc = server.port(Protocol::Grpc);
    let http = server.port(Protocol::Http);

    let mut keep_alive = std::net::TcpStream::connect(("127.0.0.1", http)).unwrap();
    let body = r#"{"data": [{"text": "hi"}], "execEndpoint": "/foo"}"#;
    write!(
        keep_alive,
        "POST /post HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut first = [0u8; 12];
    keep_alive.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    // A socket that never says anything.
    let mute = std::net::TcpStream::connect(("127.0.0.1", grpc)).unwrap();
    // The HTTP/2 preface and an empty SETTINGS frame, then silence: once it has the server's
    // own SETTINGS (so the server holds this connection, and, accepting in order, `mute`
    // too), this peer never reads or answers again.
    let mut silent_h2 = std::net::TcpStream::connect(("127.0.0.1", grpc)).unwrap();
    silent_h2
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .unwrap();
    let mut frame_header = [0u8; 9];
    silent_h2.read_exact(&mut frame_header).unwrap();
    assert_eq!(
        frame_header[3], 0x4,
        "the server's first frame is its SETTINGS"
    );

    let started = std::time::Instant::now();
    assert!(server.stop_within(Duration::from_secs(10)).success());
    eprintln!("stopped in {:?}", started.elapsed());
    drop((keep_alive, silent_h2, mute));
}

/// `flowhost run FLAGS dir/flow.yml` for a flow expected not to start: its exit status
/// and standard error.
fn run_failing_flow(
    dir: &std::path::Path,
    flags: &[&str],
    yaml: &str,
) -> (std::process::ExitStatus, String) {
    let file = dir.join("flow.yml");
    std::fs::write(&file, yaml).unwrap();
    let mut child = Command::new(flowhost_bin())
        .arg("run")
        .args(flags)
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

#[test]
fn flows_that_cannot_start_exit_non_zero_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let run = |yaml: &str| run_failing_flow(dir.path(), &[], yaml);
    let (status, stderr) = run("jtype: Flow\nexecutors:\n  - name: a\n    uses: [oops\n");
    assert!(!status.success());
    // The YAML error, where the file ended, and where the unclosed list began.
    assert!(
        stderr.contains("flow.yml:5:1: did not find expected ',' or ']'")
            && stderr.contains("line 4 column 11"),
        "{stderr}"
    );
    let (status, stderr) = run("jtype: Flow\nexecutors:\n  - name: a\n    uses: missing.wasm\n");
    assert!(!status.success());
    assert!(stderr.contains("missing.wasm"), "{stderr}");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (status, stderr) = run(&format!(
        "jtype: Flow\nwith:\n  host: 127.0.0.1\n  port: {port}\nexecutors:\n  - name: a\n    uses: {}\n",
        uses("noop_executor")
    ));
    assert!(!status.success());
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
}

#[test]
fn jina_keys_without_effect_are_named_and_strict_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let run = |strict: bool, yaml: &str| {
        let flags: &[&str] = if strict { &["--strict"] } else { &[] };
        run_failing_flow(dir.path(), flags, yaml)
    };
    // Without --strict the flow goes on (here to fail at its missing component), having
    // named the key, its line and why it does nothing.
    let (status, stderr) = run(
        false,
        "jtype: Flow\nexecutors:\n  - name: a\n    uses: missing.wasm\n    gpus: 1\n",
    );
    assert!(!status.success());
    assert!(
        stderr.contains("flow.yml:5:5: executor `a`: `gpus` has no effect in flowhost")
            && stderr.contains("missing.wasm"),
        "{stderr}"
    );
    let (status, stderr) = run(
        true,
        &format!(
            "jtype: Flow\nexecutors:\n  - name: a\n    uses: {}\n    gpus: 1\n    quiet: true\n",
            uses("noop_executor")
        ),
    );
    assert!(!status.success());
    assert!(
        stderr.contains("2 keys have no effect in flowhost")
            && stderr.contains("flow.yml:5:5")
            && stderr.contains("flow.yml:6:5"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_json_subprotocol_answers_jina_json_and_survives_bad_messages() {
    use futures::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;

    let server = FlowServer::start(&example_flow(""), 3);
    let port = server.port(Protocol::Websocket);
    // No subprotocol asked: JSON, as Jina's gateway defaults.
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/"))
        .await
        .expect("WebSocket connects");
    socket.send(Message::Text("not json".into())).await.unwrap();
    let bad = match socket.next().await {
        Some(Ok(Message::Text(text))) => serde_json::from_str::<Value>(&text).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        bad["header"]["status"]["exception"]["name"],
        json!("BadRequest")
    );
    socket
        .send(Message::Text(
            r#"{"data": [{"text": "hello"}], "execEndpoint": "/index", "requestId": "r1"}"#.into(),
        ))
        .await
        .unwrap();
    let answer = match socket.next().await {
        Some(Ok(Message::Text(text))) => serde_json::from_str::<Value>(&text).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(answer["header"]["requestId"], json!("r1"));
    assert_eq!(answer["data"][0]["text"], json!("hello"));
    assert_eq!(
        answer["data"][1]["text"],
        json!("foo was here and got 1 document")
    );
    // `{}` ends the stream: the server closes.
    socket.send(Message::Text("{}".into())).await.unwrap();
    match socket.next().await {
        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {}
        Some(Ok(other)) => panic!("unexpected {other:?}"),
    }
    // A plain GET on the WebSocket port is the health check.
    let (status, _, body) = http_get(port, "/");
    assert_eq!((status, body.as_slice()), (200, &b"{}"[..]));
    assert!(server.stop().success());
}

/// A plain-text gRPC channel to a gateway on loopback.
async fn grpc_channel(port: u16) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("a loopback address is a valid URI")
        .connect()
        .await
        .expect("the gateway accepts connections")
}
