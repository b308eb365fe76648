//! The flowhost container image, built where no Docker engine runs (`scripts/image.sh`):
//! pushed to a real registry, read back by skopeo as a linux/amd64 image with the right
//! entrypoint and a non-root user, and self-contained (the binary runs with only the image's
//! own loader and libraries).

use std::path::Path;
use std::process::Command;

use crate::gateway_support::{flowhost_bin, succeeds as run};
use crate::registry_support::{RegistryOptions, TestRegistry};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The image's one layer, unpacked into `root`.
fn unpack(layout: &Path, root: &Path) {
    let blob = |digest: &str| {
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let index = json(&std::fs::read_to_string(layout.join("index.json")).unwrap());
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest = json(&std::fs::read_to_string(blob(manifest_digest)).unwrap());
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(blob(layer))
        .arg("-C")
        .arg(root));
}

#[test]
fn the_image_is_assembled_pushed_and_read_back_without_a_docker_engine() {
    let registry = TestRegistry::start(RegistryOptions::default());
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let reference = format!("docker://{}/acme/flowhost:test", registry.addr);
    run(Command::new("bash")
        .arg(flowhost_test_support::workspace_root().join("scripts/image.sh"))
        .args(["--binary", flowhost_bin(), "--tag", "test", "--out"])
        .arg(&layout)
        .args(["--push", &reference]));

    let inspect = |extra: &[&str]| {
        json(&run(Command::new("skopeo")
            .args(["inspect", "--tls-verify=false"])
            .args(extra)
            .arg(&reference)))
    };
    let image = inspect(&[]);
    assert_eq!(
        (image["Architecture"].as_str(), image["Os"].as_str()),
        (Some("amd64"), Some("linux")),
        "{image}"
    );
    let config = inspect(&["--config"]);
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/usr/local/bin/flowhost"]),
        "{config}"
    );
    assert_eq!(
        config["config"]["User"], "65532:65532",
        "not root: {config}"
    );

    let root = work.path().join("root");
    std::fs::create_dir(&root).unwrap();
    unpack(&layout, &root);
    let help = run(Command::new(root.join("lib64/ld-linux-x86-64.so.2"))
        .arg("--library-path")
        .arg(root.join("lib/x86_64-linux-gnu"))
        .arg(root.join("usr/local/bin/flowhost"))
        .arg("--help"));
    assert!(help.contains("export"), "{help}");
}
