//! What a Wasm binary is: component or core module, its digest, its world's exports and
//! imports. Used by `flowhost inspect`, and by push for the artifact config's summary.

use std::fmt;
use std::path::Path;

use serde::Serialize;
use wit_parser::decoding::{DecodedWasm, decode};
use wit_parser::{Resolve, WorldKey};

use crate::cache::sha256_digest;
use crate::error::{Error, Result};
use crate::resolve::ResolveContext;

/// Component or core module, from the binary's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WasmKind {
    /// A Wasm component (component-model binary).
    Component,
    /// A core Wasm module.
    Module,
}

/// A Wasm binary's identity and interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentInfo {
    /// `sha256:` of the bytes.
    pub digest: String,
    /// Size of the binary in bytes.
    pub size: u64,
    /// Component or core module.
    pub kind: WasmKind,
    /// The world's name (`ns:pkg/world`) as the decoder names it; decoded components get a
    /// synthesised `root:component/root`.
    pub world: Option<String>,
    /// Interface names (`ns:pkg/iface@ver`) or plain names of exported items.
    pub exports: Vec<String>,
    /// Same, for imports.
    pub imports: Vec<String>,
}

impl fmt::Display for ComponentInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            WasmKind::Component => "component",
            WasmKind::Module => "core module",
        };
        writeln!(f, "digest:  {}", self.digest)?;
        writeln!(f, "size:    {} bytes", self.size)?;
        writeln!(f, "kind:    {kind}")?;
        if let Some(w) = &self.world {
            writeln!(f, "world:   {w}")?;
        }
        writeln!(f, "exports:")?;
        for e in &self.exports {
            writeln!(f, "  {e}")?;
        }
        writeln!(f, "imports:")?;
        for i in &self.imports {
            writeln!(f, "  {i}")?;
        }
        Ok(())
    }
}

/// The kind of a binary from its 8-byte preamble (`\0asm`, then version and layer).
pub fn wasm_kind(bytes: &[u8]) -> Option<WasmKind> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return None;
    }
    // Layer 1 (bytes 6..8) is a component; layer 0 a core module.
    match (bytes[6], bytes[7]) {
        (0, 0) => Some(WasmKind::Module),
        (1, 0) => Some(WasmKind::Component),
        _ => None,
    }
}

/// Inspect a file.
pub fn inspect_file(path: &Path) -> Result<ComponentInfo> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "cannot read", e))?;
    inspect_bytes(&bytes, &path.display().to_string())
}

/// Inspect bytes; `origin` (a path or reference) names them in errors.
pub fn inspect_bytes(bytes: &[u8], origin: &str) -> Result<ComponentInfo> {
    let kind = wasm_kind(bytes).ok_or_else(|| Error::NotWasm {
        origin: origin.to_string(),
    })?;
    let (world, exports, imports) = match kind {
        WasmKind::Component => component_world(bytes, origin)?,
        WasmKind::Module => module_interface(bytes, origin)?,
    };
    Ok(ComponentInfo {
        digest: sha256_digest(bytes),
        size: bytes.len() as u64,
        kind,
        world,
        exports,
        imports,
    })
}

type Interface = (Option<String>, Vec<String>, Vec<String>);

fn component_world(bytes: &[u8], origin: &str) -> Result<Interface> {
    let decoded = decode(bytes).map_err(|e| Error::Decode {
        origin: origin.to_string(),
        reason: format!("{e:#}"),
    })?;
    let DecodedWasm::Component(resolve, world_id) = decoded else {
        return Err(Error::Decode {
            origin: origin.to_string(),
            reason: "this is a WIT package, not a component".into(),
        });
    };
    let world = &resolve.worlds[world_id];
    let world_name = match world.package {
        Some(p) => {
            let n = &resolve.packages[p].name;
            match &n.version {
                Some(v) => format!("{}:{}/{}@{v}", n.namespace, n.name, world.name),
                None => format!("{}:{}/{}", n.namespace, n.name, world.name),
            }
        }
        None => world.name.clone(),
    };
    let names = |keys: &mut dyn Iterator<Item = &WorldKey>| -> Vec<String> {
        keys.map(|k| key_name(&resolve, k)).collect()
    };
    let exports = names(&mut world.exports.keys());
    let imports = names(&mut world.imports.keys());
    Ok((Some(world_name), exports, imports))
}

fn key_name(resolve: &Resolve, key: &WorldKey) -> String {
    match key {
        WorldKey::Name(s) => s.clone(),
        WorldKey::Interface(i) => resolve
            .id_of(*i)
            .unwrap_or_else(|| "<anonymous interface>".to_string()),
    }
}

fn module_interface(bytes: &[u8], origin: &str) -> Result<Interface> {
    let bad = |e: wasmparser::BinaryReaderError| Error::Decode {
        origin: origin.to_string(),
        reason: e.to_string(),
    };
    let mut exports = Vec::new();
    let mut imports = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.map_err(bad)? {
            wasmparser::Payload::ImportSection(reader) => {
                for imp in reader {
                    let imp = imp.map_err(bad)?;
                    imports.push(format!("{}#{}", imp.module, imp.name));
                }
            }
            wasmparser::Payload::ExportSection(reader) => {
                for exp in reader {
                    exports.push(exp.map_err(bad)?.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok((None, exports, imports))
}

/// `flowhost inspect USES`: resolve (under the context's pull policy) and describe.
pub async fn inspect(
    uses: &str,
    ctx: &ResolveContext,
) -> Result<(crate::resolve::ResolvedComponent, ComponentInfo)> {
    let resolved = crate::resolve::resolve(uses, ctx).await?;
    let bytes = tokio::fs::read(&resolved.path)
        .await
        .map_err(|e| Error::io(&resolved.path, "cannot read", e))?;
    let info = inspect_bytes(&bytes, uses)?;
    Ok((resolved, info))
}
