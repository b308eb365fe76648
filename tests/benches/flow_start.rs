//! Starting a flow of three `oci://` executors: cold (pull from a real
//! registry on loopback, verify, compile) against warm (registry cache and
//! compile cache both hit).
//!
//! Needs `scripts/install-test-deps.sh` (the registry server) and the guests:
//! `cargo bench -p flowhost-tests --bench flow_start`

#[path = "../../registry/tests/support/mod.rs"]
mod registry_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use flowhost::deploy::{DeployOptions, RegistryResolver, RunningFlow};
use flowhost_flow::{ExecutorSpec, Flow};
use flowhost_registry::{ArtifactOptions, ResolveContext};
use flowhost_runtime::{Runtime, RuntimeConfig};
use registry_support::{RegistryOptions, TestRegistry};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let registry = TestRegistry::start(RegistryOptions::default());
    let home = tempfile::tempdir().expect("tempdir");
    let pusher = registry.context(home.path(), None);
    let mut flow = Flow::new();
    for (i, guest) in ["foo_executor", "bar_executor", "indexer"]
        .iter()
        .enumerate()
    {
        let reference = format!("oci://{}/bench/e{i}:1.0", registry.addr);
        rt.block_on(flowhost_registry::push(
            &flowhost_test_support::guest(guest),
            &reference,
            &pusher,
            &ArtifactOptions::default(),
        ))
        .expect("push");
        flow = flow.add(ExecutorSpec::new(format!("e{i}")).uses(reference));
    }

    let start = |root: &std::path::Path| -> Duration {
        let context: ResolveContext = registry.context(root, None);
        let runtime = Arc::new(
            Runtime::new(RuntimeConfig {
                cache_dir: Some(root.join("compiled")),
                ..RuntimeConfig::default()
            })
            .expect("runtime"),
        );
        let mut options = DeployOptions::new(".", runtime);
        options.remote = Some(Arc::new(RegistryResolver::new(context)));
        let began = Instant::now();
        let running = rt
            .block_on(RunningFlow::start(flow.clone(), options))
            .expect("start");
        let took = began.elapsed();
        rt.block_on(running.close());
        took
    };

    let mut group = c.benchmark_group("flow of three oci:// executors");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("cold start (pull + verify + compile)", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let fresh = tempfile::tempdir().expect("tempdir");
                    start(fresh.path())
                })
                .sum()
        })
    });
    let warm = tempfile::tempdir().expect("tempdir");
    start(warm.path());
    group.bench_function("warm start (cache hits)", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| start(warm.path())).sum())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
