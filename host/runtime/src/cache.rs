//! Compile once: components compiled to native code are kept on disk, keyed
//! by the component's content digest and the engine's compatibility hash, so
//! a second start (or a second flow using the same file) compiles nothing.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::error::RuntimeError;

/// Whether a load compiled or hit the cache (reported in logs and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Native code came from a verified cache entry; nothing was compiled.
    Hit,
    /// Compiled now (no usable entry); the result was written to the cache if possible.
    Compiled,
    /// No cache directory is configured.
    Disabled,
}

#[derive(Debug, Clone)]
pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
}

/// `sha256:<hex>` of a component's bytes.
pub fn content_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Feeds the engine's `impl Hash` into SHA-256, so the key is stable across
/// runs of the same build (unlike `DefaultHasher`, which is seeded per process
/// on some platforms and unspecified across Rust releases).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        unreachable!("only the full digest is read")
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn engine_key(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..12])
}

impl CompileCache {
    pub(crate) fn new(engine: &Engine, root: Option<&Path>) -> Self {
        let dir = root.map(|root| root.join("compiled").join(engine_key(engine)));
        Self { dir }
    }

    /// Loads `bytes` (read from `path`) as a component, from the cache if possible.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        path: &Path,
        bytes: &[u8],
    ) -> Result<(Component, CacheOutcome), RuntimeError> {
        let compile = || {
            Component::new(engine, bytes).map_err(|source| RuntimeError::Compile {
                path: path.to_owned(),
                source,
            })
        };
        let Some(dir) = &self.dir else {
            return Ok((compile()?, CacheOutcome::Disabled));
        };
        let digest = content_digest(bytes);
        let entry = dir.join(format!("{}.cwasm", digest.trim_start_matches("sha256:")));
        if let Some(component) = self.load_entry(engine, &entry) {
            return Ok((component, CacheOutcome::Hit));
        }
        let component = compile()?;
        if let Err(error) = store(dir, &entry, &component) {
            // A read-only or full cache must not stop the flow.
            tracing::warn!(cache = %entry.display(), %error, "could not write compiled cache entry");
        }
        Ok((component, CacheOutcome::Compiled))
    }
}

impl CompileCache {
    /// The cached native code for `entry`, if it is there, whole and this engine's.
    fn load_entry(&self, engine: &Engine, entry: &Path) -> Option<Component> {
        let bytes = match std::fs::read(entry) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
            Err(error) => {
                tracing::warn!(cache = %entry.display(), %error, "compiled cache entry unreadable; recompiling");
                return None;
            }
        };
        let Some(code) = verified(&bytes) else {
            tracing::warn!(cache = %entry.display(), "compiled cache entry is damaged (checksum mismatch); recompiling");
            return None;
        };
        // SAFETY: `Component::deserialize` maps these bytes as executable code; wasmtime checks
        // only that they are an image from a compatible engine (version, target, settings:
        // also this directory's key), not that the code is what it compiled. What guards it:
        // the bytes are exactly what `store` wrote (the SHA-256 above catches truncation,
        // corruption and a foreign or half-written file), in the user's own cache directory,
        // which only the user (who can already run code as themselves) can write. A file
        // forged there with a matching checksum would run: the cache is trusted like the
        // flowhost binary next to it (`RuntimeConfig::cache_dir = None` turns it off).
        #[allow(unsafe_code)]
        match unsafe { Component::deserialize(engine, code) } {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(cache = %entry.display(), %error, "compiled cache entry unusable; recompiling");
                None
            }
        }
    }
}

/// The serialized component inside a cache entry, if its trailing SHA-256 matches.
fn verified(entry: &[u8]) -> Option<&[u8]> {
    let split = entry.len().checked_sub(32)?;
    let (code, checksum) = entry.split_at(split);
    (Sha256::digest(code).as_slice() == checksum).then_some(code)
}

/// Writes atomically (temp file + rename) so a concurrent reader never sees half a file; the
/// entry is the serialized component followed by its SHA-256, which [`CompileCache::load_entry`]
/// checks before anything is mapped as code.
fn store(dir: &Path, entry: &Path, component: &Component) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut serialized = component
        .serialize()
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    let checksum = Sha256::digest(&serialized);
    serialized.extend_from_slice(&checksum);
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        std::process::id(),
        entry
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("entry")
    ));
    std::fs::write(&temp, serialized)?;
    std::fs::rename(&temp, entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_prefixed_hex_sha256() {
        assert_eq!(
            content_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn second_load_hits_the_cache_and_garbage_is_recompiled() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = CompileCache::new(&engine, Some(dir.path()));
        let bytes = b"(component)".to_vec();
        let path = Path::new("empty.wasm");
        assert_eq!(
            cache.load(&engine, path, &bytes).unwrap().1,
            CacheOutcome::Compiled
        );
        assert_eq!(
            cache.load(&engine, path, &bytes).unwrap().1,
            CacheOutcome::Hit
        );

        let entry_dir = dir.path().join("compiled").join(engine_key(&engine));
        for entry in std::fs::read_dir(&entry_dir).unwrap() {
            std::fs::write(entry.unwrap().path(), b"not a compiled component").unwrap();
        }
        assert_eq!(
            cache.load(&engine, path, &bytes).unwrap().1,
            CacheOutcome::Compiled
        );
        assert_eq!(
            cache.load(&engine, path, &bytes).unwrap().1,
            CacheOutcome::Hit
        );
    }

    #[test]
    fn a_flipped_byte_in_the_native_code_is_caught_before_it_is_mapped() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = CompileCache::new(&engine, Some(dir.path()));
        let bytes = b"(component)".to_vec();
        let path = Path::new("empty.wasm");
        cache.load(&engine, path, &bytes).unwrap();
        let entry_dir = dir.path().join("compiled").join(engine_key(&engine));
        for entry in std::fs::read_dir(&entry_dir).unwrap() {
            let entry = entry.unwrap().path();
            let mut image = std::fs::read(&entry).unwrap();
            // Inside the image, past wasmtime's header checks: only the checksum notices.
            let middle = image.len() / 2;
            image[middle] ^= 0x40;
            std::fs::write(&entry, image).unwrap();
        }
        assert_eq!(
            cache.load(&engine, path, &bytes).unwrap().1,
            CacheOutcome::Compiled
        );
    }

    #[test]
    fn invalid_component_names_the_file() {
        let engine = Engine::default();
        let cache = CompileCache::new(&engine, None);
        let err = cache
            .load(&engine, Path::new("broken.wasm"), b"\0asm garbage")
            .unwrap_err();
        assert!(err.to_string().contains("broken.wasm"), "{err}");
    }
}
