//! The keys a Flow file may use, and "did you mean" suggestions for the ones it may not.
//!
//! Two kinds of known keys: the ones flowhost interprets (typed fields of `spec.rs`) and the ones
//! Jina knows but flowhost does not use (kept in `extra` maps, so an existing Jina flow still
//! loads). Anything else is an error, with the closest known key as a suggestion.

/// Top-level keys of a Flow file.
pub const TOP_KEYS: &[&str] = &["jtype", "version", "with", "executors", "metas"];

/// Keys under `with:` that flowhost interprets.
pub const WITH_KEYS: &[&str] = &[
    "port",
    "port_expose",
    "ports",
    "protocol",
    "protocols",
    "host",
    "cors",
    "compression",
    "ssl_certfile",
    "ssl_keyfile",
    "extra_search_paths",
    "prefetch",
    "timeout_ready",
    "timeout_send",
    "no_crud_endpoints",
    "no_debug_endpoints",
    "expose_endpoints",
    "env",
    "workspace",
    "name",
    "title",
    "description",
    "timeout_ms",
    "memory_limit",
    "fuel",
    "max_request_size",
    "max_connections",
    "request_memory_budget",
    "read_timeout_ms",
    "idle_timeout_ms",
];

/// Keys Jina accepts for a Flow or its gateway that flowhost keeps without interpreting.
pub const WITH_JINA_KEYS: &[&str] = &[
    "uses",
    "uses_with",
    "uses_metas",
    "uses_requests",
    "py_modules",
    "log_config",
    "quiet",
    "quiet_error",
    "suppress_root_logging",
    "inspect",
    "reload",
    "monitoring",
    "port_monitoring",
    "metrics",
    "metrics_exporter_host",
    "metrics_exporter_port",
    "tracing",
    "traces_exporter_host",
    "traces_exporter_port",
    "retries",
    "timeout_ctrl",
    "grpc_server_options",
    "grpc_channel_options",
    "uvicorn_kwargs",
    "expose_graphql_endpoint",
    "entrypoint",
    "docker_kwargs",
    "env_from_secret",
    "provider",
    "provider_endpoint",
    "stateful",
    "output_array_type",
    "proxy",
    "heartbeat",
    "workspace_id",
    "runtime_cls",
    "native",
    "exit_on_exceptions",
];

/// Keys of an executor entry that flowhost interprets.
pub const EXECUTOR_KEYS: &[&str] = &[
    "name",
    "uses",
    "uses_with",
    "uses_metas",
    "uses_requests",
    "workspace",
    "env",
    "needs",
    "when",
    "floating",
    "replicas",
    "shards",
    "polling",
    "uses_before",
    "uses_after",
    "disable_reduce",
    "no_reduce",
    "external",
    "host",
    "port",
    "tls",
    "grpc_metadata",
    "timeout_ms",
    "memory_limit",
    "fuel",
];

/// Keys Jina accepts for an executor that flowhost keeps without interpreting.
pub const EXECUTOR_JINA_KEYS: &[&str] = &[
    "py_modules",
    "output_array_type",
    "uses_dynamic_batching",
    "uses_before_address",
    "uses_after_address",
    "connection_list",
    "compression",
    "timeout_ready",
    "timeout_send",
    "timeout_recv",
    "timeout_ctrl",
    "retries",
    "log_config",
    "quiet",
    "quiet_error",
    "reload",
    "monitoring",
    "port_monitoring",
    "metrics",
    "metrics_exporter_host",
    "metrics_exporter_port",
    "tracing",
    "traces_exporter_host",
    "traces_exporter_port",
    "gpus",
    "volumes",
    "docker_kwargs",
    "entrypoint",
    "env_from_secret",
    "install_requirements",
    "force_update",
    "prefer_platform",
    "protocol",
    "provider",
    "provider_endpoint",
    "runtime_cls",
    "native",
    "stateful",
    "raft_configuration",
    "exit_on_exceptions",
    "grpc_server_options",
    "grpc_channel_options",
    "ssl_certfile",
    "ssl_keyfile",
    "disable_auto_volume",
    "workspace_id",
    "upload_files",
    "title",
    "description",
];

/// Keys of an `expose_endpoints` entry.
pub const EXPOSE_KEYS: &[&str] = &["methods", "summary", "description", "tags"];

/// Keys of an executor config file (`uses: x.yml`).
pub const EXECUTOR_CONFIG_KEYS: &[&str] = &[
    "jtype",
    "with",
    "metas",
    "requests",
    "uses",
    "component",
    "py_modules",
];

/// The known key closest to `unknown`, if it is close enough to be a likely typo.
///
/// Uses the optimal-string-alignment distance on lower-cased keys (so `Replicas` and
/// `replica` both find `replicas`), accepting up to a third of the key's length.
pub fn did_you_mean<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = unknown.to_ascii_lowercase();
    let limit = (lower.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(&lower, &c.to_ascii_lowercase()), c))
        // A suggestion that replaces every character is no suggestion.
        .filter(|(d, _)| *d <= limit && *d < lower.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(
            did_you_mean("replica", EXECUTOR_KEYS.iter().copied()).as_deref(),
            Some("replicas")
        );
        assert_eq!(
            did_you_mean("Needs", EXECUTOR_KEYS.iter().copied()).as_deref(),
            Some("needs")
        );
        assert_eq!(
            did_you_mean("uses_width", EXECUTOR_KEYS.iter().copied()).as_deref(),
            Some("uses_with")
        );
        assert_eq!(did_you_mean("zzzzzz", EXECUTOR_KEYS.iter().copied()), None);
    }
}
