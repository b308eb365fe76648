//! The one error type of the Flow model, and the position every message starts with.
//!
//! Every message reads `file:line:col: <where>: <what>` so that a user can fix a flow file
//! without reading code. Positions come from `locate.rs`; flows built in Rust have no file and
//! print `flow` instead.

use std::fmt;
use std::path::PathBuf;

use crate::keys::KeyWarning;

/// Where an error is: a file name and, when known, the 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    /// The file name as shown in messages; `flow` for a flow built in Rust.
    pub file: String,
    /// 1-based line; `None` when unknown (built flows, whole-file errors).
    pub line: Option<usize>,
    /// 1-based column; printed only together with `line`.
    pub column: Option<usize>,
}

impl Pos {
    /// A position in a file whose line is unknown.
    pub fn file(file: impl Into<String>) -> Pos {
        Pos {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    /// The position used for flows built in Rust (no file).
    pub fn builder() -> Pos {
        Pos::file("flow")
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// The part of the flow an error is in, printed after the position: `executor `indexer`: `,
/// `with: `, or nothing at the top level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ctx {
    /// The top level of the flow file; prints nothing.
    Top,
    /// The flow's `with:` section.
    With,
    /// The flow's top-level `gateway:` section.
    Gateway,
    /// The executor entry with this name.
    Executor(String),
    /// An executor config file (`uses: x.yml`).
    ExecutorConfig,
    /// A nested map inside another context, e.g. `expose_endpoints` entry `/foo`.
    Nested(Box<Ctx>, String),
}

impl fmt::Display for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ctx::Top | Ctx::ExecutorConfig => Ok(()),
            Ctx::With => f.write_str("`with`: "),
            Ctx::Gateway => f.write_str("`gateway`: "),
            Ctx::Executor(name) => write!(f, "executor `{name}`: "),
            Ctx::Nested(parent, what) => write!(f, "{parent}{what}: "),
        }
    }
}

/// A suggestion appended to "unknown" errors: `, did you mean `replicas`?`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hint(pub Option<String>);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(s) => write!(f, ", did you mean `{s}`?"),
            None => Ok(()),
        }
    }
}

/// Everything that can be wrong with a Flow or an executor config file.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// A flow or executor config file could not be read (or, when saving, written).
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The text is not valid YAML, or a value still holds `${{` after substitution; also a flow
    /// that cannot be written as YAML.
    #[error("{at}: {message}")]
    Syntax {
        /// Where the parser stopped, or the value that holds `${{`.
        at: Box<Pos>,
        /// What is wrong (the parser's message, with a hint when tabs indent the line).
        message: String,
    },

    /// `${{ ENV.NAME }}` names an environment variable that is not set.
    #[error(
        "{at}: environment variable `{name}` is not set (used as `{expr}`); set it or remove the reference"
    )]
    UnsetEnv {
        /// Where the reference starts.
        at: Box<Pos>,
        /// The variable's name.
        name: String,
        /// The whole reference as written, `${{ ENV.NAME }}`.
        expr: String,
    },

    /// `${{ NAME }}` or `${{ CONTEXT.NAME }}` names a context variable the caller did not supply.
    #[error("{at}: context variable `{name}` is not set (used as `{expr}`)")]
    UnsetContext {
        /// Where the reference starts.
        at: Box<Pos>,
        /// The variable's name.
        name: String,
        /// The whole reference as written.
        expr: String,
    },

    /// A `${{ }}` reference of a form flowhost does not resolve: an unknown namespace, or a name
    /// that is not letters, digits and `_` (e.g. Jina's `${{root.executors[0].name}}`).
    #[error(
        "{at}: unsupported substitution `{expr}`: flowhost supports `${{{{ ENV.NAME }}}}` and `${{{{ NAME }}}}`"
    )]
    BadSubstitution {
        /// Where the reference starts.
        at: Box<Pos>,
        /// The reference as written.
        expr: String,
    },

    /// A key that neither flowhost nor Jina knows in this place.
    #[error("{at}: {ctx}unknown key `{key}`{hint}")]
    UnknownKey {
        /// Where the key is.
        at: Box<Pos>,
        /// The section the key is in.
        ctx: Ctx,
        /// The key as written.
        key: String,
        /// The closest known key, if the key looks like a typo of it.
        hint: Hint,
    },

    /// A value of the wrong YAML type, e.g. a list where a number belongs.
    #[error("{at}: {ctx}`{key}` must be {expected}, found {found}")]
    WrongType {
        /// Where the value is.
        at: Box<Pos>,
        /// The section the key is in.
        ctx: Ctx,
        /// The key whose value is wrong (or an entry such as `executors[2]`).
        key: String,
        /// What the key takes, e.g. `an integer`.
        expected: String,
        /// What was given, described for the message (`a list`, `nothing (null)`, ...).
        found: String,
    },

    /// A value of the right type that is not allowed: an empty name, zero `replicas`, an external
    /// executor without an address, more ports than protocols, a key given under two spellings, ...
    #[error("{at}: {ctx}`{key}`: {message}")]
    BadValue {
        /// Where the value is.
        at: Box<Pos>,
        /// The section the key is in.
        ctx: Ctx,
        /// The key whose value is refused.
        key: String,
        /// Why it is refused, and how to fix it.
        message: String,
    },

    /// A `polling` value that is neither `ANY` nor `ALL`.
    #[error("{at}: {ctx}bad polling `{value}` for `{endpoint}`: use ANY or ALL")]
    BadPolling {
        /// Where the value is.
        at: Box<Pos>,
        /// The section the `polling` key is in, usually the executor.
        ctx: Ctx,
        /// The endpoint the value is for, or `every endpoint` for a single value.
        endpoint: String,
        /// The value as written.
        value: String,
    },

    /// A `timeout_ms`, `memory_limit` or `fuel` that is not a whole number (or byte size), or is
    /// below its minimum.
    #[error("{at}: {ctx}bad `{key}` `{value}`: {message}")]
    BadLimit {
        /// Where the value is.
        at: Box<Pos>,
        /// Where the limit is set: `with:` or an executor.
        ctx: Ctx,
        /// Which limit.
        key: String,
        /// The value as written.
        value: String,
        /// What the limit must be.
        message: String,
    },

    /// The file is not a Flow: not a mapping, no `jtype: Flow`, or another `jtype`.
    #[error("{at}: {message}")]
    NotAFlow {
        /// The start of the document, or the `jtype` value.
        at: Box<Pos>,
        /// What was found instead of a Flow.
        message: String,
    },

    /// Two executors have the same name (possibly a default `executor<N>` name).
    #[error("{at}: duplicate executor name `{name}` (first used at {first_at}){note}")]
    DuplicateName {
        /// Where the later executor's `name` is.
        at: Box<Pos>,
        /// The shared name.
        name: String,
        /// Position in `executors` of the first executor with this name.
        first_index: usize,
        /// Where that one is, for the message: `line 3`, or `executor #0` without a file.
        first_at: String,
        /// Empty, or an explanation when a default `executor<N>` name caused the clash.
        note: String,
    },

    /// An executor is named `gateway`, which `needs` reserves for the gateway.
    #[error(
        "{at}: executor name `{name}` is reserved for the gateway (`needs: gateway` means the start of the flow)"
    )]
    ReservedName {
        /// Where the name is.
        at: Box<Pos>,
        /// The reserved name (`gateway`).
        name: String,
    },

    /// `needs` names something that is neither an executor of this flow nor `gateway`.
    #[error(
        "{at}: executor `{executor}`: `needs` names `{need}`, which is not an executor in this flow{hint}"
    )]
    UnknownNeeds {
        /// Where the entry in `needs` is.
        at: Box<Pos>,
        /// The executor whose `needs` it is.
        executor: String,
        /// The name that matches nothing.
        need: String,
        /// The closest executor name (or `gateway`), if the name looks like a typo of it.
        hint: Hint,
    },

    /// An executor lists the same name twice in `needs`.
    #[error("{at}: executor `{executor}`: `needs` lists `{need}` twice")]
    DuplicateNeeds {
        /// Where the second mention is.
        at: Box<Pos>,
        /// The executor whose `needs` it is.
        executor: String,
        /// The name listed twice.
        need: String,
    },

    /// The executors' `needs` form a cycle, so no order can run them.
    #[error("{at}: executors form a cycle through `needs`: {}", cycle.join(" -> "))]
    Cycle {
        /// The `needs` key of the cycle's first executor in the file.
        at: Box<Pos>,
        /// The executor names along the cycle, the first repeated at the end: `a -> b -> a`.
        cycle: Vec<String>,
    },

    /// `uses` names an executor config file (`x.yml`) that none of the searched paths holds.
    #[error("{at}: executor `{executor}`: executor config `{uses}` not found; searched: {}", searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    ConfigNotFound {
        /// The flow's folder (no line is known).
        at: Box<Pos>,
        /// The executor whose `uses` it is.
        executor: String,
        /// The config file as written in `uses`.
        uses: String,
        /// Every path tried, in order.
        searched: Vec<PathBuf>,
    },

    /// A Jina key or value flowhost cannot honour (`pods:`, `py_modules`, a Python class or
    /// `jinahub://` in `uses`, ...); the message says what to write instead.
    #[error("{at}: {ctx}{what}: {message}")]
    Unsupported {
        /// Where the key (or value) is.
        at: Box<Pos>,
        /// The section it is in.
        ctx: Ctx,
        /// The key, or the key and its value, as written: `` `pods` ``, `` `uses: Foo` ``.
        what: String,
        /// Why flowhost refuses it, and what to write instead.
        message: String,
    },

    /// Strict loading found keys that have no effect in flowhost: every one of them, each
    /// with its own file, line and reason.
    #[error("{file}: {} (strict mode refuses them):{}", count(.warnings.len()), list(.warnings))]
    Strict {
        /// The flow file that was loaded.
        file: String,
        /// The keys with no effect, in file order (the flow file, then executor configs).
        warnings: Vec<KeyWarning>,
    },

    /// An executor config file that is wrong as a whole: not a mapping, or a `jtype` with no
    /// component; also an executor index out of range.
    #[error("{at}: {message}")]
    BadConfig {
        /// Where in the config file (`flow` for an index out of range).
        at: Box<Pos>,
        /// What is wrong, and how to fix it.
        message: String,
    },
}

fn count(n: usize) -> String {
    match n {
        1 => "1 key has no effect in flowhost".to_string(),
        n => format!("{n} keys have no effect in flowhost"),
    }
}

fn list(warnings: &[KeyWarning]) -> String {
    warnings.iter().map(|w| format!("\n  {w}")).collect()
}
