//! Turning an executor's `uses` into a component file.
//!
//! Local paths are found relative to the flow file, then along
//! `extra_search_paths`. Remote references (`oci://`, `hub://`, `docker://`)
//! go to a [`RemoteResolver`] (the registry crate provides one); without it
//! they are refused with a message that says so.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::error::DeployError;

/// Resolves remote `uses` references to local component files.
pub trait RemoteResolver: Send + Sync {
    /// `reference` is the `uses` value as written (`oci://...`).
    fn resolve<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<PathBuf, String>>;
}

/// Whether `uses` is a remote reference rather than a path.
pub fn is_remote(uses: &str) -> bool {
    uses.contains("://")
}

/// Where the local `uses` of `executor` is, trying the flow's folder, then
/// each search path (relative ones count from the flow's folder).
pub fn find_local(
    executor: &str,
    uses: &str,
    flow_dir: &Path,
    search_paths: &[String],
) -> Result<PathBuf, DeployError> {
    let path = Path::new(uses);
    let candidates: Vec<PathBuf> = if path.is_absolute() {
        vec![path.to_owned()]
    } else {
        std::iter::once(flow_dir.to_owned())
            .chain(search_paths.iter().map(|p| flow_dir.join(p)))
            .map(|dir| dir.join(path))
            .collect()
    };
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| DeployError::ComponentNotFound {
            executor: executor.to_owned(),
            uses: uses.to_owned(),
            searched: candidates,
        })
}

/// The component file for executor `executor`'s `uses`: a local path (searched beside the
/// flow file, then in `search_paths`), or a registry reference through `remote`.
pub async fn resolve(
    executor: &str,
    uses: &str,
    flow_dir: &Path,
    search_paths: &[String],
    remote: Option<&dyn RemoteResolver>,
) -> Result<PathBuf, DeployError> {
    if !is_remote(uses) {
        return find_local(executor, uses, flow_dir, search_paths);
    }
    let resolve_error = |reason: String| DeployError::Resolve {
        executor: executor.to_owned(),
        uses: uses.to_owned(),
        reason,
    };
    match remote {
        Some(remote) => remote.resolve(uses).await.map_err(resolve_error),
        None => Err(resolve_error(
            "remote references need a registry resolver, and none is configured".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_the_flow_folder_then_search_paths_and_lists_them_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("lib/x.wasm"), b"").unwrap();
        let found = find_local("e", "x.wasm", dir.path(), &["lib".into()]).unwrap();
        assert_eq!(found, dir.path().join("lib/x.wasm"));
        let error = find_local("e", "y.wasm", dir.path(), &["lib".into()])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("executor `e`: y.wasm not found"),
            "{error}"
        );
        assert!(error.contains("lib/y.wasm"), "{error}");
    }
}
