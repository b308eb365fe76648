//! Every key a flow file may hold, where, and what flowhost does with it: the one table that
//! parsing, warnings, suggestions and `KEYS.md` are all read from.
//!
//! Meanings of Jina's keys are from Jina 3.34 (`jina/parsers/orchestrate/*.py`,
//! `jina/parsers/helper.py`). A status is a claim about the code: `Implemented` means some
//! crate reads the value with Jina's meaning; anything less says how it falls short.

use std::fmt;

/// Where in a flow (or executor config) file a key is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The top level of a flow file (`jtype`, `with`, `executors`, ...).
    Top,
    /// The flow's `with:` block: flow and gateway arguments.
    With,
    /// The top-level `gateway:` section (Jina's `config_gateway`): gateway settings that
    /// win over `with:` for the gateway only.
    Gateway,
    /// One entry of `with.expose_endpoints`.
    Endpoint,
    /// The settings of one entry of `uses_dynamic_batching` (or of an executor config's
    /// `dynamic_batching`).
    Batching,
    /// One entry of `executors:`.
    Executor,
    /// A key inside the flow's `metas:`, an executor's `uses_metas:` or an executor config's
    /// `metas:` (Jina's executor metas).
    Metas,
    /// The top level of an executor config file (`uses: encoder.yml`).
    ExecutorConfig,
}

impl Level {
    /// Every level, in the order `KEYS.md` lists them.
    pub const ALL: [Level; 8] = [
        Level::Top,
        Level::With,
        Level::Gateway,
        Level::Endpoint,
        Level::Executor,
        Level::Batching,
        Level::Metas,
        Level::ExecutorConfig,
    ];

    /// How the level is named in `KEYS.md`.
    pub fn title(self) -> &'static str {
        match self {
            Level::Top => "Top level of a flow file",
            Level::With => "`with:` (flow and gateway)",
            Level::Gateway => "`gateway:` (the gateway alone)",
            Level::Endpoint => "`with.expose_endpoints` entries",
            Level::Executor => "`executors:` entries",
            Level::Batching => "`uses_dynamic_batching` and `dynamic_batching` entries",
            Level::Metas => "`metas:` and `uses_metas:`",
            Level::ExecutorConfig => "Executor config files (`uses: x.yml`)",
        }
    }
}

/// What flowhost does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Read and applied with Jina's meaning (or flowhost's own key).
    Implemented,
    /// Read and applied, with the stated difference from Jina.
    Differs(&'static str),
    /// Accepted so that Jina files load, but has no effect in flowhost, for the stated reason.
    /// Loading warns once per occurrence.
    Ignored(&'static str),
    /// A Jina key flowhost refuses, because running the flow without it would not be the
    /// flow the user wrote; the text says what to write instead.
    Refused(&'static str),
}

impl Status {
    /// The status's name in `KEYS.md`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Implemented => "implemented",
            Status::Differs(_) => "differs",
            Status::Ignored(_) => "ignored",
            Status::Refused(_) => "refused",
        }
    }

    /// The difference, reason or instruction; empty for `Implemented`.
    pub fn note(self) -> &'static str {
        match self {
            Status::Implemented => "",
            Status::Differs(s) | Status::Ignored(s) | Status::Refused(s) => s,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.note() {
            "" => f.write_str(self.label()),
            note => write!(f, "{}: {note}", self.label()),
        }
    }
}

/// One key of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key as written in YAML.
    pub key: &'static str,
    /// Where it is written.
    pub level: Level,
    /// What flowhost does with it.
    pub status: Status,
    /// What the key is for: Jina's meaning, or flowhost's for its own keys.
    pub meaning: &'static str,
    /// Kept as written in the model's `extra` map (and saved back) rather than read into a
    /// typed field.
    pub(crate) kept: bool,
}

/// A key read into a typed field of the model.
const fn typed(key: &'static str, level: Level, status: Status, meaning: &'static str) -> KeyInfo {
    KeyInfo {
        key,
        level,
        status,
        meaning,
        kept: false,
    }
}

/// A Jina key kept in `extra` as written, so that saving gives it back.
const fn kept(key: &'static str, level: Level, status: Status, meaning: &'static str) -> KeyInfo {
    KeyInfo {
        key,
        level,
        status,
        meaning,
        kept: true,
    }
}

use Level::{Batching, Endpoint, Executor, ExecutorConfig, Gateway, Metas, Top, With};
use Status::{Differs, Ignored, Implemented, Refused};

// Reasons shared by several keys, so the same cause reads the same everywhere.
const LOGGING: &str = "flowhost logs through `tracing` to stderr; choose what is shown with `--log-level` (or `FLOWHOST_LOG`, `RUST_LOG`) and the shape of a line with `--log-format text|json`";
const ONE_REGISTRY: &str = "executors run inside the flowhost process, which serves one `/metrics` for all of them (labelled by executor, replica and shard) on the flow's `port_monitoring`; an executor's `monitoring: true` turns it on, its own port is not used";
const ONE_EXPORTER: &str = "executors run inside the flowhost process, which exports every span (a span per executor call, with its queue wait and compute) to one collector; an executor's `tracing: true` turns it on with its exporter settings";
const ONE_PUSHER: &str = "executors run inside the flowhost process, which pushes one registry (every executor, labelled by executor, replica and shard) over OTLP/gRPC; an executor's `metrics: true` turns it on with its exporter settings";
const DOCKER: &str = "flowhost runs WebAssembly components, not containers (a `docker://` image is only read for its .wasm)";
const CONTROL: &str = "Jina's control requests go between its runtime processes; flowhost's executors run inside the flowhost process";
const INTERNAL: &str = "Jina's internal wiring between its head and worker runtimes; flowhost routes requests in-process";
const PROVIDER: &str =
    "SageMaker and Azure containers are a Jina deployment target; flowhost has none";
const STATEFUL: &str =
    "replicating writes between replicas (RAFT) is not implemented: replicas do not share state";
const PY_MODULES: &str = "flowhost runs WebAssembly components, not Python modules: build the executor with the Python SDK (`flowhost new executor NAME --lang python`, then `flowhost build`) and set `uses:` to the .wasm it makes";
const NO_SERVER: &str = "an executor inside a flow serves no port of its own (the gateway does; its settings go under `with:`)";
const BATCHING: &str = "the queues sit in front of each shard's replicas rather than inside each replica, so replicas share a batch's calls; a Python `custom_metric` is refused (batches are counted in documents); `uses_dynamic_batching` overrides the executor config's `dynamic_batching` per endpoint or method as in Jina, but the Python SDK's `@dynamic_batching` decorator has no effect (set it in the flow)";
const ARRAY_TYPE: &str = "`numpy` as in Jina (flowhost always answers numpy arrays); `list` loads with a warning, since flowhost cannot mark tensors as lists and still answers numpy arrays; a numpy dtype name (`float32`, `uint8`, `bool`, or a code such as `f4`) converts every tensor and embedding the executor answers with to that dtype, a flowhost extension; anything else (e.g. `torch`) is refused";
const CUSTOM_METRIC: &str = "a Python callable that measures a batch; flowhost cannot run a Python metric: batches are counted in documents (`preferred_batch_size`), so remove it";
const PER_EXECUTOR: &str = "Jina would pass it to every executor, which would change the flow's shape (its `needs`, branches or addresses) rather than a default: set it on the executors it is meant for";
const ONE_GATEWAY: &str = "flowhost's gateway is built in and runs in the flowhost process, once";
const GATEWAY_ONLY: &str = "applies to the gateway alone, over the `with:` value (Jina's `config_gateway`); executors keep the `with:` value";
const OLD_KEY: &str = "not a key of Jina 3.34; accepted for older flow files";

/// The table: every key flowhost accepts, per level, in the order `KEYS.md` lists them.
pub const KEYS: &[KeyInfo] = &[
    // ---- top level ------------------------------------------------------------------------
    typed(
        "jtype",
        Top,
        Implemented,
        "must be `Flow` (or the document tagged `!Flow`)",
    ),
    typed(
        "version",
        Top,
        Differs("accepted and not checked: flowhost reads Jina's only flow syntax, version `1`"),
        "the flow YAML syntax version",
    ),
    typed("with", Top, Implemented, "flow and gateway arguments"),
    typed(
        "executors",
        Top,
        Implemented,
        "the executors (Jina's Deployments), in order",
    ),
    typed(
        "deployments",
        Top,
        Implemented,
        "Jina 3's other name for `executors:` (saved as `executors:`)",
    ),
    typed(
        "metas",
        Top,
        Implemented,
        "metas every executor gets under its own `uses_metas`",
    ),
    typed(
        "gateway",
        Top,
        Implemented,
        "settings of the gateway alone, over `with:` (Jina's `config_gateway`)",
    ),
    typed(
        "jcloud",
        Top,
        Ignored(
            "JCloud's resources and scaling settings are for Jina's cloud; flowhost runs the flow where it is started",
        ),
        "Jina Cloud settings (instances, autoscaling, labels)",
    ),
    typed(
        "pods",
        Top,
        Refused("Jina 2's `pods:` is `executors:` in Jina 3 and flowhost: rename it"),
        "Jina 2's executors",
    ),
    // ---- with: flowhost reads ---------------------------------------------------------------
    typed(
        "port",
        With,
        Implemented,
        "the gateway's port, or one per protocol",
    ),
    typed("port_expose", With, Implemented, "older spelling of `port`"),
    typed("ports", With, Implemented, "other spelling of `port`"),
    typed(
        "protocol",
        With,
        Implemented,
        "the gateway's protocols: grpc, http, websocket",
    ),
    typed(
        "protocols",
        With,
        Implemented,
        "other spelling of `protocol`",
    ),
    typed(
        "host",
        With,
        Implemented,
        "the address the gateway binds to",
    ),
    typed(
        "cors",
        With,
        Implemented,
        "allow cross-origin requests on HTTP",
    ),
    typed(
        "compression",
        With,
        Differs(
            "compresses the gateway's gRPC replies, and calls to `external: true` executors (their default); local executors are called in-process, with nothing to compress",
        ),
        "gRPC compression between the gateway and executors",
    ),
    typed(
        "ssl_certfile",
        With,
        Implemented,
        "the gateway's TLS certificate",
    ),
    typed(
        "ssl_keyfile",
        With,
        Implemented,
        "the key of `ssl_certfile`",
    ),
    typed(
        "extra_search_paths",
        With,
        Implemented,
        "folders where `uses` files are looked for after the flow's own",
    ),
    typed(
        "prefetch",
        With,
        Implemented,
        "requests a client stream may have in flight (0: no limit)",
    ),
    typed(
        "timeout_ready",
        With,
        Implemented,
        "how long each executor may take to be ready, in ms: resolving, pulling and compiling its component, then every instance's `init` (-1: for ever; unset: 600000, Jina's); apart from the per-call `timeout_ms`; also the exported startup probe's deadline",
    ),
    typed(
        "timeout_send",
        With,
        Differs(
            "the deadline of each call to an `external: true` executor (their default); calls into local executors are bounded by `timeout_ms`",
        ),
        "the timeout of a request sent to an executor (-1: none)",
    ),
    typed(
        "no_crud_endpoints",
        With,
        Implemented,
        "leave `/index`, `/search`, `/update`, `/delete` out of HTTP",
    ),
    typed(
        "no_debug_endpoints",
        With,
        Implemented,
        "leave `/status`, `/dry_run` and `/post` (Jina's \"Debug\" group) out of HTTP",
    ),
    typed(
        "expose_endpoints",
        With,
        Implemented,
        "extra HTTP routes onto executor endpoints",
    ),
    typed(
        "env",
        With,
        Implemented,
        "environment variables every executor gets (its own `env` wins)",
    ),
    typed(
        "workspace",
        With,
        Implemented,
        "the default workspace folder of executors",
    ),
    typed(
        "name",
        With,
        Implemented,
        "the flow's name (the namespace of `flowhost export kubernetes`)",
    ),
    typed(
        "title",
        With,
        Implemented,
        "the HTTP gateway's OpenAPI title",
    ),
    typed(
        "description",
        With,
        Implemented,
        "the HTTP gateway's OpenAPI description",
    ),
    typed(
        "timeout_ms",
        With,
        Implemented,
        "flowhost: default deadline of one call into an executor",
    ),
    typed(
        "memory_limit",
        With,
        Implemented,
        "flowhost: default memory cap of one executor instance",
    ),
    typed(
        "fuel",
        With,
        Implemented,
        "flowhost: default Wasm fuel per call (unset: no metering)",
    ),
    typed(
        "max_request_size",
        With,
        Implemented,
        "flowhost: the largest request the gateway takes",
    ),
    typed(
        "max_connections",
        With,
        Implemented,
        "flowhost: connections the gateway holds at once",
    ),
    typed(
        "request_memory_budget",
        With,
        Implemented,
        "flowhost: bytes of requests the gateway holds at once",
    ),
    typed(
        "read_timeout_ms",
        With,
        Implemented,
        "flowhost: how long a request may take to arrive",
    ),
    typed(
        "idle_timeout_ms",
        With,
        Implemented,
        "flowhost: when an idle connection is closed",
    ),
    typed(
        "output_array_type",
        With,
        Differs(ARRAY_TYPE),
        "the array type `tensor` and `embedding` are serialised to, for every executor that sets none",
    ),
    typed(
        "uses_dynamic_batching",
        With,
        Differs(BATCHING),
        "dynamic batching for every executor that sets none",
    ),
    typed(
        "replicas",
        With,
        Implemented,
        "`replicas` of every executor that sets none",
    ),
    typed(
        "shards",
        With,
        Implemented,
        "`shards` of every executor that sets none",
    ),
    typed(
        "polling",
        With,
        Implemented,
        "`polling` of every executor that sets none",
    ),
    typed(
        "needs",
        With,
        Refused(PER_EXECUTOR),
        "the executors an executor waits for, for every executor",
    ),
    typed(
        "when",
        With,
        Refused(PER_EXECUTOR),
        "a filter deciding which documents an executor gets, for every executor",
    ),
    typed(
        "floating",
        With,
        Refused(PER_EXECUTOR),
        "executors off the main path, for every executor",
    ),
    typed(
        "external",
        With,
        Refused(PER_EXECUTOR),
        "executors managed elsewhere, for every executor",
    ),
    typed(
        "uses_before",
        With,
        Refused(PER_EXECUTOR),
        "a component run before the shards, for every executor",
    ),
    typed(
        "uses_after",
        With,
        Refused(PER_EXECUTOR),
        "a component run after the shards, for every executor",
    ),
    typed(
        "disable_reduce",
        With,
        Refused(PER_EXECUTOR),
        "do not merge branches at a join, for every executor",
    ),
    typed(
        "no_reduce",
        With,
        Refused(PER_EXECUTOR),
        "other spelling of `disable_reduce`, for every executor",
    ),
    typed(
        "tls",
        With,
        Refused(PER_EXECUTOR),
        "reach an external executor over TLS, for every executor",
    ),
    typed(
        "grpc_metadata",
        With,
        Refused(PER_EXECUTOR),
        "gRPC metadata for calls to an external executor, for every executor",
    ),
    // ---- with: Jina keys kept as written ------------------------------------------------------
    kept(
        "uses",
        With,
        Ignored("a custom gateway is a Python class; flowhost's gateway is built in"),
        "a custom gateway",
    ),
    kept(
        "uses_with",
        With,
        Ignored("the arguments of a custom gateway (`uses`), which flowhost does not run"),
        "arguments of the custom gateway",
    ),
    kept(
        "uses_metas",
        With,
        Ignored(
            "not passed on to executors: set `metas:` at the top of the flow, or `uses_metas` on each executor",
        ),
        "metas passed on to every executor",
    ),
    kept(
        "uses_requests",
        With,
        Ignored("not passed on to executors: set `uses_requests` on each executor"),
        "endpoint bindings passed on to every executor",
    ),
    kept(
        "py_modules",
        With,
        Refused(PY_MODULES),
        "Python modules to import before loading",
    ),
    kept(
        "log_config",
        With,
        Ignored(LOGGING),
        "the logger's config file",
    ),
    kept("quiet", With, Ignored(LOGGING), "emit no log"),
    kept(
        "quiet_error",
        With,
        Ignored(LOGGING),
        "log errors without stack traces",
    ),
    kept(
        "suppress_root_logging",
        With,
        Ignored(LOGGING),
        "remove the root logger's handlers",
    ),
    kept(
        "inspect",
        With,
        Ignored("inspect deployments are not supported, so there are none to keep or remove"),
        "what to do with inspect deployments",
    ),
    kept(
        "reload",
        With,
        Implemented,
        "reload the flow when its YAML changes (and, as executors inherit it, when their component or config files do): changed executors start beside the running ones and are swapped in without dropping a request; `flowhost run --watch` does the same for any flow",
    ),
    kept("monitoring", With, Implemented, "serve Prometheus metrics"),
    kept("port_monitoring", With, Implemented, "the Prometheus port"),
    kept("metrics", With, Implemented, "OpenTelemetry metrics"),
    kept(
        "metrics_exporter_host",
        With,
        Implemented,
        "where OpenTelemetry metrics are sent",
    ),
    kept(
        "metrics_exporter_port",
        With,
        Implemented,
        "the port metrics are sent to",
    ),
    kept("tracing", With, Implemented, "OpenTelemetry tracing"),
    kept(
        "traces_exporter_host",
        With,
        Implemented,
        "where traces are sent",
    ),
    kept(
        "traces_exporter_port",
        With,
        Implemented,
        "the port traces are sent to",
    ),
    kept(
        "retries",
        With,
        Differs(
            "retries calls to `external: true` executors that did not reach them (their default); a local executor's failed call is not retried (its instance is replaced)",
        ),
        "retries per gRPC call (<0: max(3, replicas))",
    ),
    kept(
        "timeout_ctrl",
        With,
        Ignored(CONTROL),
        "timeout of control requests",
    ),
    kept(
        "grpc_server_options",
        With,
        Differs(
            "the gateway applies `grpc.max_receive_message_length`, `grpc.max_concurrent_streams`, `grpc.keepalive_time_ms` and `grpc.keepalive_timeout_ms`; other options are logged as not applied when it starts",
        ),
        "options of the gateway's gRPC server",
    ),
    kept(
        "grpc_channel_options",
        With,
        Ignored(
            "flowhost's channels to external executors are not grpcio channels and take no grpcio options",
        ),
        "options of gRPC channels to executors",
    ),
    kept(
        "uvicorn_kwargs",
        With,
        Ignored(
            "the HTTP gateway is not uvicorn; its limits are flowhost's `max_request_size`, `read_timeout_ms`, `idle_timeout_ms`, ...",
        ),
        "arguments of the uvicorn HTTP server",
    ),
    kept(
        "expose_graphql_endpoint",
        With,
        Ignored("the HTTP gateway has no GraphQL endpoint"),
        "serve `/graphql`",
    ),
    kept(
        "entrypoint",
        With,
        Ignored(DOCKER),
        "the Docker image's entrypoint",
    ),
    kept(
        "docker_kwargs",
        With,
        Ignored(DOCKER),
        "arguments of the Docker SDK",
    ),
    kept(
        "env_from_secret",
        With,
        Ignored(
            "`flowhost export kubernetes` reads it from each executor's entry only; set it there",
        ),
        "environment from Kubernetes secrets",
    ),
    kept(
        "provider",
        With,
        Ignored(PROVIDER),
        "a cloud provider's container format",
    ),
    kept(
        "provider_endpoint",
        With,
        Ignored(PROVIDER),
        "the endpoint a provider's container serves",
    ),
    kept(
        "stateful",
        With,
        Ignored(STATEFUL),
        "replicate writes between replicas",
    ),
    kept(
        "proxy",
        With,
        Ignored(
            "flowhost's gateway and its connections to executors never read `http_proxy`/`https_proxy`",
        ),
        "honour the proxy environment variables",
    ),
    kept(
        "heartbeat",
        With,
        Ignored(OLD_KEY),
        "older Jina's health checks",
    ),
    kept(
        "workspace_id",
        With,
        Ignored("an internal id of Jina's workspaces"),
        "internal",
    ),
    kept(
        "runtime_cls",
        With,
        Ignored("Jina's Python runtime classes; flowhost has one runtime"),
        "the runtime class of the pod",
    ),
    kept(
        "native",
        With,
        Ignored("Jina's Python runtime classes; flowhost has one runtime"),
        "run executors natively in the worker runtime",
    ),
    kept(
        "exit_on_exceptions",
        With,
        Ignored(
            "an executor error goes back to the client and the executor keeps serving; a trap replaces the instance",
        ),
        "exceptions that shut an executor down",
    ),
    // ---- expose_endpoints entries -------------------------------------------------------------
    // ---- gateway: ------------------------------------------------------------------------
    typed(
        "port",
        Gateway,
        Implemented,
        "the gateway's port, or one per protocol",
    ),
    typed(
        "port_expose",
        Gateway,
        Implemented,
        "older spelling of `port`",
    ),
    typed("ports", Gateway, Implemented, "other spelling of `port`"),
    typed(
        "protocol",
        Gateway,
        Implemented,
        "the gateway's protocols: grpc, http, websocket",
    ),
    typed(
        "protocols",
        Gateway,
        Implemented,
        "other spelling of `protocol`",
    ),
    typed(
        "host",
        Gateway,
        Implemented,
        "the address the gateway binds to",
    ),
    typed(
        "cors",
        Gateway,
        Implemented,
        "allow cross-origin requests on HTTP",
    ),
    typed(
        "ssl_certfile",
        Gateway,
        Implemented,
        "the gateway's TLS certificate",
    ),
    typed(
        "ssl_keyfile",
        Gateway,
        Implemented,
        "the key of `ssl_certfile`",
    ),
    typed(
        "prefetch",
        Gateway,
        Implemented,
        "requests a client stream may have in flight (0: no limit)",
    ),
    typed(
        "no_crud_endpoints",
        Gateway,
        Implemented,
        "leave `/index`, `/search`, `/update`, `/delete` out of HTTP",
    ),
    typed(
        "no_debug_endpoints",
        Gateway,
        Implemented,
        "leave `/status`, `/dry_run` and `/post` out of HTTP",
    ),
    typed(
        "expose_endpoints",
        Gateway,
        Implemented,
        "extra HTTP routes onto executor endpoints",
    ),
    typed(
        "title",
        Gateway,
        Implemented,
        "the HTTP gateway's OpenAPI title",
    ),
    typed(
        "description",
        Gateway,
        Implemented,
        "the HTTP gateway's OpenAPI description",
    ),
    typed(
        "env",
        Gateway,
        Differs(GATEWAY_ONLY),
        "environment variables of the gateway",
    ),
    typed(
        "compression",
        Gateway,
        Differs(GATEWAY_ONLY),
        "compression of the gateway's gRPC replies",
    ),
    typed(
        "timeout_ready",
        Gateway,
        Differs(GATEWAY_ONLY),
        "how long the gateway waits for executors to be ready, in ms",
    ),
    typed(
        "timeout_send",
        Gateway,
        Differs(GATEWAY_ONLY),
        "the timeout of a request the gateway sends, in ms",
    ),
    typed(
        "max_request_size",
        Gateway,
        Implemented,
        "flowhost: the largest request the gateway takes",
    ),
    typed(
        "max_connections",
        Gateway,
        Implemented,
        "flowhost: connections the gateway holds at once",
    ),
    typed(
        "request_memory_budget",
        Gateway,
        Implemented,
        "flowhost: bytes of requests the gateway holds at once",
    ),
    typed(
        "read_timeout_ms",
        Gateway,
        Implemented,
        "flowhost: how long a request may take to arrive",
    ),
    typed(
        "idle_timeout_ms",
        Gateway,
        Implemented,
        "flowhost: when an idle connection is closed",
    ),
    kept(
        "grpc_server_options",
        Gateway,
        Differs(
            "applies to the gateway alone, over the `with:` value; the gateway applies `grpc.max_receive_message_length`, `grpc.max_concurrent_streams`, `grpc.keepalive_time_ms` and `grpc.keepalive_timeout_ms`",
        ),
        "options of the gateway's gRPC server",
    ),
    typed(
        "uses",
        Gateway,
        Refused(
            "flowhost's gateway is built in: a custom gateway (a Python class, YAML or image) cannot run; remove `uses` and `uses_with`, and set the built-in gateway's settings (`port`, `protocol`, `cors`, ...) here",
        ),
        "a custom gateway",
    ),
    kept(
        "uses_with",
        Gateway,
        Ignored("the arguments of a custom gateway (`uses`), which flowhost does not run"),
        "arguments of the custom gateway",
    ),
    kept(
        "replicas",
        Gateway,
        Ignored(ONE_GATEWAY),
        "copies of the gateway",
    ),
    kept(
        "name",
        Gateway,
        Ignored("the gateway is always named `gateway` (in `needs` and in logs)"),
        "the gateway's name",
    ),
    kept(
        "log_config",
        Gateway,
        Ignored(LOGGING),
        "the gateway's logger config",
    ),
    kept("quiet", Gateway, Ignored(LOGGING), "emit no log"),
    kept(
        "quiet_error",
        Gateway,
        Ignored(LOGGING),
        "log errors without stack traces",
    ),
    kept(
        "monitoring",
        Gateway,
        Implemented,
        "serve Prometheus metrics",
    ),
    kept(
        "port_monitoring",
        Gateway,
        Implemented,
        "the Prometheus port",
    ),
    kept("metrics", Gateway, Implemented, "OpenTelemetry metrics"),
    kept("tracing", Gateway, Implemented, "OpenTelemetry tracing"),
    kept(
        "uvicorn_kwargs",
        Gateway,
        Ignored(
            "the HTTP gateway is not uvicorn; its limits are flowhost's `max_request_size`, `read_timeout_ms`, `idle_timeout_ms`, ...",
        ),
        "arguments of the uvicorn HTTP server",
    ),
    kept(
        "expose_graphql_endpoint",
        Gateway,
        Ignored("the HTTP gateway has no GraphQL endpoint"),
        "serve `/graphql`",
    ),
    kept(
        "docker_kwargs",
        Gateway,
        Ignored(DOCKER),
        "arguments of the gateway's container",
    ),
    kept(
        "entrypoint",
        Gateway,
        Ignored(DOCKER),
        "the gateway container's entrypoint",
    ),
    typed(
        "methods",
        Endpoint,
        Implemented,
        "HTTP methods of the route (default POST)",
    ),
    typed(
        "summary",
        Endpoint,
        Implemented,
        "the route's OpenAPI summary",
    ),
    typed(
        "description",
        Endpoint,
        Implemented,
        "the route's OpenAPI description",
    ),
    typed("tags", Endpoint, Implemented, "the route's OpenAPI tags"),
    // ---- executors: flowhost reads ------------------------------------------------------------
    typed(
        "name",
        Executor,
        Implemented,
        "the executor's name (default `executor<N>`)",
    ),
    typed(
        "uses",
        Executor,
        Differs(
            "a component reference: a .wasm path, an executor config .yml, `oci://`, `hub://` or `docker://` (`BaseExecutor` is the pass-through); Python classes, inline configs and `jinahub://` are refused with what to write instead",
        ),
        "what to run: a class, a YAML config, a Hub executor or a Docker image",
    ),
    typed(
        "uses_with",
        Executor,
        Implemented,
        "the executor's arguments, over its config's `with`",
    ),
    typed(
        "uses_metas",
        Executor,
        Implemented,
        "the executor's metas, over the flow's `metas` (see the metas keys)",
    ),
    typed(
        "uses_requests",
        Executor,
        Implemented,
        "endpoint to method bindings, over the executor's own",
    ),
    typed(
        "workspace",
        Executor,
        Implemented,
        "the folder the executor may write (granted as `/workspace`)",
    ),
    typed(
        "env",
        Executor,
        Implemented,
        "environment variables the executor sees",
    ),
    typed(
        "needs",
        Executor,
        Implemented,
        "the executors (or `gateway`) this one follows",
    ),
    typed(
        "when",
        Executor,
        Implemented,
        "a DocArray filter on the documents it receives",
    ),
    typed(
        "floating",
        Executor,
        Implemented,
        "off the main path: replies do not wait for it",
    ),
    typed(
        "method",
        Executor,
        Differs(
            "`add` (the default) and `needs` (a join: a pass-through with the given `needs`, named `joiner` by default) as in Jina, not saved back; `inspect` is refused: flowhost has no inspect deployments, so add the evaluator as an executor with `needs` and `floating: true`",
        ),
        "how the entry is added to the flow (Jina's v1 YAML): `add`, `needs` or `inspect`",
    ),
    typed("replicas", Executor, Implemented, "copies of each shard"),
    typed(
        "shards",
        Executor,
        Implemented,
        "partitions of the executor",
    ),
    typed(
        "polling",
        Executor,
        Implemented,
        "ANY or ALL shards, overall or per endpoint",
    ),
    typed(
        "uses_before",
        Executor,
        Differs(
            "run even when `shards` is 1 (Jina runs it only for sharded executors); the same references as `uses`",
        ),
        "an executor run before the shards",
    ),
    typed(
        "uses_after",
        Executor,
        Differs(
            "run even when `shards` is 1 (Jina runs it only for sharded executors); the same references as `uses`",
        ),
        "an executor run on the shards' results",
    ),
    typed(
        "disable_reduce",
        Executor,
        Implemented,
        "do not merge the branches joining here",
    ),
    typed(
        "no_reduce",
        Executor,
        Implemented,
        "Jina 3's spelling of `disable_reduce`",
    ),
    typed(
        "external",
        Executor,
        Implemented,
        "the executor runs elsewhere and is reached at `host`:`port`",
    ),
    typed(
        "host",
        Executor,
        Differs(
            "only for `external: true` executors (where they are reached, one host per replica); a local executor runs in the flowhost process and binds nothing",
        ),
        "the executor's address (bind address, or where an external one is)",
    ),
    typed(
        "port",
        Executor,
        Differs(
            "only for `external: true` executors (where they are reached); a local executor runs in the flowhost process and binds nothing",
        ),
        "the executor's port",
    ),
    typed(
        "tls",
        Executor,
        Implemented,
        "reach an external executor over TLS",
    ),
    typed(
        "grpc_metadata",
        Executor,
        Implemented,
        "gRPC metadata sent with each call to an external executor",
    ),
    typed(
        "timeout_ms",
        Executor,
        Implemented,
        "flowhost: the deadline of one call into the executor",
    ),
    typed(
        "memory_limit",
        Executor,
        Implemented,
        "flowhost: the memory cap of one instance",
    ),
    typed(
        "fuel",
        Executor,
        Implemented,
        "flowhost: Wasm fuel per call (unset: no metering)",
    ),
    typed(
        "output_array_type",
        Executor,
        Differs(ARRAY_TYPE),
        "the array type `tensor` and `embedding` are serialised to (`numpy` or `list`)",
    ),
    typed(
        "uses_dynamic_batching",
        Executor,
        Differs(BATCHING),
        "gather the documents of several requests into one call, per endpoint (`/index`) or method name",
    ),
    // ---- executors: Jina keys kept as written -------------------------------------------------
    kept(
        "py_modules",
        Executor,
        Refused(PY_MODULES),
        "Python modules to import before loading the executor",
    ),
    kept(
        "uses_before_address",
        Executor,
        Ignored(INTERNAL),
        "address of the uses_before runtime",
    ),
    kept(
        "uses_after_address",
        Executor,
        Ignored(INTERNAL),
        "address of the uses_after runtime",
    ),
    kept(
        "connection_list",
        Executor,
        Ignored(INTERNAL),
        "the connections of a head runtime",
    ),
    kept(
        "compression",
        Executor,
        Differs(
            "compresses the calls to an `external: true` executor; local executors are called in-process, with nothing to compress",
        ),
        "gRPC compression of requests sent to the executor",
    ),
    kept(
        "timeout_ready",
        Executor,
        Implemented,
        "how long the executor may take to be ready, in ms: resolving, pulling and compiling its component, then every instance's `init` (-1: for ever; unset: the flow's, else 600000); apart from the per-call `timeout_ms`",
    ),
    kept(
        "timeout_send",
        Executor,
        Differs(
            "the deadline of each call to an `external: true` executor; calls into local executors are bounded by `timeout_ms`",
        ),
        "the timeout of a request sent to the executor (-1: none)",
    ),
    kept(
        "timeout_recv",
        Executor,
        Ignored(OLD_KEY),
        "older Jina's receive timeout",
    ),
    kept(
        "timeout_ctrl",
        Executor,
        Ignored(CONTROL),
        "timeout of control requests",
    ),
    kept(
        "retries",
        Executor,
        Differs(
            "retries calls to an `external: true` executor that did not reach it; a local executor's failed call is not retried (its instance is replaced)",
        ),
        "retries per gRPC call (<0: max(3, replicas))",
    ),
    kept(
        "log_config",
        Executor,
        Ignored(LOGGING),
        "the logger's config file",
    ),
    kept("quiet", Executor, Ignored(LOGGING), "emit no log"),
    kept(
        "quiet_error",
        Executor,
        Ignored(LOGGING),
        "log errors without stack traces",
    ),
    kept(
        "reload",
        Executor,
        Differs(
            "watches the executor's component and config files, not Python sources: rebuilding the component (`flowhost build`) is the change that reloads it",
        ),
        "restart the executor when its sources change, swapping it in without dropping a request",
    ),
    kept(
        "monitoring",
        Executor,
        Differs(ONE_REGISTRY),
        "serve Prometheus metrics",
    ),
    kept(
        "port_monitoring",
        Executor,
        Differs(ONE_REGISTRY),
        "the Prometheus port",
    ),
    kept(
        "metrics",
        Executor,
        Differs(ONE_PUSHER),
        "OpenTelemetry metrics",
    ),
    kept(
        "metrics_exporter_host",
        Executor,
        Differs(ONE_PUSHER),
        "where OpenTelemetry metrics are sent",
    ),
    kept(
        "metrics_exporter_port",
        Executor,
        Differs(ONE_PUSHER),
        "the port metrics are sent to",
    ),
    kept(
        "tracing",
        Executor,
        Differs(ONE_EXPORTER),
        "OpenTelemetry tracing",
    ),
    kept(
        "traces_exporter_host",
        Executor,
        Differs(ONE_EXPORTER),
        "where traces are sent",
    ),
    kept(
        "traces_exporter_port",
        Executor,
        Differs(ONE_EXPORTER),
        "the port traces are sent to",
    ),
    kept(
        "gpus",
        Executor,
        Ignored("flowhost executors are WebAssembly components; there are no GPUs to assign"),
        "GPUs a Docker executor may use",
    ),
    kept(
        "volumes",
        Executor,
        Differs(
            "read only by `flowhost export`: any value gives the executor a persistent volume at its workspace, and the paths listed are not mounted; under `flowhost run`, `workspace` is the folder it may write",
        ),
        "host paths mounted into a Docker executor",
    ),
    kept(
        "docker_kwargs",
        Executor,
        Ignored(DOCKER),
        "arguments of the Docker SDK",
    ),
    kept(
        "entrypoint",
        Executor,
        Ignored(DOCKER),
        "the Docker image's entrypoint",
    ),
    kept(
        "env_from_secret",
        Executor,
        Implemented,
        "environment from secrets, `{VAR: {name: SECRET, key: KEY}}`: `flowhost export kubernetes` makes each a `secretKeyRef`, as Jina does; `flowhost run` reads the file `SECRET/KEY` under `--secrets-dir`, else `VAR` from its own environment, and refuses to start without a value",
    ),
    kept(
        "install_requirements",
        Executor,
        Ignored("a component carries its dependencies; there is no `requirements.txt` to install"),
        "pip-install the executor's `requirements.txt`",
    ),
    kept(
        "force_update",
        Executor,
        Ignored("Jina Hub bundles are not used; `hub://` components are pulled by digest or tag"),
        "always pull the latest Hub executor",
    ),
    kept(
        "prefer_platform",
        Executor,
        Ignored("a WebAssembly component runs on every platform"),
        "the Docker platform to pull",
    ),
    kept(
        "protocol",
        Executor,
        Ignored(
            "local executors are called in-process and external ones over gRPC, as Jina's gateway calls them",
        ),
        "the protocol the executor serves",
    ),
    kept(
        "provider",
        Executor,
        Ignored(PROVIDER),
        "a cloud provider's container format",
    ),
    kept(
        "provider_endpoint",
        Executor,
        Ignored(PROVIDER),
        "the endpoint a provider's container serves",
    ),
    kept(
        "runtime_cls",
        Executor,
        Ignored("Jina's Python runtime classes; flowhost has one runtime"),
        "the runtime class of the pod",
    ),
    kept(
        "native",
        Executor,
        Ignored("Jina's Python runtime classes; flowhost has one runtime"),
        "run the executor natively in the worker runtime",
    ),
    kept(
        "stateful",
        Executor,
        Ignored(STATEFUL),
        "replicate writes between replicas",
    ),
    kept(
        "raft_configuration",
        Executor,
        Ignored(STATEFUL),
        "options of the RAFT node",
    ),
    kept(
        "peer_ports",
        Executor,
        Ignored(STATEFUL),
        "the RAFT cluster's ports",
    ),
    kept(
        "exit_on_exceptions",
        Executor,
        Ignored(
            "an executor error goes back to the client and the executor keeps serving; a trap replaces the instance",
        ),
        "exceptions that shut the executor down",
    ),
    kept(
        "allow_concurrent",
        Executor,
        Ignored("an instance runs one call at a time; `replicas` run calls in parallel"),
        "let one executor process requests concurrently",
    ),
    kept(
        "grpc_server_options",
        Executor,
        Ignored(NO_SERVER),
        "options of the executor's gRPC server",
    ),
    kept(
        "grpc_channel_options",
        Executor,
        Ignored(
            "flowhost's channels to external executors are not grpcio channels and take no grpcio options",
        ),
        "options of gRPC channels to the executor",
    ),
    kept(
        "ssl_certfile",
        Executor,
        Ignored(NO_SERVER),
        "the executor server's TLS certificate",
    ),
    kept(
        "ssl_keyfile",
        Executor,
        Ignored(NO_SERVER),
        "the key of `ssl_certfile`",
    ),
    kept(
        "cors",
        Executor,
        Ignored(NO_SERVER),
        "CORS on an executor served over HTTP",
    ),
    kept(
        "uvicorn_kwargs",
        Executor,
        Ignored(NO_SERVER),
        "arguments of an HTTP executor's uvicorn",
    ),
    kept(
        "title",
        Executor,
        Ignored(NO_SERVER),
        "an HTTP executor's OpenAPI title",
    ),
    kept(
        "description",
        Executor,
        Ignored(
            "an executor in a flow serves no OpenAPI page; its description is `uses_metas: {description: ...}`",
        ),
        "an HTTP executor's OpenAPI description",
    ),
    kept(
        "disable_auto_volume",
        Executor,
        Ignored(DOCKER),
        "do not mount a volume into a Docker executor",
    ),
    kept(
        "workspace_id",
        Executor,
        Ignored("an internal id of Jina's workspaces"),
        "internal",
    ),
    kept(
        "upload_files",
        Executor,
        Ignored(
            "files uploaded with an executor to JCloud; flowhost runs the flow where it is started",
        ),
        "JCloud: files uploaded with the executor",
    ),
    kept(
        "jcloud",
        Executor,
        Ignored(
            "JCloud's resources and scaling settings are for Jina's cloud; flowhost runs the flow where it is started",
        ),
        "JCloud: the executor's resources and scaling",
    ),
    // ---- uses_dynamic_batching entries -----------------------------------------------------------
    typed(
        "preferred_batch_size",
        Batching,
        Implemented,
        "call as soon as this many documents are waiting (at least 1; default 4)",
    ),
    typed(
        "timeout",
        Batching,
        Implemented,
        "milliseconds the first waiting request waits before a call is made anyway (default 10000)",
    ),
    typed(
        "flush_all",
        Batching,
        Implemented,
        "a call takes every waiting document, not `preferred_batch_size` at a time (default false)",
    ),
    typed(
        "use_dynamic_batching",
        Batching,
        Implemented,
        "false switches batching off for this endpoint or method (default true)",
    ),
    typed(
        "custom_metric",
        Batching,
        Refused(CUSTOM_METRIC),
        "a Python function measuring a batch, in place of counting documents",
    ),
    typed(
        "use_custom_metric",
        Batching,
        Differs(
            "only `false`: `true` asks for a Python `custom_metric`, which flowhost cannot run; batches are counted in documents",
        ),
        "measure batches with `custom_metric` (default false)",
    ),
    // ---- metas ----------------------------------------------------------------------------
    typed(
        "name",
        Metas,
        Differs(
            "reaches the executor's `metas.name`; without it the executor sees its `name` in the flow, not its class name, and logs, errors and the workspace folder always use the flow's `name`",
        ),
        "the executor's name in its metas",
    ),
    typed(
        "description",
        Metas,
        Implemented,
        "the executor's description (`metas.description`)",
    ),
    typed(
        "workspace",
        Metas,
        Ignored("the executor's workspace is its `workspace` key (or the flow's)"),
        "the executor's workspace (deprecated in Jina 3)",
    ),
    typed(
        "py_modules",
        Metas,
        Refused(
            "flowhost runs WebAssembly components, not Python modules: build the executor with the Python SDK (`flowhost new executor NAME --lang python`, then `flowhost build`) and set `uses:` to the .wasm it makes (an executor config file may keep `py_modules` for `flowhost build`)",
        ),
        "Python modules to import (older place)",
    ),
    // ---- executor config files --------------------------------------------------------------
    typed(
        "jtype",
        ExecutorConfig,
        Differs(
            "informative: the component is what runs; a file with no component must have no `jtype` or `BaseExecutor` (the pass-through)",
        ),
        "the executor's Python class",
    ),
    typed(
        "with",
        ExecutorConfig,
        Implemented,
        "the executor's default arguments (the flow's `uses_with` wins)",
    ),
    typed(
        "metas",
        ExecutorConfig,
        Implemented,
        "the executor's default metas (see the metas keys)",
    ),
    typed(
        "requests",
        ExecutorConfig,
        Implemented,
        "default endpoint to method bindings",
    ),
    typed(
        "component",
        ExecutorConfig,
        Implemented,
        "flowhost: the component to run, relative to this file",
    ),
    typed(
        "uses",
        ExecutorConfig,
        Implemented,
        "flowhost: another spelling of `component`",
    ),
    typed(
        "py_modules",
        ExecutorConfig,
        Differs(
            "read by the Python SDK's `flowhost build` to find the class; the host runs the built component",
        ),
        "Python modules that define the class",
    ),
    typed(
        "dynamic_batching",
        ExecutorConfig,
        Differs(BATCHING),
        "the executor's default dynamic batching (the flow's `uses_dynamic_batching` wins per endpoint or method)",
    ),
];
