//! Writing a Flow back to YAML (`flowhost` `save_config`), such that it loads back equal.
//!
//! Only what differs from the defaults is written, in a fixed key order, with the shortest
//! faithful spelling: one port as a number, `needs: a` for a single need, `64MiB` for sizes.

use std::collections::BTreeMap;
use std::path::Path;

use serde_norway::{Mapping, Value};

use crate::error::{FlowError, Pos};
use crate::limits::format_bytes;
use crate::spec::{
    ArrayFormat, BatchingSpec, DynamicBatching, ExecutorSpec, Flow, FlowArgs, GatewayOverrides,
    Limits, PollingSpec, ServerSettings,
};

impl Flow {
    /// The flow as YAML text.
    pub fn to_yaml(&self) -> Result<String, FlowError> {
        serde_norway::to_string(&self.to_yaml_value()).map_err(|e| FlowError::Syntax {
            at: Box::new(Pos::builder()),
            message: format!("cannot write the flow as YAML: {e}"),
        })
    }

    /// Writes the flow to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), FlowError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_yaml()?).map_err(|source| FlowError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    fn to_yaml_value(&self) -> Value {
        let mut m = Mapping::new();
        m.insert("jtype".into(), "Flow".into());
        let with = flow_args(&self.with);
        if !with.is_empty() {
            m.insert("with".into(), Value::Mapping(with));
        }
        let gateway = gateway(&self.with.gateway);
        if !gateway.is_empty() {
            m.insert("gateway".into(), Value::Mapping(gateway));
        }
        if !self.metas.is_empty() {
            m.insert(
                "metas".into(),
                json(&serde_json::Value::Object(self.metas.clone())),
            );
        }
        if !self.executors.is_empty() {
            let list = self
                .executors
                .iter()
                .map(|e| Value::Mapping(executor(e, &self.with)))
                .collect();
            m.insert("executors".into(), Value::Sequence(list));
        }
        Value::Mapping(m)
    }
}

fn json(v: &serde_json::Value) -> Value {
    // Any JSON value is representable in YAML; Null is the harmless fallback.
    serde_norway::to_value(v).unwrap_or(Value::Null)
}

fn put(m: &mut Mapping, key: &str, value: impl Into<Value>) {
    m.insert(key.into(), value.into());
}

fn put_opt<T: Into<Value> + Clone>(m: &mut Mapping, key: &str, value: &Option<T>) {
    if let Some(v) = value {
        put(m, key, v.clone());
    }
}

fn put_map(m: &mut Mapping, key: &str, map: &BTreeMap<String, String>) {
    if !map.is_empty() {
        let inner: Mapping = map
            .iter()
            .map(|(k, v)| (Value::from(k.clone()), Value::from(v.clone())))
            .collect();
        put(m, key, Value::Mapping(inner));
    }
}

fn put_json_map(m: &mut Mapping, key: &str, map: &serde_json::Map<String, serde_json::Value>) {
    if !map.is_empty() {
        put(m, key, json(&serde_json::Value::Object(map.clone())));
    }
}

fn put_extra(m: &mut Mapping, extra: &BTreeMap<String, serde_json::Value>) {
    for (k, v) in extra {
        put(m, k, json(v));
    }
}

/// One value written as a scalar, several as a list.
fn one_or_list(items: Vec<Value>) -> Value {
    if items.len() == 1 {
        items.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Sequence(items)
    }
}

fn put_limits(m: &mut Mapping, limits: &Limits) {
    put_opt(m, "timeout_ms", &limits.timeout_ms);
    if let Some(bytes) = limits.memory_limit {
        match format_bytes(bytes) {
            Some(text) => put(m, "memory_limit", text),
            None => put(m, "memory_limit", bytes),
        }
    }
    put_opt(m, "fuel", &limits.fuel);
}

/// `uses_dynamic_batching`, each entry with only the settings that differ from Jina's
/// defaults (an entry with none is written as `{}`, which loads back as the defaults).
pub(crate) fn put_dynamic_batching(m: &mut Mapping, key: &str, batching: &DynamicBatching) {
    if batching.is_empty() {
        return;
    }
    let defaults = BatchingSpec::default();
    let mut entries = Mapping::new();
    for (name, spec) in batching.entries() {
        let mut em = Mapping::new();
        if spec.preferred_batch_size != defaults.preferred_batch_size {
            put(
                &mut em,
                "preferred_batch_size",
                spec.preferred_batch_size as u64,
            );
        }
        if spec.timeout_ms != defaults.timeout_ms {
            put(&mut em, "timeout", spec.timeout_ms);
        }
        if spec.flush_all != defaults.flush_all {
            put(&mut em, "flush_all", spec.flush_all);
        }
        if spec.enabled != defaults.enabled {
            put(&mut em, "use_dynamic_batching", spec.enabled);
        }
        put(&mut entries, name, Value::Mapping(em));
    }
    put(m, key, Value::Mapping(entries));
}

fn put_array_format(m: &mut Mapping, format: &Option<ArrayFormat>) {
    if let Some(format) = format {
        put(m, "output_array_type", format.as_str());
    }
}

fn flow_args(a: &FlowArgs) -> Mapping {
    let mut m = Mapping::new();
    if !a.port.is_empty() {
        put(
            &mut m,
            "port",
            one_or_list(a.port.iter().map(|p| Value::from(*p)).collect()),
        );
    }
    if !a.protocol.is_empty() {
        let list = a.protocol.iter().map(|p| Value::from(p.as_str())).collect();
        put(&mut m, "protocol", one_or_list(list));
    }
    put_opt(&mut m, "host", &a.host);
    put_opt(&mut m, "cors", &a.cors);
    if let Some(c) = a.compression {
        put(&mut m, "compression", c.as_str());
    }
    put_opt(&mut m, "ssl_certfile", &a.ssl_certfile);
    put_opt(&mut m, "ssl_keyfile", &a.ssl_keyfile);
    if !a.extra_search_paths.is_empty() {
        let list = a
            .extra_search_paths
            .iter()
            .map(|s| Value::from(s.clone()))
            .collect();
        put(&mut m, "extra_search_paths", Value::Sequence(list));
    }
    put_opt(&mut m, "prefetch", &a.prefetch);
    put_opt(&mut m, "timeout_ready", &a.timeout_ready);
    put_opt(&mut m, "timeout_send", &a.timeout_send);
    put_opt(&mut m, "no_crud_endpoints", &a.no_crud_endpoints);
    put_opt(&mut m, "no_debug_endpoints", &a.no_debug_endpoints);
    if !a.expose_endpoints.is_empty() {
        let mut eps = Mapping::new();
        for (endpoint, e) in &a.expose_endpoints {
            let mut em = Mapping::new();
            if !e.methods.is_empty() {
                let list = e.methods.iter().map(|s| Value::from(s.clone())).collect();
                put(&mut em, "methods", Value::Sequence(list));
            }
            put_opt(&mut em, "summary", &e.summary);
            put_opt(&mut em, "description", &e.description);
            if !e.tags.is_empty() {
                let list = e.tags.iter().map(|s| Value::from(s.clone())).collect();
                put(&mut em, "tags", Value::Sequence(list));
            }
            put(&mut eps, endpoint, Value::Mapping(em));
        }
        put(&mut m, "expose_endpoints", Value::Mapping(eps));
    }
    put_map(&mut m, "env", &a.env);
    put_opt(&mut m, "workspace", &a.workspace);
    put_opt(&mut m, "name", &a.name);
    put_opt(&mut m, "title", &a.title);
    put_opt(&mut m, "description", &a.description);
    put_limits(&mut m, &a.limits);
    put_server(&mut m, &a.server);
    put_dynamic_batching(&mut m, "uses_dynamic_batching", &a.dynamic_batching);
    put_array_format(&mut m, &a.output_array_type);
    put_opt(&mut m, "replicas", &a.replicas);
    put_opt(&mut m, "shards", &a.shards);
    put_polling(&mut m, &a.polling);
    put_extra(&mut m, &a.extra);
    m
}

/// The top-level `gateway:` section: the settings that apply to the gateway alone (the
/// gateway-only keys were written under `with:`, where they load back the same).
fn gateway(g: &GatewayOverrides) -> Mapping {
    let mut m = Mapping::new();
    put_map(&mut m, "env", &g.env);
    if let Some(c) = g.compression {
        put(&mut m, "compression", c.as_str());
    }
    put_opt(&mut m, "timeout_ready", &g.timeout_ready);
    put_opt(&mut m, "timeout_send", &g.timeout_send);
    put_extra(&mut m, &g.extra);
    m
}

fn put_polling(m: &mut Mapping, polling: &Option<PollingSpec>) {
    match polling {
        None => {}
        Some(PollingSpec::Uniform(p)) => put(m, "polling", p.as_str()),
        Some(PollingSpec::PerEndpoint(map)) => {
            let inner: Mapping = map
                .iter()
                .map(|(k, p)| (Value::from(k.clone()), Value::from(p.as_str())))
                .collect();
            put(m, "polling", Value::Mapping(inner));
        }
    }
}

fn put_server(m: &mut Mapping, server: &ServerSettings) {
    let size = |bytes: u64| format_bytes(bytes).map_or(Value::from(bytes), Value::from);
    if let Some(bytes) = server.max_request_size {
        put(m, "max_request_size", size(bytes));
    }
    put_opt(m, "max_connections", &server.max_connections);
    if let Some(bytes) = server.request_memory_budget {
        put(m, "request_memory_budget", size(bytes));
    }
    put_opt(m, "read_timeout_ms", &server.read_timeout_ms);
    put_opt(m, "idle_timeout_ms", &server.idle_timeout_ms);
}

fn executor(e: &ExecutorSpec, flow: &FlowArgs) -> Mapping {
    let mut m = Mapping::new();
    put(&mut m, "name", e.name.clone());
    put_opt(&mut m, "uses", &e.uses);
    put_json_map(&mut m, "uses_with", &e.uses_with);
    put_json_map(&mut m, "uses_metas", &e.uses_metas);
    put_map(&mut m, "uses_requests", &e.uses_requests);
    put_opt(&mut m, "workspace", &e.workspace);
    put_map(&mut m, "env", &e.env);
    if let Some(needs) = &e.needs {
        let list = needs.iter().map(|s| Value::from(s.clone())).collect();
        put(&mut m, "needs", one_or_list(list));
    }
    if let Some(when) = &e.when {
        put(&mut m, "when", json(when));
    }
    if e.floating {
        put(&mut m, "floating", true);
    }
    // Loading gave the flow's `replicas`, `shards` and `polling` to every executor that did
    // not write its own, so an executor's value is written only where it differs from them.
    if e.replicas != flow.replicas.unwrap_or(1) {
        put(&mut m, "replicas", e.replicas);
    }
    if e.shards != flow.shards.unwrap_or(1) {
        put(&mut m, "shards", e.shards);
    }
    if e.polling != flow.polling {
        put_polling(&mut m, &e.polling);
    }
    put_opt(&mut m, "uses_before", &e.uses_before);
    put_opt(&mut m, "uses_after", &e.uses_after);
    if e.disable_reduce {
        put(&mut m, "disable_reduce", true);
    }
    if e.external {
        put(&mut m, "external", true);
    }
    if !e.host.is_empty() {
        let hosts = e.host.iter().map(|h| Value::from(h.clone())).collect();
        put(&mut m, "host", one_or_list(hosts));
    }
    if !e.port.is_empty() {
        put(
            &mut m,
            "port",
            one_or_list(e.port.iter().map(|p| Value::from(*p)).collect()),
        );
    }
    if e.tls {
        put(&mut m, "tls", true);
    }
    put_map(&mut m, "grpc_metadata", &e.grpc_metadata);
    put_limits(&mut m, &e.limits);
    put_dynamic_batching(&mut m, "uses_dynamic_batching", &e.dynamic_batching);
    put_array_format(&mut m, &e.output_array_type);
    put_extra(&mut m, &e.extra);
    m
}
