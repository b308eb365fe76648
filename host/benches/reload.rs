//! `flowhost run --watch`: the time from saving a changed component to the first request
//! answered by it, under a steady stream of requests, with the flow's other executors
//! unchanged (kept running, not even reloaded).
//!
//! Two rows, measured in one run, the saves alternating between them:
//! - **new component**: Bar as bytes never seen before (a custom section with a counter
//!   is appended), so the changed component is compiled from scratch;
//! - **compiled before**: back to Foo as first saved, compiled earlier (a compile-cache hit).
//!
//! The watcher waits for the files to settle (10 ms of quiet) before it reloads; that
//! wait is part of every figure.
//!
//! `bash scripts/build-guests.sh && cargo bench -p flowhost --bench reload`
//! (`-- --quick` for a short run).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use flowhost::deploy::watch::{Reloader, WatchAll};
use flowhost::deploy::{DeployOptions, LiveFlow, RunningFlow};
use flowhost_docs as docs;
use flowhost_flow::{Flow, LoadOptions};
use flowhost_gateway::FlowService;
use flowhost_runtime::{Runtime, RuntimeConfig};
use flowhost_wire::Request;
use flowhost_wire::Status;
use tokio::sync::watch;

fn guest(name: &str) -> Vec<u8> {
    std::fs::read(flowhost_test_support::guest(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// `component` with a custom section appended: the same executor, bytes never seen before.
fn fresh(component: &[u8], counter: u32) -> Vec<u8> {
    let name = b"flowhost-bench";
    let payload = counter.to_le_bytes();
    let mut out = component.to_vec();
    out.push(0); // custom section
    out.push((1 + name.len() + payload.len()) as u8);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(&payload);
    out
}

fn save(to: &Path, bytes: &[u8]) {
    let beside = to.with_extension("saving");
    std::fs::write(&beside, bytes).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&beside, to).unwrap_or_else(|e| panic!("{e}"));
}

fn first_text(response: &flowhost_wire::Response) -> String {
    docs::roots(&response.docs)
        .next()
        .and_then(|doc| doc.text.clone())
        .unwrap_or_default()
}

fn load(path: &Path) -> Result<Flow, flowhost_flow::FlowError> {
    Flow::load_checked(path, &LoadOptions::default()).map(|loaded| loaded.flow)
}

/// Saves `bytes` over the component and waits for the first answer starting with `expect`.
async fn swap(
    component: &Path,
    bytes: &[u8],
    expect: &str,
    seen: &watch::Receiver<String>,
) -> Duration {
    let mut seen = seen.clone();
    seen.mark_unchanged();
    let began = Instant::now();
    save(component, bytes);
    loop {
        match tokio::time::timeout(Duration::from_secs(30), seen.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => panic!("the request stream stopped"),
            Err(_) => {
                panic!("no answer `{expect}` 30 s after the save (FLOWHOST_LOG=info shows why)")
            }
        }
        if seen.borrow().starts_with(expect) {
            return began.elapsed();
        }
    }
}

fn summary(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    println!(
        "| {label} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
        times.len(),
        ms(times[0]),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(times[times.len() - 1])
    );
}

fn main() {
    if let Ok(filter) = std::env::var("FLOWHOST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
    let rounds = if std::env::args().any(|a| a == "--quick") {
        4
    } else {
        20
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let flow_file = dir.path().join("flow.yml");
    let component: PathBuf = dir.path().join("exec.wasm");
    let (foo_component, bar_component) = (guest("foo_executor"), guest("bar_executor"));
    save(&component, &foo_component);
    // The changed executor answers first; two unchanged ones after it.
    std::fs::write(
        &flow_file,
        format!(
            "jtype: Flow\nexecutors:\n- name: changed\n  uses: exec.wasm\n- name: kept1\n  uses: {}\n- name: kept2\n  uses: {}\n",
            flowhost_test_support::guest("tagger").display(),
            flowhost_test_support::guest("noop_executor").display(),
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let engine =
            Arc::new(Runtime::new(RuntimeConfig::default()).unwrap_or_else(|e| panic!("{e}")));
        let options = DeployOptions::new(dir.path(), engine.clone());
        let flow = load(&flow_file).unwrap_or_else(|e| panic!("{e}"));
        let running = RunningFlow::start(flow, options.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let live = Arc::new(LiveFlow::new(running.router().clone()));
        let (stop_watch, stopped) = tokio::sync::oneshot::channel::<()>();
        let reloader = {
            let file = flow_file.clone();
            Reloader::new(
                live.clone(),
                running,
                flow_file.clone(),
                move || load(&file),
                options.clone(),
                WatchAll::Yes,
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let watcher = tokio::spawn(reloader.run(async {
            let _ = stopped.await;
        }));

        // The steady stream: one request after another, publishing each answer's first text.
        let (publish, seen) = watch::channel(String::new());
        let streaming = Arc::new(AtomicBool::new(true));
        let stream = {
            let (live, streaming) = (live.clone(), streaming.clone());
            tokio::spawn(async move {
                let (mut answered, mut failed) = (0u64, 0u64);
                while streaming.load(Ordering::Relaxed) {
                    let response = live.process(Request::new("/", docs::empty_batch())).await;
                    if let Status::Error(_) = response.status {
                        failed += 1;
                    }
                    publish.send_replace(first_text(&response));
                    answered += 1;
                }
                (answered, failed)
            })
        };

        let mut new_component = Vec::new();
        let mut compiled_before = Vec::new();
        // Each save's bytes are new to this run and to the compile cache of earlier runs.
        let salt = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as u32);
        let mut compile_alone = Vec::new();
        for round in 0..rounds {
            // Compiled on reload: Bar as bytes never seen before.
            let bytes = fresh(&bar_component, salt.wrapping_mul(1000).wrapping_add(2 * round));
            new_component.push(swap(&component, &bytes, "bar was here", &seen).await);
            // Back to Foo as first saved: compiled before.
            compiled_before.push(swap(&component, &foo_component, "foo was here", &seen).await);
            // The floor of the first row: compiling such bytes, and nothing else, under the
            // same stream.
            let bytes = fresh(&bar_component, salt.wrapping_mul(1000).wrapping_add(2 * round + 1));
            let began = Instant::now();
            engine
                .load_bytes(Path::new("bar-variant.wasm"), &bytes)
                .unwrap_or_else(|e| panic!("{e}"));
            compile_alone.push(began.elapsed());
        }
        streaming.store(false, Ordering::Relaxed);
        let (answered, failed) = stream.await.unwrap_or_default();
        let _ = stop_watch.send(());
        if let Ok(running) = watcher.await {
            running.close().await;
        }

        println!(
            "Saving a changed component to its first answer, under a steady stream ({answered} requests answered, {failed} failed); two other executors unchanged.\n"
        );
        println!("| saved component | saves | min | p50 | p90 | max |");
        println!("|---|---|---|---|---|---|");
        summary("new (compiled on reload)", new_component);
        summary("compiled before (cache hit)", compiled_before);
        summary("floor of the first: compiling new bytes alone", compile_alone);
    });
}
