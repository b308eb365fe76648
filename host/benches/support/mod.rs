//! What the host benchmarks share: where the guest components are.

use std::path::PathBuf;

/// A guest component built by `scripts/build-guests.sh`.
pub fn guest(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join(format!("wasm32-wasip2/release/{name}.wasm"));
    assert!(
        path.is_file(),
        "{} missing: run scripts/build-guests.sh",
        path.display()
    );
    path
}
