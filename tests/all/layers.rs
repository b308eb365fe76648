//! The architecture is the crate graph (ARCHITECTURE.md): this test reads the workspace's
//! manifests through `cargo metadata` and fails when a crate declares a dependency its layer
//! must not know, so a leak shows up in CI even before code uses it.

use std::process::Command;

use serde_json::Value;

/// For each host crate, the dependencies it must not declare (normal or build, not dev).
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "flowhost-docs",
        &[
            "flowhost-flow",
            "flowhost-wire",
            "flowhost-runtime",
            "flowhost-router",
            "flowhost-gateway",
            "flowhost-client",
            "tonic",
            "prost",
            "axum",
            "hyper",
        ],
    ),
    (
        "flowhost-flow",
        &[
            "flowhost-docs",
            "flowhost-runtime",
            "flowhost-router",
            "flowhost-gateway",
            "flowhost-client",
            "wasmtime",
            "tonic",
            "prost",
            "axum",
            "hyper",
            "tokio",
        ],
    ),
    (
        "flowhost-wire",
        &[
            "flowhost-flow",
            "flowhost-runtime",
            "flowhost-router",
            "flowhost-gateway",
            "flowhost-client",
            "wasmtime",
            "axum",
            "hyper",
            "tokio",
        ],
    ),
    (
        "flowhost-runtime",
        &[
            "flowhost-flow",
            "flowhost-wire",
            "flowhost-router",
            "flowhost-gateway",
            "flowhost-client",
            "tonic",
            "axum",
            "hyper",
        ],
    ),
    (
        "flowhost-router",
        &[
            "flowhost-gateway",
            "flowhost-client",
            "tonic",
            "axum",
            "hyper",
        ],
    ),
    (
        "flowhost-gateway",
        &[
            "flowhost-flow",
            "flowhost-runtime",
            "flowhost-client",
            "wasmtime",
        ],
    ),
    (
        "flowhost-client",
        &[
            "flowhost-flow",
            "flowhost-runtime",
            "flowhost-router",
            "flowhost-gateway",
            "wasmtime",
            "axum",
        ],
    ),
    (
        "flowhost-export",
        &[
            "flowhost-docs",
            "flowhost-runtime",
            "flowhost-router",
            "flowhost-gateway",
            "flowhost-client",
            "flowhost-registry",
            "wasmtime",
            "tonic",
            "axum",
            "hyper",
            "tokio",
        ],
    ),
    (
        "flowhost-telemetry",
        &[
            "flowhost-docs",
            "flowhost-flow",
            "flowhost-wire",
            "flowhost-runtime",
            "flowhost-router",
            "flowhost-gateway",
            "flowhost-client",
            "wasmtime",
            "tonic",
            "axum",
            "hyper",
            "tokio",
        ],
    ),
    (
        "flowhost-shards",
        &[
            "flowhost-docs",
            "flowhost-flow",
            "flowhost-wire",
            "flowhost-runtime",
            "flowhost-router",
            "flowhost-gateway",
            "flowhost-client",
            "flowhost-telemetry",
            "wasmtime",
            "tokio",
            "prometheus",
        ],
    ),
];

fn manifests() -> Value {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON")
}

#[test]
fn no_crate_declares_what_its_layer_must_not_know() {
    let metadata = manifests();
    let packages = metadata["packages"].as_array().expect("packages");
    let mut leaks = Vec::new();
    for (crate_name, forbidden) in FORBIDDEN {
        let package = packages
            .iter()
            .find(|p| p["name"] == *crate_name)
            .unwrap_or_else(|| panic!("{crate_name} is not in the workspace"));
        for dep in package["dependencies"].as_array().expect("dependencies") {
            let name = dep["name"].as_str().unwrap_or_default();
            let is_dev = dep["kind"] == "dev";
            // An optional dependency behind a feature no one else may enable is still a leak
            // unless it is the documented one: docs' wasmtime derives, on for the runtime only.
            let documented = *crate_name == "flowhost-docs" && name == "wasmtime";
            if !is_dev && !documented && forbidden.contains(&name) {
                leaks.push(format!("{crate_name} depends on {name}"));
            }
        }
    }
    assert!(leaks.is_empty(), "layering broken:\n{}", leaks.join("\n"));
}

#[test]
fn the_flow_and_docs_crates_build_without_grpc_or_wasmtime() {
    let metadata = manifests();
    let packages = metadata["packages"].as_array().expect("packages");
    let deps_of = |name: &str| -> Vec<Value> {
        packages
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["dependencies"].as_array().cloned())
            .unwrap_or_default()
    };
    let wire = deps_of("flowhost-flow")
        .into_iter()
        .find(|d| d["name"] == "flowhost-wire")
        .expect("flow uses the wire's vocabulary");
    assert_eq!(
        wire["uses_default_features"], false,
        "flow must take flowhost-wire without its `grpc` feature"
    );
    let wasmtime = deps_of("flowhost-docs")
        .into_iter()
        .find(|d| d["name"] == "wasmtime")
        .expect("docs has the optional wasmtime derives");
    assert_eq!(wasmtime["optional"], true, "docs must not need wasmtime");
}
