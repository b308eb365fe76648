//! Executors in every language, side by side in one run: component size, cold compile,
//! warm load (a compile-cache hit), instantiation alone (store and instance, before the
//! guest's `init`), replica start (instantiate, `init`, `describe`, the instance's task),
//! a 1-document call, a call with
//! 100 × 512 float32 embeddings, and the resident memory each extra replica adds.
//!
//! Needs every language's components: `bash scripts/build-guests.sh`,
//! `bash scripts/install-toolchains.sh all`, `bash scripts/build-polyglot.sh`, then
//! `cargo bench -p flowhost --bench polyglot` (`-- --quick` for CI's short form; a
//! language list such as `-- python js` picks some). Prints a Markdown table.
//!
//! The 1-document call is each language's Foo (decode one document, append one, encode
//! two); the 100 × 512 call is the conformance executor's `/roundtrip` (every document
//! into the SDK's type and back); the host side of both is the same for every language.
//!
//! `python-floor` and `js-floor` are the toolchains' floors (`tests/floors`, built by
//! `bash scripts/build-polyglot.sh floors`): no SDK, `init` does nothing and `call` hands
//! its batch straight back, for both calls. Beside them, a row shows what the SDK adds
//! to what the toolchain itself costs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowhost_docs::{self as docs, DocumentBatch, Dtype, Tensor};
use flowhost_runtime::bench_support::DirectInstance;
use flowhost_runtime::{Executor, InstanceConfig, Runtime, RuntimeConfig};

struct Plan {
    calls_1: usize,
    calls_100: usize,
    replicas: usize,
}

/// A language's 1-document executor, the one that takes 100 × 512 embeddings, and the
/// latter's method and endpoint.
struct Components {
    appender: PathBuf,
    roundtrip: PathBuf,
    roundtrip_method: &'static str,
    roundtrip_endpoint: &'static str,
}

fn components(language: &str) -> Components {
    match language {
        "rust" => Components {
            appender: flowhost_test_support::guest("foo_executor"),
            roundtrip: flowhost_test_support::guest("conformance_rust"),
            roundtrip_method: "roundtrip",
            roundtrip_endpoint: "/roundtrip",
        },
        floor if floor.ends_with("-floor") => {
            let component = flowhost_test_support::polyglot(floor, "floor");
            Components {
                appender: component.clone(),
                roundtrip: component,
                roundtrip_method: "echo",
                roundtrip_endpoint: "/index",
            }
        }
        _ => Components {
            appender: flowhost_test_support::polyglot(language, "foo"),
            roundtrip: flowhost_test_support::polyglot(language, "conformance"),
            roundtrip_method: "roundtrip",
            roundtrip_endpoint: "/roundtrip",
        },
    }
}

fn runtime(cache: Option<PathBuf>) -> Arc<Runtime> {
    Arc::new(
        Runtime::new(RuntimeConfig {
            cache_dir: cache,
            ..RuntimeConfig::default()
        })
        .expect("runtime"),
    )
}

fn embedding_batch(count: usize, dim: usize) -> DocumentBatch {
    docs::batch_of((0..count).map(|i| {
        let mut doc = docs::document(format!("doc-{i}"));
        doc.embedding = Some(Tensor {
            dtype: Dtype::Float32,
            shape: vec![dim as u32],
            data: (0..dim)
                .flat_map(|j| ((i * j) as f32 * 0.001).to_le_bytes())
                .collect(),
        });
        doc
    }))
}

fn one_doc() -> DocumentBatch {
    let mut doc = docs::document("d0");
    doc.text = Some("hello world".into());
    docs::batch_of([doc])
}

/// Resident set size, from /proc (Linux).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

async fn time_calls(
    executor: &Executor,
    method: &str,
    endpoint: &str,
    batch: &DocumentBatch,
    calls: usize,
) -> Duration {
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let sent = batch.clone();
        let started = Instant::now();
        let out = executor
            .call(method, endpoint, sent, "{}")
            .await
            .unwrap_or_else(|failure| panic!("{}: {failure}", executor.name()));
        samples.push(started.elapsed());
        std::hint::black_box(out);
    }
    median(samples)
}

fn method_for(executor: &Executor, endpoint: &str) -> String {
    let description = executor.description();
    description
        .methods
        .iter()
        .find(|m| m.endpoints.iter().any(|e| e == endpoint))
        .map(|m| m.name.clone())
        .or_else(|| description.catch_all.clone())
        .expect("a method for the endpoint")
}

struct Row {
    language: String,
    size: u64,
    cold: Duration,
    warm: Duration,
    instantiate: Duration,
    start: Duration,
    call_1: Duration,
    call_100: Duration,
    rss_per_replica: u64,
}

async fn measure(language: &str, plan: &Plan, cache: &tempfile::TempDir) -> Row {
    let Components {
        appender,
        roundtrip: conformance,
        roundtrip_method,
        roundtrip_endpoint,
    } = components(language);
    let size = std::fs::metadata(&appender).map(|m| m.len()).unwrap_or(0);

    let uncached = runtime(None);
    let started = Instant::now();
    uncached.load(&appender).expect("cold compile");
    let cold = started.elapsed();
    drop(uncached);

    let cached = runtime(Some(cache.path().to_owned()));
    cached.load(&appender).expect("first load fills the cache");
    cached.load(&conformance).expect("conformance loads");
    let mut warm = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        std::hint::black_box(cached.load(&appender).expect("warm load"));
        warm.push(started.elapsed());
    }
    let appender_component = cached.load(&appender).expect("load");

    let mut instantiations = Vec::new();
    let instance_config = InstanceConfig::new("bench");
    for _ in 0..10 {
        let started = Instant::now();
        let instance = DirectInstance::instantiate(&appender_component, &instance_config)
            .await
            .expect("instantiates");
        instantiations.push(started.elapsed());
        drop(instance);
    }

    let mut starts = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let executor = Executor::start(appender_component.clone(), InstanceConfig::new("bench"))
            .await
            .expect("start");
        starts.push(started.elapsed());
        drop(executor);
    }

    let executor = Executor::start(appender_component.clone(), InstanceConfig::new("foo"))
        .await
        .expect("start");
    let method = method_for(&executor, "/index");
    let call_1 = time_calls(&executor, &method, "/index", &one_doc(), plan.calls_1).await;

    let conformance_executor = Executor::start(
        cached.load(&conformance).expect("load"),
        InstanceConfig::new("conformance"),
    )
    .await
    .expect("start");
    let batch = embedding_batch(100, 512);
    let call_100 = time_calls(
        &conformance_executor,
        roundtrip_method,
        roundtrip_endpoint,
        &batch,
        plan.calls_100,
    )
    .await;

    // Extra replicas, each having served one call (so its heap is in use, as in a flow).
    let before = rss_bytes();
    let mut replicas = Vec::new();
    for _ in 0..plan.replicas {
        let replica = Executor::start(appender_component.clone(), InstanceConfig::new("replica"))
            .await
            .expect("replica starts");
        time_calls(&replica, &method, "/index", &one_doc(), 1).await;
        replicas.push(replica);
    }
    let rss_per_replica = rss_bytes().saturating_sub(before) / plan.replicas.max(1) as u64;
    drop(replicas);

    Row {
        language: language.to_owned(),
        size,
        cold,
        warm: median(warm),
        instantiate: median(instantiations),
        start: median(starts),
        call_1,
        call_100,
        rss_per_replica,
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `cargo bench` passes `--bench`; anything else not a flag is a language.
    let mut languages: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .collect();
    if languages.is_empty() {
        languages = ["rust", "python", "js", "js-quickjs", "go", "c"]
            .map(String::from)
            .to_vec();
    }
    let plan = if quick {
        Plan {
            calls_1: 50,
            calls_100: 5,
            replicas: 2,
        }
    } else {
        Plan {
            calls_1: 2000,
            calls_100: 100,
            replicas: 20,
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let cache = tempfile::tempdir().expect("temp dir");
    println!(
        "| language | component | cold compile | warm load | instantiate | replica start | 1-doc call | 100×512 f32 call | RSS per extra replica |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for language in &languages {
        let row = rt.block_on(measure(language, &plan, &cache));
        println!(
            "| {} | {} | {:.2?} | {:.2?} | {:.2?} | {:.2?} | {:.1?} | {:.2?} | {} |",
            row.language,
            mib(row.size),
            row.cold,
            row.warm,
            row.instantiate,
            row.start,
            row.call_1,
            row.call_100,
            mib(row.rss_per_replica)
        );
    }
}
