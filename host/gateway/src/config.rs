//! What a gateway is told to serve: its own settings, in its own types.
//!
//! The flow file is one source of these (the binary maps a flow's `with:` block here), a test
//! or an embedding program another; the gateway never reads a flow.

use std::collections::BTreeMap;
use std::time::Duration;

use flowhost_telemetry::Metrics;
use flowhost_wire::{Compression, Protocol};

use crate::limits::ServerLimits;

/// One protocol on one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// What is served on the port.
    pub protocol: Protocol,
    /// `None`: pick a free port.
    pub port: Option<u16>,
}

/// An executor endpoint served as its own HTTP route (Jina's `expose_endpoints`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExposedEndpoint {
    /// HTTP methods (upper-case); empty means POST.
    pub methods: Vec<String>,
    /// OpenAPI `summary`.
    pub summary: Option<String>,
    /// OpenAPI `description`.
    pub description: Option<String>,
    /// OpenAPI `tags`.
    pub tags: Vec<String>,
}

/// The gateway's settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Protocol and port pairs, in order.
    pub bindings: Vec<Binding>,
    /// The address to listen on (`0.0.0.0` when unset).
    pub host: Option<String>,
    /// Answer CORS preflights and allow any origin on HTTP.
    pub cors: bool,
    /// gRPC reply compression.
    pub compression: Option<Compression>,
    /// PEM certificate chain; with `ssl_keyfile`, every port speaks TLS.
    pub ssl_certfile: Option<String>,
    /// PEM private key for `ssl_certfile`.
    pub ssl_keyfile: Option<String>,
    /// Requests one gRPC stream or WebSocket may have in flight (Jina's `prefetch`; 0: no limit).
    pub prefetch: Option<u64>,
    /// Leave out `/index`, `/search`, `/update`, `/delete`.
    pub no_crud_endpoints: bool,
    /// Leave out `/post`.
    pub no_debug_endpoints: bool,
    /// Executor endpoints served as routes of their own.
    pub expose_endpoints: BTreeMap<String, ExposedEndpoint>,
    /// The OpenAPI document's title.
    pub title: Option<String>,
    /// The OpenAPI document's description.
    pub description: Option<String>,
    /// What one peer may make the gateway hold.
    pub limits: ServerLimits,
    /// How long shutdown waits for in-flight requests before closing connections.
    pub drain_timeout: Duration,
    /// Prometheus metrics (Jina's `monitoring: true`): requests are counted, and `/metrics`
    /// is served on a port of its own.
    pub monitoring: Option<Monitoring>,
}

/// Where the gateway counts requests, and whether it serves the process's metrics.
#[derive(Debug, Clone)]
pub struct Monitoring {
    /// The process's registry: the gateway records into it (and serves all of it).
    pub metrics: Metrics,
    /// Serve `/metrics` (Jina's `monitoring: true`); without it the gateway only counts,
    /// for an exporter that pushes the registry elsewhere.
    pub serve: bool,
    /// The port of `/metrics` (Jina's `port_monitoring`); `None`: pick a free one.
    pub port: Option<u16>,
}

impl Default for GatewayConfig {
    /// gRPC on a free port, every other setting at Jina's default.
    fn default() -> Self {
        Self {
            bindings: vec![Binding {
                protocol: Protocol::Grpc,
                port: None,
            }],
            host: None,
            cors: false,
            compression: None,
            ssl_certfile: None,
            ssl_keyfile: None,
            prefetch: None,
            no_crud_endpoints: false,
            no_debug_endpoints: false,
            expose_endpoints: BTreeMap::new(),
            title: None,
            description: None,
            limits: ServerLimits::default(),
            drain_timeout: Duration::from_secs(30),
            monitoring: None,
        }
    }
}

impl GatewayConfig {
    /// Requests one gRPC stream or WebSocket may have in flight (Jina's gateway `prefetch`,
    /// 1000 by default; 0 means no limit).
    pub(crate) fn prefetch(&self) -> usize {
        match self.prefetch {
            None => 1000,
            Some(0) => usize::MAX >> 4,
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX >> 4),
        }
    }

    /// The compression replies are sent with, if any.
    pub(crate) fn compression(&self) -> Option<Compression> {
        self.compression
            .filter(|c| *c != Compression::NoCompression)
    }
}
