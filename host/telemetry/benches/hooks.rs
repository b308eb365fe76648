//! What `monitoring: true` adds to one request, hook by hook: the gateway's request meter and
//! an executor call's meter, each against reading the clock as often as they do.
//!
//! `cargo bench -p flowhost-telemetry --bench hooks`

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
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
    group.bench_function("gateway request", |b| {
        b.iter(|| {
            let meter = gateway.request(Front::Grpc, black_box("/"), 120);
            meter.finish(None, black_box(130));
        })
    });
    group.bench_function("executor call, instance free", |b| {
        b.iter(|| {
            let mut call = instance.queued();
            call.started();
            call.finished(black_box("/"), 1, CallOutcome::Ok);
        })
    });
    group.finish();
}

criterion_group!(benches, hooks);
criterion_main!(benches);
