//! The CNCF Wasm OCI artifact layout (<https://tag-runtime.cncf.io/wgs/wasm/deliverables/wasm-oci-artifact/>):
//! an OCI image manifest whose config is `application/vnd.wasm.config.v0+json` and whose one
//! layer is the `application/wasm` component.
//!
//! The config's JSON matches what `oci-wasm` (and so `wkg`, wasmCloud, Spin) writes and
//! reads. We write it ourselves because `oci-wasm` pins an older oci-client, a second
//! wit-component generation and a native-TLS default; the layout itself is a few fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cache::sha256_digest;
use crate::inspect::{ComponentInfo, WasmKind};
use crate::manifest::{AnyManifest, Descriptor, OCI_MANIFEST};

/// The config media type of a Wasm artifact.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The layer media type of a Wasm artifact.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";

/// Standard annotation keys (OCI image spec, "Pre-Defined Annotation Keys").
pub mod annotations {
    /// When the artifact was built (RFC 3339).
    pub const CREATED: &str = "org.opencontainers.image.created";
    /// A human-readable title (a layer's file name).
    pub const TITLE: &str = "org.opencontainers.image.title";
    /// The packaged software's version.
    pub const VERSION: &str = "org.opencontainers.image.version";
    /// A human-readable description of the software.
    pub const DESCRIPTION: &str = "org.opencontainers.image.description";
    /// Contact details of the people or organisation responsible.
    pub const AUTHORS: &str = "org.opencontainers.image.authors";
    /// URL of the source code the artifact was built from.
    pub const SOURCE: &str = "org.opencontainers.image.source";
}

/// `application/vnd.wasm.config.v0+json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WasmConfig {
    /// RFC 3339.
    pub created: String,
    /// Who built the artifact, if given.
    #[serde(default)]
    pub author: Option<String>,
    /// Always `wasm`.
    pub architecture: String,
    /// `wasip2` for a component, `wasip1` for a core module.
    pub os: String,
    /// The layers' digests, in manifest order (makes the config, and so its digest, unique).
    #[serde(default)]
    pub layer_digests: Vec<String>,
    /// The component's world, required when `os` is `wasip2`.
    #[serde(default)]
    pub component: Option<ComponentSummary>,
}

/// The config's summary of a component's WIT world.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSummary {
    /// Names of the world's exported interfaces and items.
    pub exports: Vec<String>,
    /// Names of the world's imported interfaces and items.
    pub imports: Vec<String>,
    /// The world the component targets, if declared (we write none).
    #[serde(default)]
    pub target: Option<String>,
}

/// What the caller may add to a pushed artifact.
#[derive(Debug, Clone, Default)]
pub struct ArtifactOptions {
    /// Config `author` and the `authors` annotation.
    pub author: Option<String>,
    /// The layer's `title` annotation (the file name).
    pub title: Option<String>,
    /// The `version` annotation (the tag, usually).
    pub version: Option<String>,
    /// Extra manifest annotations (win over the standard ones).
    pub annotations: BTreeMap<String, String>,
}

/// A built artifact: the exact bytes to push.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The config blob's JSON bytes.
    pub config: Vec<u8>,
    /// `sha256:` digest of the config blob.
    pub config_digest: String,
    /// `sha256:` digest of the Wasm layer blob.
    pub layer_digest: String,
    /// The image manifest's JSON bytes.
    pub manifest: Vec<u8>,
    /// `sha256:` digest of the manifest bytes.
    pub manifest_digest: String,
}

/// Lay out `wasm` (described by `info`) as a CNCF Wasm artifact.
pub fn build(wasm: &[u8], info: &ComponentInfo, opts: &ArtifactOptions) -> Artifact {
    let created = rfc3339_now();
    let layer_digest = sha256_digest(wasm);
    let config = WasmConfig {
        created: created.clone(),
        author: opts.author.clone(),
        architecture: "wasm".into(),
        os: match info.kind {
            WasmKind::Component => "wasip2".into(),
            WasmKind::Module => "wasip1".into(),
        },
        layer_digests: vec![layer_digest.clone()],
        component: (info.kind == WasmKind::Component).then(|| ComponentSummary {
            exports: info.exports.clone(),
            imports: info.imports.clone(),
            target: None,
        }),
    };
    // Serialising plain structs of strings cannot fail.
    let config_bytes = serde_json::to_vec(&config).unwrap_or_default();
    let config_digest = sha256_digest(&config_bytes);

    let mut layer_annotations = BTreeMap::new();
    if let Some(t) = &opts.title {
        layer_annotations.insert(annotations::TITLE.to_string(), t.clone());
    }
    let mut manifest_annotations = BTreeMap::new();
    manifest_annotations.insert(annotations::CREATED.to_string(), created);
    if let Some(v) = &opts.version {
        manifest_annotations.insert(annotations::VERSION.to_string(), v.clone());
    }
    if let Some(a) = &opts.author {
        manifest_annotations.insert(annotations::AUTHORS.to_string(), a.clone());
    }
    manifest_annotations.extend(opts.annotations.clone());

    let manifest = AnyManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.to_string()),
        artifact_type: None,
        config: Some(Descriptor {
            media_type: WASM_CONFIG_MEDIA_TYPE.to_string(),
            digest: config_digest.clone(),
            size: config_bytes.len() as u64,
            platform: None,
            annotations: None,
            urls: None,
        }),
        layers: Some(vec![Descriptor {
            media_type: WASM_LAYER_MEDIA_TYPE.to_string(),
            digest: layer_digest.clone(),
            size: wasm.len() as u64,
            platform: None,
            annotations: (!layer_annotations.is_empty()).then_some(layer_annotations),
            urls: None,
        }]),
        manifests: None,
        annotations: Some(manifest_annotations),
    };
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap_or_default();
    Artifact {
        manifest_digest: sha256_digest(&manifest_bytes),
        manifest: manifest_bytes,
        config: config_bytes,
        config_digest,
        layer_digest,
    }
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn rfc3339_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc3339(secs: i64) -> String {
        chrono::DateTime::from_timestamp(secs, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    #[test]
    fn timestamps() {
        assert!(rfc3339_now().ends_with('Z'), "{}", rfc3339_now());
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_764_038_096), "2025-11-25T02:34:56Z");
    }

    #[test]
    fn layout() {
        let info = ComponentInfo {
            digest: sha256_digest(b"\0asm"),
            size: 4,
            kind: WasmKind::Component,
            world: None,
            exports: vec!["a:b/c".into()],
            imports: vec!["wasi:io/streams@0.2.0".into()],
        };
        let a = build(
            b"\0asm",
            &info,
            &ArtifactOptions {
                version: Some("1.0".into()),
                ..Default::default()
            },
        );
        let m: serde_json::Value = serde_json::from_slice(&a.manifest).unwrap();
        assert_eq!(m["mediaType"], OCI_MANIFEST);
        assert_eq!(m["config"]["mediaType"], WASM_CONFIG_MEDIA_TYPE);
        assert_eq!(m["layers"][0]["mediaType"], WASM_LAYER_MEDIA_TYPE);
        assert_eq!(m["annotations"][annotations::VERSION], "1.0");
        let c: WasmConfig = serde_json::from_slice(&a.config).unwrap();
        assert_eq!(c.os, "wasip2");
        assert_eq!(c.layer_digests, vec![a.layer_digest.clone()]);
        assert_eq!(c.component.unwrap().exports, vec!["a:b/c"]);
        let raw: serde_json::Value = serde_json::from_slice(&a.config).unwrap();
        assert!(raw.get("layerDigests").is_some(), "camelCase like oci-wasm");
        assert_eq!(a.manifest_digest, sha256_digest(&a.manifest));
    }
}
