//! `flowhost build`: an executor project into a component, by its language's recipe.
//!
//! Rust projects are built with cargo (`wasm32-wasip2`, where a `cdylib` comes out as a
//! component); every other language by `guest-sdk/<lang>/build.sh DIR OUT`, the one place
//! that language's tool flags live. The tools' own output passes through, so an error in
//! the user's code reads as that language's compiler wrote it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{AuthoringError, Home, Language, io_error};

/// What a build made.
#[derive(Debug, Clone)]
pub struct Built {
    /// The project's language.
    pub language: Language,
    /// The component file.
    pub component: PathBuf,
}

/// Where a project's component goes unless told otherwise: `DIR/build/<folder name>.wasm`.
pub fn default_output(dir: &Path) -> PathBuf {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|dir| {
            dir.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "executor".to_owned());
    dir.join("build").join(format!("{name}.wasm"))
}

/// Builds the project in `dir` into `out` (default: [`default_output`]).
pub fn build(home: &Home, dir: &Path, out: Option<&Path>) -> Result<Built, AuthoringError> {
    let language = Language::detect(dir)?;
    for tool in language.required_tools(home) {
        if !tool.exists() {
            return Err(AuthoringError::MissingToolchain {
                language,
                missing: tool,
                home: home.root().to_owned(),
            });
        }
    }
    let out = out
        .map(Path::to_owned)
        .unwrap_or_else(|| default_output(dir));
    if let Some(folder) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(io_error(folder))?;
    }
    // The recipes run in the project's folder or elsewhere: give them absolute paths.
    let absolute = |path: &Path| std::path::absolute(path).map_err(io_error(path));
    let (dir, out) = (absolute(dir)?, absolute(&out)?);
    match language {
        Language::Rust => cargo_build(&dir, &out)?,
        _ => {
            let script = home.sdk(language).join("build.sh");
            let mut command = Command::new("bash");
            command
                .arg(&script)
                .arg(&dir)
                .arg(&out)
                .env("FLOWHOST_HOME", home.root())
                .env("FLOWHOST_TOOLCHAINS", home.toolchains());
            run(command, &script.display().to_string(), &dir, language)?;
        }
    }
    if !out.is_file() {
        return Err(AuthoringError::NoOutput { dir, out });
    }
    Ok(Built {
        language,
        component: out,
    })
}

fn run(
    mut command: Command,
    tool: &str,
    dir: &Path,
    language: Language,
) -> Result<(), AuthoringError> {
    // The tools' progress and errors belong on stderr; stdout is the component's path.
    let status = command
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .map_err(|source| AuthoringError::Spawn {
            tool: tool.to_owned(),
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(AuthoringError::BuildFailed {
            dir: dir.to_owned(),
            language,
            tool: tool.to_owned(),
            status,
        })
    }
}

/// `cargo build --release --target wasm32-wasip2`, then copies the `cdylib` cargo reports
/// (read from its JSON messages, not guessed from the package name) to `out`.
fn cargo_build(dir: &Path, out: &Path) -> Result<(), AuthoringError> {
    let manifest = dir.join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&manifest)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| AuthoringError::Spawn {
            tool: "cargo".to_owned(),
            source,
        })?;
    if !output.status.success() {
        return Err(AuthoringError::BuildFailed {
            dir: dir.to_owned(),
            language: Language::Rust,
            tool: "cargo build".to_owned(),
            status: output.status,
        });
    }
    let component = cdylib_of(&output.stdout).ok_or_else(|| AuthoringError::NoOutput {
        dir: dir.to_owned(),
        out: out.to_owned(),
    })?;
    std::fs::copy(&component, out).map_err(io_error(out))?;
    Ok(())
}

/// The `.wasm` of the last `cdylib` artifact in cargo's JSON messages.
fn cdylib_of(messages: &[u8]) -> Option<PathBuf> {
    #[derive(serde::Deserialize)]
    struct Artifact {
        reason: String,
        #[serde(default)]
        target: Option<Target>,
        #[serde(default)]
        filenames: Vec<PathBuf>,
    }
    #[derive(serde::Deserialize)]
    struct Target {
        crate_types: Vec<String>,
    }
    messages
        .split(|&byte| byte == b'\n')
        .filter_map(|line| serde_json::from_slice::<Artifact>(line).ok())
        .filter(|message| message.reason == "compiler-artifact")
        .filter(|message| {
            message
                .target
                .as_ref()
                .is_some_and(|target| target.crate_types.iter().any(|t| t == "cdylib"))
        })
        .flat_map(|message| message.filenames)
        .rfind(|file| file.extension().is_some_and(|e| e == "wasm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cdylib_is_read_from_cargo_messages() {
        let messages = br#"{"reason":"compiler-artifact","target":{"crate_types":["lib"]},"filenames":["/t/libserde.rlib"]}
{"reason":"compiler-artifact","target":{"crate_types":["cdylib"]},"filenames":["/t/wasm32-wasip2/release/my_exec.wasm"]}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            cdylib_of(messages),
            Some(PathBuf::from("/t/wasm32-wasip2/release/my_exec.wasm"))
        );
        assert_eq!(cdylib_of(b"not json"), None);
    }

    #[test]
    fn a_missing_toolchain_names_the_install_line() {
        let project = tempfile::tempdir().expect("temp dir");
        std::fs::write(project.path().join("executor.py"), "").expect("write");
        let home = Home::at(project.path().join("no-such-home"));
        let error = build(&home, project.path(), None).unwrap_err().to_string();
        assert!(
            error.contains("scripts/install-toolchains.sh python"),
            "{error}"
        );
    }
}
