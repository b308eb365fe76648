//! Fetching an image into the cache and finding its component: manifests (and an index's
//! `wasi/wasm` entry), then either the one Wasm layer of a CNCF artifact or the `.wasm`
//! inside a container image's layers. Honours the pull policy; every byte is verified
//! against its digest before it lands in the cache.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;

use crate::artifact::{WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE};
use crate::cache::{Cache, sha256_digest};
use crate::error::{Error, Result};
use crate::image::{self, FindError, ImageConfig};
use crate::inspect::{WasmKind, wasm_kind};
use crate::manifest::{ACCEPTED, AnyManifest, Descriptor};
use crate::progress::Progress;
use crate::reference::ImageRef;
use crate::resolve::{PullPolicy, ResolveContext};
use crate::transport::{Ctx, Endpoint, map_err};

/// The component an image reference resolved to.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub path: PathBuf,
    pub component_digest: String,
    pub manifest_digest: String,
    pub kind: WasmKind,
    /// True when the registry was not contacted.
    pub from_cache: bool,
}

/// Resolve `image` to a cached component under `policy`. `shown` is the reference as the
/// user wrote it (`oci://…`, `hub://…`), used in every message.
pub(crate) async fn fetch(
    ctx: &ResolveContext,
    image: &ImageRef,
    shown: &str,
    policy: PullPolicy,
) -> Result<Fetched> {
    let cache = ctx.cache();
    let cached = match lookup_cached(&cache, image) {
        Ok(c) => c,
        Err(e @ Error::CacheCorrupt { .. }) if policy != PullPolicy::Never => {
            tracing::warn!(reference = %shown, "{e}; pulling again");
            None
        }
        Err(e) => return Err(e),
    };
    match (policy, cached) {
        (PullPolicy::Never, Some(c)) | (PullPolicy::Missing, Some(c)) => Ok(c),
        // A digest names immutable content: asking the registry again cannot change it.
        (PullPolicy::Always, Some(c)) if image.digest.is_some() => Ok(c),
        (PullPolicy::Never, None) => Err(Error::NotCached {
            reference: shown.to_string(),
            cache_dir: cache.root().to_path_buf(),
        }),
        (PullPolicy::Always, Some(c)) => match pull(ctx, &cache, image, shown).await {
            Err(e) if e.is_unreachable() => {
                tracing::warn!(
                    reference = %shown,
                    "{e}; running the cached {} (pulled earlier)",
                    c.manifest_digest
                );
                Ok(c)
            }
            other => other,
        },
        (_, None) => pull(ctx, &cache, image, shown).await,
    }
}

/// What the cache alone says the reference is, if it knows.
fn lookup_cached(cache: &Cache, image: &ImageRef) -> Result<Option<Fetched>> {
    let manifest_digest = match &image.digest {
        Some(d) => d.clone(),
        None => match cache.tag_digest(image)? {
            Some(d) => d,
            None => return Ok(None),
        },
    };
    let Some(component_digest) = cache.resolved_component(&manifest_digest)? else {
        return Ok(None);
    };
    let Some(path) = cache.verified_blob(&component_digest)? else {
        return Ok(None);
    };
    let kind = read_kind(&path)?;
    Ok(Some(Fetched {
        path,
        component_digest,
        manifest_digest,
        kind,
        from_cache: true,
    }))
}

fn read_kind(path: &std::path::Path) -> Result<WasmKind> {
    use std::io::Read;
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Error::io(path, "cannot read cached component", e))?;
    wasm_kind(&head[..n]).ok_or_else(|| Error::NotWasm {
        origin: path.display().to_string(),
    })
}

struct Puller<'a> {
    cache: &'a Cache,
    endpoint: Arc<Endpoint>,
    image: &'a ImageRef,
    shown: &'a str,
    progress: Progress,
}

async fn pull(
    ctx: &ResolveContext,
    cache: &Cache,
    image: &ImageRef,
    shown: &str,
) -> Result<Fetched> {
    let endpoint = ctx
        .transport()
        .await?
        .endpoint(&image.registry, shown)
        .await?;
    let p = Puller {
        cache,
        endpoint,
        image,
        shown,
        progress: Progress::new(ctx.progress),
    };
    tracing::info!(reference = %shown, "pulling");

    let (top_digest, top) = p.manifest(image.digest.as_deref()).await?;
    // Tag moved or not, if we already resolved this exact manifest we are done.
    if let Some(c) = cache.resolved_component(&top_digest)?
        && let Ok(Some(path)) = cache.verified_blob(&c)
    {
        if image.digest.is_none() {
            cache.set_tag_digest(image, &top_digest)?;
        }
        return Ok(Fetched {
            kind: read_kind(&path)?,
            path,
            component_digest: c,
            manifest_digest: top_digest,
            from_cache: false,
        });
    }

    let manifest = if top.is_index() {
        let entry =
            image::select_wasm_platform(&top).map_err(|available| Error::NoWasmPlatform {
                reference: shown.to_string(),
                available,
            })?;
        tracing::debug!(reference = %shown, digest = %entry.digest, "selected the wasm platform");
        p.manifest(Some(&entry.digest)).await?.1
    } else {
        top
    };
    if manifest.is_index() {
        return Err(bad(
            shown,
            "an image index inside an image index is not supported",
        ));
    }
    let layers = manifest.layers.clone().unwrap_or_default();

    let wasm_layers: Vec<&Descriptor> = layers
        .iter()
        .filter(|l| is_wasm_layer(&l.media_type))
        .collect();
    let is_artifact = manifest
        .config
        .as_ref()
        .is_some_and(|c| c.media_type == WASM_CONFIG_MEDIA_TYPE);
    let (component_digest, path) = match wasm_layers.as_slice() {
        [one] => {
            let path = p.blob(one).await?;
            (one.digest.clone(), path)
        }
        [] if is_artifact => {
            return Err(bad(
                shown,
                "a Wasm artifact without an application/wasm layer",
            ));
        }
        [] => p.component_from_layers(&manifest, &layers).await?,
        many => {
            return Err(Error::AmbiguousComponent {
                reference: shown.to_string(),
                candidates: many.iter().map(|l| format!("layer {}", l.digest)).collect(),
            });
        }
    };
    let kind = read_kind(&path).map_err(|_| Error::NotWasm {
        origin: shown.to_string(),
    })?;
    cache.set_resolved_component(&top_digest, &component_digest)?;
    if image.digest.is_none() {
        cache.set_tag_digest(image, &top_digest)?;
    }
    tracing::info!(reference = %shown, digest = %top_digest, "pulled");
    Ok(Fetched {
        path,
        component_digest,
        manifest_digest: top_digest,
        kind,
        from_cache: false,
    })
}

fn is_wasm_layer(media_type: &str) -> bool {
    media_type == WASM_LAYER_MEDIA_TYPE || media_type.ends_with("+wasm")
}

fn bad(shown: &str, reason: &str) -> Error {
    Error::BadArtifact {
        reference: shown.to_string(),
        reason: reason.to_string(),
    }
}

impl Puller<'_> {
    fn ctx<'b>(&'b self, what: &'b str) -> Ctx<'b> {
        Ctx {
            reference: self.shown,
            endpoint: &self.endpoint,
            what,
        }
    }

    /// Fetch a manifest by digest (from the cache when there) or by the image's tag.
    /// Returns its verified digest and parsed form; the bytes are cached.
    async fn manifest(&self, digest: Option<&str>) -> Result<(String, AnyManifest)> {
        if let Some(d) = digest
            && let Some(bytes) = self.cache.read_blob(d).unwrap_or(None)
        {
            return Ok((d.to_string(), self.parse_manifest(&bytes)?));
        }
        let reference = match digest {
            Some(d) => self.image.with_digest(d),
            None => self.image.clone(),
        };
        let what = match digest {
            Some(d) => format!("manifest {d}"),
            None => format!("tag {}", self.image.tag_or_default()),
        };
        let (bytes, header_digest) = self
            .endpoint
            .client
            .pull_manifest_raw(&reference.to_client_ref(), &self.endpoint.auth, ACCEPTED)
            .await
            .map_err(|e| map_err(&self.ctx(&what), e))?;
        let actual = sha256_digest(&bytes);
        let expected = digest.map(str::to_string).unwrap_or(header_digest);
        if expected.starts_with("sha256:") && actual != expected {
            return Err(Error::DigestMismatch {
                reference: self.shown.to_string(),
                what,
                expected,
                actual,
            });
        }
        self.cache.put_blob(&actual, &bytes).map_err(|e| {
            e.err()
                .unwrap_or_else(|| bad(self.shown, "manifest changed while caching"))
        })?;
        Ok((actual, self.parse_manifest(&bytes)?))
    }

    fn parse_manifest(&self, bytes: &[u8]) -> Result<AnyManifest> {
        serde_json::from_slice(bytes)
            .map_err(|e| bad(self.shown, &format!("unreadable manifest: {e}")))
    }

    /// The blob's cache path, downloading (with a progress bar) and verifying it if needed.
    async fn blob(&self, desc: &Descriptor) -> Result<PathBuf> {
        crate::reference::validate_digest(&desc.digest)
            .map_err(|reason| bad(self.shown, &format!("manifest lists a bad blob: {reason}")))?;
        match self.cache.verified_blob(&desc.digest) {
            Ok(Some(p)) => return Ok(p),
            Ok(None) => {}
            Err(e @ Error::CacheCorrupt { .. }) => {
                tracing::warn!(reference = %self.shown, "{e}; downloading again")
            }
            Err(e) => return Err(e),
        }
        let what = format!("blob {}", desc.digest);
        let mut stream = self
            .endpoint
            .client
            .pull_blob_stream(&self.image.to_client_ref(), desc.digest.as_str())
            .await
            .map_err(|e| map_err(&self.ctx(&what), e))?;
        let short = desc.digest.get(7..19).unwrap_or(&desc.digest);
        let bar = self.progress.bar(
            stream.content_length.or(Some(desc.size)),
            format!("{} {short}", self.shown),
        );
        let mut writer = self.cache.blob_writer()?;
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    bar.abandon();
                    return Err(self.stream_error(&what, &desc.digest, e));
                }
            };
            writer.write(&chunk)?;
            bar.inc(chunk.len() as u64);
            // A registry that sends more than the descriptor promised is not trusted further.
            if writer.len() > desc.size {
                bar.abandon();
                return Err(Error::DigestMismatch {
                    reference: self.shown.to_string(),
                    what,
                    expected: format!("{} ({} bytes)", desc.digest, desc.size),
                    actual: format!("more than {} bytes", desc.size),
                });
            }
        }
        bar.finish_and_clear();
        writer.finish(&desc.digest).map_err(|e| match e {
            Ok(actual) => Error::DigestMismatch {
                reference: self.shown.to_string(),
                what: what.clone(),
                expected: desc.digest.clone(),
                actual,
            },
            Err(e) => e,
        })
    }

    fn stream_error(&self, what: &str, expected: &str, e: std::io::Error) -> Error {
        if let Some(oci_client::errors::DigestError::VerificationError { actual, .. }) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<oci_client::errors::DigestError>())
        {
            return Error::DigestMismatch {
                reference: self.shown.to_string(),
                what: what.to_string(),
                expected: expected.to_string(),
                actual: actual.clone(),
            };
        }
        Error::Registry {
            reference: self.shown.to_string(),
            registry: self.endpoint.registry.clone(),
            message: format!("{what}: {}", crate::transport::error_chain(&e)),
        }
    }

    /// A container image: download its tar layers and take the `.wasm` out of them.
    async fn component_from_layers(
        &self,
        manifest: &AnyManifest,
        layers: &[Descriptor],
    ) -> Result<(String, PathBuf)> {
        let hints = match &manifest.config {
            Some(c) if c.size <= 1 << 20 => {
                let path = self.blob(c).await?;
                let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, "cannot read", e))?;
                serde_json::from_slice::<ImageConfig>(&bytes)
                    .map(|c| c.wasm_hints())
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        };
        let mut files = Vec::new();
        for layer in layers.iter().filter(|l| l.media_type.contains("tar")) {
            files.push((layer.clone(), self.blob(layer).await?));
        }
        let shown = self.shown.to_string();
        let found = tokio::task::spawn_blocking(move || image::find_component(&files, &hints))
            .await
            .map_err(|e| bad(&shown, &format!("layer scan failed: {e}")))?;
        let (inner_path, bytes) = found.map_err(|e| match e {
            FindError::None => Error::NoComponentInImage {
                reference: self.shown.to_string(),
            },
            FindError::Ambiguous(candidates) => Error::AmbiguousComponent {
                reference: self.shown.to_string(),
                candidates,
            },
            FindError::Layer { digest, reason } => {
                bad(self.shown, &format!("layer {digest}: {reason}"))
            }
        })?;
        if wasm_kind(&bytes).is_none() {
            return Err(Error::NotWasm {
                origin: format!("{}:{inner_path}", self.shown),
            });
        }
        tracing::debug!(reference = %self.shown, path = %inner_path, "found the component in the image");
        let digest = sha256_digest(&bytes);
        let path = self.cache.put_blob(&digest, &bytes).map_err(|e| {
            e.err()
                .unwrap_or_else(|| bad(self.shown, "component changed while caching"))
        })?;
        Ok((digest, path))
    }
}
