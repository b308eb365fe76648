//! What a component asks of the host, read from its bytes before anything is compiled.
//!
//! Compiling an interpreter-sized component (CPython, SpiderMonkey) takes seconds and
//! hundreds of megabytes; linking it only afterwards would spend all that, and cache the
//! artefact, for a component the host then refuses. Reading the top-level import and
//! export names takes microseconds, so a component that cannot fit is refused first.

use std::path::Path;

use wasmparser::{Chunk, Encoding, Parser, Payload};

use super::error::RuntimeError;

/// The interface every executor exports.
const EXECUTOR_EXPORT: &str = "flowhost:executor/executor@0.1.";

/// Imports the host links: WASI 0.2's interfaces (`wasi:http` included, with every
/// outgoing request refused) and the executor package's own.
const LINKED_IMPORTS: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:random/",
    "wasi:sockets/",
    "wasi:http/",
    "flowhost:executor/",
];

fn is_linked(name: &str) -> bool {
    let Some((interface, version)) = name.split_once('@') else {
        return false;
    };
    let package = interface.split_once('/').map(|(package, _)| package);
    let version_ok = match package {
        Some("flowhost:executor") => version.starts_with("0.1."),
        _ => version.starts_with("0.2."),
    };
    version_ok
        && LINKED_IMPORTS
            .iter()
            .any(|prefix| interface.starts_with(prefix))
}

/// The top-level import and export names of a component (nested modules and components
/// are skipped, not parsed).
struct Surface {
    imports: Vec<String>,
    exports: Vec<String>,
}

fn read_surface(bytes: &[u8]) -> Result<Surface, String> {
    let mut surface = Surface {
        imports: Vec::new(),
        exports: Vec::new(),
    };
    let mut parser = Parser::new(0);
    let mut offset = 0;
    loop {
        let rest = bytes.get(offset..).ok_or("a section runs past the end")?;
        let (payload, consumed) = match parser.parse(rest, true) {
            Ok(Chunk::Parsed { payload, consumed }) => (payload, consumed),
            // `eof = true` turns a short read into an error instead.
            Ok(Chunk::NeedMoreData(_)) => return Err("truncated".into()),
            Err(error) => return Err(error.to_string()),
        };
        offset += consumed;
        match payload {
            Payload::Version { encoding, .. } if encoding != Encoding::Component => {
                return Err(
                    "it is a core Wasm module, not a component (turn it into one with \
                     `wasm-tools component new`, or build it with `flowhost build`)"
                        .into(),
                );
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(|error| error.to_string())?;
                    surface.imports.push(import.name.name.to_owned());
                }
            }
            Payload::ComponentExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|error| error.to_string())?;
                    surface.exports.push(export.name.name.to_owned());
                }
            }
            // The outer parser resumes after a nested module or component; its bytes
            // are someone else's business (the compiler's).
            Payload::ModuleSection {
                unchecked_range, ..
            }
            | Payload::ComponentSection {
                unchecked_range, ..
            } => offset = unchecked_range.end,
            Payload::End(_) => return Ok(surface),
            _ => {}
        }
    }
}

/// Refuses, before compiling, a component the host could not link: one that is not a
/// component, lacks the executor export, or imports something the host does not provide.
pub(crate) fn check(path: &Path, bytes: &[u8]) -> Result<(), RuntimeError> {
    // The WAT text format (which the engine also accepts, handy in tests) is left to the
    // engine and the linker: text components are small, so compiling them costs nothing.
    if !bytes.starts_with(b"\0asm") {
        return Ok(());
    }
    let surface = read_surface(bytes).map_err(|reason| RuntimeError::NotAComponent {
        path: path.to_owned(),
        reason,
    })?;
    let unlinked: Vec<String> = surface
        .imports
        .into_iter()
        .filter(|name| !is_linked(name))
        .collect();
    let exports_executor = surface
        .exports
        .iter()
        .any(|name| name.starts_with(EXECUTOR_EXPORT));
    if unlinked.is_empty() && exports_executor {
        return Ok(());
    }
    Err(RuntimeError::Unfit {
        path: path.to_owned(),
        unlinked,
        exports_executor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(wat: &str) -> Vec<u8> {
        wat::parse_str(wat).expect("test WAT parses")
    }

    #[test]
    fn wasi_and_flowhost_imports_are_linked() {
        assert!(is_linked("wasi:cli/environment@0.2.3"));
        assert!(is_linked("wasi:http/outgoing-handler@0.2.0"));
        assert!(is_linked("flowhost:executor/logging@0.1.0"));
        assert!(!is_linked("wasi:nn/inference@0.2.0-rc"));
        assert!(!is_linked("wasi:cli/environment@0.3.0"));
        assert!(!is_linked("acme:db/query@1.0.0"));
        assert!(!is_linked("unversioned"));
    }

    #[test]
    fn a_foreign_import_is_named_before_compiling() {
        let bytes = component(
            r#"(component
                (import "acme:db/query@1.0.0" (instance))
                (import "wasi:cli/stdout@0.2.0" (instance))
            )"#,
        );
        let error = check(Path::new("x.wasm"), &bytes).unwrap_err().to_string();
        assert!(error.contains("acme:db/query@1.0.0"), "{error}");
        assert!(!error.contains("wasi:cli/stdout"), "{error}");
        assert!(error.contains("flowhost:executor/executor"), "{error}");
    }

    #[test]
    fn nested_modules_are_skipped_not_read() {
        // The nested module imports something odd: only the component's own imports count.
        let bytes = component(
            r#"(component
                (core module (import "acme" "f" (func)))
                (import "flowhost:executor/logging@0.1.0" (instance))
                (instance $executor)
                (export "flowhost:executor/executor@0.1.0" (instance $executor))
            )"#,
        );
        let surface = read_surface(&bytes).expect("parses");
        assert_eq!(surface.imports, ["flowhost:executor/logging@0.1.0"]);
        assert_eq!(surface.exports, ["flowhost:executor/executor@0.1.0"]);
        check(Path::new("x.wasm"), &bytes).expect("fits");
    }

    #[test]
    fn a_core_module_is_told_how_to_become_a_component() {
        let bytes = component("(module)");
        let error = check(Path::new("m.wasm"), &bytes).unwrap_err().to_string();
        assert!(error.contains("core Wasm module"), "{error}");
    }
}
