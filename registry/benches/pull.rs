//! Cold start against warm start, registry side: resolving a flow's three `oci://`
//! executors with an empty cache (pull: manifests, blobs, verification) and with a warm one
//! (cache hit: verify the cached blob only). Compilation is the runtime's part and is
//! measured by the host's benchmarks; add the two for a flow's start-up.
//!
//! `cargo bench -p flowhost-registry --bench pull` (needs scripts/install-test-deps.sh).
//! `FLOWHOST_BENCH_MIB` sets each component's size (default 4 MiB), `FLOWHOST_BENCH_ITERS`
//! the iterations (default 10).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use flowhost_registry::{ArtifactOptions, PullPolicy, push, resolve};
use support::{RegistryOptions, TestRegistry, component, write_file};

/// A component padded with a custom section to `mib` MiB, so transfer and hashing costs
/// resemble a real executor's.
fn padded_component(n: u32, mib: usize) -> Vec<u8> {
    let mut bytes = component(n);
    let name = b"flowhost-bench-padding";
    let payload_len = (mib * 1024 * 1024).saturating_sub(bytes.len());
    let mut section = Vec::new();
    leb128(&mut section, name.len() as u64);
    section.extend_from_slice(name);
    section.resize(section.len() + payload_len, 0x5a);
    bytes.push(0); // custom section id
    leb128(&mut bytes, section.len() as u64);
    bytes.extend_from_slice(&section);
    bytes
}

fn leb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mib: usize = std::env::var("FLOWHOST_BENCH_MIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let iters: usize = std::env::var("FLOWHOST_BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let reg = TestRegistry::start(RegistryOptions::default());
    let work = tempfile::tempdir().expect("tempdir");
    let pusher = reg.context(&work.path().join("pusher"), None);

    let refs: Vec<String> = (0..3)
        .map(|i| format!("oci://{}/bench/executor-{i}:1.0", reg.addr))
        .collect();
    rt.block_on(async {
        for (i, r) in refs.iter().enumerate() {
            let file = write_file(
                work.path(),
                &format!("e{i}.wasm"),
                &padded_component(i as u32, mib),
            );
            push(&file, r, &pusher, &ArtifactOptions::default())
                .await
                .expect("push");
        }
    });

    let resolve_all = |ctx: flowhost_registry::ResolveContext| {
        let refs = refs.clone();
        rt.block_on(async move {
            let start = Instant::now();
            let all = refs.iter().map(|r| resolve(r, &ctx));
            for r in futures_join(all).await {
                r.expect("resolve");
            }
            start.elapsed()
        })
    };

    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for i in 0..iters {
        let root = work.path().join(format!("run-{i}"));
        cold.push(resolve_all(reg.context(&root, None)));
        warm.push(resolve_all(
            reg.context(&root, None)
                .with_pull_policy(PullPolicy::Missing),
        ));
    }
    let (c, w) = (median(cold), median(warm));
    println!("registry resolve, 3 oci:// executors of {mib} MiB each, median of {iters}:");
    println!(
        "  cold (empty cache, pull + verify): {:>8.2} ms",
        c.as_secs_f64() * 1e3
    );
    println!(
        "  warm (cache hit, verify only):     {:>8.2} ms",
        w.as_secs_f64() * 1e3
    );
}

/// Run futures concurrently on the current task (a flow resolves its executors together).
async fn futures_join<F: std::future::Future>(fs: impl Iterator<Item = F>) -> Vec<F::Output> {
    futures_util::future::join_all(fs).await
}
