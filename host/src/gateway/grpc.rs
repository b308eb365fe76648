//! gRPC: Jina's gateway services on tonic.
//!
//! `JinaRPC/Call` takes a stream of requests and answers each as it finishes (in completion
//! order, as Jina does; clients match replies by request id), with at most `prefetch`
//! requests of one stream in flight. A request whose documents cannot be read gets an ERROR
//! reply of its own, so the rest of the stream goes on; a frame that is not protobuf at all
//! ends the stream with UNKNOWN (as Jina does) once the requests already taken have been answered.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status, Streaming};

use super::Shared;
use super::convert;
use crate::flow::Compression;
use crate::proto::jina::jina_discover_endpoints_rpc_server::{
    JinaDiscoverEndpointsRpc, JinaDiscoverEndpointsRpcServer,
};
use crate::proto::jina::jina_gateway_dry_run_rpc_server::{
    JinaGatewayDryRunRpc, JinaGatewayDryRunRpcServer,
};
use crate::proto::jina::jina_info_rpc_server::{JinaInfoRpc, JinaInfoRpcServer};
use crate::proto::jina::jina_rpc_server::{JinaRpc, JinaRpcServer};
use crate::proto::jina::jina_single_data_request_rpc_server::{
    JinaSingleDataRequestRpc, JinaSingleDataRequestRpcServer,
};
use crate::proto::jina::{DataRequestProto, EndpointsProto, JinaInfoProto, StatusProto};

/// The gRPC services as one axum router.
pub fn router(shared: Arc<Shared>) -> axum::Router {
    let send = shared.config.compression().map(|c| match c {
        Compression::Gzip => CompressionEncoding::Gzip,
        _ => CompressionEncoding::Deflate,
    });
    let grpc = Grpc { shared };
    // Every service accepts gzip and deflate whatever the flow says; it compresses its
    // answers only when the flow asks (and the client accepts that encoding).
    macro_rules! configure {
        ($server:expr) => {{
            let server = $server
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Deflate);
            match send {
                Some(encoding) => server.send_compressed(encoding),
                None => server,
            }
        }};
    }
    tonic::service::Routes::new(configure!(JinaRpcServer::new(grpc.clone())))
        .add_service(configure!(JinaSingleDataRequestRpcServer::new(
            grpc.clone()
        )))
        .add_service(configure!(JinaDiscoverEndpointsRpcServer::new(
            grpc.clone()
        )))
        .add_service(configure!(JinaGatewayDryRunRpcServer::new(grpc.clone())))
        .add_service(configure!(JinaInfoRpcServer::new(grpc)))
        .into_axum_router()
}

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
        let mut inbound = request.into_inner();
        let shared = self.shared.clone();
        let prefetch = shared.config.prefetch();
        let (replies, receiver) = mpsc::channel(prefetch.clamp(1, 1024));
        tokio::spawn(async move {
            let permits = Arc::new(Semaphore::new(prefetch.min(Semaphore::MAX_PERMITS)));
            let mut tasks = tokio::task::JoinSet::new();
            let mut shutdown = shared.shutdown.clone();
            let mut end = None;
            loop {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let next = tokio::select! {
                    next = inbound.message() => next,
                    _ = super::stopped(&mut shutdown) => break,
                };
                let message = match next {
                    Ok(Some(message)) => message,
                    Ok(None) => break,
                    Err(status) => {
                        if status.code() != tonic::Code::Cancelled {
                            // Undecodable protobuf keeps the codec's UNKNOWN (Jina's answer);
                            // anything else unreadable (size, compression) is INVALID_ARGUMENT.
                            let code = match status.code() {
                                tonic::Code::Unknown => tonic::Code::Unknown,
                                _ => tonic::Code::InvalidArgument,
                            };
                            end = Some(Status::new(
                                code,
                                format!("unreadable request on JinaRPC/Call: {}", status.message()),
                            ));
                        }
                        break;
                    }
                };
                let shared = shared.clone();
                let replies = replies.clone();
                tasks.spawn(async move {
                    let reply = process(&shared, message).await;
                    let _ = replies.send(Ok(reply)).await;
                    drop(permit);
                });
                // Reap finished tasks so a long stream does not accumulate them.
                while tasks.try_join_next().is_some() {}
            }
            // Everything already taken is answered before the stream ends.
            while tasks.join_next().await.is_some() {}
            if let Some(status) = end {
                let _ = replies.send(Err(status)).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}

/// One request through the flow; unreadable requests get an error reply.
async fn process(shared: &Shared, message: DataRequestProto) -> DataRequestProto {
    let request_id = message
        .header
        .as_ref()
        .map(|h| h.request_id.clone())
        .unwrap_or_default();
    match convert::request_from_proto(message) {
        Ok(request) => convert::response_to_proto(shared.service.process(request).await),
        Err(error) => {
            tracing::debug!(%error, "unreadable gRPC request");
            convert::bad_request_reply(request_id, &error.to_string())
        }
    }
}

#[tonic::async_trait]
impl JinaSingleDataRequestRpc for Grpc {
    async fn process_single_data(
        &self,
        request: Request<DataRequestProto>,
    ) -> Result<Response<DataRequestProto>, Status> {
        let request = convert::request_from_proto(request.into_inner())
            .map_err(|error| Status::invalid_argument(error.to_string()))?;
        let response = self.shared.service.process(request).await;
        Ok(Response::new(convert::response_to_proto(response)))
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
        Ok(Response::new(super::http::dry_run_status(&self.shared)))
    }
}

#[tonic::async_trait]
impl JinaInfoRpc for Grpc {
    async fn status(&self, _: Request<()>) -> Result<Response<JinaInfoProto>, Status> {
        let (jina, envs) = super::http::info();
        Ok(Response::new(JinaInfoProto { jina, envs }))
    }
}
