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
        reference: String,
        #[source]
        reason: ReferenceError,
    },

    /// A `scheme://` this crate does not know.
    #[error(
        "{reference}: unsupported scheme `{scheme}://` (expected a path, an executor YAML, oci://, hub:// or docker://)"
    )]
    UnsupportedScheme { reference: String, scheme: String },

    /// A local path found in none of the search locations.
    #[error("{reference}: file not found (looked in: {})", display_paths(.tried))]
    LocalNotFound {
        reference: String,
        tried: Vec<PathBuf>,
    },

    /// Reading or writing a file failed.
    #[error("{}: {context}: {source}", .path.display())]
    Io {
        path: PathBuf,
        context: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// An executor YAML file that cannot be used.
    #[error("{}: invalid executor YAML: {reason}", .path.display())]
    ExecutorYaml { path: PathBuf, reason: String },

    /// The flowhost configuration file (or an environment variable) is invalid.
    #[error("{origin}: invalid flowhost configuration: {reason}")]
    Config { origin: String, reason: String },

    /// `hub://` used without a configured hub.
    #[error(
        "{reference}: no hub registry configured; set one with `--hub REGISTRY/NAMESPACE`, \
         the FLOWHOST_HUB=REGISTRY/NAMESPACE environment variable, or `hub: {{ registry: REGISTRY, namespace: NAMESPACE }}` in {}",
        .config_path.display()
    )]
    HubNotConfigured {
        reference: String,
        config_path: PathBuf,
    },

    /// The registry refused the credentials we sent.
    #[error("{reference}: unauthorized: wrong credentials for {registry}")]
    Unauthorized { reference: String, registry: String },

    /// The registry wants credentials and we have none.
    #[error(
        "{reference}: unauthorized: {registry} requires credentials (run `flowhost login {registry}`, \
         or set FLOWHOST_REGISTRY_USERNAME and FLOWHOST_REGISTRY_PASSWORD)"
    )]
    CredentialsRequired { reference: String, registry: String },

    /// A credential store (docker config, credential helper) could not be read or written.
    #[error("{origin}: credentials: {reason}")]
    Credentials { origin: String, reason: String },

    /// The tag, digest or repository does not exist in the registry.
    #[error("{reference}: not found in {registry}: {what}")]
    NotFound {
        reference: String,
        registry: String,
        what: String,
    },

    /// The registry cannot be reached at all (refused, DNS, TLS handshake, timeout).
    #[error("{reference}: registry {registry} is unreachable: {reason}")]
    Unreachable {
        reference: String,
        registry: String,
        reason: String,
    },

    /// Content whose digest is not the one it was asked for. Never cached.
    #[error("{reference}: digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        reference: String,
        what: String,
        expected: String,
        actual: String,
    },

    /// A cache entry whose bytes no longer hash to its name.
    #[error("{}: corrupt cache entry: expected {expected}, got {actual}", .path.display())]
    CacheCorrupt {
        path: PathBuf,
        expected: String,
        actual: String,
    },

    /// `--pull never` and the reference is not in the cache.
    #[error("{reference}: not in the cache ({}) and the pull policy is `never`", .cache_dir.display())]
    NotCached {
        reference: String,
        cache_dir: PathBuf,
    },

    /// Any other registry error.
    #[error("{reference}: registry {registry}: {message}")]
    Registry {
        reference: String,
        registry: String,
        message: String,
    },

    /// A manifest, index or config that is not what an artifact or image must be.
    #[error("{reference}: {reason}")]
    BadArtifact { reference: String, reason: String },

    /// An image index with no `wasi/wasm` (or other Wasm) platform.
    #[error("{reference}: the image index has no Wasm platform (wasi/wasm); it has: {}", .available.join(", "))]
    NoWasmPlatform {
        reference: String,
        available: Vec<String>,
    },

    /// No `.wasm` file in any of the image's layers.
    #[error("{reference}: no .wasm file found in the image's layers")]
    NoComponentInImage { reference: String },

    /// Several `.wasm` files and nothing to choose between them.
    #[error(
        "{reference}: several .wasm files in the image ({}); set the image's entrypoint to the one to run",
        .candidates.join(", ")
    )]
    AmbiguousComponent {
        reference: String,
        candidates: Vec<String>,
    },

    /// Bytes that are not a Wasm binary (no `\0asm` magic).
    #[error("{origin}: not a WebAssembly binary")]
    NotWasm { origin: String },

    /// A Wasm binary whose component structure cannot be decoded.
    #[error("{origin}: cannot decode the component: {reason}")]
    Decode { origin: String, reason: String },
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
