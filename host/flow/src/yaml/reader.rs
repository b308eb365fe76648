//! A YAML reader that keeps positions: parsing with positioned syntax errors, and typed
//! getters (`string`, `uint`, `string_map`, ...) whose errors name the file, line, column,
//! context and key, with a did-you-mean for unknown keys. Knows nothing of the Flow schema.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};
use serde_norway::Value;

use crate::env::Vars;
use crate::error::{Ctx, FlowError, Hint, Pos};
use crate::keys::{self, KeyInfo, KeyWarning, Level, Status};
use crate::locate::{Seg, Target};
use crate::source::Source;

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

/// The converter: holds the source to position errors, and the warnings found so far.
pub(crate) struct Reader<'a> {
    pub src: Source<'a>,
    // The getters take `&self` (a reader is shared down the walk); warnings are the one thing
    // they add to.
    warnings: RefCell<Vec<KeyWarning>>,
    // Substitutes the files a flow names inside itself (`executors: [dep.yml]`) as the flow;
    // `None` where there are none to read (an executor config file).
    pub vars: Option<&'a Vars>,
}

/// A mapping being read: its path and the context named in messages.
pub(crate) struct At<'p> {
    pub path: &'p [Seg],
    pub ctx: &'p Ctx,
}

impl At<'_> {
    pub(crate) fn child(&self, key: &str) -> Vec<Seg> {
        let mut p = self.path.to_vec();
        p.push(Seg::Key(key.to_string()));
        p
    }
}

impl<'a> Reader<'a> {
    pub fn new(src: Source<'a>) -> Reader<'a> {
        Reader {
            src,
            warnings: RefCell::new(Vec::new()),
            vars: None,
        }
    }

    /// Adds warnings another reader found (a file this one's names) after this one's.
    pub fn extend_warnings(&self, more: Vec<KeyWarning>) {
        self.warnings.borrow_mut().extend(more);
    }

    /// The warnings collected while reading, in file order.
    pub fn into_warnings(self) -> Vec<KeyWarning> {
        self.warnings.into_inner()
    }

    /// The table's entry for `key` at `level`, after acting on its status: a refused key is an
    /// error, an ignored one is noted as a warning. `None`: a key no one knows here.
    pub fn known(
        &self,
        at: &At<'_>,
        level: Level,
        key: &str,
    ) -> Result<Option<&'static KeyInfo>, FlowError> {
        let Some(info) = keys::key_info(level, key) else {
            return Ok(None);
        };
        match info.status {
            Status::Refused(message) => {
                return Err(self.refuse(at, key, Target::Key, format!("`{key}`"), message));
            }
            Status::Ignored(reason) => self.warn(at, key, Target::Key, reason),
            Status::Implemented | Status::Differs(_) => {}
        }
        Ok(Some(info))
    }

    /// Notes a warning for `key` (or its value, per `target`) that loads but has no effect
    /// as written, e.g. a value flowhost cannot honour; `reason` says why.
    pub fn warn(&self, at: &At<'_>, key: &str, target: Target, reason: &'static str) {
        self.warnings.borrow_mut().push(KeyWarning {
            at: *self.pos(&at.child(key), target),
            ctx: at.ctx.clone(),
            key: key.to_string(),
            reason,
        });
    }

    /// A Jina key (or its value, per `target`) flowhost refuses; `what` names it in the
    /// message.
    pub fn refuse(
        &self,
        at: &At<'_>,
        key: &str,
        target: Target,
        what: String,
        message: impl Into<String>,
    ) -> FlowError {
        FlowError::Unsupported {
            at: self.pos(&at.child(key), target),
            ctx: at.ctx.clone(),
            what,
            message: message.into(),
        }
    }

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

    /// A key the table does not know at `level`, with the closest one that it does.
    pub fn unknown(&self, at: &At<'_>, key: &str, level: Level) -> FlowError {
        FlowError::UnknownKey {
            at: self.pos(&at.child(key), Target::Key),
            ctx: at.ctx.clone(),
            key: key.to_string(),
            hint: Hint(keys::did_you_mean(key, keys::names(level))),
        }
    }

    /// The string keys and values of a mapping, in order; non-string keys are an error.
    /// Maps Jina's alternative spellings of a key (`aliases`: spelling → key) to
    /// one key, refusing a key given twice under two spellings (`seen` remembers
    /// which spelling came first).
    pub(crate) fn canonical_key<'k>(
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
}
