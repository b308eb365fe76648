//! The Rust builder, mirroring Jina's `Flow().add(...)`:
//!
//! ```ignore
//! let flow = Flow::new()
//!     .with_port(12345)
//!     .add(ExecutorSpec::new("foo").uses("foo.wasm"))
//!     .add(ExecutorSpec::new("bar").uses("bar.wasm").needs(["foo"]).replicas(2));
//! flow.validate()?;
//! ```
//!
//! The builder does not validate as it goes (like Jina, mistakes surface on use): call
//! [`Flow::validate`] or build the topology.

use serde_json::{Map, Value};

use crate::spec::{ArrayFormat, BatchingSpec, ExecutorSpec, Flow, PollingSpec};
use flowhost_wire::Compression;
use flowhost_wire::Protocol;

impl Flow {
    /// The empty flow: only the gateway.
    pub fn new() -> Flow {
        Flow::default()
    }

    /// Appends an executor. An executor without a name gets `executor<N>`, N its position,
    /// as in Jina.
    // Named after Jina's `Flow.add`, which every flow author knows; it is not `ops::Add`.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, mut executor: ExecutorSpec) -> Flow {
        if executor.name.is_empty() {
            executor.name = format!("executor{}", self.executors.len());
        }
        self.executors.push(executor);
        self
    }

    /// Adds a gateway `port`; the n-th port serves the n-th protocol.
    pub fn with_port(mut self, port: u16) -> Flow {
        self.with.port.push(port);
        self
    }

    /// Adds a gateway `protocol` (a flow that adds none serves gRPC).
    pub fn with_protocol(mut self, protocol: Protocol) -> Flow {
        self.with.protocol.push(protocol);
        self
    }

    /// Sets `host`, the address the gateway binds to.
    pub fn with_host(mut self, host: impl Into<String>) -> Flow {
        self.with.host = Some(host.into());
        self
    }

    /// Sets `cors`: allow cross-origin requests on the HTTP gateway.
    pub fn with_cors(mut self, cors: bool) -> Flow {
        self.with.cors = Some(cors);
        self
    }

    /// Sets the flow's gRPC `compression`.
    pub fn with_compression(mut self, compression: Compression) -> Flow {
        self.with.compression = Some(compression);
        self
    }

    /// Adds a flow-wide `env` variable (an executor's own value for it wins).
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Flow {
        self.with.env.insert(name.into(), value.into());
        self
    }

    /// Adds an `extra_search_paths` entry, where executor config files are looked for after
    /// the flow's folder.
    pub fn with_extra_search_path(mut self, path: impl Into<String>) -> Flow {
        self.with.extra_search_paths.push(path.into());
        self
    }

    /// Sets the default `workspace` for executors that set none.
    pub fn with_workspace(mut self, workspace: impl Into<String>) -> Flow {
        self.with.workspace = Some(workspace.into());
        self
    }

    /// Flow-wide default call deadline for executors.
    pub fn with_timeout_ms(mut self, ms: u64) -> Flow {
        self.with.limits.timeout_ms = Some(ms);
        self
    }

    /// Flow-wide default memory cap for executors, in bytes.
    pub fn with_memory_limit(mut self, bytes: u64) -> Flow {
        self.with.limits.memory_limit = Some(bytes);
        self
    }

    /// Flow-wide default fuel per call for executors.
    pub fn with_fuel(mut self, fuel: u64) -> Flow {
        self.with.limits.fuel = Some(fuel);
        self
    }

    /// Adds a flow-wide `uses_dynamic_batching` entry for `key` (an endpoint if it starts
    /// with `/`, else a method name), for every executor that sets no batching of its own.
    pub fn with_dynamic_batching(mut self, key: impl Into<String>, spec: BatchingSpec) -> Flow {
        self.with.dynamic_batching.insert(key, spec);
        self
    }

    /// Sets the flow-wide `output_array_type`, for every executor that sets none.
    pub fn with_output_array_type(mut self, format: ArrayFormat) -> Flow {
        self.with.output_array_type = Some(format);
        self
    }

    /// The executor called `name`.
    pub fn executor(&self, name: &str) -> Option<&ExecutorSpec> {
        self.executors.iter().find(|e| e.name == name)
    }
}

/// What `ExecutorSpec::needs` accepts: one name or several.
pub trait IntoNeeds {
    /// The names, in order.
    fn into_needs(self) -> Vec<String>;
}

impl IntoNeeds for &str {
    fn into_needs(self) -> Vec<String> {
        vec![self.to_string()]
    }
}

impl IntoNeeds for String {
    fn into_needs(self) -> Vec<String> {
        vec![self]
    }
}

impl<S: Into<String>, const N: usize> IntoNeeds for [S; N] {
    fn into_needs(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<S: Into<String>> IntoNeeds for Vec<S> {
    fn into_needs(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

/// A JSON object from a `serde_json::Value` (anything else gives an empty map, since
/// `uses_with` and friends are keyword arguments).
fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl ExecutorSpec {
    /// An executor with this name (an empty name means "default it on `add`").
    pub fn new(name: impl Into<String>) -> ExecutorSpec {
        ExecutorSpec {
            name: name.into(),
            ..ExecutorSpec::default()
        }
    }

    /// Sets `uses`: a component path or reference, or an executor config file (`*.yml`).
    pub fn uses(mut self, uses: impl Into<String>) -> ExecutorSpec {
        self.uses = Some(uses.into());
        self
    }

    /// `uses_with` from a JSON object, e.g. `json!({"param1": 10})`.
    pub fn uses_with(mut self, with: Value) -> ExecutorSpec {
        self.uses_with = object(with);
        self
    }

    /// `uses_metas` from a JSON object, e.g. `json!({"name": "enc"})`.
    pub fn uses_metas(mut self, metas: Value) -> ExecutorSpec {
        self.uses_metas = object(metas);
        self
    }

    /// Endpoint -> method pairs, e.g. `[("/index", "my_index")]`.
    pub fn uses_requests<K: Into<String>, V: Into<String>>(
        mut self,
        requests: impl IntoIterator<Item = (K, V)>,
    ) -> ExecutorSpec {
        self.uses_requests = requests
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Sets `workspace`, the folder for the executor's files.
    pub fn workspace(mut self, workspace: impl Into<String>) -> ExecutorSpec {
        self.workspace = Some(workspace.into());
        self
    }

    /// Adds an `env` variable (wins over the flow's).
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> ExecutorSpec {
        self.env.insert(name.into(), value.into());
        self
    }

    /// `needs("a")` or `needs(["a", "b"])`; `"gateway"` means the start of the flow.
    pub fn needs(mut self, needs: impl IntoNeeds) -> ExecutorSpec {
        self.needs = Some(needs.into_needs());
        self
    }

    /// A filter, e.g. `json!({"tags__key": {"$eq": 5}})`.
    pub fn when(mut self, when: Value) -> ExecutorSpec {
        self.when = Some(when);
        self
    }

    /// Sets `floating`: responses do not wait for this executor.
    pub fn floating(mut self, floating: bool) -> ExecutorSpec {
        self.floating = floating;
        self
    }

    /// Sets `replicas`: copies of each shard (default 1).
    pub fn replicas(mut self, replicas: u32) -> ExecutorSpec {
        self.replicas = replicas;
        self
    }

    /// Sets `shards`: partitions of the executor (default 1).
    pub fn shards(mut self, shards: u32) -> ExecutorSpec {
        self.shards = shards;
        self
    }

    /// Sets `polling`: which shards get a request (see [`PollingSpec`]).
    pub fn polling(mut self, polling: PollingSpec) -> ExecutorSpec {
        self.polling = Some(polling);
        self
    }

    /// Sets `uses_before`: a component run on each request before the shards.
    pub fn uses_before(mut self, uses: impl Into<String>) -> ExecutorSpec {
        self.uses_before = Some(uses.into());
        self
    }

    /// Sets `uses_after`: a component run on the shards' results.
    pub fn uses_after(mut self, uses: impl Into<String>) -> ExecutorSpec {
        self.uses_after = Some(uses.into());
        self
    }

    /// Sets `disable_reduce`: at a join, do not merge the incoming branches.
    pub fn disable_reduce(mut self, disable: bool) -> ExecutorSpec {
        self.disable_reduce = disable;
        self
    }

    /// An executor managed elsewhere, reached at `host:port`.
    pub fn external(mut self, host: impl Into<String>, port: u16) -> ExecutorSpec {
        self.external = true;
        self.host = vec![host.into()];
        self.port = vec![port];
        self
    }

    /// Sets `tls`: reach the external executor over TLS.
    pub fn tls(mut self, tls: bool) -> ExecutorSpec {
        self.tls = tls;
        self
    }

    /// Adds a `grpc_metadata` entry for calls to the external executor.
    pub fn grpc_metadata(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> ExecutorSpec {
        self.grpc_metadata.insert(key.into(), value.into());
        self
    }

    /// Sets this executor's call deadline, in milliseconds.
    pub fn timeout_ms(mut self, ms: u64) -> ExecutorSpec {
        self.limits.timeout_ms = Some(ms);
        self
    }

    /// Sets this executor's memory cap, in bytes.
    pub fn memory_limit(mut self, bytes: u64) -> ExecutorSpec {
        self.limits.memory_limit = Some(bytes);
        self
    }

    /// Sets this executor's Wasmtime fuel per call.
    pub fn fuel(mut self, fuel: u64) -> ExecutorSpec {
        self.limits.fuel = Some(fuel);
        self
    }

    /// Adds a `uses_dynamic_batching` entry for `key`: an endpoint if it starts with `/`
    /// (`/index`), else a method name; e.g. `BatchingSpec { preferred_batch_size: 8,
    /// ..BatchingSpec::default() }`.
    pub fn dynamic_batching(mut self, key: impl Into<String>, spec: BatchingSpec) -> ExecutorSpec {
        self.dynamic_batching.insert(key, spec);
        self
    }

    /// Sets `output_array_type`: `numpy`, `list`, or a dtype every tensor and embedding the
    /// executor answers with is converted to (see [`ArrayFormat`]).
    pub fn output_array_type(mut self, format: ArrayFormat) -> ExecutorSpec {
        self.output_array_type = Some(format);
        self
    }
}
