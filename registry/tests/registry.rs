//! Against a real distribution registry on loopback: push, pull by tag and digest, hub://,
//! basic auth + TLS, the failure modes (each naming the reference), docker:// images copied
//! in by skopeo, and skopeo reading what we pushed.
//!
//! Needs `docker-registry` and `skopeo`: `scripts/install-test-deps.sh`.

mod support;

use flowhost_registry::{
    ArtifactOptions, Error, HubConfig, PullPolicy, ResolveContext, Settings, Source, WasmKind,
    inspect_file, login, push, resolve,
};
use support::{RegistryOptions, TestRegistry, component, sha256, skopeo, write_file};

fn plain() -> TestRegistry {
    TestRegistry::start(RegistryOptions::default())
}

async fn push_component(
    ctx: &ResolveContext,
    dir: &std::path::Path,
    n: u32,
    reference: &str,
) -> (Vec<u8>, String) {
    let bytes = component(n);
    let file = write_file(dir, &format!("c{n}.wasm"), &bytes);
    let pushed = push(&file, reference, ctx, &ArtifactOptions::default())
        .await
        .unwrap_or_else(|e| panic!("push {reference}: {e}"));
    (bytes, pushed.manifest_digest)
}

#[tokio::test]
async fn push_then_resolve_by_tag_and_digest() {
    let reg = plain();
    let work = tempfile::tempdir().unwrap();
    let pusher = reg.context(&work.path().join("pusher"), None);
    let reference = format!("oci://{}/acme/segmenter:1.2", reg.addr);
    let bytes = component(7);
    let file = write_file(work.path(), "seg.wasm", &bytes);
    let pushed = push(&file, &reference, &pusher, &ArtifactOptions::default())
        .await
        .unwrap();
    assert_eq!(pushed.layer_digest, sha256(&bytes));
    assert!(
        pushed
            .reference
            .ends_with(&format!(":1.2@{}", pushed.manifest_digest))
    );
    assert!(
        pushed
            .component
            .exports
            .contains(&"test:demo/api@0.1.0".to_string())
    );

    // A fresh cache: this really pulls.
    let ctx = reg.context(&work.path().join("puller"), None);
    let r = resolve(&reference, &ctx).await.unwrap();
    assert_eq!(std::fs::read(&r.path).unwrap(), bytes);
    assert_eq!(r.digest, sha256(&bytes));
    assert_eq!(r.kind, WasmKind::Component);
    assert_eq!(
        r.reference,
        format!(
            "oci://{}/acme/segmenter:1.2@{}",
            reg.addr, pushed.manifest_digest
        )
    );
    assert!(
        r.path
            .starts_with(ctx.settings.cache_dir.join("blobs/sha256"))
    );
    assert!(matches!(
        r.source,
        Source::Registry {
            from_cache: false,
            ..
        }
    ));

    // Again: a cache hit, no registry.
    let again = resolve(&reference, &ctx).await.unwrap();
    assert!(matches!(
        again.source,
        Source::Registry {
            from_cache: true,
            ..
        }
    ));

    // By digest, in yet another fresh cache.
    let by_digest = format!(
        "oci://{}/acme/segmenter@{}",
        reg.addr, pushed.manifest_digest
    );
    let ctx2 = reg.context(&work.path().join("puller2"), None);
    let r = resolve(&by_digest, &ctx2).await.unwrap();
    assert_eq!(std::fs::read(&r.path).unwrap(), bytes);

    // `pull` contacts the registry even when cached.
    let p = flowhost_registry::pull(&reference, &ctx).await.unwrap();
    assert!(matches!(
        p.source,
        Source::Registry {
            from_cache: false,
            ..
        }
    ));

    // A new push to the same tag is seen with --pull always, not with missing.
    let (bytes2, _) = push_component(&pusher, work.path(), 8, &reference).await;
    let stale = resolve(&reference, &ctx).await.unwrap();
    assert_eq!(std::fs::read(&stale.path).unwrap(), bytes);
    let fresh = resolve(
        &reference,
        &ctx.clone().with_pull_policy(PullPolicy::Always),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&fresh.path).unwrap(), bytes2);
}

#[tokio::test]
async fn hub_through_a_configured_hub() {
    let reg = plain();
    let work = tempfile::tempdir().unwrap();
    let mut ctx = reg.context(&work.path().join("a"), None);
    ctx.settings.hub = Some(HubConfig::new(&reg.addr, "acme").unwrap());
    let (bytes, digest) = push_component(&ctx, work.path(), 3, "hub://encoder:1.0").await;

    // Configured through the environment this time, in a fresh cache.
    let root = work.path().join("b");
    let addr = reg.addr.clone();
    let root_s = root.to_str().unwrap().to_string();
    let env = move |k: &str| match k {
        "FLOWHOST_HUB" => Some(format!("{addr}/acme")),
        "FLOWHOST_CACHE_DIR" => Some(format!("{root_s}/cache")),
        "FLOWHOST_CONFIG_DIR" => Some(root_s.clone()),
        _ => None,
    };
    let mut ctx_b = ResolveContext::new(Settings::load_with(&env).unwrap());
    ctx_b.progress = false;
    // Hermetic: not the machine's ~/.docker/config.json.
    ctx_b.credentials = flowhost_registry::auth::CredentialSources::none();
    let r = resolve("hub://encoder:1.0", &ctx_b).await.unwrap();
    assert_eq!(std::fs::read(&r.path).unwrap(), bytes);
    assert_eq!(
        r.reference,
        format!("oci://{}/acme/encoder:1.0@{digest}", reg.addr)
    );

    // The same component is also plain oci:// under the namespace.
    let r = resolve(&format!("oci://{}/acme/encoder:1.0", reg.addr), &ctx_b)
        .await
        .unwrap();
    assert_eq!(r.digest, sha256(&bytes));
}

#[tokio::test]
async fn basic_auth_and_tls() {
    let reg = TestRegistry::start(RegistryOptions {
        user: Some(("alice".into(), "s3cret".into())),
        tls: true,
    });
    let work = tempfile::tempdir().unwrap();
    let reference = format!("oci://{}/acme/secure:1.0", reg.addr);

    // login checks the credentials and stores them in flowhost's file.
    let ctx = reg.context(&work.path().join("a"), None);
    let err = login(&reg.addr, "alice", "wrong", &ctx).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    let file = login(&reg.addr, "alice", "s3cret", &ctx).await.unwrap();
    assert!(std::fs::read_to_string(&file).unwrap().contains(&reg.addr));

    // A new context (fresh connections) reads the stored credentials.
    let ctx = reg.context(&work.path().join("a"), None);
    let (bytes, _) = push_component(&ctx, work.path(), 11, &reference).await;
    let fresh = reg.context(&work.path().join("b"), Some(("alice", "s3cret")));
    let r = resolve(&reference, &fresh).await.unwrap();
    assert_eq!(std::fs::read(&r.path).unwrap(), bytes);

    // Wrong credentials: named reference, named registry.
    let wrong = reg.context(&work.path().join("c"), Some(("alice", "nope")));
    let err = resolve(&reference, &wrong).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{reference}: unauthorized: wrong credentials for {}",
            reg.addr
        )
    );
    let err = push(
        &write_file(work.path(), "x.wasm", &component(12)),
        &reference,
        &wrong,
        &ArtifactOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");

    // No credentials at all.
    let anon = reg.context(&work.path().join("d"), None);
    let err = resolve(&reference, &anon).await.unwrap_err();
    assert!(matches!(err, Error::CredentialsRequired { .. }), "{err}");
    assert!(
        err.to_string().starts_with(&reference) && err.to_string().contains("flowhost login"),
        "{err}"
    );

    // Without the CA the certificate is not trusted, and we do not fall back to plain HTTP.
    let mut untrusting = reg.context(&work.path().join("e"), Some(("alice", "s3cret")));
    untrusting.settings.ca_certs.clear();
    let err = resolve(&reference, &untrusting).await.unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert!(err.to_string().starts_with(&reference), "{err}");
}

#[tokio::test]
async fn missing_tag_and_missing_digest_are_not_found() {
    let reg = plain();
    let work = tempfile::tempdir().unwrap();
    let ctx = reg.context(work.path(), None);
    push_component(
        &ctx,
        work.path(),
        1,
        &format!("oci://{}/acme/foo:1.0", reg.addr),
    )
    .await;

    let missing = format!("oci://{}/acme/foo:2.0", reg.addr);
    let err = resolve(&missing, &ctx).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{missing}: not found")),
        "{err}"
    );
    assert!(err.to_string().contains("tag 2.0"), "{err}");

    let no_repo = format!("oci://{}/acme/nothing:1.0", reg.addr);
    let err = resolve(&no_repo, &ctx).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");

    let d = sha256(b"no such manifest");
    let by_digest = format!("oci://{}/acme/foo@{d}", reg.addr);
    let err = resolve(&by_digest, &ctx).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(err.to_string().starts_with(&by_digest), "{err}");
}

#[tokio::test]
async fn corrupt_blob_in_the_registry_is_rejected_and_not_cached() {
    let reg = plain();
    let work = tempfile::tempdir().unwrap();
    let pusher = reg.context(&work.path().join("p"), None);
    let reference = format!("oci://{}/acme/corrupt:1.0", reg.addr);
    let (bytes, _) = push_component(&pusher, work.path(), 5, &reference).await;

    // Flip the stored layer's bytes (same length) behind the registry's back.
    let layer = sha256(&bytes);
    let data = reg.blob_data_path(&layer);
    let mut tampered = std::fs::read(&data).unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    std::fs::write(&data, &tampered).unwrap();

    let ctx = reg.context(&work.path().join("c"), None);
    let err = resolve(&reference, &ctx).await.unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{reference}: digest mismatch")) && msg.contains(&layer),
        "{msg}"
    );
    let cache = ctx.cache();
    assert!(
        !cache.blob_path(&layer).exists(),
        "a mismatching blob must not be cached"
    );
    let tmp = ctx.settings.cache_dir.join("tmp");
    assert_eq!(std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0), 0);
}

#[tokio::test]
async fn tampered_manifest_in_the_registry_is_rejected() {
    let reg = plain();
    let work = tempfile::tempdir().unwrap();
    let pusher = reg.context(&work.path().join("p"), None);
    let reference = format!("oci://{}/acme/tampered:1.0", reg.addr);
    let (_, digest) = push_component(&pusher, work.path(), 6, &reference).await;

    // Same JSON shape, one annotation character changed: the registry still serves it under
    // the old digest.
    let data = reg.blob_data_path(&digest);
    let text = std::fs::read_to_string(&data).unwrap();
    let tampered = text.replacen("\"1.0\"", "\"1.1\"", 1);
    assert_ne!(text, tampered);
    std::fs::write(&data, tampered).unwrap();

    let ctx = reg.context(&work.path().join("c"), None);
    for uses in [
        reference.clone(),
        format!("oci://{}/acme/tampered@{digest}", reg.addr),
    ] {
        let err = resolve(&uses, &ctx).await.unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{uses}: {err}");
        assert!(
            err.to_string()
                .starts_with(&format!("{uses}: digest mismatch")),
            "{err}"
        );
    }
    assert!(!ctx.cache().blob_path(&digest).exists());
}

#[tokio::test]
async fn corrupt_cache_entry_is_pulled_again_or_reported() {
    let reg = plain();
    let work = tempfile::tempdir().unwrap();
    let ctx = reg.context(work.path(), None);
    let reference = format!("oci://{}/acme/c:1", reg.addr);
    let (bytes, _) = push_component(&ctx, work.path(), 9, &reference).await;
    let r = resolve(&reference, &ctx).await.unwrap();
    std::fs::write(&r.path, b"\0asm garbage").unwrap();

    let never = ctx.clone().with_pull_policy(PullPolicy::Never);
    let err = resolve(&reference, &never).await.unwrap_err();
    assert!(matches!(err, Error::CacheCorrupt { .. }), "{err}");
    assert!(err.to_string().contains(r.path.to_str().unwrap()), "{err}");

    let again = resolve(&reference, &ctx).await.unwrap();
    assert_eq!(std::fs::read(&again.path).unwrap(), bytes);
}

#[tokio::test]
async fn registry_down_cached_tag_still_runs() {
    let mut reg = plain();
    let work = tempfile::tempdir().unwrap();
    let ctx = reg.context(work.path(), None);
    let reference = format!("oci://{}/acme/offline:1.0", reg.addr);
    let (bytes, _) = push_component(&ctx, work.path(), 4, &reference).await;
    resolve(&reference, &ctx).await.unwrap();
    reg.stop();

    // Fresh connections, registry gone.
    let ctx = reg.context(work.path(), None);
    for policy in [PullPolicy::Always, PullPolicy::Missing, PullPolicy::Never] {
        let r = resolve(&reference, &ctx.clone().with_pull_policy(policy))
            .await
            .unwrap();
        assert_eq!(std::fs::read(&r.path).unwrap(), bytes, "{policy}");
    }
    let uncached = format!("oci://{}/acme/offline:2.0", reg.addr);
    let err = resolve(&uncached, &ctx).await.unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{uncached}: registry {} is unreachable", reg.addr)),
        "{err}"
    );
    let err = push(
        &write_file(work.path(), "y.wasm", &bytes),
        &uncached,
        &ctx,
        &ArtifactOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
}

#[tokio::test]
async fn docker_image_copied_by_skopeo() {
    let reg = plain();
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let wasm = component(21);
    support::oci_layout_with_wasm(&layout, "v1", "app.wasm", &wasm);
    let out = skopeo()
        .args(["copy", "--all", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(format!("docker://{}/ns/img:tag", reg.addr))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        reg.log_text()
    );
    let ctx = reg.context(work.path(), None);
    let reference = format!("docker://{}/ns/img:tag", reg.addr);
    let r = resolve(&reference, &ctx).await.unwrap();
    assert_eq!(std::fs::read(&r.path).unwrap(), wasm);
    assert_eq!(r.digest, sha256(&wasm));
    // Offline, the cache alone resolves it again.
    let r = resolve(&reference, &ctx.clone().with_pull_policy(PullPolicy::Never))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&r.path).unwrap(), wasm);
}

#[tokio::test]
async fn skopeo_reads_what_we_pushed() {
    let reg = plain();
    let work = tempfile::tempdir().unwrap();
    let ctx = reg.context(work.path(), None);
    let reference = format!("oci://{}/acme/interop:1.0", reg.addr);
    let (bytes, digest) = push_component(&ctx, work.path(), 2, &reference).await;

    let target = format!("docker://{}/acme/interop:1.0", reg.addr);
    let raw = skopeo()
        .args(["inspect", "--raw", "--tls-verify=false", &target])
        .output()
        .unwrap();
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    assert_eq!(
        sha256(&raw.stdout),
        digest,
        "skopeo sees the manifest we pushed"
    );
    let m: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(m["layers"][0]["mediaType"], "application/wasm");
    assert_eq!(m["layers"][0]["digest"], sha256(&bytes));
    assert_eq!(m["annotations"]["org.opencontainers.image.version"], "1.0");

    // (Plain `skopeo inspect` refuses any non-image artifact by design: "unsupported
    // image-specific operation on artifact"; the raw manifest and config are what it reads.)
    let config = skopeo()
        .args([
            "inspect",
            "--config",
            "--raw",
            "--tls-verify=false",
            &target,
        ])
        .output()
        .unwrap();
    assert!(
        config.status.success(),
        "{}",
        String::from_utf8_lossy(&config.stderr)
    );
    let c: serde_json::Value = serde_json::from_slice(&config.stdout).unwrap();
    assert_eq!(c["os"], "wasip2");
    assert!(
        c["component"]["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "test:demo/clock@0.1.0")
    );

    // And skopeo can copy it out, byte for byte.
    let out_dir = work.path().join("copied");
    let copy = skopeo()
        .args(["copy", "--src-tls-verify=false", &target])
        .arg(format!("oci:{}:x", out_dir.display()))
        .output()
        .unwrap();
    assert!(
        copy.status.success(),
        "{}",
        String::from_utf8_lossy(&copy.stderr)
    );
    let blob = out_dir
        .join("blobs/sha256")
        .join(sha256(&bytes).strip_prefix("sha256:").unwrap());
    assert_eq!(std::fs::read(blob).unwrap(), bytes);
}

#[test]
fn inspect_shows_exports_imports_and_digest() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = component(1);
    let file = write_file(dir.path(), "c.wasm", &bytes);
    let info = inspect_file(&file).unwrap();
    assert_eq!(info.kind, WasmKind::Component);
    assert_eq!(info.digest, sha256(&bytes));
    assert_eq!(info.exports, vec!["test:demo/api@0.1.0"]);
    assert_eq!(info.imports, vec!["test:demo/clock@0.1.0"]);
    let text = info.to_string();
    assert!(text.contains("exports:\n  test:demo/api@0.1.0"), "{text}");

    let module =
        wat::parse_str(r#"(module (import "env" "f" (func)) (func (export "run")))"#).unwrap();
    let m = flowhost_registry::inspect_bytes(&module, "m.wasm").unwrap();
    assert_eq!(
        (m.kind, m.exports.clone(), m.imports.clone()),
        (
            WasmKind::Module,
            vec!["run".to_string()],
            vec!["env#f".to_string()]
        )
    );
    let err = flowhost_registry::inspect_bytes(b"nope", "n.wasm").unwrap_err();
    assert_eq!(err.to_string(), "n.wasm: not a WebAssembly binary");
}

#[tokio::test]
async fn concurrent_resolves_share_one_context_and_cache() {
    let reg = plain();
    let work = tempfile::tempdir().unwrap();
    let ctx = reg.context(work.path(), None);
    let mut expected = Vec::new();
    for n in 0..3 {
        let reference = format!("oci://{}/acme/exec-{n}:1.0", reg.addr);
        let (bytes, _) = push_component(&ctx, work.path(), 100 + n, &reference).await;
        expected.push((reference, bytes));
    }
    // Replicas and executors resolved at once, as a flow starting up does, on spawned tasks.
    let mut tasks = Vec::new();
    for (reference, bytes) in expected.iter().chain(expected.iter()) {
        let (ctx, reference, bytes) = (ctx.clone(), reference.clone(), bytes.clone());
        tasks.push(tokio::spawn(async move {
            let r = resolve(&reference, &ctx).await.unwrap();
            assert_eq!(std::fs::read(&r.path).unwrap(), bytes);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}
