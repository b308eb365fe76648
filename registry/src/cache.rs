//! The content-addressed cache on disk.
//!
//! ```text
//! <cache dir>/                        $FLOWHOST_CACHE_DIR, else ~/.cache/flowhost
//!   blobs/sha256/<hex>                manifests, configs, layers, extracted components:
//!                                     the bytes whose sha256 is <hex>, verified before they land
//!   refs/<registry>/<repo>:<tag>      text: the manifest digest the tag last resolved to
//!   resolved/sha256/<hex>             text: the component blob digest for manifest <hex>
//!   tmp/                              downloads in flight; renamed into blobs/ once verified
//! ```
//!
//! A blob is written to `tmp/`, hashed while it is written, and renamed into `blobs/` only
//! if its digest is the one expected: a corrupt or mismatching download never lands. Reads
//! verify again, so a blob damaged on disk is caught (and removed) rather than run.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::reference::ImageRef;

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The content-addressed cache rooted at one directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// A cache at `root` (created lazily on first write).
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The cache directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with this digest lives (whether or not it exists).
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.root.join("blobs").join("sha256").join(hex)
    }

    /// The blob's path if it is present and its bytes hash to `digest`. A blob that does
    /// not is removed and reported as [`Error::CacheCorrupt`].
    pub fn verified_blob(&self, digest: &str) -> Result<Option<PathBuf>> {
        let path = self.blob_path(digest);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, "cannot open cached blob", e)),
        };
        let actual =
            hash_reader(file).map_err(|e| Error::io(&path, "cannot read cached blob", e))?;
        if actual != digest {
            // Remove it so the next pull replaces it instead of tripping over it again.
            let _ = std::fs::remove_file(&path);
            return Err(Error::CacheCorrupt {
                path,
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(Some(path))
    }

    /// Read a (small) blob after verifying it.
    pub fn read_blob(&self, digest: &str) -> Result<Option<Vec<u8>>> {
        let Some(path) = self.verified_blob(digest)? else {
            return Ok(None);
        };
        std::fs::read(&path)
            .map(Some)
            .map_err(|e| Error::io(&path, "cannot read cached blob", e))
    }

    /// Store bytes under `expected`. Returns `Err(Ok(actual))` when they do not hash to it
    /// (nothing is written), `Err(Err(e))` on an I/O failure.
    pub(crate) fn put_blob(
        &self,
        expected: &str,
        bytes: &[u8],
    ) -> std::result::Result<PathBuf, std::result::Result<String, Error>> {
        let mut w = self.blob_writer().map_err(Err)?;
        w.write(bytes).map_err(Err)?;
        w.finish(expected)
    }

    /// Start writing a blob whose digest is checked at [`BlobWriter::finish`].
    pub(crate) fn blob_writer(&self) -> Result<BlobWriter> {
        let tmp = self.root.join("tmp");
        std::fs::create_dir_all(&tmp)
            .map_err(|e| Error::io(&tmp, "cannot create the cache directory", e))?;
        let file = tempfile::NamedTempFile::new_in(&tmp)
            .map_err(|e| Error::io(&tmp, "cannot create a file in the cache", e))?;
        Ok(BlobWriter {
            cache: self.clone(),
            file,
            hasher: Sha256::new(),
            len: 0,
        })
    }

    fn ref_path(&self, image: &ImageRef) -> Option<PathBuf> {
        let tag = image
            .tag
            .as_deref()
            .unwrap_or(crate::reference::DEFAULT_TAG);
        let mut p = self.root.join("refs").join(&image.registry);
        let mut parts: Vec<&str> = image.repository.split('/').collect();
        let last = parts.pop()?;
        for part in parts {
            p.push(part);
        }
        p.push(format!("{last}:{tag}"));
        Some(p)
    }

    /// The manifest digest a tag last resolved to, if recorded.
    pub fn tag_digest(&self, image: &ImageRef) -> Result<Option<String>> {
        match self.ref_path(image) {
            Some(p) => read_digest_file(&p),
            None => Ok(None),
        }
    }

    /// Record that a tag resolved to a manifest digest.
    pub fn set_tag_digest(&self, image: &ImageRef, manifest_digest: &str) -> Result<()> {
        match self.ref_path(image) {
            Some(p) => write_text_atomic(self, &p, manifest_digest),
            None => Ok(()),
        }
    }

    fn resolved_path(&self, manifest_digest: &str) -> PathBuf {
        let hex = manifest_digest
            .strip_prefix("sha256:")
            .unwrap_or(manifest_digest);
        self.root.join("resolved").join("sha256").join(hex)
    }

    /// The component blob a manifest (or index) resolved to, if recorded.
    pub fn resolved_component(&self, manifest_digest: &str) -> Result<Option<String>> {
        read_digest_file(&self.resolved_path(manifest_digest))
    }

    /// Record the component blob a manifest (or index) resolved to.
    pub fn set_resolved_component(&self, manifest_digest: &str, component: &str) -> Result<()> {
        write_text_atomic(self, &self.resolved_path(manifest_digest), component)
    }
}

/// A blob being written into the cache; dropped without [`finish`](Self::finish), it vanishes.
pub(crate) struct BlobWriter {
    cache: Cache,
    file: tempfile::NamedTempFile,
    hasher: Sha256,
    len: u64,
}

impl BlobWriter {
    pub(crate) fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.hasher.update(chunk);
        self.len += chunk.len() as u64;
        self.file
            .write_all(chunk)
            .map_err(|e| Error::io(self.file.path(), "cannot write to the cache", e))
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Move the blob into place if its digest is `expected`; otherwise discard it and return
    /// `Err(Ok(actual))`.
    pub(crate) fn finish(
        mut self,
        expected: &str,
    ) -> std::result::Result<PathBuf, std::result::Result<String, Error>> {
        let actual = format!("sha256:{}", hex::encode(self.hasher.finalize_reset()));
        if actual != expected {
            return Err(Ok(actual));
        }
        self.file
            .flush()
            .map_err(|e| Err(Error::io(self.file.path(), "cannot write to the cache", e)))?;
        let dest = self.cache.blob_path(expected);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Err(Error::io(parent, "cannot create the cache directory", e)))?;
        }
        self.file.persist(&dest).map_err(|e| {
            Err(Error::io(
                &dest,
                "cannot move a blob into the cache",
                e.error,
            ))
        })?;
        Ok(dest)
    }
}

fn hash_reader(mut r: impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// `sha256:<hex>` of a file.
pub fn file_digest(path: &Path) -> Result<String> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    hash_reader(f).map_err(|e| Error::io(path, "cannot read", e))
}

fn read_digest_file(p: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(p) {
        Ok(s) => {
            let d = s.trim().to_string();
            if crate::reference::validate_digest(&d).is_ok() {
                Ok(Some(d))
            } else {
                // A damaged ref is as good as none: the caller pulls again.
                tracing::warn!(path = %p.display(), "ignoring a malformed cache entry");
                Ok(None)
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(p, "cannot read cache entry", e)),
    }
}

fn write_text_atomic(cache: &Cache, p: &Path, text: &str) -> Result<()> {
    let parent = p.parent().unwrap_or(cache.root());
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::io(parent, "cannot create the cache directory", e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(parent)
        .map_err(|e| Error::io(parent, "cannot create a file in the cache", e))?;
    tmp.write_all(text.as_bytes())
        .map_err(|e| Error::io(tmp.path(), "cannot write to the cache", e))?;
    tmp.persist(p)
        .map_err(|e| Error::io(p, "cannot write cache entry", e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_verified_on_the_way_in_and_out() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let good = sha256_digest(b"hello");
        let path = cache.put_blob(&good, b"hello").unwrap();
        assert_eq!(path, cache.blob_path(&good));
        assert_eq!(cache.read_blob(&good).unwrap().unwrap(), b"hello");

        // Wrong bytes for the digest: refused, nothing written.
        let other = sha256_digest(b"other");
        let actual = cache.put_blob(&other, b"hello").unwrap_err().unwrap();
        assert_eq!(actual, good);
        assert!(!cache.blob_path(&other).exists());
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );

        // Damaged on disk: reported with its path and removed.
        std::fs::write(&path, b"tampered").unwrap();
        let err = cache.read_blob(&good).unwrap_err();
        assert!(matches!(err, Error::CacheCorrupt { .. }));
        assert!(err.to_string().contains(path.to_str().unwrap()));
        assert!(!path.exists());
    }

    #[test]
    fn tags_and_resolutions() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let r = ImageRef::parse_oci("127.0.0.1:5000/acme/foo:1.0").unwrap();
        assert_eq!(cache.tag_digest(&r).unwrap(), None);
        let d = sha256_digest(b"m");
        cache.set_tag_digest(&r, &d).unwrap();
        assert_eq!(cache.tag_digest(&r).unwrap(), Some(d.clone()));
        assert!(dir.path().join("refs/127.0.0.1:5000/acme/foo:1.0").exists());
        // A repository nested under another's name does not collide with its tags.
        let nested = ImageRef::parse_oci("127.0.0.1:5000/acme/foo/bar:1.0").unwrap();
        cache.set_tag_digest(&nested, &d).unwrap();
        cache
            .set_resolved_component(&d, &sha256_digest(b"c"))
            .unwrap();
        assert_eq!(
            cache.resolved_component(&d).unwrap(),
            Some(sha256_digest(b"c"))
        );
    }
}
