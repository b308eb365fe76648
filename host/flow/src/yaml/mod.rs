//! Reading a Flow from YAML text: substitution, parsing, and conversion of every key into the
//! typed model with positioned, actionable errors.
//!
//! The conversion is written by hand rather than derived so that each message can say which
//! executor and key is wrong and suggest the key that was probably meant: [`reader`] is the
//! positioned YAML reader, [`schema`] the walk over a flow's keys.

mod reader;
mod schema;

use std::path::Path;

use serde_norway::Value;

use crate::env::{Vars, substitute};
use crate::error::FlowError;
use crate::locate::{Seg, Target};
use crate::source::Source;
use crate::spec::Flow;
use crate::validate::validate;

/// Options for loading: where `${{ }}` values come from.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Values for `${{ ENV.X }}` and `${{ X }}`; the default reads the process environment.
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

pub(crate) use reader::{At, Reader, describe, parse_value, scalar_text};
