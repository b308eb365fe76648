//! The Flow model's types: what a parsed (or built) Flow is, independent of YAML.
//!
//! Owns the data only. Parsing lives in `yaml.rs`, checks in `validate.rs`, writing in `save.rs`,
//! the builder methods in `builder.rs`. Everything here compares with `==` so that a loaded,
//! saved and reloaded Flow can be checked for equality.

use std::collections::BTreeMap;

use flowhost_wire::{Compression, Protocol};

use serde_json::{Map, Value};

/// A Jina-style Flow: flow/gateway arguments plus an ordered list of executors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flow {
    /// The `with:` block: flow and gateway arguments, and flow-wide executor defaults.
    pub with: FlowArgs,
    /// Top-level `metas:` (Jina): defaults merged under every executor's `uses_metas`.
    pub metas: Map<String, Value>,
    /// The executors, in file (or `add`) order. Order matters: default `needs` and default names
    /// are positional, as in Jina.
    pub executors: Vec<ExecutorSpec>,
}

/// The `with:` block of a Flow.
///
/// Per Jina, these apply to the gateway and, for the keys that make sense there, to executors;
/// see `propagate.rs` for exactly which.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowArgs {
    /// `port` (or Jina's older `port_expose`): one port or one per protocol.
    pub port: Vec<u16>,
    /// `protocol`/`protocols`: one or a list; empty means gRPC (Jina's default).
    pub protocol: Vec<Protocol>,
    /// Address the gateway binds to.
    pub host: Option<String>,
    /// Allow cross-origin requests on the HTTP gateway.
    pub cors: Option<bool>,
    /// gRPC compression between gateway and executors.
    pub compression: Option<Compression>,
    /// `ssl_certfile`: certificate file the gateway serves TLS with (together with `ssl_keyfile`).
    pub ssl_certfile: Option<String>,
    /// `ssl_keyfile`: private key file for `ssl_certfile`.
    pub ssl_keyfile: Option<String>,
    /// Where executor config YAMLs (`uses: x.yml`) are looked for after the flow's own folder.
    pub extra_search_paths: Vec<String>,
    /// Maximum number of requests in flight from the gateway (0 or unset: unlimited).
    pub prefetch: Option<u64>,
    /// Milliseconds to wait for an executor to be ready; -1 waits forever (Jina).
    pub timeout_ready: Option<i64>,
    /// Milliseconds before a request sent to an executor times out; -1 never (Jina).
    pub timeout_send: Option<i64>,
    /// `no_crud_endpoints`: leave `/index`, `/search`, `/update` and `/delete` out of the HTTP
    /// gateway (unset: false).
    pub no_crud_endpoints: Option<bool>,
    /// `no_debug_endpoints`: leave `/post` out of the HTTP gateway (unset: false).
    pub no_debug_endpoints: Option<bool>,
    /// Extra HTTP endpoints mapped onto executor endpoints.
    pub expose_endpoints: BTreeMap<String, ExposedEndpoint>,
    /// Environment granted to every executor (an executor's own `env` wins per variable).
    pub env: BTreeMap<String, String>,
    /// Default workspace for executors that set none.
    pub workspace: Option<String>,
    /// `name` of the Flow (and its gateway).
    pub name: Option<String>,
    /// Title and description shown in the HTTP gateway's OpenAPI page.
    pub title: Option<String>,
    /// Description shown on the HTTP gateway's OpenAPI page (see `title`).
    pub description: Option<String>,
    /// Flow-wide defaults for the per-executor limits.
    pub limits: Limits,
    /// What one peer may make the gateway hold (flowhost's keys; the gRPC ones also come from
    /// Jina's `grpc_server_options`).
    pub server: ServerSettings,
    /// `uses_dynamic_batching` for every executor that sets none of its own (Jina passes flow
    /// arguments on to executors); empty when unset.
    pub dynamic_batching: DynamicBatching,
    /// `output_array_type` for every executor that sets none of its own.
    pub output_array_type: Option<ArrayFormat>,
    /// `replicas` for every executor that does not write its own (Jina passes a flow argument
    /// to every `add()` that does not set it). Loading writes it into those executors'
    /// [`ExecutorSpec::replicas`], so what runs reads the executor alone; saving leaves out an
    /// executor's value when it equals this one.
    pub replicas: Option<u32>,
    /// `shards` for every executor that does not write its own (see `replicas`).
    pub shards: Option<u32>,
    /// `polling` for every executor that does not write its own (see `replicas`). A flow
    /// built in Rust sets each executor's own: an executor left at `None` under a flow-wide
    /// value is saved without `polling` and loads back with the flow's.
    pub polling: Option<PollingSpec>,
    /// The top-level `gateway:` section's settings that, written under `with:`, would also
    /// reach executors; they apply to the gateway alone (see [`GatewayOverrides`]).
    pub gateway: GatewayOverrides,
    /// Jina's keys for a Flow or gateway that have no typed field: validated as known, kept as
    /// written, propagated by the Jina rules and saved back (`KEYS.md` says which have an
    /// effect, e.g. `grpc_server_options`, and which do not).
    pub extra: BTreeMap<String, Value>,
}

/// The settings of a flow file's top-level `gateway:` section (Jina's `config_gateway`) that
/// must not reach executors: they override the same `with:` keys for the gateway only.
///
/// The section's other keys (`port`, `protocol`, `host`, `cors`, TLS files, `prefetch`, the
/// endpoint switches, `title`, `description`, flowhost's server limits) are gateway-only
/// under `with:` too, so loading writes them into [`FlowArgs`] over the `with:` values and
/// saving writes them back under `with:`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayOverrides {
    /// `env` of the gateway: over the flow's `env`, per variable.
    pub env: BTreeMap<String, String>,
    /// `compression` of the gateway's gRPC replies, over the flow's.
    pub compression: Option<Compression>,
    /// `timeout_ready` of the gateway, over the flow's.
    pub timeout_ready: Option<i64>,
    /// `timeout_send` of the gateway, over the flow's.
    pub timeout_send: Option<i64>,
    /// Jina's gateway keys with no typed field (`grpc_server_options`, and the ones with no
    /// effect), over the flow's kept keys, kept as written and saved back.
    pub extra: BTreeMap<String, Value>,
}

impl GatewayOverrides {
    /// No setting at all (the flow file has no `gateway:` section, or one that changes
    /// nothing executors could see).
    pub fn is_empty(&self) -> bool {
        self == &GatewayOverrides::default()
    }
}

/// The gateway's resource limits as the flow file sets them; unset ones take the gateway's
/// documented defaults (`gateway::ServerLimits`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerSettings {
    /// `max_request_size`: the largest request taken, in bytes, after decompression.
    pub max_request_size: Option<u64>,
    /// `max_connections`: connections open at once, all ports together.
    pub max_connections: Option<u64>,
    /// `request_memory_budget`: bytes of requests received and not yet answered, in all.
    pub request_memory_budget: Option<u64>,
    /// `read_timeout_ms`: how long a request's headers, and its body (or a gRPC message)
    /// once started, may take to arrive.
    pub read_timeout_ms: Option<u64>,
    /// `idle_timeout_ms`: a connection with nothing in flight and no traffic for this long
    /// is closed.
    pub idle_timeout_ms: Option<u64>,
}

/// One executor (a Jina "Deployment") in a Flow.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorSpec {
    /// Unique within the Flow. Defaults to `executor<N>` (N = position) as in Jina.
    pub name: String,
    /// What to run: a component path or reference, an executor YAML (`*.yml`), or nothing for
    /// a pass-through node. Not resolved here (the registry does that).
    pub uses: Option<String>,
    /// `uses_with`: keyword arguments for the executor; win per key over its config file's `with`.
    pub uses_with: Map<String, Value>,
    /// `uses_metas`: the executor's metas; win per key over the flow's top-level `metas`.
    pub uses_metas: Map<String, Value>,
    /// Endpoint -> method name overrides.
    pub uses_requests: BTreeMap<String, String>,
    /// `workspace`: folder for the executor's files; unset takes the flow's `workspace`.
    pub workspace: Option<String>,
    /// `env`: environment variables for the executor; win per variable over the flow's `env`.
    pub env: BTreeMap<String, String>,
    /// Explicit `needs`; `None` means "the previous non-floating executor" (or the gateway).
    pub needs: Option<Vec<String>>,
    /// A DocArray-style filter, kept as JSON for the router. Always an object when set.
    pub when: Option<Value>,
    /// `floating`: off the main path; responses do not wait for it (default false).
    pub floating: bool,
    /// `replicas`: copies of each shard; a request goes to one of them (default 1).
    pub replicas: u32,
    /// `shards`: partitions of the executor; which ones get a request is `polling`'s choice
    /// (default 1).
    pub shards: u32,
    /// `polling`: ANY or ALL, for all endpoints or per endpoint; `None` keeps Jina's defaults
    /// (see [`PollingSpec::for_endpoint`]).
    pub polling: Option<PollingSpec>,
    /// `uses_before`: a component run on each request before it is sent to the shards.
    pub uses_before: Option<String>,
    /// `uses_after`: a component run on the shards' results (e.g. to merge them) before they
    /// move on.
    pub uses_after: Option<String>,
    /// Do not merge the branches at this join (Jina's `disable_reduce`, alias `no_reduce`).
    pub disable_reduce: bool,
    /// Managed elsewhere; reached at `host:port`.
    pub external: bool,
    /// `host` of an external executor, one per replica; each may carry its port as
    /// `name:port` (see [`Self::addresses`]).
    pub host: Vec<String>,
    /// `port` of an external executor: one for every host, or one per host.
    pub port: Vec<u16>,
    /// `tls`: reach the external executor over TLS (default false).
    pub tls: bool,
    /// `grpc_metadata`: gRPC metadata (key/value headers) for calls to an external executor.
    pub grpc_metadata: BTreeMap<String, String>,
    /// flowhost's sandbox limits for this executor (unset: flow default, then built-in default).
    pub limits: Limits,
    /// `uses_dynamic_batching`: per endpoint or method, how requests are gathered into one
    /// call (empty: each request is its own call). An executor that sets none takes the
    /// flow's (see [`crate::EffectiveExecutor::dynamic_batching`]).
    pub dynamic_batching: DynamicBatching,
    /// `output_array_type`: the form of the tensors and embeddings this executor answers with
    /// (unset: the flow's, else as the executor wrote them).
    pub output_array_type: Option<ArrayFormat>,
    /// Jina's keys for an executor that have no typed field, kept as written and saved back
    /// (`KEYS.md` says which have an effect, e.g. `retries`, and which do not).
    pub extra: BTreeMap<String, Value>,
}

impl Default for ExecutorSpec {
    fn default() -> Self {
        ExecutorSpec {
            name: String::new(),
            uses: None,
            uses_with: Map::new(),
            uses_metas: Map::new(),
            uses_requests: BTreeMap::new(),
            workspace: None,
            env: BTreeMap::new(),
            needs: None,
            when: None,
            floating: false,
            replicas: 1,
            shards: 1,
            polling: None,
            uses_before: None,
            uses_after: None,
            disable_reduce: false,
            external: false,
            host: Vec::new(),
            port: Vec::new(),
            tls: false,
            grpc_metadata: BTreeMap::new(),
            limits: Limits::default(),
            dynamic_batching: DynamicBatching::default(),
            output_array_type: None,
            extra: BTreeMap::new(),
        }
    }
}

/// flowhost's per-executor sandbox limits. Each is optional at every level; see
/// [`crate::ResolvedLimits`] for the values actually applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Deadline of one call into the executor, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Memory cap of one instance, in bytes.
    pub memory_limit: Option<u64>,
    /// Wasmtime fuel per call; unset means no fuel metering.
    pub fuel: Option<u64>,
}

/// One entry of `uses_dynamic_batching`: how the requests for one endpoint (or one method)
/// are gathered into a single call. Defaults are those of Jina's `BatchQueue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchingSpec {
    /// `preferred_batch_size`: call as soon as this many documents are waiting (at least 1;
    /// default 4). Counted in documents, as Jina does without a `custom_metric`.
    pub preferred_batch_size: usize,
    /// `timeout`: milliseconds the first waiting request may wait before the documents
    /// gathered so far are sent anyway (default 10 000).
    pub timeout_ms: u64,
    /// `flush_all`: when a call is made, send every waiting document rather than
    /// `preferred_batch_size` at a time (default false).
    pub flush_all: bool,
    /// `use_dynamic_batching`: false switches batching off for this endpoint or method
    /// (default true).
    pub enabled: bool,
}

impl BatchingSpec {
    /// Jina's `BatchQueue` default `preferred_batch_size`.
    pub const DEFAULT_PREFERRED_BATCH_SIZE: usize = 4;
    /// Jina's `BatchQueue` default `timeout`, in milliseconds.
    pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
}

impl Default for BatchingSpec {
    fn default() -> Self {
        BatchingSpec {
            preferred_batch_size: Self::DEFAULT_PREFERRED_BATCH_SIZE,
            timeout_ms: Self::DEFAULT_TIMEOUT_MS,
            flush_all: false,
            enabled: true,
        }
    }
}

/// The `uses_dynamic_batching:` value: a [`BatchingSpec`] per key, where a key starting with
/// `/` is an endpoint and any other key a method (function) name, as in Jina.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamicBatching {
    /// Entries keyed by endpoint (`/index`, ...).
    pub by_endpoint: BTreeMap<String, BatchingSpec>,
    /// Entries keyed by method name (`encode`, ...): they apply to every endpoint bound to it.
    pub by_method: BTreeMap<String, BatchingSpec>,
}

impl DynamicBatching {
    /// No entry at all (batching is off everywhere).
    pub fn is_empty(&self) -> bool {
        self.by_endpoint.is_empty() && self.by_method.is_empty()
    }

    /// Adds (or replaces) the entry for `key`: an endpoint if it starts with `/`, else a
    /// method name.
    pub fn insert(&mut self, key: impl Into<String>, spec: BatchingSpec) {
        let key = key.into();
        if key.starts_with('/') {
            self.by_endpoint.insert(key, spec);
        } else {
            self.by_method.insert(key, spec);
        }
    }

    /// Every entry with its key as written (endpoints first), e.g. for saving.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &BatchingSpec)> {
        (self.by_endpoint.iter())
            .chain(&self.by_method)
            .map(|(k, v)| (k.as_str(), v))
    }

    /// How a call of `method` for `endpoint` is batched, following Jina's worker
    /// (`_init_batchqueue_dict`): the endpoint's entry if there is one, else the method's;
    /// `None` (no batching) when there is neither or that entry has `enabled == false`. An
    /// endpoint's disabled entry is not overridden by its method's.
    pub fn for_call(&self, endpoint: &str, method: &str) -> Option<&BatchingSpec> {
        let spec = (self.by_endpoint.get(endpoint)).or_else(|| self.by_method.get(method))?;
        spec.enabled.then_some(spec)
    }
}

/// numpy's names of the dtypes flowhost tensors have, as `output_array_type` takes them.
pub const NUMPY_DTYPES: &[&str] = &[
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
    "uint32", "uint64", "bool",
];

/// numpy's short codes for [`NUMPY_DTYPES`] (`f4` is `float32`), as `output_array_type`
/// also takes them, optionally after a little-endian or native byte-order mark (`<f4`, `=f4`,
/// `|u1`).
const NUMPY_CODES: &[(&str, &str)] = &[
    ("f2", "float16"),
    ("f4", "float32"),
    ("f8", "float64"),
    ("i1", "int8"),
    ("i2", "int16"),
    ("i4", "int32"),
    ("i8", "int64"),
    ("u1", "uint8"),
    ("u2", "uint16"),
    ("u4", "uint32"),
    ("u8", "uint64"),
    ("b1", "bool"),
    ("?", "bool"),
];

/// The `output_array_type` value: what the tensors and embeddings of an executor's answer
/// become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArrayFormat {
    /// `numpy` (Jina: numpy arrays; what flowhost always answers with).
    Numpy,
    /// `list` (Jina: Python lists). flowhost cannot mark tensors as lists and still answers
    /// numpy arrays; loading warns.
    List,
    /// A numpy dtype name, one of [`NUMPY_DTYPES`] (short codes normalised to these):
    /// flowhost's extension, converting every tensor and embedding the executor answers with
    /// to that dtype.
    Dtype(String),
}

impl ArrayFormat {
    /// Reads `numpy`, `list`, a name of [`NUMPY_DTYPES`] or a numpy short code (`f4`, `<f4`,
    /// `u1`, ...), surrounding spaces ignored; `None` for anything else.
    pub fn parse(text: &str) -> Option<ArrayFormat> {
        let text = text.trim();
        match text {
            "numpy" => return Some(ArrayFormat::Numpy),
            "list" => return Some(ArrayFormat::List),
            _ => {}
        }
        if let Some(name) = NUMPY_DTYPES.iter().find(|&&name| name == text) {
            return Some(ArrayFormat::Dtype((*name).to_string()));
        }
        // flowhost's tensors are little-endian: `>` (big-endian) is not one of them.
        let code = text.strip_prefix(['<', '=', '|']).unwrap_or(text);
        (NUMPY_CODES.iter())
            .find(|(c, _)| *c == code)
            .map(|(_, name)| ArrayFormat::Dtype((*name).to_string()))
    }

    /// The value as written back: `numpy`, `list` or the dtype's name.
    pub fn as_str(&self) -> &str {
        match self {
            ArrayFormat::Numpy => "numpy",
            ArrayFormat::List => "list",
            ArrayFormat::Dtype(name) => name,
        }
    }

    /// The dtype to convert to, for [`ArrayFormat::Dtype`].
    pub fn dtype(&self) -> Option<&str> {
        match self {
            ArrayFormat::Dtype(name) => Some(name),
            ArrayFormat::Numpy | ArrayFormat::List => None,
        }
    }
}

/// How a request reaches the shards of an executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polling {
    /// One shard gets the request.
    Any,
    /// Every shard gets the request; results are merged.
    All,
}

impl Polling {
    /// Jina's spelling: `ANY` or `ALL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Polling::Any => "ANY",
            Polling::All => "ALL",
        }
    }

    /// Reads `any` or `all` in any case, surrounding spaces ignored; `None` for anything else.
    pub fn parse(s: &str) -> Option<Polling> {
        match s.trim().to_ascii_uppercase().as_str() {
            "ANY" => Some(Polling::Any),
            "ALL" => Some(Polling::All),
            _ => None,
        }
    }
}

/// The `polling:` value: one for every endpoint, or per endpoint with `*` as the wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollingSpec {
    /// `polling: ALL`: one value for every endpoint but `/index` and `/search` (Jina's quirk).
    Uniform(Polling),
    /// `polling: {/custom: ALL, '*': ANY}`: by endpoint, `*` for the rest.
    PerEndpoint(BTreeMap<String, Polling>),
}

impl PollingSpec {
    /// The polling for `endpoint`, following Jina's worker code exactly: an endpoint named in
    /// the map wins; otherwise `/index` is ANY and `/search` is ALL; everything else gets the
    /// wildcard (`*` in the map, or the single value), else ANY.
    ///
    /// Note the Jina quirk kept here: `polling: ALL` still leaves `/index` at ANY.
    pub fn for_endpoint(spec: Option<&PollingSpec>, endpoint: &str) -> Polling {
        let (explicit, wildcard) = match spec {
            None => (None, None),
            Some(PollingSpec::Uniform(p)) => (None, Some(*p)),
            Some(PollingSpec::PerEndpoint(map)) => {
                (map.get(endpoint).copied(), map.get("*").copied())
            }
        };
        if let Some(p) = explicit {
            return p;
        }
        match endpoint {
            "/index" => Polling::Any,
            "/search" => Polling::All,
            _ => wildcard.unwrap_or(Polling::Any),
        }
    }
}

/// One entry of `expose_endpoints`: how an executor endpoint appears on the HTTP gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExposedEndpoint {
    /// HTTP methods (upper-case); empty means POST.
    pub methods: Vec<String>,
    /// Short summary of the route on the OpenAPI page.
    pub summary: Option<String>,
    /// Longer description of the route on the OpenAPI page.
    pub description: Option<String>,
    /// OpenAPI tags the route is grouped under.
    pub tags: Vec<String>,
}

impl ExecutorSpec {
    /// Where a remote executor's replicas are reached: each `host` with the `port` at its
    /// position, or the one `port` for all; a host without a port may carry it as
    /// `name:port` (as newer Jina accepts). `None` when a host has no port or the lists do
    /// not pair up.
    pub fn addresses(&self) -> Option<Vec<(String, u16)>> {
        if self.host.is_empty() || (self.port.len() > 1 && self.port.len() != self.host.len()) {
            return None;
        }
        (self.host.iter().enumerate())
            .map(|(i, host)| match self.port.get(i).or(self.port.first()) {
                Some(&port) => Some((host.clone(), port)),
                None => {
                    let (name, port) = host.rsplit_once(':')?;
                    Some((name.to_string(), port.parse().ok()?))
                }
            })
            .collect()
    }

    /// The polling this executor uses for `endpoint` (see [`PollingSpec::for_endpoint`]).
    pub fn polling_for(&self, endpoint: &str) -> Polling {
        PollingSpec::for_endpoint(self.polling.as_ref(), endpoint)
    }
}
