//! The languages with an SDK: how a project in each is recognised, and which tools its
//! build needs.

use std::path::{Path, PathBuf};

use super::{AuthoringError, Home};

/// A language flowhost has a guest SDK for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// `guest-sdk/rust`, built with cargo for `wasm32-wasip2`.
    Rust,
    /// `guest-sdk/python`, built with componentize-py.
    Python,
    /// `guest-sdk/js`, built with componentize-js.
    JavaScript,
    /// `guest-sdk/go`, stock Go with `go:wasmexport`.
    Go,
    /// `guest-sdk/c`, zig's clang and wasi-libc.
    C,
}

impl Language {
    /// Every language, in the order the docs list them.
    pub const ALL: [Language; 5] = [
        Language::Rust,
        Language::Python,
        Language::JavaScript,
        Language::Go,
        Language::C,
    ];

    /// The name `--lang`, `guest-sdk/<key>` and `install-toolchains.sh` use.
    pub fn key(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "js",
            Language::Go => "go",
            Language::C => "c",
        }
    }

    /// Reads `--lang` (`javascript` and `py` are accepted too).
    pub fn from_key(key: &str) -> Result<Self, AuthoringError> {
        match key.to_ascii_lowercase().as_str() {
            "rust" | "rs" => Ok(Language::Rust),
            "python" | "py" => Ok(Language::Python),
            "js" | "javascript" | "ts" | "typescript" => Ok(Language::JavaScript),
            "go" | "golang" => Ok(Language::Go),
            "c" => Ok(Language::C),
            _ => Err(AuthoringError::NoSuchLanguage(key.to_owned())),
        }
    }

    /// The language of the project in `dir`, from the files that mark it. The most
    /// specific marker wins: a Go or Rust project may also hold C files.
    pub fn detect(dir: &Path) -> Result<Self, AuthoringError> {
        let has = |name: &str| dir.join(name).is_file();
        if has("Cargo.toml") {
            return Ok(Language::Rust);
        }
        if has("go.mod") {
            return Ok(Language::Go);
        }
        if has("executor.py") || has("config.yml") && has_extension(dir, "py") {
            return Ok(Language::Python);
        }
        if has("package.json") || has("executor.js") || has("executor.ts") {
            return Ok(Language::JavaScript);
        }
        if has_extension(dir, "c") {
            return Ok(Language::C);
        }
        Err(AuthoringError::UnknownLanguage {
            dir: dir.to_owned(),
        })
    }

    /// The tools a build needs, checked before it starts so that a missing one is named
    /// with the line that installs it rather than failing halfway.
    pub fn required_tools(self, home: &Home) -> Vec<PathBuf> {
        let tools = home.toolchains();
        let venv = tools.join("venv/bin");
        match self {
            // cargo is on PATH wherever flowhost was built; the target is `rustup`'s.
            Language::Rust => Vec::new(),
            Language::Python => vec![venv.join("componentize-py")],
            Language::JavaScript => vec![tools.join("js/node_modules/.bin/componentize-js")],
            Language::Go => vec![venv.join("go"), venv.join("wasm-tools")],
            Language::C => vec![venv.join("python-zig"), venv.join("wasm-tools")],
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
            Language::Go => "Go",
            Language::C => "C",
        })
    }
}

fn has_extension(dir: &Path, extension: &str) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.flatten().any(|entry| {
                entry.path().extension().and_then(|e| e.to_str()) == Some(extension)
                    && entry.path().is_file()
            })
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for file in files {
            std::fs::write(dir.path().join(file), "").expect("write");
        }
        dir
    }

    #[test]
    fn each_language_is_told_by_its_marker() {
        let cases: [(&[&str], Language); 6] = [
            (&["Cargo.toml", "helper.c"], Language::Rust),
            (&["go.mod", "main.go", "shim.c"], Language::Go),
            (&["executor.py", "config.yml"], Language::Python),
            (&["executor.js"], Language::JavaScript),
            (&["package.json", "index.ts"], Language::JavaScript),
            (&["executor.c"], Language::C),
        ];
        for (files, language) in cases {
            let dir = project(files);
            assert_eq!(Language::detect(dir.path()).expect("detected"), language);
        }
    }

    #[test]
    fn an_unmarked_folder_says_what_was_expected() {
        let dir = project(&["notes.txt"]);
        let error = Language::detect(dir.path()).unwrap_err().to_string();
        assert!(error.contains("executor.py (Python)"), "{error}");
    }

    #[test]
    fn keys_round_trip() {
        for language in Language::ALL {
            assert_eq!(Language::from_key(language.key()).expect("key"), language);
        }
        assert!(Language::from_key("cobol").is_err());
    }
}
