//! The one error type of the Flow model, and the position every message starts with.
//!
//! Every message reads `file:line:col: <where>: <what>` so that a user can fix a flow file
//! without reading code. Positions come from `locate.rs`; flows built in Rust have no file and
//! print `flow` instead.

use std::fmt;
use std::path::PathBuf;

/// Where an error is: a file name and, when known, the 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    pub file: String,
    pub line: Option<usize>,
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
    Top,
    With,
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
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{at}: {message}")]
    Syntax { at: Box<Pos>, message: String },

    #[error(
        "{at}: environment variable `{name}` is not set (used as `{expr}`); set it or remove the reference"
    )]
    UnsetEnv {
        at: Box<Pos>,
        name: String,
        expr: String,
    },

    #[error("{at}: context variable `{name}` is not set (used as `{expr}`)")]
    UnsetContext {
        at: Box<Pos>,
        name: String,
        expr: String,
    },

    #[error(
        "{at}: unsupported substitution `{expr}`: flowhost supports `${{{{ ENV.NAME }}}}` and `${{{{ NAME }}}}`"
    )]
    BadSubstitution { at: Box<Pos>, expr: String },

    #[error("{at}: {ctx}unknown key `{key}`{hint}")]
    UnknownKey {
        at: Box<Pos>,
        ctx: Ctx,
        key: String,
        hint: Hint,
    },

    #[error("{at}: {ctx}`{key}` must be {expected}, found {found}")]
    WrongType {
        at: Box<Pos>,
        ctx: Ctx,
        key: String,
        expected: String,
        found: String,
    },

    #[error("{at}: {ctx}`{key}`: {message}")]
    BadValue {
        at: Box<Pos>,
        ctx: Ctx,
        key: String,
        message: String,
    },

    #[error("{at}: {ctx}bad polling `{value}` for `{endpoint}`: use ANY or ALL")]
    BadPolling {
        at: Box<Pos>,
        ctx: Ctx,
        endpoint: String,
        value: String,
    },

    #[error("{at}: {ctx}bad `{key}` `{value}`: {message}")]
    BadLimit {
        at: Box<Pos>,
        ctx: Ctx,
        key: String,
        value: String,
        message: String,
    },

    #[error("{at}: {message}")]
    NotAFlow { at: Box<Pos>, message: String },

    #[error("{at}: duplicate executor name `{name}` (first used at {first_at}){note}")]
    DuplicateName {
        at: Box<Pos>,
        name: String,
        /// Position in `executors` of the first executor with this name.
        first_index: usize,
        /// Where that one is, for the message: `line 3`, or `executor #0` without a file.
        first_at: String,
        note: String,
    },

    #[error(
        "{at}: executor name `{name}` is reserved for the gateway (`needs: gateway` means the start of the flow)"
    )]
    ReservedName { at: Box<Pos>, name: String },

    #[error(
        "{at}: executor `{executor}`: `needs` names `{need}`, which is not an executor in this flow{hint}"
    )]
    UnknownNeeds {
        at: Box<Pos>,
        executor: String,
        need: String,
        hint: Hint,
    },

    #[error("{at}: executor `{executor}`: `needs` lists `{need}` twice")]
    DuplicateNeeds {
        at: Box<Pos>,
        executor: String,
        need: String,
    },

    #[error("{at}: executors form a cycle through `needs`: {}", cycle.join(" -> "))]
    Cycle { at: Box<Pos>, cycle: Vec<String> },

    #[error("{at}: executor `{executor}`: executor config `{uses}` not found; searched: {}", searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    ConfigNotFound {
        at: Box<Pos>,
        executor: String,
        uses: String,
        searched: Vec<PathBuf>,
    },

    #[error("{at}: {message}")]
    BadConfig { at: Box<Pos>, message: String },
}
