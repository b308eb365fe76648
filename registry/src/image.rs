//! Wasm inside container images: picking the `wasi/wasm` platform of an image index, and
//! finding the component among an image's layers (tar, optionally gzip), the way
//! containerd's Wasm shims lay images out (`FROM scratch`, `COPY app.wasm /`, entrypoint
//! `/app.wasm`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path};

use serde::Deserialize;

use crate::manifest::{AnyManifest, Descriptor};

/// Choose the index entry to run: architecture `wasm` with a WASI OS (`wasi`, `wasip1`,
/// `wasip2`), else any `wasm` architecture. `Err` lists the platforms there are.
pub(crate) fn select_wasm_platform(index: &AnyManifest) -> Result<&Descriptor, Vec<String>> {
    let entries = index.manifests.as_deref().unwrap_or_default();
    let is_wasm = |d: &&Descriptor| {
        d.platform
            .as_ref()
            .is_some_and(|p| p.architecture == "wasm")
    };
    let wasi = entries.iter().filter(is_wasm).find(|d| {
        d.platform
            .as_ref()
            .is_some_and(|p| p.os.starts_with("wasi"))
    });
    if let Some(d) = wasi.or_else(|| entries.iter().find(is_wasm)) {
        return Ok(d);
    }
    Err(entries
        .iter()
        .map(|d| match &d.platform {
            Some(p) => format!("{}/{}", p.os, p.architecture),
            None => format!("(no platform) {}", d.digest),
        })
        .collect())
}

/// The parts of an OCI / Docker image config that say what to run.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ImageConfig {
    #[serde(default)]
    pub config: Option<RunConfig>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RunConfig {
    #[serde(rename = "Entrypoint", default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default)]
    pub cmd: Option<Vec<String>>,
}

impl ImageConfig {
    /// Paths named by the entrypoint or command that end in `.wasm`, best first.
    pub(crate) fn wasm_hints(&self) -> Vec<String> {
        let Some(c) = &self.config else {
            return Vec::new();
        };
        c.entrypoint
            .iter()
            .chain(c.cmd.iter())
            .flatten()
            .filter(|s| s.ends_with(".wasm"))
            .map(|s| normalize(s))
            .collect()
    }
}

/// Why no single component could be taken from the layers.
#[derive(Debug)]
pub(crate) enum FindError {
    None,
    Ambiguous(Vec<String>),
    /// A layer that cannot be read (compression we do not handle, a broken tar).
    Layer {
        digest: String,
        reason: String,
    },
}

/// Find the component in `layers` (each a descriptor and a file holding the layer blob, in
/// manifest order). Later layers win, whiteouts delete. Returns the path and its bytes.
pub(crate) fn find_component(
    layers: &[(Descriptor, std::path::PathBuf)],
    hints: &[String],
) -> Result<(String, Vec<u8>), FindError> {
    // path -> index of the layer that last wrote it
    let mut files: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (desc, blob)) in layers.iter().enumerate() {
        for_each_entry(desc, blob, |path, _entry| {
            if let Some(deleted) = whiteout_target(&path) {
                let prefix = format!("{deleted}/");
                files.retain(|p, _| p != &deleted && !p.starts_with(&prefix));
            } else if path.ends_with(".wasm") {
                files.insert(path, i);
            }
            Ok(false)
        })?;
    }
    if files.is_empty() {
        return Err(FindError::None);
    }
    let chosen = hints
        .iter()
        .find(|h| files.contains_key(*h))
        .cloned()
        .or_else(|| {
            (files.len() == 1)
                .then(|| files.keys().next().cloned())
                .flatten()
        });
    let Some(path) = chosen else {
        return Err(FindError::Ambiguous(
            files.keys().map(|p| format!("/{p}")).collect(),
        ));
    };
    let layer = files[&path];
    let (desc, blob) = &layers[layer];
    let mut found = None;
    for_each_entry(desc, blob, |p, entry| {
        if p == path {
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| FindError::Layer {
                    digest: desc.digest.clone(),
                    reason: e.to_string(),
                })?;
            found = Some(bytes);
            return Ok(true);
        }
        Ok(false)
    })?;
    match found {
        Some(bytes) => Ok((format!("/{path}"), bytes)),
        None => Err(FindError::None),
    }
}

/// Walk the regular files (and whiteouts) of a layer; `f` returns true to stop.
fn for_each_entry(
    desc: &Descriptor,
    blob: &Path,
    mut f: impl FnMut(String, &mut dyn Read) -> Result<bool, FindError>,
) -> Result<(), FindError> {
    let layer_err = |reason: String| FindError::Layer {
        digest: desc.digest.clone(),
        reason,
    };
    let mut file = std::fs::File::open(blob).map_err(|e| layer_err(e.to_string()))?;
    let mut magic = [0u8; 4];
    let n = file
        .read(&mut magic)
        .map_err(|e| layer_err(e.to_string()))?;
    drop(file);
    let file = std::fs::File::open(blob).map_err(|e| layer_err(e.to_string()))?;
    let reader: Box<dyn Read> = if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
    } else if n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
        return Err(layer_err(format!(
            "zstd-compressed layers ({}) are not supported; use gzip or no compression",
            desc.media_type
        )));
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| layer_err(format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| layer_err(format!("broken tar: {e}")))?;
        let kind = entry.header().entry_type();
        let path = match entry.path() {
            Ok(p) => normalize(&p.to_string_lossy()),
            Err(_) => continue,
        };
        let is_whiteout = whiteout_target(&path).is_some();
        if !(kind.is_file() || is_whiteout) || path.is_empty() {
            continue;
        }
        if f(path, &mut entry)? {
            break;
        }
    }
    Ok(())
}

/// `a/.wh.b` deletes `a/b`; `.wh..wh..opq` (opaque dir) is treated as deleting nothing
/// here, since earlier layers' files in that directory are rarely `.wasm`.
fn whiteout_target(path: &str) -> Option<String> {
    let (dir, name) = match path.rsplit_once('/') {
        Some((d, n)) => (Some(d), n),
        None => (None, path),
    };
    let target = name.strip_prefix(".wh.")?;
    if target.starts_with(".wh.") {
        return None;
    }
    Some(match dir {
        Some(d) => format!("{d}/{target}"),
        None => target.to_string(),
    })
}

/// `/app.wasm`, `./app.wasm` and `app.wasm` are the same file in a layer.
fn normalize(p: &str) -> String {
    Path::new(p)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Platform;

    fn entry(os: &str, arch: &str, d: &str) -> Descriptor {
        Descriptor {
            media_type: crate::manifest::OCI_MANIFEST.into(),
            digest: d.into(),
            size: 1,
            platform: Some(Platform {
                architecture: arch.into(),
                os: os.into(),
                variant: None,
            }),
            annotations: None,
            urls: None,
        }
    }

    fn index(entries: Vec<Descriptor>) -> AnyManifest {
        AnyManifest {
            schema_version: 2,
            media_type: Some(crate::manifest::OCI_INDEX.into()),
            artifact_type: None,
            config: None,
            layers: None,
            manifests: Some(entries),
            annotations: None,
        }
    }

    #[test]
    fn picks_wasi_wasm() {
        let i = index(vec![
            entry("linux", "amd64", "a"),
            entry("wasi", "wasm", "b"),
        ]);
        assert_eq!(select_wasm_platform(&i).unwrap().digest, "b");
        let i = index(vec![
            entry("linux", "amd64", "a"),
            entry("linux", "arm64", "c"),
        ]);
        assert_eq!(
            select_wasm_platform(&i).unwrap_err(),
            vec!["linux/amd64", "linux/arm64"]
        );
    }

    fn layer(
        dir: &Path,
        name: &str,
        files: &[(&str, &[u8])],
        gzip: bool,
    ) -> (Descriptor, std::path::PathBuf) {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            builder.append_data(&mut h, path, *data).unwrap();
        }
        let mut bytes = builder.into_inner().unwrap();
        if gzip {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&bytes).unwrap();
            bytes = enc.finish().unwrap();
        }
        let p = dir.join(name);
        std::fs::write(&p, &bytes).unwrap();
        let d = Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            digest: crate::cache::sha256_digest(&bytes),
            size: bytes.len() as u64,
            platform: None,
            annotations: None,
            urls: None,
        };
        (d, p)
    }

    #[test]
    fn finds_the_component() {
        let dir = tempfile::tempdir().unwrap();
        let l1 = layer(
            dir.path(),
            "l1",
            &[("etc/x", b"x"), ("old.wasm", b"old")],
            true,
        );
        let l2 = layer(
            dir.path(),
            "l2",
            &[("./app.wasm", b"\0asm-app"), (".wh.old.wasm", b"")],
            false,
        );
        let (path, bytes) = find_component(&[l1.clone(), l2.clone()], &[]).unwrap();
        assert_eq!(path, "/app.wasm");
        assert_eq!(bytes, b"\0asm-app");

        let l3 = layer(
            dir.path(),
            "l3",
            &[("main.wasm", b"m"), ("lib/other.wasm", b"o")],
            true,
        );
        match find_component(std::slice::from_ref(&l3), &[]) {
            Err(FindError::Ambiguous(c)) => assert_eq!(c, vec!["/lib/other.wasm", "/main.wasm"]),
            other => panic!("{other:?}"),
        }
        let (path, _) = find_component(&[l3], &["main.wasm".to_string()]).unwrap();
        assert_eq!(path, "/main.wasm");

        let empty = layer(dir.path(), "l4", &[("etc/x", b"x")], true);
        assert!(matches!(
            find_component(&[empty], &[]),
            Err(FindError::None)
        ));
    }

    #[test]
    fn entrypoint_hints() {
        let c: ImageConfig =
            serde_json::from_str(r#"{"config":{"Entrypoint":["/app.wasm"],"Cmd":["--x"]}}"#)
                .unwrap();
        assert_eq!(c.wasm_hints(), vec!["app.wasm"]);
    }
}
