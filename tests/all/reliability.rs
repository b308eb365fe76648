//! The reliability suite's long-running parts: a soak at a steady mixed load, and a remote
//! executor that dies and comes back. `scripts/reliability.sh` runs them (and the hardening
//! and containment tests) at full length; the default test run uses a short soak
//! (`FLOWHOST_SOAK_SECS`, 15 s unless set).

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use flowhost_client::Client;
use flowhost_docs as docs;
use flowhost_wire::Protocol;
use serde_json::{Map, json};

use crate::gateway_support::{FlowServer, flowhost_bin, free_port, uses};

fn soak_seconds() -> u64 {
    std::env::var("FLOWHOST_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15)
}

/// Resident memory (KiB) and open file descriptors of a process.
fn footprint(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count());
    (rss, fds)
}

/// One client's loop: batches of 1-document requests with unique texts until `stop`;
/// every reply must carry its own request's text (plus foo's document), once.
async fn client_loop(client: Client, tag: &'static str, stop: Arc<AtomicBool>) -> usize {
    let mut answered = 0usize;
    let mut round = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let texts: Vec<String> = (0..50).map(|i| format!("{tag}-{round}-{i}")).collect();
        let batch = docs::batch_of(texts.iter().map(|text| {
            let mut doc = docs::document(text.clone());
            doc.text = Some(text.clone());
            doc
        }));
        let results = client
            .post("/index", batch, Map::new())
            .await
            .unwrap_or_else(|e| panic!("{tag}: the call failed: {e}"));
        assert_eq!(results.len(), texts.len(), "{tag}: one result per request");
        let mut seen = BTreeSet::new();
        for (result, sent) in results.iter().zip(&texts) {
            let response = result
                .as_ref()
                .unwrap_or_else(|e| panic!("{tag}: {sent} failed: {e}"));
            let got: Vec<&str> = docs::roots(&response.docs)
                .filter_map(|d| d.text.as_deref())
                .collect();
            assert_eq!(
                got.first(),
                Some(&sent.as_str()),
                "{tag}: matched to its request"
            );
            assert!(seen.insert(sent.clone()), "{tag}: {sent} answered twice");
        }
        answered += results.len();
        round += 1;
    }
    answered
}

#[tokio::test(flavor = "multi_thread")]
async fn a_soak_at_mixed_load_loses_nothing_and_stays_flat() {
    let seconds = soak_seconds();
    let flow = format!(
        "jtype: Flow\nwith:\n  host: 127.0.0.1\n  protocol: [grpc, http, websocket]\nexecutors:\n  - name: foo\n    uses: {}\n",
        uses("foo_executor")
    );
    let server = FlowServer::start(&flow, 3);
    let pid = server.pid();
    let stop = Arc::new(AtomicBool::new(false));
    let clients = [
        (Protocol::Grpc, "grpc"),
        (Protocol::Http, "http"),
        (Protocol::Websocket, "ws"),
    ]
    .map(|(protocol, tag)| {
        let client = Client::new("127.0.0.1", server.port(protocol))
            .protocol(protocol)
            .request_size(1)
            .prefetch(16);
        tokio::spawn(client_loop(client, tag, stop.clone()))
    });
    // Warm up for a fifth of the run, then sample once a second.
    let started = Instant::now();
    let warm_up = Duration::from_secs(seconds / 5).max(Duration::from_secs(2));
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    let mut baseline = None;
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        interval.tick().await;
        let sample = footprint(pid);
        if started.elapsed() >= warm_up {
            baseline.get_or_insert(sample);
            samples.push(sample);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut answered = 0;
    for client in clients {
        answered += client.await.expect("a client loop panicked");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (base_rss, base_fds) = baseline.expect("samples after warm-up");
    let max_rss = samples.iter().map(|s| s.0).max().unwrap_or(0);
    let max_fds = samples.iter().map(|s| s.1).max().unwrap_or(0);
    eprintln!(
        "soak: {seconds} s, {answered} requests answered ({:.0}/s), RSS {} → max {} KiB, fds {base_fds} → max {max_fds}",
        answered as f64 / elapsed,
        base_rss,
        max_rss
    );
    assert!(answered > 0);
    // Flat: no growth beyond allocator noise once warm.
    assert!(
        max_rss <= base_rss + base_rss / 4 + 8 * 1024,
        "RSS grew from {base_rss} to {max_rss} KiB"
    );
    assert!(
        max_fds <= base_fds + 16,
        "fds grew from {base_fds} to {max_fds}"
    );
    assert!(server.stop().success());
}

fn serve_executor(port: u16) -> FlowServer {
    let mut command = Command::new(flowhost_bin());
    command
        .args(["executor", "serve", "--name", "far_foo", "--port"])
        .arg(port.to_string())
        .arg("--uses")
        .arg(uses("foo_executor"));
    FlowServer::spawn(command, tempfile::tempdir().expect("temp dir"), 1)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_executor_that_dies_fails_cleanly_and_recovers_on_restart() {
    let remote_port = free_port();
    let remote = serve_executor(remote_port);
    let flow = format!(
        "jtype: Flow\nwith:\n  host: 127.0.0.1\n  protocol: [grpc]\nexecutors:\n  - name: far\n    external: true\n    host: 127.0.0.1\n    port: {remote_port}\n    timeout_send: 2000\n"
    );
    let server = FlowServer::start(&flow, 1);
    let client = Client::new("127.0.0.1", server.port(Protocol::Grpc));
    let call = || async {
        let mut results = client
            .post("/index", docs::empty_batch(), Map::new())
            .await
            .expect("the gateway answers");
        results.pop().expect("one result")
    };
    assert!(call().await.is_ok(), "served while the remote is up");

    // Killed outright (SIGKILL: no drain): the next call fails naming the executor.
    let status = Command::new("kill")
        .args(["-KILL", &remote.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    drop(remote);
    let started = Instant::now();
    let error = call().await.expect_err("the remote is gone");
    let text = format!("{error}");
    assert!(text.contains("far"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Back on the same port: the flow recovers without a restart.
    let remote = serve_executor(remote_port);
    let answer = call().await.expect("served again");
    assert_eq!(
        docs::roots(&answer.docs)
            .filter_map(|d| d.text.as_deref())
            .collect::<Vec<_>>(),
        ["foo was here and got 0 document"]
    );
    let parameters = json!({}).as_object().cloned().unwrap_or_default();
    assert!(
        client
            .post("/", docs::empty_batch(), parameters)
            .await
            .is_ok()
    );
    assert!(server.stop().success());
    assert!(remote.stop().success());
}

/// Context switches of all of a process's threads so far.
fn switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .flat_map(|status| {
            (status.lines())
                .filter(|line| line.contains("ctxt_switches"))
                .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// A served flow with nothing to do wakes no thread: the epoch ticker parks once no guest code
/// runs, and the allocator's reclaim rounds rest once the workers are idle. Before either,
/// an idle gateway woke about 500 times a second.
#[test]
fn a_flow_at_rest_wakes_no_thread() {
    let yaml = format!(
        "jtype: Flow\nwith:\n  protocol: http\nexecutors:\n  - name: foo\n    uses: {}\n",
        uses("foo_executor")
    );
    let server = FlowServer::start(&yaml, 1);
    // One request first, so that guest code and a reclaim round have run.
    let (status, _) = crate::gateway_support::http_post(
        server.port(Protocol::Http),
        "/post",
        r#"{"data": [{"text": "hello"}]}"#,
    );
    assert_eq!(status, 200);
    let pid = server.pid();
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let before = switches(pid);
        // A window to count wake-ups in, not a wait for something to happen.
        std::thread::sleep(Duration::from_secs(1));
        let woken = switches(pid).saturating_sub(before);
        if woken == 0 {
            break;
        }
        assert!(
            Instant::now() < until,
            "the idle flow still wakes its threads {woken} times a second after 30 s"
        );
    }
    assert!(server.stop().success());
}
