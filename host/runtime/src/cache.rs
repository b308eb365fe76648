//! Compile once: components compiled to native code are kept on disk, keyed
//! by the component's content digest and the engine's compatibility hash, so
//! a second start (or a second flow using the same file) compiles nothing.
//!
//! Hashing is BLAKE3 throughout: a warm start hashes the component (tens of megabytes
//! for an interpreter) and checks its cached native code (more), and at several GB/s
//! BLAKE3 makes that a few milliseconds where SHA-256 took tens.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

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
    /// Held while compiling (see [`CompileCache::load`]).
    compile_gate: std::sync::Arc<std::sync::Mutex<()>>,
}

/// `blake3:<hex>` of a component's bytes: its identity in the compile cache.
pub fn content_digest(bytes: &[u8]) -> String {
    format!("blake3:{}", blake3::hash(bytes).to_hex())
}

/// Feeds the engine's `impl Hash` into BLAKE3, so the key is stable across
/// runs of the same build (unlike `DefaultHasher`, which is seeded per process
/// on some platforms and unspecified across Rust releases).
struct StableHasher(blake3::Hasher);

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        unreachable!("only the full digest is read")
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn engine_key(engine: &Engine) -> String {
    let mut hasher = StableHasher(blake3::Hasher::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.finalize().to_hex()[..24].to_owned()
}

/// The file beside an entry that holds the BLAKE3 of its bytes.
fn checksum_path(entry: &Path) -> PathBuf {
    entry.with_extension("cwasm.blake3")
}

impl CompileCache {
    pub(crate) fn new(engine: &Engine, root: Option<&Path>) -> Self {
        let dir = root.map(|root| root.join("compiled").join(engine_key(engine)));
        Self {
            dir,
            compile_gate: Default::default(),
        }
    }

    /// Loads `bytes` (read from `path`, whose [`content_digest`] is `digest`) as a
    /// component, from the cache if possible.
    ///
    /// Compiles run one at a time: wasmtime already spreads one compile over every core,
    /// and an interpreter's compile holds hundreds of megabytes, so a flow of many of them
    /// compiled at once would only multiply the memory. A load that waited re-reads the
    /// cache, so a component used twice is compiled once.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        path: &Path,
        bytes: &[u8],
        digest: &str,
    ) -> Result<(Component, CacheOutcome), RuntimeError> {
        let Some(dir) = &self.dir else {
            let _turn = self.compile_turn();
            return Ok((compile(engine, path, bytes)?, CacheOutcome::Disabled));
        };
        let entry = dir.join(format!("{}.cwasm", digest.trim_start_matches("blake3:")));
        if let Some(component) = self.load_entry(engine, &entry) {
            return Ok((component, CacheOutcome::Hit));
        }
        let _turn = self.compile_turn();
        if let Some(component) = self.load_entry(engine, &entry) {
            return Ok((component, CacheOutcome::Hit));
        }
        let component = compile(engine, path, bytes)?;
        if let Err(error) = store(dir, &entry, &component) {
            // A read-only or full cache must not stop the flow.
            tracing::warn!(cache = %entry.display(), %error, "could not write compiled cache entry");
        }
        Ok((component, CacheOutcome::Compiled))
    }

    fn compile_turn(&self) -> std::sync::MutexGuard<'_, ()> {
        // The mutex guards no data, so a panic elsewhere leaves nothing inconsistent.
        self.compile_gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Components above this size get a log line when they start and finish compiling: an
/// interpreter takes seconds, and a silent first start looks like a hang.
const ANNOUNCED_COMPILE: usize = 4 << 20;

fn compile(engine: &Engine, path: &Path, bytes: &[u8]) -> Result<Component, RuntimeError> {
    let announce = bytes.len() >= ANNOUNCED_COMPILE;
    let started = std::time::Instant::now();
    if announce {
        tracing::info!(
            component = %path.display(),
            size = %bytesize::ByteSize::b(bytes.len() as u64).display().iec(),
            "compiling to native code (first start only: later starts load it from the cache)"
        );
    }
    let component = Component::new(engine, bytes).map_err(|source| RuntimeError::Compile {
        path: path.to_owned(),
        source,
    })?;
    if announce {
        tracing::info!(component = %path.display(), elapsed = ?started.elapsed(), "compiled");
    }
    Ok(component)
}

impl CompileCache {
    /// The cached native code for `entry`, if it is there, whole and this engine's.
    fn load_entry(&self, engine: &Engine, entry: &Path) -> Option<Component> {
        let image = match std::fs::read(entry) {
            Ok(image) => image,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
            Err(error) => {
                tracing::warn!(cache = %entry.display(), %error, "compiled cache entry unreadable; recompiling");
                return None;
            }
        };
        let checksum = std::fs::read(checksum_path(entry)).unwrap_or_default();
        if checksum.as_slice() != blake3::hash(&image).as_bytes() {
            tracing::warn!(cache = %entry.display(), "compiled cache entry is damaged (checksum mismatch); recompiling");
            return None;
        }
        drop(image);
        // SAFETY: `Component::deserialize_file` maps this file as executable code; wasmtime
        // checks only that it is an image from a compatible engine (version, target,
        // settings: also this directory's key), not that the code is what it compiled. What
        // guards it: its bytes were just found to be exactly what `store` wrote (the BLAKE3
        // above catches truncation, corruption and a foreign or half-written file), in the
        // user's own cache directory, which only the user (who can already run code as
        // themselves) can write. Mapping the file rather than the bytes read saves a copy
        // of tens of megabytes; between the check and the mapping only that user could
        // swap it, and entries are only ever replaced whole (by rename). A file forged
        // there with a matching checksum would run: the cache is trusted like the flowhost
        // binary next to it (`RuntimeConfig::cache_dir = None` turns it off).
        #[allow(unsafe_code)]
        match unsafe { Component::deserialize_file(engine, entry) } {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(cache = %entry.display(), %error, "compiled cache entry unusable; recompiling");
                None
            }
        }
    }
}

/// Writes atomically (temp file + rename) so a concurrent reader never sees half a file:
/// the serialized component, then beside it its BLAKE3, which
/// [`CompileCache::load_entry`] checks before anything is mapped as code. A reader between
/// the two renames sees a mismatch and recompiles, which is slow but safe.
fn store(dir: &Path, entry: &Path, component: &Component) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let serialized = component
        .serialize()
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    let checksum = blake3::hash(&serialized);
    write_atomically(dir, entry, &serialized)?;
    write_atomically(dir, &checksum_path(entry), checksum.as_bytes())
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry")
    ));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_prefixed_hex_blake3() {
        assert_eq!(
            content_digest(b""),
            "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    fn load(cache: &CompileCache, engine: &Engine, bytes: &[u8]) -> CacheOutcome {
        let digest = content_digest(bytes);
        cache
            .load(engine, Path::new("empty.wasm"), bytes, &digest)
            .unwrap()
            .1
    }

    #[test]
    fn second_load_hits_the_cache_and_garbage_is_recompiled() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = CompileCache::new(&engine, Some(dir.path()));
        let bytes = b"(component)".to_vec();
        assert_eq!(load(&cache, &engine, &bytes), CacheOutcome::Compiled);
        assert_eq!(load(&cache, &engine, &bytes), CacheOutcome::Hit);

        let entry_dir = dir.path().join("compiled").join(engine_key(&engine));
        for entry in std::fs::read_dir(&entry_dir).unwrap() {
            std::fs::write(entry.unwrap().path(), b"not a compiled component").unwrap();
        }
        assert_eq!(load(&cache, &engine, &bytes), CacheOutcome::Compiled);
        assert_eq!(load(&cache, &engine, &bytes), CacheOutcome::Hit);
    }

    #[test]
    fn a_flipped_byte_in_the_native_code_is_caught_before_it_is_mapped() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().unwrap();
        let cache = CompileCache::new(&engine, Some(dir.path()));
        let bytes = b"(component)".to_vec();
        load(&cache, &engine, &bytes);
        let entry_dir = dir.path().join("compiled").join(engine_key(&engine));
        for entry in std::fs::read_dir(&entry_dir).unwrap() {
            let entry = entry.unwrap().path();
            if entry.extension().is_none_or(|e| e != "cwasm") {
                continue;
            }
            let mut image = std::fs::read(&entry).unwrap();
            // Inside the image, past wasmtime's header checks: only the checksum notices.
            let middle = image.len() / 2;
            image[middle] ^= 0x40;
            std::fs::write(&entry, image).unwrap();
        }
        assert_eq!(load(&cache, &engine, &bytes), CacheOutcome::Compiled);
    }

    #[test]
    fn invalid_component_names_the_file() {
        let engine = Engine::default();
        let cache = CompileCache::new(&engine, None);
        let err = cache
            .load(
                &engine,
                Path::new("broken.wasm"),
                b"\0asm garbage",
                "blake3:00",
            )
            .unwrap_err();
        assert!(err.to_string().contains("broken.wasm"), "{err}");
    }
}
