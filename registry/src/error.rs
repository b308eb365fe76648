//! The crate's one error type.
//!
//! Every variant names what the user has to look at: the `uses` reference as written,
//! the file, or the cache path at fault. Callers print errors with `{}` (or `{:#}` in
//! anyhow), so each message must stand on its own.

use std::path::PathBuf;

use crate::reference::ReferenceError;

/// Everything that can go wrong while resolving, pulling, pushing or inspecting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The reference does not follow the `uses` grammar.
    #[error("{reference}: invalid reference: {reason}")]
    InvalidReference {
        /// The reference as the user wrote it.
        reference: String,
        /// What is wrong with it.
        #[source]
        reason: ReferenceError,
    },

    /// A `scheme://` this crate does not know.
    #[error(
        "{reference}: unsupported scheme `{scheme}://` (expected a path, an executor YAML, oci://, hub:// or docker://)"
    )]
    UnsupportedScheme {
        /// The reference as the user wrote it.
        reference: String,
        /// The scheme, without `://`.
        scheme: String,
    },

    /// A local path found in none of the search locations.
    #[error("{reference}: file not found (looked in: {})", display_paths(.tried))]
    LocalNotFound {
        /// The reference as the user wrote it.
        reference: String,
        /// Every path that was tried, in order.
        tried: Vec<PathBuf>,
    },

    /// Reading or writing a file failed.
    #[error("{}: {context}: {source}", .path.display())]
    Io {
        /// The file or directory at fault.
        path: PathBuf,
        /// What was being done, e.g. "cannot read the credentials file".
        context: &'static str,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// An executor YAML file that cannot be used.
    #[error("{}: invalid executor YAML: {reason}", .path.display())]
    ExecutorYaml {
        /// The executor YAML file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },

    /// The flowhost configuration file (or an environment variable) is invalid.
    #[error("{origin}: invalid flowhost configuration: {reason}")]
    Config {
        /// The configuration file or environment variable at fault.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },

    /// `hub://` used without a configured hub.
    #[error(
        "{reference}: no hub registry configured; set one with `--hub REGISTRY/NAMESPACE`, \
         the FLOWHOST_HUB=REGISTRY/NAMESPACE environment variable, or `hub: {{ registry: REGISTRY, namespace: NAMESPACE }}` in {}",
        .config_path.display()
    )]
    HubNotConfigured {
        /// The reference as the user wrote it.
        reference: String,
        /// The configuration file where a hub can be set.
        config_path: PathBuf,
    },

    /// The registry refused the credentials we sent.
    #[error("{reference}: unauthorized: wrong credentials for {registry}")]
    Unauthorized {
        /// The reference as the user wrote it.
        reference: String,
        /// The registry host that refused them.
        registry: String,
    },

    /// The registry wants credentials and we have none.
    #[error(
        "{reference}: unauthorized: {registry} requires credentials (run `flowhost login {registry}`, \
         or set FLOWHOST_REGISTRY_USERNAME and FLOWHOST_REGISTRY_PASSWORD)"
    )]
    CredentialsRequired {
        /// The reference as the user wrote it.
        reference: String,
        /// The registry host that asks for credentials.
        registry: String,
    },

    /// A credential store (docker config, credential helper) could not be read or written.
    #[error("{origin}: credentials: {reason}")]
    Credentials {
        /// The credential store at fault (a file path, helper or environment variable).
        origin: String,
        /// What went wrong.
        reason: String,
    },

    /// The tag, digest or repository does not exist in the registry.
    #[error("{reference}: not found in {registry}: {what}")]
    NotFound {
        /// The reference as the user wrote it.
        reference: String,
        /// The registry host.
        registry: String,
        /// What was being fetched (manifest, blob, tag…).
        what: String,
    },

    /// The registry cannot be reached at all (refused, DNS, TLS handshake, timeout).
    #[error("{reference}: registry {registry} is unreachable: {reason}")]
    Unreachable {
        /// The reference as the user wrote it.
        reference: String,
        /// The registry host.
        registry: String,
        /// The connection failure.
        reason: String,
    },

    /// Content whose digest is not the one it was asked for. Never cached.
    #[error("{reference}: digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The reference as the user wrote it.
        reference: String,
        /// What was being fetched (manifest, config, layer…).
        what: String,
        /// The digest that was asked for.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },

    /// A cache entry whose bytes no longer hash to its name.
    #[error("{}: corrupt cache entry: expected {expected}, got {actual}", .path.display())]
    CacheCorrupt {
        /// The cache entry's file.
        path: PathBuf,
        /// The digest its name promises.
        expected: String,
        /// The digest of its bytes.
        actual: String,
    },

    /// `--pull never` and the reference is not in the cache.
    #[error("{reference}: not in the cache ({}) and the pull policy is `never`", .cache_dir.display())]
    NotCached {
        /// The reference as the user wrote it.
        reference: String,
        /// The cache directory that was searched.
        cache_dir: PathBuf,
    },

    /// Any other registry error.
    #[error("{reference}: registry {registry}: {message}")]
    Registry {
        /// The reference as the user wrote it.
        reference: String,
        /// The registry host.
        registry: String,
        /// The registry client's error message.
        message: String,
    },

    /// A manifest, index or config that is not what an artifact or image must be.
    #[error("{reference}: {reason}")]
    BadArtifact {
        /// The reference as the user wrote it.
        reference: String,
        /// What is wrong with the manifest, index or config.
        reason: String,
    },

    /// An image index with no `wasi/wasm` (or other Wasm) platform.
    #[error("{reference}: the image index has no Wasm platform (wasi/wasm); it has: {}", .available.join(", "))]
    NoWasmPlatform {
        /// The reference as the user wrote it.
        reference: String,
        /// The platforms the index does list.
        available: Vec<String>,
    },

    /// No `.wasm` file in any of the image's layers.
    #[error("{reference}: no .wasm file found in the image's layers")]
    NoComponentInImage {
        /// The reference as the user wrote it.
        reference: String,
    },

    /// Several `.wasm` files and nothing to choose between them.
    #[error(
        "{reference}: several .wasm files in the image ({}); set the image's entrypoint to the one to run",
        .candidates.join(", ")
    )]
    AmbiguousComponent {
        /// The reference as the user wrote it.
        reference: String,
        /// The paths of the `.wasm` files found in the layers.
        candidates: Vec<String>,
    },

    /// Bytes that are not a Wasm binary (no `\0asm` magic).
    #[error("{origin}: not a WebAssembly binary")]
    NotWasm {
        /// Where the bytes came from (a file path or reference).
        origin: String,
    },

    /// A Wasm binary whose component structure cannot be decoded.
    #[error("{origin}: cannot decode the component: {reason}")]
    Decode {
        /// Where the bytes came from (a file path or reference).
        origin: String,
        /// The decoder's error.
        reason: String,
    },
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        context: &'static str,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            path: path.into(),
            context,
            source,
        }
    }

    /// True when the registry could not be reached: the one failure a cached tag survives.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Unreachable { .. })
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
