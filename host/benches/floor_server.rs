//! The floors under flowhost's gateway (#17): servers that speak the same protocols and do
//! nothing else, so a gateway scenario can be read as a fraction of what the transport alone
//! answers on the same machine in the same run.
//!
//! - gRPC (tonic, as the gateway uses): `jina.JinaRPC/Call` answers every request of the
//!   stream with the request it got, and `jina.JinaSingleDataRequestRPC` does the same for one
//!   call. Messages are decoded and encoded with the same generated types and codec the
//!   gateway uses, so the floor pays protobuf; what it does not pay is the gateway's work.
//! - HTTP (hyper, http/1.1): `POST /post` answers with the body it got, as JSON.
//! - With `--raw`, `jina.JinaRPC/Call` echoes each message's bytes without decoding them:
//!   the floor under any server built on tonic, protobuf not included (#17's bound on `emb`).
//!
//! The process runs the flowhost binary's allocator and a multi-threaded tokio runtime with
//! tokio's default workers, as `flowhost run` does.
//!
//! `cargo bench -p flowhost --bench floor_server -- [--grpc-port P] [--http-port Q] [--raw]` prints
//! `listening GRPC_PORT HTTP_PORT` and serves until its stdin closes.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use flowhost_wire::proto::jina::DataRequestProto;
use flowhost_wire::proto::jina::jina_rpc_server::{JinaRpc, JinaRpcServer};
use flowhost_wire::proto::jina::jina_single_data_request_rpc_server::{
    JinaSingleDataRequestRpc, JinaSingleDataRequestRpcServer,
};
use http_body_util::{BodyExt as _, Full};
use tokio_stream::Stream;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{BoxFuture, Service, http};
use tonic::server::{Grpc, NamedService, StreamingService};
use tonic::{Request, Response, Status, Streaming};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Echo;

type Replies = Pin<Box<dyn Stream<Item = Result<DataRequestProto, Status>> + Send>>;

#[tonic::async_trait]
impl JinaRpc for Echo {
    type CallStream = Replies;

    async fn call(
        &self,
        request: Request<Streaming<DataRequestProto>>,
    ) -> Result<Response<Replies>, Status> {
        Ok(Response::new(Box::pin(request.into_inner())))
    }
}

#[tonic::async_trait]
impl JinaSingleDataRequestRpc for Echo {
    async fn process_single_data(
        &self,
        request: Request<DataRequestProto>,
    ) -> Result<Response<DataRequestProto>, Status> {
        Ok(Response::new(request.into_inner()))
    }
}

/// `jina.JinaRPC/Call` answering each message with its bytes, never decoded.
#[derive(Clone)]
struct RawEcho;

/// A gRPC message as the bytes it came in: tonic's framing and nothing else.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        bytes::BufMut::put(dst, item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        // A slice of tonic's receive buffer, not a copy.
        let len = bytes::Buf::remaining(src);
        Ok(Some(bytes::Buf::copy_to_bytes(src, len)))
    }
}

type RawReplies = Pin<Box<dyn Stream<Item = Result<Bytes, Status>> + Send>>;

impl StreamingService<Bytes> for RawEcho {
    type Response = Bytes;
    type ResponseStream = RawReplies;
    type Future = BoxFuture<Response<RawReplies>, Status>;

    fn call(&mut self, request: Request<Streaming<Bytes>>) -> Self::Future {
        let replies: RawReplies = Box::pin(request.into_inner());
        Box::pin(async move { Ok(Response::new(replies)) })
    }
}

impl Service<http::Request<tonic::body::Body>> for RawEcho {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        const CALL: &str = "/jina.JinaRPC/Call";
        if request.uri().path() != CALL {
            return Box::pin(async { Ok(Status::unimplemented(CALL).into_http()) });
        }
        Box::pin(async move { Ok(Grpc::new(RawCodec).streaming(RawEcho, request).await) })
    }
}

impl NamedService for RawEcho {
    const NAME: &'static str = "jina.JinaRPC";
}

async fn echo_post(
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, hyper::Error> {
    let body = request.into_body().collect().await?.to_bytes();
    let mut response = hyper::Response::new(Full::new(body));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

async fn serve_http(listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(echo_post);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn port_arg(args: &[String], name: &str) -> u16 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bind = |port| tokio::net::TcpListener::bind(("127.0.0.1", port));
    let grpc = bind(port_arg(&args, "--grpc-port"))
        .await
        .expect("the gRPC floor's port");
    let http = bind(port_arg(&args, "--http-port"))
        .await
        .expect("the HTTP floor's port");
    let port = |l: &tokio::net::TcpListener| l.local_addr().expect("its address").port();
    println!("listening {} {}", port(&grpc), port(&http));
    let (closed, stdin_closed) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        let _ = closed.send(());
    });
    // The gateway's HTTP/2 windows and frame size (`flowhost_gateway`'s server.rs): with
    // h2's 64 KiB defaults the embedding requests would wait on window updates, and the floor
    // would measure that instead of the transport.
    let mut server = tonic::transport::Server::builder()
        .initial_stream_window_size(2 << 20)
        .initial_connection_window_size(8 << 20)
        .max_frame_size(1 << 20);
    let routes = if args.iter().any(|a| a == "--raw") {
        tonic::service::Routes::new(RawEcho)
    } else {
        tonic::service::Routes::new(
            JinaRpcServer::new(Echo)
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
        )
    };
    let grpc = server
        .add_routes(routes.add_service(JinaSingleDataRequestRpcServer::new(Echo)))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(grpc).with_nodelay(Some(true)),
            async {
                let _ = stdin_closed.await;
            },
        );
    tokio::select! {
        served = grpc => served.expect("the gRPC floor"),
        () = serve_http(http) => {}
    }
}
