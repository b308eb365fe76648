//! Reading a Flow from YAML text: substitution, parsing, and conversion of every key into the
//! typed model with positioned, actionable errors.
//!
//! The conversion is written by hand rather than derived so that each message can say which
//! executor and key is wrong and suggest the key that was probably meant.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value as Json};
use serde_norway::Value;

use crate::env::{Vars, substitute};
use crate::error::{Ctx, FlowError, Hint, Pos};
use crate::keys;
use crate::limits::parse_bytes;
use crate::locate::{Seg, Target};
use crate::source::{Source, yaml_path};
use crate::spec::{ExecutorSpec, ExposedEndpoint, Flow, FlowArgs, Limits, Polling, PollingSpec};
use crate::validate::validate;
use flowhost_wire::Compression;
use flowhost_wire::Protocol;

/// Options for loading: where `${{ }}` values come from.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub vars: Vars,
}

impl Flow {
    /// Loads and validates a flow file, substituting from the process environment.
    pub fn load(path: impl AsRef<Path>) -> Result<Flow, FlowError> {
        Flow::load_with(path, &LoadOptions::default())
    }

    /// Loads and validates a flow file with explicit options.
    pub fn load_with(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Flow, FlowError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| FlowError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Flow::from_yaml_str(&text, &path.display().to_string(), opts)
    }

    /// Parses and validates flow text; `file` names it in error messages.
    pub fn from_yaml_str(text: &str, file: &str, opts: &LoadOptions) -> Result<Flow, FlowError> {
        let text = substitute(text, file, &opts.vars)?;
        let src = Source { file, text: &text };
        let root = parse_value(&src)?;
        unsubstituted(&src, &root, &mut Vec::new())?;
        let flow = Reader { src }.flow(root)?;
        validate(&flow, Some(&src))?;
        Ok(flow)
    }
}

/// Refuses a value that still holds `${{` after substitution: a reference split over lines
/// (`"${{` ... `}}"` folds into one line), written with escapes (`"$\x7b{ X }}"`) or inside what
/// looked like a comment. Substitution did not replace it, and it would be substituted when
/// the flow is saved and loaded again; flow files have no way to write a literal `${{`.
fn unsubstituted(src: &Source<'_>, v: &Value, path: &mut Vec<Seg>) -> Result<(), FlowError> {
    let check = |s: &str, path: &[Seg], target: Target| match s.find("${{") {
        None => Ok(()),
        Some(start) => {
            let found: String = s[start..].chars().take(40).collect();
            Err(FlowError::Syntax {
                at: src.pos(path, target),
                message: format!(
                    "`{found}` is not substituted: write a `${{{{ }}}}` reference on one line, \
                     without escapes (a literal `${{{{` cannot be written)"
                ),
            })
        }
    };
    match v {
        Value::String(s) => check(s, path, Target::Value),
        Value::Sequence(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            path.push(Seg::Index(i));
            let result = unsubstituted(src, item, path);
            path.pop();
            result
        }),
        Value::Mapping(map) => map.iter().try_for_each(|(key, item)| {
            path.push(Seg::Key(scalar_text(key).unwrap_or_default()));
            let result = match key {
                Value::String(k) => check(k, path, Target::Key),
                _ => unsubstituted(src, key, path),
            }
            .and_then(|()| unsubstituted(src, item, path));
            path.pop();
            result
        }),
        Value::Tagged(tagged) => unsubstituted(src, &tagged.value, path),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// Parses text into a YAML value, turning syntax errors into positioned messages.
pub(crate) fn parse_value(src: &Source<'_>) -> Result<Value, FlowError> {
    serde_norway::from_str::<Value>(src.text).map_err(|err| {
        let mut at = Pos::file(src.file);
        let mut message = err.to_string();
        if let Some(loc) = err.location() {
            at.line = Some(loc.line());
            at.column = Some(loc.column());
            // serde_norway appends the position we already print in front.
            let suffix = format!(" at line {} column {}", loc.line(), loc.column());
            message = message.replacen(&suffix, "", 1);
            let line = src
                .text
                .lines()
                .nth(loc.line().saturating_sub(1))
                .unwrap_or("");
            if line
                .chars()
                .take_while(|c| c.is_whitespace())
                .any(|c| c == '\t')
            {
                message.push_str(" (YAML indents with spaces, not tabs)");
            }
        }
        FlowError::Syntax {
            at: Box::new(at),
            message,
        }
    })
}

/// Describes a YAML value for "found ..." in type errors.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".to_string(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) => format!("the string `{s}`"),
        Value::Sequence(_) => "a list".to_string(),
        Value::Mapping(_) => "a mapping".to_string(),
        Value::Tagged(t) => format!("a value tagged `{}`", t.tag),
    }
}

/// A scalar as text (strings, numbers and booleans), as Jina's `str()` would give.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Converts YAML to JSON for the free-form maps (`uses_with`, `when`, ...).
pub(crate) fn to_json(v: &Value) -> Result<Json, String> {
    serde_json::to_value(v).map_err(|e| e.to_string())
}

/// The converter: holds the source to position errors.
pub(crate) struct Reader<'a> {
    pub src: Source<'a>,
}

/// A mapping being read: its path and the context named in messages.
pub(crate) struct At<'p> {
    pub path: &'p [Seg],
    pub ctx: &'p Ctx,
}

impl At<'_> {
    fn child(&self, key: &str) -> Vec<Seg> {
        let mut p = self.path.to_vec();
        p.push(Seg::Key(key.to_string()));
        p
    }
}

impl<'a> Reader<'a> {
    pub fn pos(&self, path: &[Seg], target: Target) -> Box<Pos> {
        self.src.pos(path, target)
    }

    pub fn wrong(&self, at: &At<'_>, key: &str, expected: &str, v: &Value) -> FlowError {
        FlowError::WrongType {
            at: self.pos(&at.child(key), Target::Value),
            ctx: at.ctx.clone(),
            key: key.to_string(),
            expected: expected.to_string(),
            found: describe(v),
        }
    }

    pub fn bad(&self, at: &At<'_>, key: &str, message: impl Into<String>) -> FlowError {
        FlowError::BadValue {
            at: self.pos(&at.child(key), Target::Value),
            ctx: at.ctx.clone(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    pub fn unknown(&self, at: &At<'_>, key: &str, known: &[&[&str]]) -> FlowError {
        FlowError::UnknownKey {
            at: self.pos(&at.child(key), Target::Key),
            ctx: at.ctx.clone(),
            key: key.to_string(),
            hint: Hint(keys::did_you_mean(
                key,
                known.iter().flat_map(|k| k.iter().copied()),
            )),
        }
    }

    /// The string keys and values of a mapping, in order; non-string keys are an error.
    /// Maps Jina's alternative spellings of a key (`aliases`: spelling → key) to
    /// one key, refusing a key given twice under two spellings (`seen` remembers
    /// which spelling came first).
    fn canonical_key<'k>(
        &self,
        at: &At<'_>,
        seen: &mut BTreeMap<String, String>,
        key: &'k str,
        aliases: &[(&str, &'static str)],
    ) -> Result<&'k str, FlowError> {
        let canonical = aliases
            .iter()
            .find(|(alias, _)| *alias == key)
            .map_or(key, |(_, canonical)| *canonical);
        if let Some(first) = seen.insert(canonical.to_string(), key.to_string()) {
            return Err(self.bad(
                at,
                key,
                format!("`{first}` is already set; keep only one of them"),
            ));
        }
        Ok(canonical)
    }

    pub fn entries<'v>(
        &self,
        at: &At<'_>,
        what: &str,
        v: &'v Value,
    ) -> Result<Vec<(String, &'v Value)>, FlowError> {
        let map = match v {
            Value::Mapping(m) => m,
            Value::Null => return Ok(Vec::new()),
            other => {
                return Err(FlowError::WrongType {
                    at: self.pos(at.path, Target::Value),
                    ctx: at.ctx.clone(),
                    key: what.to_string(),
                    expected: "a mapping".to_string(),
                    found: describe(other),
                });
            }
        };
        map.iter()
            .map(|(k, v)| match scalar_text(k) {
                Some(k) => Ok((k, v)),
                None => Err(FlowError::WrongType {
                    at: self.pos(at.path, Target::Value),
                    ctx: at.ctx.clone(),
                    key: what.to_string(),
                    expected: "a mapping with plain keys".to_string(),
                    found: format!("the key {}", describe(k)),
                }),
            })
            .collect()
    }

    pub fn string(&self, at: &At<'_>, key: &str, v: &Value) -> Result<String, FlowError> {
        scalar_text(v).ok_or_else(|| self.wrong(at, key, "a string", v))
    }

    pub fn opt_string(
        &self,
        at: &At<'_>,
        key: &str,
        v: &Value,
    ) -> Result<Option<String>, FlowError> {
        match v {
            Value::Null => Ok(None),
            v => self.string(at, key, v).map(Some),
        }
    }

    pub fn boolean(&self, at: &At<'_>, key: &str, v: &Value) -> Result<bool, FlowError> {
        match v {
            Value::Bool(b) => Ok(*b),
            // A quoted `"true"` (e.g. from `${{ ENV.X }}` inside quotes) is still meant as a bool.
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            v => Err(self.wrong(at, key, "true or false", v)),
        }
    }

    pub fn int(&self, at: &At<'_>, key: &str, v: &Value) -> Result<i64, FlowError> {
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        n.ok_or_else(|| self.wrong(at, key, "an integer", v))
    }

    pub fn uint<T: TryFrom<i64>>(
        &self,
        at: &At<'_>,
        key: &str,
        v: &Value,
        expected: &str,
    ) -> Result<T, FlowError> {
        let n = self
            .int(at, key, v)
            .map_err(|_| self.wrong(at, key, expected, v))?;
        T::try_from(n).map_err(|_| self.wrong(at, key, expected, v))
    }

    /// One string or a list of strings.
    pub fn string_list(&self, at: &At<'_>, key: &str, v: &Value) -> Result<Vec<String>, FlowError> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Sequence(items) => items
                .iter()
                .map(|item| {
                    scalar_text(item)
                        .ok_or_else(|| self.wrong(at, key, "a string or a list of strings", item))
                })
                .collect(),
            v => Ok(vec![self.string(at, key, v)?]),
        }
    }

    /// A mapping of names to scalar values, as text (`env`, `grpc_metadata`, `uses_requests`).
    pub fn string_map(
        &self,
        at: &At<'_>,
        key: &str,
        v: &Value,
    ) -> Result<BTreeMap<String, String>, FlowError> {
        let path = at.child(key);
        let ctx = Ctx::Nested(Box::new(at.ctx.clone()), format!("`{key}`"));
        let inner = At {
            path: &path,
            ctx: &ctx,
        };
        let outer = At {
            path: &path,
            ctx: at.ctx,
        };
        let mut out = BTreeMap::new();
        for (k, item) in self.entries(&outer, key, v)? {
            let text = scalar_text(item).ok_or_else(|| self.wrong(&inner, &k, "a string", item))?;
            out.insert(k, text);
        }
        Ok(out)
    }

    /// A mapping kept as JSON (`uses_with`, `uses_metas`, `metas`).
    pub fn json_map(
        &self,
        at: &At<'_>,
        key: &str,
        v: &Value,
    ) -> Result<Map<String, Json>, FlowError> {
        match v {
            Value::Null => Ok(Map::new()),
            Value::Mapping(_) => match to_json(v) {
                Ok(Json::Object(m)) => Ok(m),
                Ok(_) => Err(self.wrong(at, key, "a mapping", v)),
                Err(e) => Err(self.bad(at, key, e)),
            },
            v => Err(self.wrong(at, key, "a mapping", v)),
        }
    }

    pub fn json(&self, at: &At<'_>, key: &str, v: &Value) -> Result<Json, FlowError> {
        to_json(v).map_err(|e| self.bad(at, key, e))
    }

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
        for (key, v) in &entries {
            match key.as_str() {
                "jtype" | "version" => {}
                "with" => flow.with = self.flow_args(v)?,
                "metas" => flow.metas = self.json_map(&top, key, v)?,
                "executors" => flow.executors = self.executors(v)?,
                other => return Err(self.unknown(&top, other, &[keys::TOP_KEYS])),
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
                "port" => {
                    args.port = match v {
                        Value::Sequence(items) => items
                            .iter()
                            .map(|i| {
                                self.uint::<u16>(
                                    &at,
                                    &key,
                                    i,
                                    "a port number (0-65535) or a list of them",
                                )
                            })
                            .collect::<Result<_, _>>()?,
                        v => vec![self.uint::<u16>(
                            &at,
                            &key,
                            v,
                            "a port number (0-65535) or a list of them",
                        )?],
                    }
                }
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
                k if keys::WITH_JINA_KEYS.contains(&k) => {
                    args.extra.insert(key.clone(), self.json(&at, &key, v)?);
                }
                _ => return Err(self.unknown(&at, &key, &[keys::WITH_KEYS, keys::WITH_JINA_KEYS])),
            }
        }
        Ok(args)
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
                    _ => return Err(self.unknown(&ep_at, &key, &[keys::EXPOSE_KEYS])),
                }
            }
            out.insert(endpoint, ep);
        }
        Ok(out)
    }

    fn executors(&self, v: &Value) -> Result<Vec<ExecutorSpec>, FlowError> {
        let items = match v {
            Value::Null => return Ok(Vec::new()),
            Value::Sequence(items) => items,
            other => {
                return Err(FlowError::WrongType {
                    at: self.pos(&yaml_path!["executors"], Target::Value),
                    ctx: Ctx::Top,
                    key: "executors".to_string(),
                    expected: "a list of executors (`- name: ...`)".to_string(),
                    found: describe(other),
                });
            }
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.executor(i, item))
            .collect()
    }

    fn executor(&self, index: usize, v: &Value) -> Result<ExecutorSpec, FlowError> {
        let p = yaml_path!["executors", index];
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
            let canonical = self.canonical_key(
                &at,
                &mut seen_alias,
                &key,
                &[("no_reduce", "disable_reduce")],
            )?;
            match canonical {
                "name" => {}
                "uses" => e.uses = self.opt_string(&at, &key, v)?,
                "uses_with" => e.uses_with = self.json_map(&at, &key, v)?,
                "uses_metas" => e.uses_metas = self.json_map(&at, &key, v)?,
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
                "uses_before" => e.uses_before = self.opt_string(&at, &key, v)?,
                "uses_after" => e.uses_after = self.opt_string(&at, &key, v)?,
                "disable_reduce" => e.disable_reduce = self.boolean(&at, &key, v)?,
                "external" => e.external = self.boolean(&at, &key, v)?,
                "host" => e.host = self.opt_string(&at, &key, v)?,
                "port" => e.port = Some(self.uint(&at, &key, v, "a port number (0-65535)")?),
                "tls" => e.tls = self.boolean(&at, &key, v)?,
                "grpc_metadata" => e.grpc_metadata = self.string_map(&at, &key, v)?,
                "timeout_ms" | "memory_limit" | "fuel" => {
                    self.limit(&at, &key, v, &mut e.limits)?
                }
                k if keys::EXECUTOR_JINA_KEYS.contains(&k) => {
                    e.extra.insert(key.clone(), self.json(&at, &key, v)?);
                }
                _ => {
                    return Err(self.unknown(
                        &at,
                        &key,
                        &[keys::EXECUTOR_KEYS, keys::EXECUTOR_JINA_KEYS],
                    ));
                }
            }
        }
        Ok(e)
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
