//! Reading a Flow from YAML text: substitution, parsing, and conversion of every key into the
//! typed model with positioned, actionable errors.
//!
//! The conversion is written by hand rather than derived so that each message can say which
//! executor and key is wrong and suggest the key that was probably meant: [`reader`] is the
//! positioned YAML reader, [`schema`] the walk over a flow's keys.

mod dollar;
mod reader;
mod schema;
mod uses;

use std::collections::BTreeSet;
use std::path::Path;

use serde_norway::Value;

use crate::env::{Vars, substitute};
use crate::error::FlowError;
use crate::executor_yaml::ExecutorConfig;
use crate::keys::KeyWarning;
use crate::locate::{Seg, Target};
use crate::source::Source;
use crate::spec::Flow;
use crate::validate::validate;

/// Options for loading: where `${{ }}` and `$NAME` values come from.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Values for `${{ ENV.X }}`, `$X` and `${{ X }}`; the default reads the process
    /// environment.
    pub vars: Vars,
}

/// A loaded flow with the warnings loading found: one per occurrence of a key that has no
/// effect in flowhost (see `KEYS.md`), in file order.
///
/// Kept beside the [`Flow`] rather than in it, so that a flow compares equal to itself saved
/// and loaded again (where the lines differ) and to the same flow built in Rust.
#[derive(Debug, Clone)]
pub struct LoadedFlow {
    /// The flow, as [`Flow::load_with`] gives it.
    pub flow: Flow,
    /// The flow file's name, as messages print it.
    pub file: String,
    /// Keys with no effect: the flow file's, then those of the executor config files it
    /// names (each file once).
    pub warnings: Vec<KeyWarning>,
}

impl LoadedFlow {
    /// The flow if loading found nothing to warn about; else [`FlowError::Strict`] listing
    /// every warning (what `flowhost run --strict` refuses).
    pub fn strict(self) -> Result<Flow, FlowError> {
        if self.warnings.is_empty() {
            Ok(self.flow)
        } else {
            Err(FlowError::Strict {
                file: self.file,
                warnings: self.warnings,
            })
        }
    }
}

impl Flow {
    /// Loads and validates a flow file, substituting from the process environment.
    pub fn load(path: impl AsRef<Path>) -> Result<Flow, FlowError> {
        Flow::load_with(path, &LoadOptions::default())
    }

    /// Loads and validates a flow file with explicit options. Warnings are dropped: see
    /// [`Flow::load_checked`].
    pub fn load_with(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Flow, FlowError> {
        let path = path.as_ref();
        Flow::from_yaml_str(&read(path)?, &path.display().to_string(), opts)
    }

    /// Loads and validates a flow file and the executor config files it names
    /// (`uses: x.yml`, which must then exist), with every warning. Call
    /// [`LoadedFlow::strict`] to refuse a flow with warnings.
    pub fn load_checked(
        path: impl AsRef<Path>,
        opts: &LoadOptions,
    ) -> Result<LoadedFlow, FlowError> {
        let path = path.as_ref();
        let mut loaded =
            Flow::from_yaml_str_checked(&read(path)?, &path.display().to_string(), opts)?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let configs = loaded.flow.config_warnings(dir, opts)?;
        loaded.warnings.extend(configs);
        Ok(loaded)
    }

    /// Parses and validates flow text; `file` names it in error messages.
    pub fn from_yaml_str(text: &str, file: &str, opts: &LoadOptions) -> Result<Flow, FlowError> {
        Flow::from_yaml_str_checked(text, file, opts).map(|loaded| loaded.flow)
    }

    /// [`Flow::from_yaml_str`] with the flow text's warnings (executor config files are not
    /// read: see [`Flow::config_warnings`]).
    pub fn from_yaml_str_checked(
        text: &str,
        file: &str,
        opts: &LoadOptions,
    ) -> Result<LoadedFlow, FlowError> {
        let text = substitute(text, file, &opts.vars)?;
        let src = Source { file, text: &text };
        let mut root = parse_value(&src)?;
        dollar::expand(&mut root, &opts.vars);
        unsubstituted(&src, &root, &mut Vec::new())?;
        let mut reader = Reader::new(src);
        reader.vars = Some(&opts.vars);
        let flow = reader.flow(root)?;
        validate(&flow, Some(&src))?;
        Ok(LoadedFlow {
            flow,
            file: file.to_string(),
            warnings: reader.into_warnings(),
        })
    }

    /// The warnings of the executor config files this flow names (`uses: x.yml`), each file
    /// once, in executor order. `flow_dir` is the flow file's folder.
    pub fn config_warnings(
        &self,
        flow_dir: &Path,
        opts: &LoadOptions,
    ) -> Result<Vec<KeyWarning>, FlowError> {
        let mut seen = BTreeSet::new();
        let mut warnings = Vec::new();
        for index in 0..self.executors.len() {
            if let Some(file) = self.executor_config_file(index, flow_dir)?
                && seen.insert(file.clone())
            {
                warnings.extend(ExecutorConfig::load(&file, opts)?.warnings);
            }
        }
        Ok(warnings)
    }
}

fn read(path: &Path) -> Result<String, FlowError> {
    std::fs::read_to_string(path).map_err(|source| FlowError::Io {
        path: path.to_path_buf(),
        source,
    })
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

pub(crate) use dollar::expand as expand_dollar_vars;
pub(crate) use reader::{At, Reader, describe, parse_value, scalar_text};
pub(crate) use uses::python_only;
