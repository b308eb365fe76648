//! The Flow schema walk: every key of a flow file (and of an executor entry) read into the
//! typed model through the positioned [`Reader`](super::reader::Reader).

use std::collections::BTreeMap;
use std::path::Path;

use serde_norway::Value;

use super::reader::{At, Reader, describe, parse_value, scalar_text};
use crate::env::substitute;
use crate::error::{Ctx, FlowError};
use crate::keys::Level;
use crate::limits::parse_bytes;
use crate::locate::{Seg, Target};
use crate::source::Source;
use crate::source::yaml_path;
use crate::spec::{
    ArrayFormat, BatchingSpec, DynamicBatching, ExecutorSpec, ExposedEndpoint, Flow, FlowArgs,
    GatewayOverrides, Limits, NUMPY_DTYPES, Polling, PollingSpec,
};
use flowhost_wire::{Compression, Protocol};

/// How an executor entry is added (Jina's v1 `method:`); `inspect` is refused when read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Add,
    Needs,
}

/// The flow-wide defaults an executor entry wrote itself (the others it takes from `with:`).
#[derive(Debug, Default)]
pub(crate) struct Written {
    replicas: bool,
    shards: bool,
    polling: bool,
}

/// Writes the top-level `gateway:` section over `with:` (Jina's `config_gateway`). The keys
/// `with:` never passes to executors are written into `with` itself; the others are kept in
/// [`FlowArgs::gateway`] so that executors keep the `with:` value.
fn apply_gateway(with: &mut FlowArgs, g: FlowArgs) {
    if !g.port.is_empty() {
        with.port = g.port;
    }
    if !g.protocol.is_empty() {
        with.protocol = g.protocol;
    }
    if !g.expose_endpoints.is_empty() {
        with.expose_endpoints = g.expose_endpoints;
    }
    fn over<T>(to: &mut Option<T>, from: Option<T>) {
        if from.is_some() {
            *to = from;
        }
    }
    over(&mut with.host, g.host);
    over(&mut with.cors, g.cors);
    over(&mut with.ssl_certfile, g.ssl_certfile);
    over(&mut with.ssl_keyfile, g.ssl_keyfile);
    over(&mut with.prefetch, g.prefetch);
    over(&mut with.no_crud_endpoints, g.no_crud_endpoints);
    over(&mut with.no_debug_endpoints, g.no_debug_endpoints);
    over(&mut with.title, g.title);
    over(&mut with.description, g.description);
    let server = &mut with.server;
    over(&mut server.max_request_size, g.server.max_request_size);
    over(&mut server.max_connections, g.server.max_connections);
    over(
        &mut server.request_memory_budget,
        g.server.request_memory_budget,
    );
    over(&mut server.read_timeout_ms, g.server.read_timeout_ms);
    over(&mut server.idle_timeout_ms, g.server.idle_timeout_ms);
    with.gateway = GatewayOverrides {
        env: g.env,
        compression: g.compression,
        timeout_ready: g.timeout_ready,
        timeout_send: g.timeout_send,
        extra: g.extra,
    };
}

impl Reader<'_> {
    fn limit(
        &self,
        at: &At<'_>,
        key: &str,
        v: &Value,
        limits: &mut Limits,
    ) -> Result<(), FlowError> {
        let bad_limit = |message: String| FlowError::BadLimit {
            at: self.pos(&at.child(key), Target::Value),
            ctx: at.ctx.clone(),
            key: key.to_string(),
            value: scalar_text(v).unwrap_or_else(|| describe(v)),
            message,
        };
        let positive = |v: &Value| -> Result<u64, FlowError> {
            match v {
                Value::Number(n) => n
                    .as_u64()
                    .ok_or_else(|| bad_limit("must be a whole number".into())),
                Value::String(s) => s
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| bad_limit("must be a whole number".into())),
                _ => Err(bad_limit("must be a whole number".into())),
            }
        };
        match key {
            "timeout_ms" => limits.timeout_ms = Some(positive(v)?),
            "fuel" => limits.fuel = Some(positive(v)?),
            "memory_limit" => {
                limits.memory_limit = Some(match v {
                    Value::String(s) => parse_bytes(s).map_err(bad_limit)?,
                    v => positive(v)?,
                })
            }
            _ => {}
        }
        Ok(())
    }

    /// The whole flow document.
    pub fn flow(&self, root: Value) -> Result<Flow, FlowError> {
        let (root, tagged) = match root {
            Value::Tagged(t) if t.tag == "Flow" => (t.value, true),
            other => (other, false),
        };
        let top_ctx = Ctx::Top;
        let top = At {
            path: &[],
            ctx: &top_ctx,
        };
        if !matches!(root, Value::Mapping(_)) {
            return Err(FlowError::NotAFlow {
                at: self.pos(&[], Target::Value),
                message: format!(
                    "a Flow file is a mapping starting with `jtype: Flow`, found {}",
                    describe(&root)
                ),
            });
        }
        let entries = self.entries(&top, "flow", &root)?;
        let jtype = entries.iter().find(|(k, _)| k == "jtype").map(|(_, v)| *v);
        match jtype.and_then(scalar_text) {
            Some(t) if t == "Flow" => {}
            None if tagged => {}
            Some(t) => {
                return Err(FlowError::NotAFlow {
                    at: self.pos(&yaml_path!["jtype"], Target::Value),
                    message: format!(
                        "`jtype` is `{t}`, expected `Flow` (an executor config belongs in an executor's `uses:`)"
                    ),
                });
            }
            None => {
                return Err(FlowError::NotAFlow {
                    at: self.pos(&[], Target::Value),
                    message: "missing `jtype: Flow` at the top of the file".to_string(),
                });
            }
        }
        let mut flow = Flow::default();
        let mut written = Vec::new();
        let mut gateway = None;
        let mut seen_alias: BTreeMap<String, String> = BTreeMap::new();
        for (key, v) in &entries {
            self.known(&top, Level::Top, key)?;
            let canonical =
                self.canonical_key(&top, &mut seen_alias, key, &[("deployments", "executors")])?;
            match canonical {
                "jtype" | "version" | "jcloud" => {}
                "with" => flow.with = self.flow_args(v, Level::With)?,
                // Read after `with:` wherever it is written: it wins for the gateway.
                "gateway" => gateway = Some(*v),
                "metas" => {
                    self.metas_keys(&top, key, v, false)?;
                    flow.metas = self.json_map(&top, key, v)?
                }
                "executors" => {
                    (flow.executors, written) = self.executors(key, v)?.into_iter().unzip()
                }
                other => return Err(self.unknown(&top, other, Level::Top)),
            }
        }
        if let Some(v) = gateway {
            let overrides = self.flow_args(v, Level::Gateway)?;
            apply_gateway(&mut flow.with, overrides);
        }
        // Jina's `add()` gives every executor the flow arguments it does not set itself;
        // resolving them here lets whatever runs the flow read the executor alone.
        for (e, written) in flow.executors.iter_mut().zip(&written) {
            if !written.replicas
                && let Some(n) = flow.with.replicas
            {
                e.replicas = n;
            }
            if !written.shards
                && let Some(n) = flow.with.shards
            {
                e.shards = n;
            }
            if !written.polling && flow.with.polling.is_some() {
                e.polling = flow.with.polling.clone();
            }
        }
        Ok(flow)
    }

    /// `with:` (`level` [`Level::With`]) or the top-level `gateway:` ([`Level::Gateway`]),
    /// which takes the gateway's keys of `with:` and no others.
    fn flow_args(&self, v: &Value, level: Level) -> Result<FlowArgs, FlowError> {
        let gateway = level == Level::Gateway;
        let p = if gateway {
            yaml_path!["gateway"]
        } else {
            yaml_path!["with"]
        };
        let ctx = if gateway { Ctx::Gateway } else { Ctx::With };
        let at = At {
            path: &p,
            ctx: &ctx,
        };
        let mut args = FlowArgs::default();
        let mut seen_alias: BTreeMap<String, String> = BTreeMap::new();
        for (key, v) in self.entries(&at, if gateway { "gateway" } else { "with" }, v)? {
            let known = self.known(&at, level, &key)?;
            if gateway && known.is_none() {
                if crate::keys::key_info(Level::With, &key).is_some() {
                    return Err(self.bad(
                        &at,
                        &key,
                        format!(
                            "`{key}` is not a setting of the gateway: write it under `with:`, \
                             where it applies to the flow and its executors"
                        ),
                    ));
                }
                return Err(self.unknown(&at, &key, Level::Gateway));
            }
            let canonical = self.canonical_key(
                &at,
                &mut seen_alias,
                &key,
                &[
                    ("port_expose", "port"),
                    ("ports", "port"),
                    ("protocols", "protocol"),
                ],
            )?;
            match canonical {
                "port" => args.port = self.ports(&at, &key, v)?,
                "protocol" => {
                    args.protocol = self
                        .string_list(&at, &key, v)?
                        .iter()
                        .map(|s| {
                            Protocol::parse(s).ok_or_else(|| {
                                self.bad(
                                    &at,
                                    &key,
                                    format!("unknown protocol `{s}`; use grpc, http or websocket"),
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?
                }
                "host" => args.host = self.opt_string(&at, &key, v)?,
                "cors" => args.cors = Some(self.boolean(&at, &key, v)?),
                "compression" => {
                    let s = self.string(&at, &key, v)?;
                    args.compression = Some(Compression::parse(&s).ok_or_else(|| {
                        self.bad(
                            &at,
                            &key,
                            format!(
                                "unknown compression `{s}`; use NoCompression, Gzip or Deflate"
                            ),
                        )
                    })?)
                }
                "ssl_certfile" => args.ssl_certfile = self.opt_string(&at, &key, v)?,
                "ssl_keyfile" => args.ssl_keyfile = self.opt_string(&at, &key, v)?,
                "extra_search_paths" => args.extra_search_paths = self.string_list(&at, &key, v)?,
                "prefetch" => {
                    args.prefetch = Some(self.uint(&at, &key, v, "a non-negative integer")?)
                }
                "timeout_ready" => args.timeout_ready = Some(self.int(&at, &key, v)?),
                "timeout_send" => args.timeout_send = Some(self.int(&at, &key, v)?),
                "no_crud_endpoints" => args.no_crud_endpoints = Some(self.boolean(&at, &key, v)?),
                "no_debug_endpoints" => args.no_debug_endpoints = Some(self.boolean(&at, &key, v)?),
                "expose_endpoints" => args.expose_endpoints = self.expose_endpoints(&at, v)?,
                "env" => args.env = self.string_map(&at, &key, v)?,
                "workspace" => args.workspace = self.opt_string(&at, &key, v)?,
                "name" => args.name = self.opt_string(&at, &key, v)?,
                "title" => args.title = self.opt_string(&at, &key, v)?,
                "description" => args.description = self.opt_string(&at, &key, v)?,
                "timeout_ms" | "memory_limit" | "fuel" => {
                    self.limit(&at, &key, v, &mut args.limits)?
                }
                "uses_dynamic_batching" => {
                    args.dynamic_batching = self.dynamic_batching(&at, &key, v)?
                }
                "output_array_type" => args.output_array_type = self.array_format(&at, &key, v)?,
                "replicas" | "shards" => {
                    let n: u32 = self.uint(&at, &key, v, "a positive integer")?;
                    if n == 0 {
                        return Err(self.bad(&at, &key, "must be at least 1"));
                    }
                    if key == "replicas" {
                        args.replicas = Some(n);
                    } else {
                        args.shards = Some(n);
                    }
                }
                "polling" => args.polling = self.polling(&at, &key, v)?,
                "max_request_size" | "request_memory_budget" => {
                    let bytes = match v {
                        Value::String(text) => parse_bytes(text).map_err(|message| {
                            self.bad(&at, &key, format!("`{text}` is not a size: {message}"))
                        })?,
                        v => self.uint(&at, &key, v, "a size such as 64MiB, or bytes")?,
                    };
                    if key == "max_request_size" {
                        args.server.max_request_size = Some(bytes);
                    } else {
                        args.server.request_memory_budget = Some(bytes);
                    }
                }
                "max_connections" => {
                    args.server.max_connections =
                        Some(self.uint(&at, &key, v, "a positive integer")?)
                }
                "read_timeout_ms" => {
                    args.server.read_timeout_ms =
                        Some(self.uint(&at, &key, v, "milliseconds (a positive integer)")?)
                }
                "idle_timeout_ms" => {
                    args.server.idle_timeout_ms =
                        Some(self.uint(&at, &key, v, "milliseconds (0: never)")?)
                }
                _ if known.is_some_and(|k| k.kept) => {
                    args.extra.insert(key.clone(), self.json(&at, &key, v)?);
                }
                _ => return Err(self.unknown(&at, &key, level)),
            }
        }
        Ok(args)
    }

    /// A port, or a list of them.
    fn ports(&self, at: &At<'_>, key: &str, v: &Value) -> Result<Vec<u16>, FlowError> {
        const EXPECTED: &str = "a port number (0-65535) or a list of them";
        match v {
            Value::Sequence(items) => items
                .iter()
                .map(|i| self.uint::<u16>(at, key, i, EXPECTED))
                .collect(),
            v => Ok(vec![self.uint::<u16>(at, key, v, EXPECTED)?]),
        }
    }

    fn expose_endpoints(
        &self,
        at: &At<'_>,
        v: &Value,
    ) -> Result<BTreeMap<String, ExposedEndpoint>, FlowError> {
        let p = at.child("expose_endpoints");
        let ctx = Ctx::Nested(Box::new(at.ctx.clone()), "`expose_endpoints`".to_string());
        let list_at = At {
            path: &p,
            ctx: &ctx,
        };
        let mut out = BTreeMap::new();
        for (endpoint, spec) in self.entries(&list_at, "expose_endpoints", v)? {
            let ep_path = list_at.child(&endpoint);
            let ep_ctx = Ctx::Nested(
                Box::new(at.ctx.clone()),
                format!("`expose_endpoints` entry `{endpoint}`"),
            );
            let ep_at = At {
                path: &ep_path,
                ctx: &ep_ctx,
            };
            let mut ep = ExposedEndpoint::default();
            for (key, v) in self.entries(&ep_at, &endpoint, spec)? {
                self.known(&ep_at, Level::Endpoint, &key)?;
                match key.as_str() {
                    "methods" => {
                        ep.methods = self
                            .string_list(&ep_at, &key, v)?
                            .into_iter()
                            .map(|m| m.to_ascii_uppercase())
                            .collect()
                    }
                    "summary" => ep.summary = self.opt_string(&ep_at, &key, v)?,
                    "description" => ep.description = self.opt_string(&ep_at, &key, v)?,
                    "tags" => ep.tags = self.string_list(&ep_at, &key, v)?,
                    _ => return Err(self.unknown(&ep_at, &key, Level::Endpoint)),
                }
            }
            out.insert(endpoint, ep);
        }
        Ok(out)
    }

    /// `executors:` (or Jina's `deployments:`, written as `key`), each with the flow-wide
    /// defaults it wrote itself.
    fn executors(&self, key: &str, v: &Value) -> Result<Vec<(ExecutorSpec, Written)>, FlowError> {
        let items = match v {
            Value::Null => return Ok(Vec::new()),
            Value::Sequence(items) => items,
            other => {
                return Err(FlowError::WrongType {
                    at: self.pos(&yaml_path![key], Target::Value),
                    ctx: Ctx::Top,
                    key: key.to_string(),
                    expected: "a list of executors (`- name: ...`)".to_string(),
                    found: describe(other),
                });
            }
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                // Jina loads a string entry as a Deployment YAML file.
                Value::String(file) => self.deployment_file(key, i, file),
                item => self.executor(yaml_path![key, i].to_vec(), i, item),
            })
            .collect()
    }

    /// A string entry of `executors:`: a `jtype: Deployment` file, relative to the flow
    /// file's folder, whose `with:` is read as the entry (Jina's `Deployment.load_config`).
    fn deployment_file(
        &self,
        list: &str,
        index: usize,
        name: &str,
    ) -> Result<(ExecutorSpec, Written), FlowError> {
        let p = yaml_path![list, index];
        let bad = |message: String| FlowError::BadValue {
            at: self.pos(&p, Target::Value),
            ctx: Ctx::Top,
            key: format!("{list}[{index}]"),
            message,
        };
        let (Some(vars), Some(dir)) = (self.vars, Path::new(self.src.file).parent()) else {
            return Err(bad(format!(
                "`{name}` names a Deployment YAML file, which cannot be read from here: write \
                 the executor inline (`- name: ...`)"
            )));
        };
        let path = dir.join(name.trim());
        let raw = std::fs::read_to_string(&path).map_err(|source| {
            bad(format!(
                "`{name}` names a Deployment YAML file (as Jina reads a string entry), which \
                 cannot be read at {}: {source}; or write the executor inline (`- name: ...`)",
                path.display()
            ))
        })?;
        let file = path.display().to_string();
        let text = substitute(&raw, &file, vars)?;
        let src = Source {
            file: &file,
            text: &text,
        };
        let mut root = parse_value(&src)?;
        super::dollar::expand(&mut root, vars);
        super::unsubstituted(&src, &root, &mut Vec::new())?;
        let mut inner = Reader::new(src);
        inner.vars = Some(vars);
        let (root, tagged) = match root {
            Value::Tagged(t) if t.tag == "Deployment" => (t.value, true),
            other => (other, false),
        };
        let jtype = match &root {
            Value::Mapping(m) => m.get("jtype").and_then(scalar_text),
            _ => None,
        };
        if !(jtype.as_deref() == Some("Deployment") || tagged && jtype.is_none()) {
            return Err(FlowError::NotAFlow {
                at: inner.pos(&[], Target::Value),
                message: format!(
                    "`{name}` is an entry of the flow's `executors:`, so it must be a Deployment \
                     file starting with `jtype: Deployment` (its `with:` holds the executor's \
                     keys); or write the executor inline in the flow"
                ),
            });
        }
        let result = inner.deployment(Vec::new(), index, &root)?;
        self.extend_warnings(inner.into_warnings());
        Ok(result)
    }

    /// A `jtype: Deployment` mapping (at `p`): its `with:` is the executor entry.
    fn deployment(
        &self,
        p: Vec<Seg>,
        index: usize,
        v: &Value,
    ) -> Result<(ExecutorSpec, Written), FlowError> {
        let ctx = Ctx::Executor(format!("executor{index}"));
        let at = At {
            path: &p,
            ctx: &ctx,
        };
        let mut with = &Value::Null;
        for (key, v) in self.entries(&at, "Deployment", v)? {
            match key.as_str() {
                "jtype" | "version" => {}
                "with" => with = v,
                _ => {
                    return Err(self.bad(
                        &at,
                        &key,
                        "a Deployment holds `jtype: Deployment` and `with:` (the executor's \
                         keys); move it under `with:`",
                    ));
                }
            }
        }
        self.executor(at.child("with"), index, with)
    }

    fn executor(
        &self,
        p: Vec<Seg>,
        index: usize,
        v: &Value,
    ) -> Result<(ExecutorSpec, Written), FlowError> {
        if let Value::Mapping(m) = v
            && m.get("jtype").and_then(scalar_text).as_deref() == Some("Deployment")
        {
            return self.deployment(p, index, v);
        }
        let method = match v {
            Value::Mapping(m) => m.get("method"),
            _ => None,
        };
        let method = match method {
            None | Some(Value::Null) => Method::Add,
            Some(m) => {
                let ctx = Ctx::Executor(format!("executor{index}"));
                let at = At {
                    path: &p,
                    ctx: &ctx,
                };
                match scalar_text(m).as_deref().map(str::trim) {
                    Some("add") => Method::Add,
                    Some("needs") => Method::Needs,
                    Some("inspect") => {
                        return Err(self.refuse(
                            &at,
                            "method",
                            Target::Value,
                            "`method: inspect`".to_string(),
                            "flowhost has no inspect deployments: add the evaluator as an \
                             ordinary executor with `needs: <the executor to inspect>` and \
                             `floating: true`, so that responses do not wait for it",
                        ));
                    }
                    _ => {
                        return Err(self.bad(
                            &at,
                            "method",
                            "must be `add` (the default), `needs` (a join) or `inspect`",
                        ));
                    }
                }
            }
        };
        // Jina's `Flow.needs` names its join `joiner` unless told otherwise.
        let default_name = match method {
            Method::Needs => "joiner".to_string(),
            Method::Add => format!("executor{index}"),
        };
        // The name is read first so that every later message can name the executor.
        let name = match v {
            Value::Mapping(m) => match m.get("name") {
                Some(Value::Null) | None => default_name,
                Some(n) => match scalar_text(n) {
                    Some(s) if !s.is_empty() => s,
                    Some(_) => default_name,
                    None => {
                        let ctx = Ctx::Executor(default_name);
                        return Err(self.wrong(
                            &At {
                                path: &p,
                                ctx: &ctx,
                            },
                            "name",
                            "a string",
                            n,
                        ));
                    }
                },
            },
            _ => default_name,
        };
        if !matches!(v, Value::Mapping(_) | Value::Null) {
            return Err(FlowError::WrongType {
                at: self.pos(&p, Target::Value),
                ctx: Ctx::Top,
                key: format!("executors[{index}]"),
                expected: "a mapping such as `- name: encoder`, or the path of a Deployment \
                           YAML file"
                    .to_string(),
                found: describe(v),
            });
        }
        let ctx = Ctx::Executor(name.clone());
        let at = At {
            path: &p,
            ctx: &ctx,
        };
        let mut e = ExecutorSpec {
            name,
            ..ExecutorSpec::default()
        };
        let mut written = Written::default();
        let mut seen_alias: BTreeMap<String, String> = BTreeMap::new();
        for (key, v) in self.entries(&at, "executor", v)? {
            let known = self.known(&at, Level::Executor, &key)?;
            let canonical = self.canonical_key(
                &at,
                &mut seen_alias,
                &key,
                &[("no_reduce", "disable_reduce")],
            )?;
            match canonical {
                "name" | "method" => {}
                "uses" => e.uses = self.uses(&at, &key, v)?,
                "uses_with" => e.uses_with = self.json_map(&at, &key, v)?,
                "uses_metas" => {
                    self.metas_keys(&at, &key, v, false)?;
                    e.uses_metas = self.json_map(&at, &key, v)?
                }
                "uses_requests" => e.uses_requests = self.string_map(&at, &key, v)?,
                "workspace" => e.workspace = self.opt_string(&at, &key, v)?,
                "env" => e.env = self.string_map(&at, &key, v)?,
                "needs" => {
                    e.needs = match v {
                        Value::Null => None,
                        v => Some(self.string_list(&at, &key, v)?),
                    }
                }
                "when" => {
                    e.when = match v {
                        Value::Null => None,
                        Value::Mapping(_) => Some(self.json(&at, &key, v)?),
                        v => {
                            return Err(self.wrong(
                                &at,
                                &key,
                                "a mapping (a filter such as `{tags__key: {$eq: 5}}`)",
                                v,
                            ));
                        }
                    }
                }
                "floating" => e.floating = self.boolean(&at, &key, v)?,
                "replicas" => {
                    e.replicas = self.uint(&at, &key, v, "a positive integer")?;
                    written.replicas = true;
                }
                "shards" => {
                    e.shards = self.uint(&at, &key, v, "a positive integer")?;
                    written.shards = true;
                }
                "polling" => {
                    e.polling = self.polling(&at, &key, v)?;
                    written.polling = true;
                }
                "uses_before" => e.uses_before = self.uses(&at, &key, v)?,
                "uses_after" => e.uses_after = self.uses(&at, &key, v)?,
                "disable_reduce" => e.disable_reduce = self.boolean(&at, &key, v)?,
                "external" => e.external = self.boolean(&at, &key, v)?,
                // Several hosts (and ports) are the replicas of an external executor.
                "host" => e.host = self.string_list(&at, &key, v)?,
                "port" => e.port = self.ports(&at, &key, v)?,
                "tls" => e.tls = self.boolean(&at, &key, v)?,
                "grpc_metadata" => e.grpc_metadata = self.string_map(&at, &key, v)?,
                "timeout_ms" | "memory_limit" | "fuel" => {
                    self.limit(&at, &key, v, &mut e.limits)?
                }
                "uses_dynamic_batching" => {
                    e.dynamic_batching = self.dynamic_batching(&at, &key, v)?
                }
                "output_array_type" => e.output_array_type = self.array_format(&at, &key, v)?,
                _ if known.is_some_and(|k| k.kept) => {
                    e.extra.insert(key.clone(), self.json(&at, &key, v)?);
                }
                _ => return Err(self.unknown(&at, &key, Level::Executor)),
            }
        }
        if method == Method::Needs {
            if e.uses.is_some() {
                return Err(self.refuse(
                    &at,
                    "uses",
                    Target::Key,
                    "`uses` with `method: needs`".to_string(),
                    "`method: needs` is a join that passes documents on; to run a component \
                     after the join, drop `method: needs` and keep `uses` and `needs`",
                ));
            }
            if e.needs.as_ref().is_none_or(|needs| needs.len() < 2) {
                return Err(self.bad(
                    &at,
                    "method",
                    "`method: needs` joins several executors: list at least two in `needs` \
                     (for one, use `needs: <it>` on the next executor)",
                ));
            }
        }
        Ok((e, written))
    }

    /// Checks the keys of a metas mapping (`metas`, `uses_metas`) against the table: warns
    /// for the ones with no effect, refuses `py_modules` unless `config_file` (the Python SDK
    /// reads it there). Other keys stay free-form, as Jina's metas are; type errors are
    /// `json_map`'s to report.
    pub(crate) fn metas_keys(
        &self,
        at: &At<'_>,
        key: &str,
        v: &Value,
        config_file: bool,
    ) -> Result<(), FlowError> {
        let Value::Mapping(map) = v else {
            return Ok(());
        };
        let path = at.child(key);
        let ctx = Ctx::Nested(Box::new(at.ctx.clone()), format!("`{key}`"));
        let inner = At {
            path: &path,
            ctx: &ctx,
        };
        for k in map.keys().filter_map(scalar_text) {
            if !(config_file && k == "py_modules") {
                self.known(&inner, Level::Metas, &k)?;
            }
        }
        Ok(())
    }

    /// `uses_dynamic_batching` (or an executor config's `dynamic_batching`): a mapping of
    /// endpoints (`/index`) or method names to their settings, each checked against the
    /// table's [`Level::Batching`] keys.
    pub(crate) fn dynamic_batching(
        &self,
        at: &At<'_>,
        key: &str,
        v: &Value,
    ) -> Result<DynamicBatching, FlowError> {
        const EXPECTED: &str = "a mapping of endpoints (`/index`) or method names to batching \
                                settings, such as `{/index: {preferred_batch_size: 8}}`";
        if !matches!(v, Value::Mapping(_) | Value::Null) {
            return Err(self.wrong(at, key, EXPECTED, v));
        }
        let path = at.child(key);
        let ctx = Ctx::Nested(Box::new(at.ctx.clone()), format!("`{key}`"));
        let list_at = At {
            path: &path,
            ctx: &ctx,
        };
        let mut out = DynamicBatching::default();
        for (name, settings) in self.entries(&list_at, key, v)? {
            if name.trim().is_empty() {
                return Err(self.bad(
                    &list_at,
                    &name,
                    "an empty key names neither an endpoint (`/index`) nor a method",
                ));
            }
            // Jina reads each entry with `.get`, so anything but a mapping fails there.
            if !matches!(settings, Value::Mapping(_)) {
                return Err(self.wrong(
                    &list_at,
                    &name,
                    "a mapping such as `{preferred_batch_size: 8, timeout: 200}`",
                    settings,
                ));
            }
            let entry_path = list_at.child(&name);
            let entry_ctx =
                Ctx::Nested(Box::new(at.ctx.clone()), format!("`{key}` entry `{name}`"));
            let entry_at = At {
                path: &entry_path,
                ctx: &entry_ctx,
            };
            let mut spec = BatchingSpec::default();
            for (k, v) in self.entries(&entry_at, &name, settings)? {
                // Refuses `custom_metric` with the table's reason.
                self.known(&entry_at, Level::Batching, &k)?;
                match k.as_str() {
                    "preferred_batch_size" => {
                        spec.preferred_batch_size =
                            self.uint(&entry_at, &k, v, "a positive integer (documents)")?;
                        if spec.preferred_batch_size == 0 {
                            return Err(self.bad(
                                &entry_at,
                                &k,
                                "must be at least 1 (documents gathered per call)",
                            ));
                        }
                    }
                    "timeout" => {
                        let ms = self.int(&entry_at, &k, v).map_err(|_| {
                            self.wrong(&entry_at, &k, "a whole number of milliseconds", v)
                        })?;
                        spec.timeout_ms = u64::try_from(ms).map_err(|_| {
                            self.bad(
                                &entry_at,
                                &k,
                                format!(
                                    "must not be negative: it is the milliseconds a request may \
                                     wait for others to join it (found {ms})"
                                ),
                            )
                        })?;
                    }
                    "flush_all" => spec.flush_all = self.boolean(&entry_at, &k, v)?,
                    "use_dynamic_batching" => spec.enabled = self.boolean(&entry_at, &k, v)?,
                    "use_custom_metric" => {
                        if self.boolean(&entry_at, &k, v)? {
                            return Err(self.refuse(
                                &entry_at,
                                &k,
                                Target::Value,
                                format!("`{k}: true`"),
                                "flowhost cannot run a Python metric (`custom_metric`): batches \
                                 are counted in documents (`preferred_batch_size`); remove it or \
                                 set it to false",
                            ));
                        }
                    }
                    _ => return Err(self.unknown(&entry_at, &k, Level::Batching)),
                }
            }
            out.insert(name, spec);
        }
        Ok(out)
    }

    /// `output_array_type`: `numpy`, `list` (with a warning: flowhost answers numpy arrays) or
    /// a numpy dtype name or code.
    fn array_format(
        &self,
        at: &At<'_>,
        key: &str,
        v: &Value,
    ) -> Result<Option<ArrayFormat>, FlowError> {
        let Some(text) = self.opt_string(at, key, v)? else {
            return Ok(None);
        };
        let format = ArrayFormat::parse(&text).ok_or_else(|| {
            self.bad(
                at,
                key,
                format!(
                    "`{}` is not an array type flowhost answers with: use `numpy` (as Jina), \
                     `list`, or a numpy dtype to convert every tensor and embedding to: {} (or a \
                     code such as `f4`)",
                    text.trim(),
                    NUMPY_DTYPES.join(", ")
                ),
            )
        })?;
        if format == ArrayFormat::List {
            self.warn(
                at,
                key,
                Target::Value,
                "`list` asks for tensors a Python client rebuilds as lists; flowhost always \
                 answers numpy arrays (`cls_name` `numpy`)",
            );
        }
        Ok(Some(format))
    }

    fn polling(&self, at: &At<'_>, key: &str, v: &Value) -> Result<Option<PollingSpec>, FlowError> {
        let bad = |endpoint: &str, value: String, path: Vec<Seg>| FlowError::BadPolling {
            at: self.pos(&path, Target::Value),
            ctx: at.ctx.clone(),
            endpoint: endpoint.to_string(),
            value,
        };
        match v {
            Value::Null => Ok(None),
            Value::Mapping(_) => {
                let p = at.child(key);
                let inner = At {
                    path: &p,
                    ctx: at.ctx,
                };
                let mut map = BTreeMap::new();
                for (endpoint, pv) in self.entries(&inner, key, v)? {
                    let text = scalar_text(pv).unwrap_or_else(|| describe(pv));
                    let polling = Polling::parse(&text)
                        .ok_or_else(|| bad(&endpoint, text.clone(), inner.child(&endpoint)))?;
                    map.insert(endpoint, polling);
                }
                Ok(Some(PollingSpec::PerEndpoint(map)))
            }
            v => {
                let text = scalar_text(v).unwrap_or_else(|| describe(v));
                let polling = Polling::parse(&text)
                    .ok_or_else(|| bad("every endpoint", text.clone(), at.child(key)))?;
                Ok(Some(PollingSpec::Uniform(polling)))
            }
        }
    }
}
