//! Dynamic batching on and off, side by side in one run: 16 concurrent clients, each
//! sending one-document requests back to back, against one executor whose cost is per
//! call, not per document (`slow_guest` with `call_us`, as a model's forward pass is).
//!
//! Printed per setup: throughput, latency percentiles, and the ratio to no batching; then
//! the latency bound `uses_dynamic_batching` promises, its `timeout` plus one call (one
//! call measured alone, in the same run).
//!
//! `bash scripts/build-guests.sh && cargo bench -p flowhost --bench batching`
//! (`-- --quick` for a short run).

use std::sync::Arc;
use std::time::{Duration, Instant};

use flowhost::deploy::{DeployOptions, RunningFlow};
use flowhost_docs as docs;
use flowhost_flow::{Flow, LoadOptions};
use flowhost_runtime::{Runtime, RuntimeConfig};
use flowhost_wire::{Request, Status};

const CLIENTS: usize = 16;
const CALL_US: u64 = 1000;
const TIMEOUT_MS: u64 = 10;

fn flow(batching: Option<usize>) -> Flow {
    let guest = flowhost_test_support::guest("slow_guest");
    let mut yaml = format!(
        "jtype: Flow\nexecutors:\n- name: model\n  uses: {}\n  uses_with: {{call_us: {CALL_US}}}\n",
        guest.display()
    );
    if let Some(size) = batching {
        yaml.push_str(&format!(
            "  uses_dynamic_batching:\n    /:\n      preferred_batch_size: {size}\n      timeout: {TIMEOUT_MS}\n"
        ));
    }
    Flow::from_yaml_str(&yaml, "bench.yml", &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn deploy(flow: Flow, runtime: &Arc<Runtime>) -> RunningFlow {
    let options = DeployOptions::new(flowhost_test_support::workspace_root(), runtime.clone());
    RunningFlow::start(flow, options)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn one_request(running: &RunningFlow, id: usize) -> Duration {
    let began = Instant::now();
    let request = Request::new("/", docs::batch_of([docs::document(format!("d{id}"))]));
    let response = running.router().process(request).await;
    if let Status::Error(error) = &response.status {
        panic!("request failed: {}", error.description);
    }
    began.elapsed()
}

struct Run {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(index).copied().unwrap_or_default()
    }
}

/// `CLIENTS` clients, each sending requests one after another for `length`.
async fn load(running: &Arc<RunningFlow>, length: Duration) -> Run {
    let began = Instant::now();
    let clients = (0..CLIENTS).map(|client| {
        let running = running.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0;
            while began.elapsed() < length {
                latencies.push(one_request(&running, client * 1_000_000 + n).await);
                n += 1;
            }
            latencies
        })
    });
    let mut latencies: Vec<Duration> = futures::future::join_all(clients)
        .await
        .into_iter()
        .flat_map(|client| client.unwrap_or_default())
        .collect();
    let elapsed = began.elapsed();
    latencies.sort();
    Run {
        requests: latencies.len(),
        elapsed,
        latencies,
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let length = if quick {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(3)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let engine = Arc::new(Runtime::new(RuntimeConfig::default()).unwrap_or_else(|e| panic!("{e}")));
        let plain = Arc::new(deploy(flow(None), &engine).await);
        let batched = Arc::new(deploy(flow(Some(CLIENTS)), &engine).await);

        // One call alone: the latency bound's second term.
        for i in 0..20 {
            one_request(&plain, i).await;
        }
        let mut alone: Vec<Duration> = Vec::new();
        for i in 0..200 {
            alone.push(one_request(&plain, i).await);
        }
        alone.sort();
        let one_call = alone[alone.len() / 2];

        // Warm both, then measure each twice, alternating, to even out a noisy machine.
        load(&plain, Duration::from_millis(200)).await;
        load(&batched, Duration::from_millis(200)).await;
        let mut runs = Vec::new();
        for _ in 0..2 {
            runs.push(("off", load(&plain, length).await));
            runs.push(("on", load(&batched, length).await));
        }

        println!(
            "{CLIENTS} clients, 1-document requests, executor cost {CALL_US} us per call; batching: preferred_batch_size {CLIENTS}, timeout {TIMEOUT_MS} ms\n"
        );
        println!("| batching | requests/s | p50 | p99 | max | vs off |");
        println!("|---|---|---|---|---|---|");
        let best = |label: &str| {
            runs.iter()
                .filter(|(l, _)| *l == label)
                .map(|(_, run)| run.rps())
                .fold(0.0, f64::max)
        };
        let off = best("off");
        for (label, run) in &runs {
            println!(
                "| {label} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2}x |",
                run.rps(),
                run.percentile(0.5).as_secs_f64() * 1e3,
                run.percentile(0.99).as_secs_f64() * 1e3,
                run.latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
                run.rps() / off
            );
        }
        let bound = Duration::from_millis(TIMEOUT_MS) + one_call;
        let worst_p99 = runs
            .iter()
            .filter(|(l, _)| *l == "on")
            .map(|(_, run)| run.percentile(0.99))
            .max()
            .unwrap_or_default();
        println!(
            "\nthroughput, batching on / off (best runs): {:.2}x\none call alone: {:.2} ms; timeout + one call: {:.2} ms; batched p99: {:.2} ms ({})",
            best("on") / off,
            one_call.as_secs_f64() * 1e3,
            bound.as_secs_f64() * 1e3,
            worst_p99.as_secs_f64() * 1e3,
            if worst_p99 <= bound { "within" } else { "above" }
        );
        for running in [plain, batched] {
            if let Ok(running) = Arc::try_unwrap(running) {
                running.close().await;
            }
        }
    });
}
