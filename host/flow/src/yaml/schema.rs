//! The Flow schema walk: every key of a flow file (and of an executor entry) read into the
//! typed model through the positioned [`Reader`](super::reader::Reader).

use std::collections::BTreeMap;

use serde_norway::Value;

use super::reader::{At, Reader, describe, scalar_text};
use crate::error::{Ctx, FlowError};
use crate::keys::Level;
use crate::limits::parse_bytes;
use crate::locate::{Seg, Target};
use crate::source::yaml_path;
use crate::spec::{
    ArrayFormat, BatchingSpec, DynamicBatching, ExecutorSpec, ExposedEndpoint, Flow, FlowArgs,
    Limits, NUMPY_DTYPES, Polling, PollingSpec,
};
use flowhost_wire::{Compression, Protocol};

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
        let mut seen_alias: BTreeMap<String, String> = BTreeMap::new();
        for (key, v) in &entries {
            self.known(&top, Level::Top, key)?;
            let canonical =
                self.canonical_key(&top, &mut seen_alias, key, &[("deployments", "executors")])?;
            match canonical {
                "jtype" | "version" | "jcloud" => {}
                "with" => flow.with = self.flow_args(v)?,
                "metas" => {
                    self.metas_keys(&top, key, v, false)?;
                    flow.metas = self.json_map(&top, key, v)?
                }
                "executors" => flow.executors = self.executors(key, v)?,
                other => return Err(self.unknown(&top, other, Level::Top)),
            }
        }
        Ok(flow)
    }

    fn flow_args(&self, v: &Value) -> Result<FlowArgs, FlowError> {
        let p = yaml_path!["with"];
        let ctx = Ctx::With;
        let at = At {
            path: &p,
            ctx: &ctx,
        };
        let mut args = FlowArgs::default();
        let mut seen_alias: BTreeMap<String, String> = BTreeMap::new();
        for (key, v) in self.entries(&at, "with", v)? {
            let known = self.known(&at, Level::With, &key)?;
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
                _ => return Err(self.unknown(&at, &key, Level::With)),
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

    /// `executors:` (or Jina's `deployments:`, written as `key`).
    fn executors(&self, key: &str, v: &Value) -> Result<Vec<ExecutorSpec>, FlowError> {
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
            .map(|(i, item)| self.executor(key, i, item))
            .collect()
    }

    fn executor(&self, list: &str, index: usize, v: &Value) -> Result<ExecutorSpec, FlowError> {
        let p = yaml_path![list, index];
        let default_name = format!("executor{index}");
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
                expected: "a mapping such as `- name: encoder`".to_string(),
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
                "name" => {}
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
                "replicas" => e.replicas = self.uint(&at, &key, v, "a positive integer")?,
                "shards" => e.shards = self.uint(&at, &key, v, "a positive integer")?,
                "polling" => e.polling = self.polling(&at, &key, v)?,
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
        Ok(e)
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
