//! Runtime benchmarks: replica instantiation, call round trips, embedding
//! throughput, and component load with a cold compile against a cache hit.
//!
//! Needs the guest components: `bash scripts/build-guests.sh`, then
//! `cargo bench -p flowhost --bench runtime`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flowhost_docs::{self as docs, Dtype, Tensor};
use flowhost_runtime::bench_support::DirectInstance;
use flowhost_runtime::{Executor, InstanceConfig, Runtime, RuntimeConfig};
use flowhost_test_support::guest;

fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn runtime(cache: &tempfile::TempDir) -> Arc<Runtime> {
    Arc::new(
        Runtime::new(RuntimeConfig {
            cache_dir: Some(cache.path().to_owned()),
            ..RuntimeConfig::default()
        })
        .expect("runtime"),
    )
}

fn embedding_batch(docs: usize, dim: usize) -> docs::DocumentBatch {
    docs::batch_of((0..docs).map(|i| {
        let mut doc = docs::document(format!("doc-{i}"));
        doc.embedding = Some(Tensor {
            dtype: Dtype::Float32,
            shape: vec![dim as u32],
            data: (0..dim)
                .flat_map(|j| ((i * j) as f32).to_le_bytes())
                .collect(),
        });
        doc
    }))
}

fn instantiate(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("tempdir");
    let rt = tokio();
    let runtime = runtime(&cache);
    let component = runtime.load(&guest("noop_executor")).expect("load");
    let config = InstanceConfig::new("bench");
    let mut group = c.benchmark_group("instantiate");
    group.bench_function(
        "replica from InstancePre (store + instance, dropped)",
        |b| {
            b.iter(|| {
                rt.block_on(DirectInstance::instantiate(&component, &config))
                    .expect("instantiate")
            })
        },
    );
    group.bench_function("replica started (instantiate + init + describe)", |b| {
        b.iter(|| {
            rt.block_on(DirectInstance::start(component.clone(), &config))
                .expect("start")
        })
    });
    group.finish();
}

fn calls(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("tempdir");
    let rt = tokio();
    let runtime = runtime(&cache);
    let component = runtime.load(&guest("noop_executor")).expect("load");
    let config = InstanceConfig::new("bench");
    let executor = rt
        .block_on(Executor::start(component.clone(), config.clone()))
        .expect("start");
    let mut direct = rt
        .block_on(DirectInstance::start(component, &config))
        .expect("start");
    let mut one = docs::document("one");
    one.text = Some("hello".into());
    let one = docs::batch_of([one]);

    let mut group = c.benchmark_group("call 1 doc");
    group.throughput(Throughput::Elements(1));
    group.bench_function("direct (guest answers unchanged)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let began = Instant::now();
                for _ in 0..iters {
                    direct.call("noop", "/", &one, "{}").await.expect("call");
                }
                began.elapsed()
            })
        })
    });
    group.bench_function("through the executor task (unchanged)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut batch = one.clone();
                let began = Instant::now();
                for _ in 0..iters {
                    batch = executor.call("noop", "/", batch, "{}").await.expect("call");
                }
                began.elapsed()
            })
        })
    });
    group.bench_function("through the executor task (echo: copied back)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut batch = one.clone();
                let began = Instant::now();
                for _ in 0..iters {
                    batch = executor
                        .call("echo", "/echo", batch, "{}")
                        .await
                        .expect("call");
                }
                began.elapsed()
            })
        })
    });
    group.finish();

    let batch = embedding_batch(100, 512);
    let bytes = 100 * 512 * 4;
    let mut group = c.benchmark_group("call 100 docs x 512 f32");
    for (label, method, endpoint) in [("unchanged", "noop", "/"), ("echo", "echo", "/echo")] {
        // The same calls, reported once as documents/s and once as bytes/s.
        for (unit, throughput) in [
            ("docs", Throughput::Elements(100)),
            ("bytes", Throughput::Bytes(bytes)),
        ] {
            group.throughput(throughput);
            group.bench_with_input(BenchmarkId::new(unit, label), &batch, |b, batch| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut batch = batch.clone();
                        let began = Instant::now();
                        for _ in 0..iters {
                            batch = executor
                                .call(method, endpoint, batch, "{}")
                                .await
                                .expect("call");
                        }
                        began.elapsed()
                    })
                })
            });
        }
    }
    group.finish();
}

fn load(c: &mut Criterion) {
    let path = guest("indexer");
    let bytes = std::fs::read(&path).expect("read guest");
    let mut group = c.benchmark_group("load component");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("cold compile", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let cache = tempfile::tempdir().expect("tempdir");
                let runtime = runtime(&cache);
                let began = Instant::now();
                runtime.load_bytes(&path, &bytes).expect("load");
                total += began.elapsed();
            }
            total
        })
    });
    let cache = tempfile::tempdir().expect("tempdir");
    let runtime = runtime(&cache);
    runtime.load_bytes(&path, &bytes).expect("warm the cache");
    group.bench_function("cache hit", |b| {
        b.iter(|| runtime.load_bytes(&path, &bytes).expect("load"))
    });
    group.finish();
}

criterion_group!(benches, instantiate, calls, load);
criterion_main!(benches);
