//! gRPC: Jina's gateway services on tonic.
//!
//! `JinaRPC/Call` takes a stream of requests and answers each as it finishes (in completion
//! order, as Jina does; clients match replies by request id), with at most `prefetch`
//! requests of one stream in flight. A request whose documents cannot be read gets an ERROR
//! reply of its own, so the rest of the stream goes on; a frame that is not protobuf at all
//! ends the stream with UNKNOWN (as Jina does) once the requests already taken have been answered.
//!
//! When shutdown begins, a stream stops taking requests, answers those it took, and then ends
//! OK only if the client had finished sending; otherwise (the client still sending, or
//! requests arriving that were not taken) it ends UNAVAILABLE saying the flow is shutting
//! down, so a client can always tell whether something went unanswered.

use std::pin::Pin;
use std::sync::Arc;

use super::coalesce::Bursts;
use futures::Stream;
use tokio::sync::{Semaphore, mpsc};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status, Streaming};

use super::Shared;
use super::admission::{ArrivedMessages, SHUTTING_DOWN};
use super::observe::Observed;
use flowhost_telemetry::{Front, Refused};
use flowhost_wire::Compression;
use flowhost_wire::Readiness;
use flowhost_wire::Refusal;
use flowhost_wire::proto::jina::jina_discover_endpoints_rpc_server::{
    JinaDiscoverEndpointsRpc, JinaDiscoverEndpointsRpcServer,
};
use flowhost_wire::proto::jina::jina_gateway_dry_run_rpc_server::{
    JinaGatewayDryRunRpc, JinaGatewayDryRunRpcServer,
};
use flowhost_wire::proto::jina::jina_info_rpc_server::{JinaInfoRpc, JinaInfoRpcServer};
use flowhost_wire::proto::jina::jina_rpc_server::{JinaRpc, JinaRpcServer};
use flowhost_wire::proto::jina::jina_single_data_request_rpc_server::{
    JinaSingleDataRequestRpc, JinaSingleDataRequestRpcServer,
};
use flowhost_wire::proto::jina::{DataRequestProto, EndpointsProto, JinaInfoProto, StatusProto};
use flowhost_wire::protobuf as convert;
use prost::Message as _;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// The gRPC services as one axum router.
pub fn router(shared: Arc<Shared>) -> axum::Router {
    let send = shared.config.compression().map(|c| match c {
        Compression::Gzip => CompressionEncoding::Gzip,
        _ => CompressionEncoding::Deflate,
    });
    let max_message = shared.config.limits.max_grpc_message_size;
    let grpc = Grpc { shared };
    // Every service accepts gzip and deflate whatever the flow says; it compresses its
    // answers only when the flow asks (and the client accepts that encoding).
    macro_rules! configure {
        ($server:expr) => {{
            let server = $server
                .max_decoding_message_size(max_message)
                .max_encoding_message_size(usize::MAX)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Deflate);
            match send {
                Some(encoding) => server.send_compressed(encoding),
                None => server,
            }
        }};
    }
    let routes = tonic::service::Routes::new(configure!(JinaRpcServer::new(grpc.clone())))
        .add_service(configure!(JinaSingleDataRequestRpcServer::new(
            grpc.clone()
        )))
        .add_service(configure!(JinaDiscoverEndpointsRpcServer::new(
            grpc.clone()
        )))
        .add_service(configure!(JinaGatewayDryRunRpcServer::new(grpc.clone())))
        .add_service(configure!(JinaInfoRpcServer::new(grpc.clone())))
        .add_service(HealthServer::new(grpc));
    match reflection() {
        Ok(reflection) => routes.add_service(reflection),
        // Our own descriptors, checked by the tests: only a broken build gets here.
        Err(error) => {
            tracing::error!(%error, "gRPC server reflection is not served");
            routes
        }
    }
    .into_axum_router()
}

/// gRPC server reflection (v1alpha, which Jina's gateway uses to list an executor's services
/// before it calls them), advertising exactly the services served here.
fn reflection() -> Result<
    tonic_reflection::server::v1alpha::ServerReflectionServer<
        impl tonic_reflection::server::v1alpha::ServerReflection,
    >,
    tonic_reflection::server::Error,
> {
    let mut builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(flowhost_wire::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    for service in SERVED {
        builder = builder.with_service_name(*service);
    }
    builder.build_v1alpha()
}

/// The services this gateway serves, as reflection advertises them.
const SERVED: &[&str] = &[
    "jina.JinaRPC",
    "jina.JinaSingleDataRequestRPC",
    "jina.JinaGatewayDryRunRPC",
    "jina.JinaDiscoverEndpointsRPC",
    "jina.JinaInfoRPC",
    "grpc.health.v1.Health",
];

#[derive(Clone)]
struct Grpc {
    shared: Arc<Shared>,
}

type CallStream = Pin<Box<dyn Stream<Item = Result<DataRequestProto, Status>> + Send>>;

#[tonic::async_trait]
impl JinaRpc for Grpc {
    type CallStream = CallStream;

    async fn call(
        &self,
        request: Request<Streaming<DataRequestProto>>,
    ) -> Result<Response<CallStream>, Status> {
        let arrived = arrived_messages(&request);
        let traceparent = metadata_traceparent(&request);
        let inbound = request.into_inner();
        let shared = self.shared.clone();
        let prefetch = shared.config.prefetch();
        let (replies, receiver) = mpsc::channel(prefetch.clamp(1, 1024));
        tokio::spawn(serve_stream(
            shared,
            inbound,
            arrived,
            replies,
            prefetch,
            traceparent,
        ));
        Ok(Response::new(Box::pin(Bursts::new(receiver))))
    }
}

/// The W3C `traceparent` the client sent in the call's metadata.
fn metadata_traceparent<T>(request: &Request<T>) -> Option<String> {
    let value = request
        .metadata()
        .get(flowhost_telemetry::trace::TRACEPARENT)?;
    value.to_str().ok().map(str::to_owned)
}

/// The messages admission framed for a request: their charges and sizes.
fn arrived_messages<T>(request: &Request<T>) -> ArrivedMessages {
    request
        .extensions()
        .get::<ArrivedMessages>()
        .cloned()
        .unwrap_or_default()
}

/// How a `Call` stream's reading ended.
enum Ending {
    /// The client finished sending.
    ClientDone,
    /// The stream broke, with this status.
    Broken(Status),
    /// Shutdown began; `refused` requests arrived after it and were not taken.
    ShuttingDown { refused: usize },
}

/// Reads one `Call` stream, processing up to `prefetch` requests at once, and ends it (see
/// the module doc).
async fn serve_stream(
    shared: Arc<Shared>,
    mut inbound: Streaming<DataRequestProto>,
    arrived: ArrivedMessages,
    replies: mpsc::Sender<Result<DataRequestProto, Status>>,
    prefetch: usize,
    traceparent: Option<String>,
) {
    // Every request on the stream is a child of the span the client opened the stream in.
    let traceparent: Option<Arc<str>> = traceparent.map(Into::into);
    // A request's task holds a permit until its reply is queued, so holding them all again
    // means every request taken has been answered: no task set to lock and reap per request.
    let window = prefetch.clamp(1, u32::MAX as usize) as u32;
    let permits = Arc::new(Semaphore::new(window as usize));
    let all_answered = || permits.clone().acquire_many_owned(window);
    let mut shutdown = shared.shutdown.clone();
    let ending = loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit,
            _ = super::stopped(&mut shutdown) => break Ending::ShuttingDown { refused: 0 },
        };
        let Ok(permit) = permit else {
            break Ending::ClientDone;
        };
        let next = tokio::select! {
            next = inbound.message() => next,
            _ = super::stopped(&mut shutdown) => break Ending::ShuttingDown { refused: 0 },
        };
        let message = match next {
            Ok(Some(message)) => message,
            Ok(None) => break Ending::ClientDone,
            Err(status) => break Ending::Broken(status),
        };
        let message_arrived = arrived.take();
        let shared = shared.clone();
        let replies = replies.clone();
        let traceparent = traceparent.clone();
        tokio::spawn(async move {
            let received = message_arrived.bytes;
            let reply = process(&shared, message, received, traceparent.as_deref()).await;
            let _ = replies.send(Ok(reply)).await;
            drop((permit, message_arrived));
        });
    };
    // Everything already taken is answered before the stream ends. While shutting down, keep
    // reading meanwhile, to learn whether the client finished or sent more that is not taken.
    let ending = match ending {
        Ending::ShuttingDown { mut refused } => {
            let mut client_done = false;
            let mut answered = std::pin::pin!(all_answered());
            loop {
                tokio::select! {
                    _ = &mut answered => break,
                    next = inbound.message(), if !client_done => match next {
                        Ok(Some(_)) => refused += 1,
                        _ => client_done = true,
                    },
                }
            }
            if client_done && refused == 0 {
                Ending::ClientDone
            } else {
                Ending::ShuttingDown { refused }
            }
        }
        other => {
            let _ = all_answered().await;
            other
        }
    };
    let status = match ending {
        Ending::ClientDone => return,
        Ending::Broken(status) if status.code() == tonic::Code::Cancelled => return,
        Ending::Broken(status) => {
            // Admission counted its own refusals; the codec's are counted here.
            if status.code() == tonic::Code::Unknown {
                shared.count_refusal(Front::Grpc, Refused::Unreadable);
            }
            // Undecodable protobuf keeps the codec's UNKNOWN (Jina's answer), and admission's
            // refusals keep theirs (size, budget, read deadline); anything else unreadable
            // is INVALID_ARGUMENT.
            let code = match status.code() {
                code @ (tonic::Code::Unknown
                | tonic::Code::ResourceExhausted
                | tonic::Code::DeadlineExceeded) => code,
                _ => tonic::Code::InvalidArgument,
            };
            Status::new(
                code,
                format!("unreadable request on JinaRPC/Call: {}", status.message()),
            )
        }
        Ending::ShuttingDown { refused: 0 } => Status::unavailable(format!(
            "{SHUTTING_DOWN}: every request taken on this stream was answered; send the rest again later"
        )),
        Ending::ShuttingDown { refused } => {
            shared.count_refusals(Front::Grpc, Refused::ShuttingDown, refused as u64);
            Status::unavailable(format!(
                "{SHUTTING_DOWN}: {refused} request(s) sent after it began were not taken; send them again later"
            ))
        }
    };
    let _ = replies.send(Err(status)).await;
}

/// One request through the flow, `received` bytes on the wire; unreadable requests get an
/// error reply.
async fn process(
    shared: &Shared,
    message: DataRequestProto,
    received: usize,
    traceparent: Option<&str>,
) -> DataRequestProto {
    let request_id = message
        .header
        .as_ref()
        .map(|h| h.request_id.clone())
        .unwrap_or_default();
    match convert::request_from_proto(message) {
        Ok(request) => {
            let observed = Observed::begin(shared, Front::Grpc, &request, received, traceparent);
            let response = observed.process(shared, request).await;
            let failure = observed.failure(&response);
            let reply = convert::response_to_proto(response);
            observed.answered(failure, || reply.encoded_len());
            reply
        }
        Err(error) => {
            tracing::debug!(%error, "unreadable gRPC request");
            shared.count_refusal(Front::Grpc, Refused::Unreadable);
            convert::refusal_reply(request_id, Refusal::BadRequest, &error.to_string())
        }
    }
}

#[tonic::async_trait]
impl JinaSingleDataRequestRpc for Grpc {
    async fn process_single_data(
        &self,
        request: Request<DataRequestProto>,
    ) -> Result<Response<DataRequestProto>, Status> {
        // Its charge is held until the answer is built.
        let arrived = arrived_messages(&request).take();
        let received = arrived.bytes;
        let traceparent = metadata_traceparent(&request);
        let message = request.into_inner();
        let shared = &self.shared;
        let request = convert::request_from_proto(message).map_err(|error| {
            shared.count_refusal(Front::Grpc, Refused::Unreadable);
            Status::invalid_argument(error.to_string())
        })?;
        let observed = Observed::begin(
            shared,
            Front::Grpc,
            &request,
            received,
            traceparent.as_deref(),
        );
        let response = observed.process(shared, request).await;
        let failure = observed.failure(&response);
        let reply = convert::response_to_proto(response);
        observed.answered(failure, || reply.encoded_len());
        Ok(Response::new(reply))
    }
}

/// How often a health `Watch` checks readiness again (for remote executors, that asks them).
const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The standard gRPC health service (`grpc.health.v1.Health`), which Jina's gateway and
/// Kubernetes probes call: SERVING exactly when `dry_run` says ready.
#[tonic::async_trait]
impl Health for Grpc {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let service = request.into_inner().service;
        // `""` is the whole server.
        if !service.is_empty() && !SERVED.contains(&service.as_str()) {
            return Err(Status::not_found(format!("unknown service `{service}`")));
        }
        let status = match super::http::readiness(&self.shared).await {
            Readiness::Ready => ServingStatus::Serving,
            Readiness::NotReady(_) => ServingStatus::NotServing,
        };
        Ok(Response::new(HealthCheckResponse {
            status: status as i32,
        }))
    }

    type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

    /// The status at once, then each change, as the health protocol asks: readiness is
    /// checked again every [`WATCH_INTERVAL`] (a remote executor going away shows), and
    /// shutdown sends NOT_SERVING and ends the stream, so a watch never holds the drain. An
    /// unknown service gets SERVICE_UNKNOWN and stays open, as the protocol says.
    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let service = request.into_inner().service;
        let known = service.is_empty() || SERVED.contains(&service.as_str());
        let shared = self.shared.clone();
        let updates = futures::stream::unfold(None, move |last: Option<ServingStatus>| {
            let shared = shared.clone();
            async move {
                let mut shutdown = shared.shutdown.clone();
                loop {
                    let stopping = *shutdown.borrow();
                    let status = if !known {
                        ServingStatus::ServiceUnknown
                    } else {
                        match super::http::readiness(&shared).await {
                            Readiness::Ready => ServingStatus::Serving,
                            Readiness::NotReady(_) => ServingStatus::NotServing,
                        }
                    };
                    if last != Some(status) {
                        let answer = HealthCheckResponse {
                            status: status as i32,
                        };
                        return Some((Ok(answer), Some(status)));
                    }
                    if stopping {
                        return None;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(WATCH_INTERVAL), if known => {}
                        () = super::stopped(&mut shutdown) => {}
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(updates)))
    }
}

#[tonic::async_trait]
impl JinaDiscoverEndpointsRpc for Grpc {
    async fn endpoint_discovery(&self, _: Request<()>) -> Result<Response<EndpointsProto>, Status> {
        Ok(Response::new(EndpointsProto {
            endpoints: self.shared.service.endpoints(),
            write_endpoints: Vec::new(),
            schemas: None,
        }))
    }
}

#[tonic::async_trait]
impl JinaGatewayDryRunRpc for Grpc {
    async fn dry_run(&self, _: Request<()>) -> Result<Response<StatusProto>, Status> {
        Ok(Response::new(convert::readiness_to_proto(
            &super::http::readiness(&self.shared).await,
        )))
    }
}

#[tonic::async_trait]
impl JinaInfoRpc for Grpc {
    async fn status(&self, _: Request<()>) -> Result<Response<JinaInfoProto>, Status> {
        let (jina, envs) = super::http::info();
        Ok(Response::new(JinaInfoProto { jina, envs }))
    }
}
