//! What flowhost's tests and benchmarks share: where the workspace, the target directory
//! and the guest components are, and a runtime configured for tests (a small pool, a compile
//! cache shared by every run). Test-only code: it panics with the fix when a guest is missing.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::Arc;

use flowhost_runtime::{Runtime, RuntimeConfig};

/// The workspace root (this crate lives in `<root>/tests/support`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The cargo target directory, honouring `CARGO_TARGET_DIR` like cargo does.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// The path of a guest component built by `scripts/build-guests.sh`, e.g.
/// `guest("foo_executor")`. Panics with the fix when it has not been built.
pub fn guest(name: &str) -> PathBuf {
    let path = target_dir()
        .join("wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "guest component {} is missing: run `bash scripts/build-guests.sh` first",
        path.display()
    );
    path
}

/// A runtime with a small pool and a compile cache shared by every test run,
/// so only the first test to load a component compiles it.
pub fn runtime() -> Arc<Runtime> {
    runtime_with(RuntimeConfig::default())
}

/// Like [`runtime`], starting from `config` (e.g. one with fuel metering).
pub fn runtime_with(config: RuntimeConfig) -> Arc<Runtime> {
    let config = RuntimeConfig {
        cache_dir: Some(target_dir().join("flowhost-test-cache")),
        max_instances: 64,
        ..config
    };
    Arc::new(Runtime::new(config).expect("runtime starts"))
}

/// A component written in another language, built by `scripts/build-polyglot.sh` into
/// `target/polyglot/<language>/<name>.wasm` (`name` is an example's folder, or
/// `conformance`). Panics with the fix when it has not been built.
pub fn polyglot(language: &str, name: &str) -> PathBuf {
    let path = target_dir()
        .join("polyglot")
        .join(language)
        .join(format!("{name}.wasm"));
    // `js-quickjs` and the `<lang>-floor` folders come from the js and floors builds.
    let toolchain = language.split('-').next().unwrap_or(language);
    let build = if language.ends_with("-floor") {
        "floors"
    } else {
        toolchain
    };
    assert!(
        path.is_file(),
        "component {} is missing: run `bash scripts/install-toolchains.sh {toolchain}` and \
         `bash scripts/build-polyglot.sh {build}` first",
        path.display()
    );
    path
}
