//! A do-nothing OTLP/gRPC trace receiver for measuring what tracing costs
//! (`scripts/bench_ab.py --otlp-sink`): it takes every export, counts the spans, and answers.
//!
//! `cargo bench -p flowhost --bench otlp_sink -- --port PORT`; prints `listening PORT`, and
//! the number of spans it got, in how many exports and how many bytes, when its
//! stdin closes.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use flowhost_wire::codec::JinaCodec;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::server::{Grpc, NamedService, UnaryService};

/// `ExportTraceServiceRequest` read only as deep as counting its spans needs: each span stays
/// the bytes it came in, so the sink spends next to nothing of the cores it shares with the
/// server it measures (the collector's own types decode every attribute).
#[derive(Clone, PartialEq, prost::Message)]
struct Export {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<ResourceSpans>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ResourceSpans {
    #[prost(message, repeated, tag = "2")]
    scope_spans: Vec<ScopeSpans>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ScopeSpans {
    #[prost(bytes = "bytes", repeated, tag = "2")]
    spans: Vec<bytes::Bytes>,
}

/// `ExportTraceServiceResponse` with no partial success: an empty message.
#[derive(Clone, PartialEq, prost::Message)]
struct Exported {}

const EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

#[derive(Clone)]
struct Sink(Arc<Counts>);

/// What the sink got: exports, spans, and the spans' bytes.
#[derive(Default)]
struct Counts {
    exports: AtomicU64,
    spans: AtomicU64,
    bytes: AtomicU64,
}

impl UnaryService<Export> for Sink {
    type Response = Exported;
    type Future = BoxFuture<tonic::Response<Exported>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<Export>) -> Self::Future {
        let (spans, bytes) = (request.into_inner().resource_spans.iter())
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .fold((0, 0), |(spans, bytes), span| {
                (spans + 1, bytes + span.len() as u64)
            });
        self.0.spans.fetch_add(spans, Ordering::Relaxed);
        self.0.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.0.exports.fetch_add(1, Ordering::Relaxed);
        Box::pin(async { Ok(tonic::Response::new(Exported {})) })
    }
}

impl Service<http::Request<tonic::body::Body>> for Sink {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let sink = self.clone();
        if request.uri().path() != EXPORT {
            return Box::pin(async { Ok(tonic::Status::unimplemented(EXPORT).into_http()) });
        }
        Box::pin(async move {
            let mut grpc = Grpc::new(JinaCodec::<Exported, Export>::default());
            Ok(grpc.unary(sink, request).await)
        })
    }
}

impl NamedService for Sink {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args
        .iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the sink's port");
    let port = listener.local_addr().expect("its address").port();
    println!("listening {port}");
    let counts = Arc::new(Counts::default());
    let (closed, stdin_closed) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        let _ = closed.send(());
    });
    let stdin_closed = async {
        let _ = stdin_closed.await;
    };
    // Its HTTP/2 windows grow with the traffic, as an OpenTelemetry Collector's (grpc-go's
    // BDP estimate) do: with HTTP/2's fixed 64 KiB, an export of a full batch of 512 spans
    // would wait on the sink's window update halfway.
    let served = tonic::transport::Server::builder()
        .http2_adaptive_window(Some(true))
        .add_service(Sink(counts.clone()))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            stdin_closed,
        );
    if let Err(error) = served.await {
        eprintln!("the sink stopped: {error}");
    }
    let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    println!(
        "spans {} in {} exports, {} bytes of spans",
        count(&counts.spans),
        count(&counts.exports),
        count(&counts.bytes)
    );
}
