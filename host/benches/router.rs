//! Router benchmarks: cost per hop for chains of 1, 3 and 10 executors (Wasm
//! no-ops, and built-in pass-throughs to isolate the router itself), the
//! diamond, and a diamond of two 10 ms executors (branches must overlap).
//!
//! `bash scripts/build-guests.sh && cargo bench -p flowhost --bench router`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use flowhost::deploy::{DeployOptions, RunningFlow};
use flowhost_docs::{self as docs, DocumentBatch};
use flowhost_flow::{ExecutorSpec, Flow};
use flowhost_router::Router;
use flowhost_runtime::{Runtime, RuntimeConfig};
use flowhost_wire::Request;

fn guest(name: &str) -> String {
    flowhost_test_support::guest(name).display().to_string()
}

fn chain(n: usize, wasm: bool) -> Flow {
    (0..n).fold(Flow::new(), |flow, i| {
        let executor = ExecutorSpec::new(format!("e{i}"));
        flow.add(if wasm {
            executor.uses(guest("noop_executor"))
        } else {
            executor
        })
    })
}

fn diamond(uses: Option<&str>) -> Flow {
    let node = |name: &str| {
        let executor = ExecutorSpec::new(name);
        match uses {
            Some(u) => executor.uses(u),
            None => executor,
        }
    };
    Flow::new()
        .add(node("first"))
        .add(node("a").needs("first"))
        .add(node("b").needs("first"))
        .add(ExecutorSpec::new("join").needs(["a", "b"]))
}

/// Runs `iters` requests one after another from a task on a runtime worker,
/// as the gateway does (a request driven from the `block_on` thread would pay
/// a cross-thread wake-up on every hop that a served request does not).
fn timed_on_worker(
    rt: &tokio::runtime::Runtime,
    router: &Arc<Router>,
    docs: &DocumentBatch,
    iters: u64,
) -> Duration {
    let router = router.clone();
    let docs = docs.clone();
    rt.block_on(rt.spawn(async move {
        let began = Instant::now();
        for _ in 0..iters {
            let response = router.process(Request::new("/", docs.clone())).await;
            assert!(!response.status.is_error());
        }
        began.elapsed()
    }))
    .expect("bench task")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let cache = tempfile::tempdir().expect("tempdir");
    let runtime = Arc::new(
        Runtime::new(RuntimeConfig {
            cache_dir: Some(cache.path().to_owned()),
            ..RuntimeConfig::default()
        })
        .expect("runtime"),
    );
    let deploy = |flow: Flow| {
        rt.block_on(RunningFlow::start(
            flow,
            DeployOptions::new(".", runtime.clone()),
        ))
        .expect("deploy")
    };
    let one = docs::batch_of([{
        let mut d = docs::document("d");
        d.text = Some("hello".into());
        d
    }]);

    let mut group = c.benchmark_group("router");
    for (label, wasm) in [("wasm no-op", true), ("pass-through", false)] {
        for n in [1usize, 3, 10] {
            let flow = deploy(chain(n, wasm));
            group.bench_with_input(
                BenchmarkId::new(format!("chain ({label})"), n),
                &n,
                |b, _| b.iter_custom(|iters| timed_on_worker(&rt, flow.router(), &one, iters)),
            );
        }
    }
    let flow = deploy(diamond(Some(&guest("noop_executor"))));
    group.bench_function("diamond (wasm no-op)", |b| {
        b.iter_custom(|iters| timed_on_worker(&rt, flow.router(), &one, iters))
    });
    group.finish();

    // Two 10 ms branches: the diamond should take ~10 ms, not ~20 ms.
    let mut group = c.benchmark_group("overlap");
    group.sample_size(20);
    let slow = Flow::new()
        .add(ExecutorSpec::new("first"))
        .add(
            ExecutorSpec::new("a")
                .uses(guest("noop_executor"))
                .needs("first"),
        )
        .add(
            ExecutorSpec::new("b")
                .uses(guest("noop_executor"))
                .needs("first"),
        )
        .add(ExecutorSpec::new("join").needs(["a", "b"]));
    let flow = deploy(slow);
    let parameters = serde_json::json!({"sleep_ms": 10})
        .as_object()
        .cloned()
        .unwrap_or_default();
    group.bench_function("diamond of two 10 ms executors", |b| {
        b.iter(|| {
            rt.block_on(
                flow.router().process(
                    Request::new("/slow", one.clone()).with_parameters(parameters.clone()),
                ),
            )
        })
    });
    let single = deploy(Flow::new().add(ExecutorSpec::new("a").uses(guest("noop_executor"))));
    group.bench_function("one 10 ms executor", |b| {
        b.iter(|| {
            rt.block_on(
                single.router().process(
                    Request::new("/slow", one.clone()).with_parameters(parameters.clone()),
                ),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
