//! How flow-level arguments reach the gateway and the executors (Jina's propagation rule).
//!
//! Jina: "All arguments received by Flow() API will be propagated to other entities (Gateway,
//! Executor) with the following exceptions: `uses` and `uses_with` won't be passed to Gateway;
//! `port`, `port_monitoring`, `uses` and `uses_with` won't be passed to Executor".
//!
//! flowhost applies that rule to the arguments an executor can use: `env` (merged, the
//! executor's value wins per variable), `workspace`, the limits (`timeout_ms`, `memory_limit`,
//! `fuel`), `compression`, `timeout_ready`, `timeout_send`, `uses_dynamic_batching`,
//! `output_array_type`, the top-level `metas`, and every
//! kept Jina key that executors also know. Gateway-only settings (protocols, host, CORS, TLS
//! files, exposed endpoints, search paths) do not reach executors: they have no meaning there.
//! `replicas`, `shards` and `polling` are resolved earlier, when the flow is loaded: each
//! executor that does not write one gets the flow's in its [`ExecutorSpec`](crate::ExecutorSpec).
//! The top-level `gateway:` section (Jina's `config_gateway`) reaches the gateway alone.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::keys::kept_by_executors;
use crate::limits::ResolvedLimits;
use crate::spec::{ArrayFormat, DynamicBatching, ExposedEndpoint, Flow, ServerSettings};
use flowhost_wire::Compression;
use flowhost_wire::Protocol;

/// Flow arguments never passed to executors (Jina's list).
pub const NOT_FOR_EXECUTORS: &[&str] = &["port", "port_monitoring", "uses", "uses_with"];
/// Flow arguments never passed to the gateway (Jina's list).
pub const NOT_FOR_GATEWAY: &[&str] = &["uses", "uses_with"];

/// An executor's arguments after the flow's have been applied.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveExecutor {
    /// The executor's `name` in the flow.
    pub name: String,
    /// The flow's `env` with the executor's `env` over it, per variable.
    pub env: BTreeMap<String, String>,
    /// The executor's `workspace`, else the flow's.
    pub workspace: Option<String>,
    /// Sandbox limits: the executor's, else the flow's, else the built-in defaults.
    pub limits: ResolvedLimits,
    /// `compression`: the executor's own (a kept Jina key), else the flow's.
    pub compression: Option<Compression>,
    /// `timeout_ready` in milliseconds (-1: wait forever): the executor's, else the flow's.
    pub timeout_ready: Option<i64>,
    /// `timeout_send` in milliseconds (-1: no timeout): the executor's, else the flow's.
    pub timeout_send: Option<i64>,
    /// The flow's top-level `metas` with the executor's `uses_metas` over them.
    pub uses_metas: Map<String, Value>,
    /// `uses_dynamic_batching`: the executor's own if it sets any entry, else the flow's
    /// (Jina passes a flow argument to every executor that does not set it). An executor
    /// config file's `dynamic_batching` is not folded in here: see
    /// [`ExpandedExecutor::dynamic_batching`](crate::ExpandedExecutor::dynamic_batching).
    pub dynamic_batching: DynamicBatching,
    /// `output_array_type`: the executor's own, else the flow's.
    pub output_array_type: Option<ArrayFormat>,
    /// Kept Jina keys: the flow's (those executors know, minus the exceptions) under the
    /// executor's own.
    pub extra: BTreeMap<String, Value>,
}

/// One listening address of the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// gRPC, HTTP or WebSocket.
    pub protocol: Protocol,
    /// `None`: pick a free port.
    pub port: Option<u16>,
}

/// The gateway's arguments: every flow argument but `uses` and `uses_with`.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayArgs {
    /// Protocol and port pairs, in order (gRPC on a free port when nothing is set).
    pub bindings: Vec<Binding>,
    /// `host`: the address to bind to (unset: the gateway's default).
    pub host: Option<String>,
    /// `cors`: allow cross-origin requests on HTTP (unset: false).
    pub cors: bool,
    /// `compression` of the gRPC messages the gateway sends (`None`: uncompressed).
    pub compression: Option<Compression>,
    /// `ssl_certfile`: with `ssl_keyfile`, the gateway serves TLS.
    pub ssl_certfile: Option<String>,
    /// `ssl_keyfile`: private key for `ssl_certfile`.
    pub ssl_keyfile: Option<String>,
    /// `prefetch`: requests in flight per client stream; unset leaves the gateway's default.
    pub prefetch: Option<u64>,
    /// `timeout_ready` in milliseconds (-1: wait forever).
    pub timeout_ready: Option<i64>,
    /// `timeout_send` in milliseconds (-1: no timeout).
    pub timeout_send: Option<i64>,
    /// `no_crud_endpoints`: leave out `/index`, `/search`, `/update`, `/delete` (unset: false).
    pub no_crud_endpoints: bool,
    /// `no_debug_endpoints`: leave out `/post` (unset: false).
    pub no_debug_endpoints: bool,
    /// `expose_endpoints`: extra HTTP routes onto executor endpoints, keyed by endpoint.
    pub expose_endpoints: BTreeMap<String, ExposedEndpoint>,
    /// The flow's `env`.
    pub env: BTreeMap<String, String>,
    /// The flow's `name`.
    pub name: Option<String>,
    /// `title` of the HTTP gateway's OpenAPI page.
    pub title: Option<String>,
    /// `description` on the HTTP gateway's OpenAPI page.
    pub description: Option<String>,
    /// What one peer may make the gateway hold (see [`ServerSettings`]).
    pub server: ServerSettings,
    /// The flow's kept Jina keys minus [`NOT_FOR_GATEWAY`] (e.g. `grpc_server_options`).
    pub extra: BTreeMap<String, Value>,
}

impl Flow {
    /// The effective arguments of the executor at `index`, or `None` past the end.
    pub fn effective_executor(&self, index: usize) -> Option<EffectiveExecutor> {
        let e = self.executors.get(index)?;
        let with = &self.with;
        let mut env = with.env.clone();
        env.extend(e.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut uses_metas = self.metas.clone();
        uses_metas.extend(e.uses_metas.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut extra: BTreeMap<String, Value> = with
            .extra
            .iter()
            .filter(|(k, _)| kept_by_executors(k))
            .filter(|(k, _)| !NOT_FOR_EXECUTORS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        extra.extend(e.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        // The executor's own kept `compression`/`timeout_*` (Jina executor args) win.
        let compression = e
            .extra
            .get("compression")
            .and_then(Value::as_str)
            .and_then(Compression::parse)
            .or(with.compression);
        let int = |key: &str| e.extra.get(key).and_then(Value::as_i64);
        Some(EffectiveExecutor {
            name: e.name.clone(),
            env,
            workspace: e.workspace.clone().or_else(|| with.workspace.clone()),
            limits: e.limits.or(with.limits).resolve(),
            compression,
            timeout_ready: int("timeout_ready").or(with.timeout_ready),
            timeout_send: int("timeout_send").or(with.timeout_send),
            uses_metas,
            dynamic_batching: if e.dynamic_batching.is_empty() {
                with.dynamic_batching.clone()
            } else {
                e.dynamic_batching.clone()
            },
            output_array_type: (e.output_array_type.clone())
                .or_else(|| with.output_array_type.clone()),
            extra,
        })
    }

    /// The effective arguments of every executor, in flow order.
    pub fn effective_executors(&self) -> Vec<EffectiveExecutor> {
        (0..self.executors.len())
            .filter_map(|i| self.effective_executor(i))
            .collect()
    }

    /// Where a process-wide switch such as Jina's `monitoring`, `metrics` or `tracing` is
    /// turned on (`key: true`): the gateway's arguments, else the first executor's that say
    /// so, with the keys beside it (its exporter's host and port). `None` when nothing does.
    pub fn switched_on(&self, key: &str) -> Option<BTreeMap<String, Value>> {
        let gateway = self.gateway_args().extra;
        if is_on(&gateway, key) {
            return Some(gateway);
        }
        (self.effective_executors().into_iter())
            .map(|executor| executor.extra)
            .find(|extra| is_on(extra, key))
    }

    /// The gateway's arguments: `with:`, with the top-level `gateway:` section over it
    /// ([`FlowArgs::gateway`](crate::FlowArgs::gateway); its other keys are in `with` already).
    pub fn gateway_args(&self) -> GatewayArgs {
        let w = &self.with;
        let g = &w.gateway;
        let mut env = w.env.clone();
        env.extend(g.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut extra: BTreeMap<String, Value> = (w.extra.iter())
            .filter(|(k, _)| !NOT_FOR_GATEWAY.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        extra.extend(g.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        let protocols = if w.protocol.is_empty() {
            vec![Protocol::Grpc]
        } else {
            w.protocol.clone()
        };
        let bindings = protocols
            .iter()
            .enumerate()
            .map(|(i, p)| Binding {
                protocol: *p,
                port: w.port.get(i).copied(),
            })
            .collect();
        GatewayArgs {
            bindings,
            host: w.host.clone(),
            cors: w.cors.unwrap_or(false),
            compression: g.compression.or(w.compression),
            ssl_certfile: w.ssl_certfile.clone(),
            ssl_keyfile: w.ssl_keyfile.clone(),
            prefetch: w.prefetch,
            timeout_ready: g.timeout_ready.or(w.timeout_ready),
            timeout_send: g.timeout_send.or(w.timeout_send),
            no_crud_endpoints: w.no_crud_endpoints.unwrap_or(false),
            no_debug_endpoints: w.no_debug_endpoints.unwrap_or(false),
            expose_endpoints: w.expose_endpoints.clone(),
            env,
            name: w.name.clone(),
            title: w.title.clone(),
            description: w.description.clone(),
            server: w.server,
            extra,
        }
    }
}

/// Whether `settings` (a section's untyped keys) say Jina's `key: true`.
pub fn is_on(settings: &BTreeMap<String, Value>, key: &str) -> bool {
    settings.get(key) == Some(&Value::Bool(true))
}
