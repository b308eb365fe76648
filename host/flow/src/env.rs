//! `${{ ... }}` substitution in flow and executor config text, applied before YAML parsing.
//!
//! Jina's forms are supported: `${{ ENV.NAME }}` / `${{ env.NAME }}` read an environment
//! variable; `${{ NAME }}`, `${{ CONTEXT.NAME }}` / `${{ context.NAME }}` read a context
//! variable supplied by the caller (Jina's `load_config(context=...)`).
//!
//! Where Jina differs, and why flowhost chose otherwise:
//! - Jina leaves an unset variable in place (it ends up as the literal text `$NAME`); flowhost
//!   stops with an error naming the variable and its line, because a flow that silently runs
//!   with `port: $PORT` helps nobody.
//! - Jina substitutes after parsing, into string values. flowhost substitutes the text, so
//!   `replicas: ${{ ENV.R }}` yields a number. Comments are skipped, so a commented-out
//!   reference to an unset variable is harmless.
//! - Jina's internal references (`${{root.executors[0].name}}`) are not supported: an error.
//!
//! Jina's deprecated `$NAME` / `${NAME}` are expanded as Jina expands them, after parsing and
//! in string values only (`yaml/dollar.rs`).

use std::collections::BTreeMap;

use crate::error::{FlowError, Pos};

/// Where `${{ ENV.X }}` and `${{ X }}` take their values from.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    /// `None`: the process environment. `Some(map)`: only this map (for tests and embedding).
    pub env: Option<BTreeMap<String, String>>,
    /// Context variables for `${{ NAME }}` / `${{ CONTEXT.NAME }}`.
    pub context: BTreeMap<String, String>,
}

impl Vars {
    /// Variables from the process environment and no context.
    pub fn from_process() -> Vars {
        Vars::default()
    }

    /// Only the given environment (the process environment is not read).
    pub fn with_env<K: Into<String>, V: Into<String>>(
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Vars {
        Vars {
            env: Some(env.into_iter().map(|(k, v)| (k.into(), v.into())).collect()),
            context: BTreeMap::new(),
        }
    }

    pub(crate) fn env_var(&self, name: &str) -> Option<String> {
        match &self.env {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }
}

/// Replaces every `${{ ... }}` in `text` (outside comments). `file` names the source in errors.
pub fn substitute(text: &str, file: &str, vars: &Vars) -> Result<String, FlowError> {
    let mut out = String::with_capacity(text.len());
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        let code_end = comment_start(line).unwrap_or(line.len());
        let (code, comment) = line.split_at(code_end);
        substitute_line(code, line_no + 1, file, vars, &mut out)?;
        out.push_str(comment);
    }
    Ok(out)
}

fn substitute_line(
    code: &str,
    line_no: usize,
    file: &str,
    vars: &Vars,
    out: &mut String,
) -> Result<(), FlowError> {
    let mut rest = code;
    let mut consumed = 0;
    while let Some(start) = rest.find("${{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let expr = &rest[start..start + len + 2];
        let inner = expr[3..expr.len() - 2].trim();
        let at = Box::new(Pos {
            file: file.to_string(),
            line: Some(line_no),
            column: Some(code[..consumed + start].chars().count() + 1),
        });
        out.push_str(&rest[..start]);
        out.push_str(&resolve(inner, expr, at, vars)?);
        consumed += start + len + 2;
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(())
}

fn resolve(inner: &str, expr: &str, at: Box<Pos>, vars: &Vars) -> Result<String, FlowError> {
    let (namespace, name) = match inner.split_once('.') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, inner),
    };
    let valid_name =
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(FlowError::BadSubstitution {
            at,
            expr: expr.to_string(),
        });
    }
    match namespace {
        Some("ENV" | "env") => vars.env_var(name).ok_or_else(|| FlowError::UnsetEnv {
            at,
            name: name.to_string(),
            expr: expr.to_string(),
        }),
        None | Some("CONTEXT" | "context") => {
            vars.context
                .get(name)
                .cloned()
                .ok_or_else(|| FlowError::UnsetContext {
                    at,
                    name: name.to_string(),
                    expr: expr.to_string(),
                })
        }
        Some(_) => Err(FlowError::BadSubstitution {
            at,
            expr: expr.to_string(),
        }),
    }
}

/// Byte offset of a YAML comment in `line`: a `#` at the start or after whitespace, outside
/// quotes. A simple scan is enough because flow files keep strings on one line.
fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '#' && prev.is_whitespace() => return Some(i),
            None if (c == '\'' || c == '"') && (prev.is_whitespace() || ":[{,-".contains(prev)) => {
                quote = Some(c)
            }
            None => {}
        }
        prev = c;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::with_env([("PORT", "12345"), ("NAME", "enc")]);
        v.context.insert("shards".into(), "3".into());
        v
    }

    #[test]
    fn substitutes_env_and_context() {
        let text = "port: ${{ ENV.PORT }}\nname: x-${{env.NAME}}-y\nshards: ${{ shards }}\nr: ${{ CONTEXT.shards }}\n";
        let out = substitute(text, "f.yml", &vars()).unwrap();
        assert_eq!(out, "port: 12345\nname: x-enc-y\nshards: 3\nr: 3\n");
    }

    #[test]
    fn unset_env_names_variable_and_position() {
        let err = substitute("a: 1\nport: ${{ ENV.MISSING }}\n", "f.yml", &vars()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("f.yml:2:7: environment variable `MISSING` is not set"),
            "{msg}"
        );
    }

    #[test]
    fn comments_are_not_substituted() {
        let text =
            "# ${{ ENV.MISSING }}\nport: 1 # was ${{ ENV.MISSING }}\nname: 'a # ${{ ENV.NAME }}'\n";
        let out = substitute(text, "f.yml", &vars()).unwrap();
        assert_eq!(
            out,
            "# ${{ ENV.MISSING }}\nport: 1 # was ${{ ENV.MISSING }}\nname: 'a # enc'\n"
        );
    }

    #[test]
    fn internal_references_are_rejected() {
        let err = substitute("a: ${{root.name}}\n", "f.yml", &vars()).unwrap_err();
        assert!(matches!(err, FlowError::BadSubstitution { .. }), "{err}");
    }

    #[test]
    fn unset_context_is_an_error() {
        let err = substitute("a: ${{ nope }}\n", "f.yml", &vars()).unwrap_err();
        assert!(err.to_string().contains("context variable `nope`"), "{err}");
    }
}
