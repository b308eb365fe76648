//! What `monitoring: true` adds to one request, hook by hook: the gateway's request meter and
//! an executor call's meter, each against reading the clock as often as they do. Each is
//! timed twice: back to back (its lines stay in the core's caches), and after 4 MiB of other
//! memory was read, as a request's own work does between two hooks.
//!
//! `cargo bench -p flowhost-telemetry --bench hooks`

use std::hint::black_box;
use std::time::Instant;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use flowhost_telemetry::{CallOutcome, Front, InstanceLabels, Metrics};

fn hooks(c: &mut Criterion) {
    let metrics = Metrics::new().expect("families register");
    let gateway = metrics.gateway();
    gateway.bind_endpoints(&["/".to_owned()]);
    let instance = metrics.executor(InstanceLabels {
        executor: "e0",
        replica: 0,
        shard: 0,
        shards: 1,
    });
    instance.bind_endpoints(["/"]);

    let mut group = c.benchmark_group("hooks");
    group.bench_function("two clock reads (the floor of timing one span)", |b| {
        b.iter(|| {
            let started = Instant::now();
            black_box(started.elapsed())
        })
    });
    // `/` is bound; `/foo` is answered by a catch-all (Jina's `@requests` without `on=`), so
    // it is found in the table's overflow.
    for (endpoint, case) in [("/", ""), ("/foo", ", catch-all endpoint")] {
        group.bench_function(format!("gateway request{case}"), |b| {
            b.iter(|| {
                let meter = gateway.request(Front::Grpc, black_box(endpoint), 120);
                meter.finish(None, black_box(130));
            })
        });
        group.bench_function(format!("executor call, instance free{case}"), |b| {
            b.iter(|| {
                let running = instance.queued().started_at(Instant::now());
                instance.finished(running, black_box(endpoint), 1, CallOutcome::Ok);
            })
        });
    }
    let mut other_work = vec![1u8; 4 << 20];
    let mut evict = move || {
        // One write per cache line, so the lines are owned (and the hooks' lines evicted).
        for byte in other_work.iter_mut().step_by(64) {
            *byte = byte.wrapping_add(1);
        }
        black_box(&other_work);
    };
    group.bench_function("cold: two clock reads", |b| {
        b.iter_batched(
            &mut evict,
            |()| {
                let started = Instant::now();
                black_box(started.elapsed())
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("cold: gateway request", |b| {
        b.iter_batched(
            &mut evict,
            |()| {
                let meter = gateway.request(Front::Grpc, black_box("/"), 120);
                meter.finish(None, black_box(130));
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("cold: executor call, instance free", |b| {
        b.iter_batched(
            &mut evict,
            |()| {
                let running = instance.queued().started_at(Instant::now());
                instance.finished(running, black_box("/"), 1, CallOutcome::Ok);
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, hooks);
criterion_main!(benches);
