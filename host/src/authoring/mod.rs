//! Writing executors: the languages flowhost has an SDK for, `flowhost new`'s project
//! templates ([`template`]) and `flowhost build` ([`build`]).
//!
//! Each language's build recipe lives with its SDK (`guest-sdk/<lang>/build.sh`, or cargo
//! for Rust): this module only tells the languages apart, finds the SDKs and toolchains,
//! and runs the recipe. It knows nothing of flows or of running executors.

pub mod build;
pub mod language;
pub mod template;

use std::path::{Path, PathBuf};

pub use language::Language;

/// What can go wrong scaffolding or building an executor project.
#[derive(Debug, thiserror::Error)]
pub enum AuthoringError {
    /// The project folder holds none of the files that say which language it is in.
    #[error(
        "cannot tell the language of {}: expected Cargo.toml (Rust), executor.py (Python), \
         executor.js or package.json (JavaScript), go.mod (Go) or a .c file (C)",
        dir.display()
    )]
    UnknownLanguage {
        /// The project folder.
        dir: PathBuf,
    },
    /// `--lang` named a language without an SDK.
    #[error("no SDK for language `{0}`: choose rust, python, js, go or c")]
    NoSuchLanguage(String),
    /// The SDKs and build recipes could not be found.
    #[error(
        "cannot find flowhost's SDKs (guest-sdk/ and scripts/): set FLOWHOST_HOME to the \
         flowhost source folder (looked in {})",
        looked.display()
    )]
    NoHome {
        /// Where they were looked for.
        looked: PathBuf,
    },
    /// A language's toolchain is not installed.
    #[error(
        "the {language} toolchain is not installed (missing {}): run `bash {}/scripts/install-toolchains.sh {}`",
        missing.display(),
        home.display(),
        language.key()
    )]
    MissingToolchain {
        /// The language.
        language: Language,
        /// The tool that was looked for.
        missing: PathBuf,
        /// The flowhost source folder (where the install script is).
        home: PathBuf,
    },
    /// `flowhost new` was given a name that cannot name a project in every language.
    #[error(
        "`{0}` cannot name an executor project: use lower-case letters, digits and `-`, \
         starting with a letter"
    )]
    BadName(String),
    /// `flowhost new` would overwrite something.
    #[error("{} already exists: choose another name or remove it", .0.display())]
    Exists(PathBuf),
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The build tool could not be started.
    #[error("cannot run {tool}: {source}")]
    Spawn {
        /// The command.
        tool: String,
        /// Why it did not start.
        #[source]
        source: std::io::Error,
    },
    /// The build tool ran and failed; its own output (already shown) says why.
    #[error("building {} ({language}) failed: {tool} exited with {status}", dir.display())]
    BuildFailed {
        /// The project folder.
        dir: PathBuf,
        /// Its language.
        language: Language,
        /// The command that failed.
        tool: String,
        /// Its exit status.
        status: std::process::ExitStatus,
    },
    /// The build said it succeeded but left no component.
    #[error("building {} produced no component at {}", dir.display(), out.display())]
    NoOutput {
        /// The project folder.
        dir: PathBuf,
        /// Where the component should be.
        out: PathBuf,
    },
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> AuthoringError + '_ {
    move |source| AuthoringError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Where flowhost's sources are: the SDKs (`guest-sdk/`), the WIT contract, the scripts.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// `$FLOWHOST_HOME`, else the source folder this binary was built from.
    pub fn locate() -> Result<Self, AuthoringError> {
        let root = std::env::var_os("FLOWHOST_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .parent()
                    .map(Path::to_owned)
                    .unwrap_or_default()
            });
        if root.join("guest-sdk").is_dir() && root.join("wit/executor.wit").is_file() {
            Ok(Self { root })
        } else {
            Err(AuthoringError::NoHome { looked: root })
        }
    }

    /// A home at `root`, unchecked (tests).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The flowhost source folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `$FLOWHOST_TOOLCHAINS`, else `.toolchains/` in the source folder, where
    /// `scripts/install-toolchains.sh` installs.
    pub fn toolchains(&self) -> PathBuf {
        std::env::var_os("FLOWHOST_TOOLCHAINS")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join(".toolchains"))
    }

    /// A language's SDK folder.
    pub fn sdk(&self, language: Language) -> PathBuf {
        self.root.join("guest-sdk").join(language.key())
    }
}
