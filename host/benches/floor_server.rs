//! The floors under flowhost's gateway (#17): servers that speak the same protocols and do
//! nothing else, so a gateway scenario can be read as a fraction of what the transport alone
//! answers on the same machine in the same run.
//!
//! - gRPC (tonic, as the gateway uses): `jina.JinaRPC/Call` answers every request of the
//!   stream with the request it got, and `jina.JinaSingleDataRequestRPC` does the same for one
//!   call. Messages are decoded and encoded with the same generated types and codec the
//!   gateway uses, so the floor pays protobuf; what it does not pay is the gateway's work.
//! - HTTP (hyper, http/1.1): `POST /post` answers with the body it got, as JSON.
//!
//! The process runs the flowhost binary's allocator and a multi-threaded tokio runtime with
//! tokio's default workers, as `flowhost run` does.
//!
//! `cargo bench -p flowhost --bench floor_server -- [--grpc-port P] [--http-port Q]` prints
//! `listening GRPC_PORT HTTP_PORT` and serves until its stdin closes.

use std::pin::Pin;

use bytes::Bytes;
use flowhost_wire::proto::jina::DataRequestProto;
use flowhost_wire::proto::jina::jina_rpc_server::{JinaRpc, JinaRpcServer};
use flowhost_wire::proto::jina::jina_single_data_request_rpc_server::{
    JinaSingleDataRequestRpc, JinaSingleDataRequestRpcServer,
};
use http_body_util::{BodyExt as _, Full};
use tokio_stream::Stream;
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
    let grpc = tonic::transport::Server::builder()
        .initial_stream_window_size(2 << 20)
        .initial_connection_window_size(8 << 20)
        .max_frame_size(1 << 20)
        .add_service(
            JinaRpcServer::new(Echo)
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
        )
        .add_service(JinaSingleDataRequestRpcServer::new(Echo))
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
