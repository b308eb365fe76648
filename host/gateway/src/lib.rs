//! The gateway: the flow's front door on gRPC (Jina's `jina.JinaRPC` and friends), HTTP
//! (`/post`, CRUD and exposed endpoints, OpenAPI, Swagger UI, Redoc) and WebSocket, each
//! protocol on its own port.
//!
//! Owns the protocols, their message shapes, TLS, compression, CORS, the limits on what a
//! peer may make it hold (`limits.rs`, enforced by `admission.rs` and `server.rs`) and
//! draining on shutdown. It does not route: every request goes to a [`FlowService`] (the router) and its answer
//! comes back unchanged in content, only reshaped for the wire.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod admission;
mod coalesce;
mod config;
mod error;
mod grpc;
mod http;
mod in_flight;
mod limits;
mod monitoring;
mod observe;
mod openapi;
mod self_wake;
mod server;
mod tls;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::watch;

use flowhost_router::Router;
use flowhost_telemetry::GatewayMetrics;
use flowhost_wire::{Protocol, Readiness, Request, Response};

pub use config::{Binding, ExposedEndpoint, GatewayConfig, Monitoring};
pub use error::GatewayError;
pub use limits::{
    Budget, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_REQUEST_SIZE,
    DEFAULT_MAX_STREAMS, DEFAULT_READ_TIMEOUT, DEFAULT_REQUEST_MEMORY_BUDGET, ServerLimits,
};
pub use openapi::openapi_document;

/// What the gateway serves: a flow's router, or anything that answers requests the same way.
pub trait FlowService: Send + Sync + 'static {
    /// Runs one request through the flow. Never fails: errors are in the response's status.
    fn process(&self, request: Request) -> BoxFuture<'_, Response>;
    /// The endpoints the flow's executors bind (gRPC endpoint discovery).
    fn endpoints(&self) -> Vec<String>;
    /// Whether the flow can serve now (executors elsewhere may be down); the gateway's own
    /// shutdown is checked by the gateway.
    fn readiness(&self) -> BoxFuture<'_, Readiness> {
        Box::pin(async { Readiness::Ready })
    }
}

impl FlowService for Router {
    fn process(&self, request: Request) -> BoxFuture<'_, Response> {
        Box::pin(Router::process(self, request))
    }

    fn endpoints(&self) -> Vec<String> {
        Router::endpoints(self)
    }

    fn readiness(&self) -> BoxFuture<'_, Readiness> {
        Box::pin(async {
            match Router::readiness(self).await {
                Ok(()) => Readiness::Ready,
                Err(reason) => Readiness::NotReady(reason),
            }
        })
    }
}

/// One listening address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listening {
    /// What is served there.
    pub protocol: Protocol,
    /// The bound address, with the actual port when the binding let the OS pick one.
    pub address: SocketAddr,
}

/// State shared by every protocol's handlers.
struct Shared {
    service: Arc<dyn FlowService>,
    config: GatewayConfig,
    /// What requests in flight hold, across every protocol.
    budget: Budget,
    /// Flips to `true` once shutdown starts: streams stop taking new requests.
    shutdown: watch::Receiver<bool>,
    /// WebSocket sessions: upgraded connections leave the HTTP server's graceful drain, so
    /// shutdown waits for them here.
    sessions: tokio_util::task::TaskTracker,
    /// Where requests are counted, when the gateway is monitored.
    metrics: Option<GatewayMetrics>,
}

impl Shared {
    /// Counts a request refused before the flow saw it, when the gateway is monitored.
    fn count_refusal(&self, front: flowhost_telemetry::Front, why: flowhost_telemetry::Refused) {
        self.count_refusals(front, why, 1);
    }

    /// Counts `count` requests refused as one (the rest of a stream), when monitored.
    fn count_refusals(
        &self,
        front: flowhost_telemetry::Front,
        why: flowhost_telemetry::Refused,
        count: u64,
    ) {
        if let Some(metrics) = &self.metrics {
            metrics.refused_many(front, why, count);
        }
    }
}

/// A running gateway: every binding listening.
pub struct Gateway {
    listening: Vec<Listening>,
    metrics_address: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    servers: Vec<tokio::task::JoinHandle<()>>,
    sessions: tokio_util::task::TaskTracker,
    drain_timeout: Duration,
    tls: bool,
}

impl Gateway {
    /// Binds every port (failing fast when one is taken), then serves in the background.
    pub async fn start(
        config: GatewayConfig,
        service: Arc<dyn FlowService>,
    ) -> Result<Gateway, GatewayError> {
        let tls = tls::acceptor(&config)?;
        let host = config.host.clone().unwrap_or_else(|| "0.0.0.0".to_owned());
        let mut listeners = Vec::new();
        for binding in &config.bindings {
            let port = binding.port.unwrap_or(0);
            let listener = tokio::net::TcpListener::bind((host.as_str(), port))
                .await
                .map_err(|source| GatewayError::Bind {
                    protocol: binding.protocol.as_str(),
                    address: format!("{host}:{port}"),
                    source,
                })?;
            let address = listener.local_addr().map_err(|source| GatewayError::Bind {
                protocol: binding.protocol.as_str(),
                address: format!("{host}:{port}"),
                source,
            })?;
            listeners.push((binding.protocol, listener, address));
        }
        let served = config
            .monitoring
            .as_ref()
            .filter(|monitoring| monitoring.serve);
        let monitoring = match served {
            Some(monitoring) => {
                let port = monitoring.port.unwrap_or(0);
                let bind_error = |source| GatewayError::Bind {
                    protocol: "monitoring",
                    address: format!("{host}:{port}"),
                    source,
                };
                let listener = tokio::net::TcpListener::bind((host.as_str(), port))
                    .await
                    .map_err(bind_error)?;
                let address = listener.local_addr().map_err(bind_error)?;
                Some((monitoring.metrics.clone(), listener, address))
            }
            None => None,
        };
        let (shutdown, shutdown_rx) = watch::channel(false);
        let metrics = config.monitoring.as_ref().map(|monitoring| {
            let gateway = monitoring.metrics.gateway();
            gateway.bind_endpoints(&service.endpoints());
            gateway
        });
        let shared = Arc::new(Shared {
            service,
            config: config.clone(),
            budget: Budget::new(config.limits.request_memory_budget),
            shutdown: shutdown_rx.clone(),
            sessions: tokio_util::task::TaskTracker::new(),
            metrics,
        });
        let serve_options = server::ServeOptions {
            limits: config.limits.clone(),
            connections: Arc::new(tokio::sync::Semaphore::new(
                config
                    .limits
                    .max_connections
                    .min(tokio::sync::Semaphore::MAX_PERMITS),
            )),
            drain_timeout: config.drain_timeout,
        };
        let mut listening = Vec::new();
        let mut servers = Vec::new();
        for (protocol, listener, address) in listeners {
            let app = match protocol {
                Protocol::Grpc => grpc::router(shared.clone()),
                Protocol::Http => http::router(shared.clone()),
                Protocol::Websocket => ws::router(shared.clone()),
            };
            let app = admission::layer(app, shared.clone());
            listening.push(Listening { protocol, address });
            tracing::info!(protocol = protocol.as_str(), %address, "gateway listening");
            servers.push(tokio::spawn(server::serve(
                listener,
                tls.clone(),
                app,
                shutdown_rx.clone(),
                serve_options.clone(),
                protocol != Protocol::Grpc,
            )));
        }
        let mut metrics_address = None;
        if let Some((metrics, listener, address)) = monitoring {
            tracing::info!(%address, "metrics served at /metrics");
            metrics_address = Some(address);
            servers.push(tokio::spawn(server::serve(
                listener,
                None,
                monitoring::router(metrics),
                shutdown_rx.clone(),
                serve_options.clone(),
                false,
            )));
        }
        Ok(Gateway {
            listening,
            metrics_address,
            shutdown,
            servers,
            sessions: shared.sessions.clone(),
            drain_timeout: config.drain_timeout,
            tls: tls.is_some(),
        })
    }

    /// Where each protocol listens, in the flow's order.
    pub fn listening(&self) -> &[Listening] {
        &self.listening
    }

    /// Where `/metrics` is served, when the gateway is monitored.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_address
    }

    /// Whether every port speaks TLS (`ssl_certfile` and `ssl_keyfile` were set).
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// Stops accepting, lets in-flight requests finish (up to the drain timeout), and returns
    /// once every server has stopped.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for server in self.servers {
            let _ = server.await;
        }
        self.sessions.close();
        if tokio::time::timeout(self.drain_timeout, self.sessions.wait())
            .await
            .is_err()
        {
            tracing::warn!("WebSocket sessions still open after the drain timeout");
        }
    }
}

/// Resolves once shutdown has started (or the gateway is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
