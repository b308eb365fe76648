//! `flowhost push FILE.wasm oci://…`: upload a component as a CNCF Wasm OCI artifact.

use std::path::Path;

use oci_client::secrets::RegistryAuth;
use reqwest::header::HeaderValue;

use crate::artifact::{self, ArtifactOptions};
use crate::error::{Error, Result};
use crate::inspect::{ComponentInfo, inspect_bytes};
use crate::manifest::OCI_MANIFEST;
use crate::progress::Progress;
use crate::reference::{ImageRef, ReferenceError, Uses};
use crate::resolve::ResolveContext;
use crate::transport::{Ctx, map_err};

/// What a push wrote.
#[derive(Debug, Clone)]
pub struct PushResult {
    /// `oci://REGISTRY/REPO:TAG@sha256:…`
    pub reference: String,
    /// The image pushed to (registry, repository, tag).
    pub image: ImageRef,
    /// The manifest digest: what `@sha256:` pins, and what `flowhost push` prints.
    pub manifest_digest: String,
    /// The digest of the image's config blob.
    pub config_digest: String,
    /// The component's digest (its one layer).
    pub layer_digest: String,
    /// The pushed component as inspected: kind, world, imports and exports.
    pub component: ComponentInfo,
}

/// Push `file` to `reference` (`oci://`, `hub://` or `docker://`, by tag).
pub async fn push(
    file: &Path,
    reference: &str,
    ctx: &ResolveContext,
    options: &ArtifactOptions,
) -> Result<PushResult> {
    let image = match Uses::parse(reference)? {
        Uses::Oci(i) | Uses::Docker(i) => i,
        Uses::Hub(h) => ctx.hub_image(&h, reference)?,
        _ => {
            return Err(Error::InvalidReference {
                reference: reference.to_string(),
                reason: ReferenceError::NotRemote { operation: "push" },
            });
        }
    };
    if image.digest.is_some() {
        return Err(Error::InvalidReference {
            reference: reference.to_string(),
            reason: ReferenceError::PushToDigest,
        });
    }
    let wasm = tokio::fs::read(file)
        .await
        .map_err(|e| Error::io(file, "cannot read", e))?;
    let info = inspect_bytes(&wasm, &file.display().to_string())?;
    let mut opts = options.clone();
    if opts.title.is_none() {
        opts.title = file.file_name().map(|n| n.to_string_lossy().into_owned());
    }
    if opts.version.is_none() {
        opts.version = Some(image.tag_or_default().to_string());
    }
    let art = artifact::build(&wasm, &info, &opts);

    let endpoint = ctx
        .transport()
        .await?
        .endpoint(&image.registry, reference)
        .await?;
    let client = &endpoint.client;
    let target = image.to_client_ref();
    client
        .store_auth_if_needed(&image.registry, &endpoint.auth)
        .await;
    if matches!(endpoint.auth, RegistryAuth::Anonymous) {
        tracing::debug!(registry = %image.registry, "pushing without credentials");
    }
    let progress = Progress::new(ctx.progress);

    for (what, digest, bytes) in [
        ("component layer", &art.layer_digest, &wasm),
        ("config", &art.config_digest, &art.config),
    ] {
        let label = format!("blob {digest}");
        let ctx_err = Ctx {
            reference,
            endpoint: &endpoint,
            what: &label,
        };
        let exists = client
            .blob_exists(&target, digest)
            .await
            .map_err(|e| map_err(&ctx_err, e))?;
        if exists {
            tracing::debug!(reference, %digest, "{what} already in the registry");
            continue;
        }
        let bar = progress.bar(Some(bytes.len() as u64), format!("{reference} {what}"));
        client
            .push_blob(&target, bytes.clone(), digest)
            .await
            .map_err(|e| map_err(&ctx_err, e))?;
        bar.set_position(bytes.len() as u64);
        bar.finish_and_clear();
    }
    let label = format!("manifest {}", art.manifest_digest);
    client
        .push_manifest_raw(
            &target,
            art.manifest.clone(),
            HeaderValue::from_static(OCI_MANIFEST),
        )
        .await
        .map_err(|e| {
            map_err(
                &Ctx {
                    reference,
                    endpoint: &endpoint,
                    what: &label,
                },
                e,
            )
        })?;
    let pinned = ImageRef {
        tag: Some(image.tag_or_default().to_string()),
        digest: Some(art.manifest_digest.clone()),
        ..image.clone()
    };
    tracing::info!(reference, digest = %art.manifest_digest, "pushed");
    Ok(PushResult {
        reference: format!("oci://{pinned}"),
        image,
        manifest_digest: art.manifest_digest,
        config_digest: art.config_digest,
        layer_digest: art.layer_digest,
        component: info,
    })
}
