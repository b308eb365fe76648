//! The flow's gateway settings as the gateway's own config: bindings, TLS files, endpoints,
//! and the server limits (flowhost's `with:` keys over the gateway's defaults, and Jina's
//! `grpc_server_options` under the names Jina users already write).

use std::path::Path;
use std::time::Duration;

use flowhost_flow::{Flow, GatewayArgs};
use flowhost_gateway::{Binding, ExposedEndpoint, GatewayConfig, Monitoring, ServerLimits};
use flowhost_telemetry::Metrics;
use serde_json::Value;

/// The gateway's config for a flow whose file is in `flow_dir` (relative TLS files are found
/// next to the flow file first, then in the working folder).
pub fn gateway_config(args: &GatewayArgs, flow_dir: &Path) -> GatewayConfig {
    let beside = |file: &Option<String>| {
        file.as_ref().map(|file| {
            let next_to_flow = flow_dir.join(file);
            if Path::new(file).is_relative() && next_to_flow.is_file() {
                next_to_flow.display().to_string()
            } else {
                file.clone()
            }
        })
    };
    GatewayConfig {
        bindings: args
            .bindings
            .iter()
            .map(|binding| Binding {
                protocol: binding.protocol,
                port: binding.port,
            })
            .collect(),
        host: args.host.clone(),
        cors: args.cors,
        compression: args.compression,
        ssl_certfile: beside(&args.ssl_certfile),
        ssl_keyfile: beside(&args.ssl_keyfile),
        prefetch: args.prefetch,
        no_crud_endpoints: args.no_crud_endpoints,
        no_debug_endpoints: args.no_debug_endpoints,
        expose_endpoints: args
            .expose_endpoints
            .iter()
            .map(|(path, exposed)| {
                let exposed = ExposedEndpoint {
                    methods: exposed.methods.clone(),
                    summary: exposed.summary.clone(),
                    description: exposed.description.clone(),
                    tags: exposed.tags.clone(),
                };
                (path.clone(), exposed)
            })
            .collect(),
        title: args.title.clone(),
        description: args.description.clone(),
        limits: server_limits(args),
        ..GatewayConfig::default()
    }
}

/// Jina's `monitoring: true` (the flow's, the gateway's or any executor's): one registry
/// for the process, served on the gateway's `port_monitoring` (a free port when unset, as in
/// Jina). Executors run in this process, so they have no port of their own. `pushed` says
/// the registry is also wanted without `/metrics` (Jina's `metrics: true`, pushed over OTLP).
pub fn monitoring(flow: &Flow, pushed: bool) -> Option<Monitoring> {
    let args = flow.gateway_args();
    let serve = flow.switched_on("monitoring").is_some();
    if !serve && !pushed {
        return None;
    }
    let port = (args.extra.get("port_monitoring"))
        .and_then(Value::as_u64)
        .and_then(|port| u16::try_from(port).ok());
    match Metrics::new() {
        Ok(metrics) => Some(Monitoring {
            metrics,
            serve,
            port,
        }),
        Err(error) => {
            tracing::error!(error = %error, "metrics are off: {error:?}");
            None
        }
    }
}

/// gRPC server options flowhost applies; others are ignored with a warning.
const GRPC_OPTIONS: &[&str] = &[
    "grpc.max_receive_message_length",
    "grpc.max_send_message_length",
    "grpc.max_concurrent_streams",
    "grpc.keepalive_time_ms",
    "grpc.keepalive_timeout_ms",
];

/// The flow's settings over the defaults. A request can never be larger than the budget
/// it must fit in, so "no limit" (`-1`, as gRPC spells it) means the budget.
pub fn server_limits(args: &GatewayArgs) -> ServerLimits {
    let mut limits = ServerLimits::default();
    let server = &args.server;
    let size = |bytes: u64| usize::try_from(bytes).unwrap_or(usize::MAX);
    if let Some(budget) = server.request_memory_budget {
        limits.request_memory_budget = size(budget).max(1);
    }
    if let Some(max) = server.max_request_size {
        limits.max_request_size = size(max);
    }
    limits.max_grpc_message_size = limits.max_request_size;
    if let Some(max) = server.max_connections {
        limits.max_connections = size(max).max(1);
    }
    if let Some(ms) = server.read_timeout_ms {
        limits.read_timeout = Duration::from_millis(ms.max(1));
    }
    if let Some(ms) = server.idle_timeout_ms {
        limits.idle_timeout = (ms > 0).then(|| Duration::from_millis(ms));
    }
    if let Some(Value::Object(options)) = args.extra.get("grpc_server_options") {
        for (key, value) in options {
            let number = value.as_i64();
            match (key.as_str(), number) {
                ("grpc.max_receive_message_length", Some(n)) => {
                    limits.max_grpc_message_size = if n < 0 { usize::MAX } else { size(n as u64) };
                }
                ("grpc.max_concurrent_streams", Some(n)) if n > 0 => {
                    limits.max_streams_per_connection = u32::try_from(n).unwrap_or(u32::MAX);
                }
                ("grpc.keepalive_time_ms", Some(n)) => {
                    limits.keepalive_interval = (n > 0).then(|| Duration::from_millis(n as u64));
                }
                ("grpc.keepalive_timeout_ms", Some(n)) if n > 0 => {
                    limits.keepalive_timeout = Duration::from_millis(n as u64);
                }
                // Replies are the flow's own; nothing to bound.
                ("grpc.max_send_message_length", _) => {}
                (known, _) if GRPC_OPTIONS.contains(&known) => tracing::warn!(
                    option = known,
                    %value,
                    "grpc_server_options: not a usable value; the default stays"
                ),
                (other, _) => tracing::warn!(
                    option = other,
                    "grpc_server_options: flowhost does not apply this option"
                ),
            }
        }
    }
    limits.max_request_size = limits.max_request_size.min(limits.request_memory_budget);
    limits.max_grpc_message_size = limits
        .max_grpc_message_size
        .min(limits.request_memory_budget);
    limits
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use flowhost_flow::{Flow, ServerSettings};
    use flowhost_gateway::DEFAULT_REQUEST_MEMORY_BUDGET;
    use serde_json::json;

    use super::*;

    fn args(server: ServerSettings, extra: BTreeMap<String, Value>) -> GatewayArgs {
        let mut args = Flow::default().gateway_args();
        args.server = server;
        args.extra = extra;
        args
    }

    #[test]
    fn defaults_apply_and_flow_settings_win() {
        assert_eq!(
            server_limits(&args(ServerSettings::default(), BTreeMap::new())),
            ServerLimits::default()
        );
        let server = ServerSettings {
            max_request_size: Some(1 << 20),
            idle_timeout_ms: Some(0),
            ..ServerSettings::default()
        };
        let extra = BTreeMap::from([(
            "grpc_server_options".to_owned(),
            json!({"grpc.max_receive_message_length": -1, "grpc.max_concurrent_streams": 8,
                   "grpc.keepalive_time_ms": 1000, "grpc.so_reuseport": 0}),
        )]);
        let limits = server_limits(&args(server, extra));
        assert_eq!(limits.max_request_size, 1 << 20);
        // "No limit" is the budget.
        assert_eq!(limits.max_grpc_message_size, DEFAULT_REQUEST_MEMORY_BUDGET);
        assert_eq!(limits.max_streams_per_connection, 8);
        assert_eq!(limits.keepalive_interval, Some(Duration::from_secs(1)));
        assert_eq!(limits.idle_timeout, None);
    }
}
