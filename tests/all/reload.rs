//! `flowhost run --watch` (Jina's `reload`): saving a component or the flow file swaps the
//! changed executors in under a steady stream of requests, losing none; a component that
//! does not load leaves the running one serving.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flowhost_wire::Protocol;

use crate::gateway_support::{FlowServer, flowhost_bin, http_post, json_texts};

/// Replaces `to` with `bytes` the way editors and build tools save: write beside, rename over.
fn save(to: &Path, bytes: &[u8]) {
    let beside = to.with_extension("saving");
    std::fs::write(&beside, bytes).unwrap();
    std::fs::rename(&beside, to).unwrap();
}

fn component(guest: &str) -> Vec<u8> {
    std::fs::read(flowhost_test_support::guest(guest)).unwrap()
}

/// `flowhost run --watch` on `yaml` in a fresh folder holding `files` too.
fn run_watched(yaml: &str, files: &[(&str, &[u8])]) -> FlowServer {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flow.yml"), yaml).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let mut command = Command::new(flowhost_bin());
    command
        .arg("run")
        .arg("--watch")
        .arg(dir.path().join("flow.yml"));
    FlowServer::spawn(command, dir, 1)
}

const FLOW: &str =
    "jtype: Flow\nwith:\n  protocol: http\nexecutors:\n- name: e\n  uses: exec.wasm\n";

/// An answer's HTTP status and its documents' texts.
type Answer = (u16, Vec<String>);

/// Posts to `/` back to back until stopped; every answer, in order.
struct Stream {
    stop: Arc<AtomicBool>,
    answers: Arc<Mutex<Vec<Answer>>>,
    thread: std::thread::JoinHandle<()>,
}

impl Stream {
    fn start(port: u16) -> Stream {
        let stop = Arc::new(AtomicBool::new(false));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, answers) = (stop.clone(), answers.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (status, answer) =
                        http_post(port, "/post", r#"{"data": [], "execEndpoint": "/"}"#);
                    let texts = json_texts(&answer).into_iter().map(str::to_owned).collect();
                    answers.lock().unwrap().push((status, texts));
                }
            })
        };
        Stream {
            stop,
            answers,
            thread,
        }
    }

    /// Waits until an answer satisfies `done`, then for `more` answers after it.
    fn until(&self, what: &str, done: impl Fn(&[String]) -> bool, more: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen_at = None;
        while Instant::now() < deadline {
            let answers = self.answers.lock().unwrap();
            if seen_at.is_none() {
                seen_at = answers.iter().position(|(_, texts)| done(texts));
            }
            if let Some(at) = seen_at
                && answers.len() > at + more
            {
                return;
            }
            drop(answers);
            std::thread::yield_now();
        }
        panic!("no answer {what} within 60 s");
    }

    fn finish(self) -> Vec<Answer> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
        Arc::try_unwrap(self.answers).unwrap().into_inner().unwrap()
    }
}

#[test]
fn saving_a_component_or_the_flow_swaps_executors_in_without_losing_a_request() {
    let server = run_watched(FLOW, &[("exec.wasm", &component("foo_executor"))]);
    let port = server.port(Protocol::Http);
    let foo = |texts: &[String]| texts == ["foo was here and got 0 document"];
    let bar = |texts: &[String]| texts == ["bar was here and got 0 document"];
    let bar_baz = |texts: &[String]| {
        texts
            == [
                "bar was here and got 0 document",
                "baz was here and got 1 document",
            ]
    };

    let stream = Stream::start(port);
    stream.until("from foo", foo, 10);
    save(&server.path("exec.wasm"), &component("bar_executor"));
    stream.until("from the saved component", bar, 10);

    // Not a component: the running one keeps answering.
    save(&server.path("exec.wasm"), b"not wasm");
    server.wait_for_log("keeps serving", Duration::from_secs(60));
    let before = stream.answers.lock().unwrap().len();
    stream.until("after the broken save", |_| true, before + 10);

    // A new executor in the flow file: the router is planned again.
    save(&server.path("exec.wasm"), &component("bar_executor"));
    let flow = format!(
        "{FLOW}- name: b\n  uses: {}\n",
        crate::gateway_support::uses("baz_executor")
    );
    save(&server.path("flow.yml"), flow.as_bytes());
    stream.until("from the new topology", bar_baz, 10);
    let answers = stream.finish();

    // Every request answered, and each answer is from the flow as it was then: foo until
    // the first save, bar until the flow changed, then bar and baz; never back.
    let phases: Vec<usize> = answers
        .iter()
        .map(|(status, texts)| {
            assert_eq!(*status, 200, "{texts:?}");
            match texts {
                t if foo(t) => 0,
                t if bar(t) => 1,
                t if bar_baz(t) => 2,
                other => panic!("unexpected answer {other:?}"),
            }
        })
        .collect();
    assert!(phases.windows(2).all(|w| w[0] <= w[1]), "{phases:?}");
    assert!(server.stop().success());
}

#[test]
fn an_executor_with_reload_true_is_reloaded_without_watch() {
    // `flowhost run` without `--watch`: the executor's own `reload: true` asks for it.
    let server = FlowServer::start_with(&format!("{FLOW}  reload: true\n"), 1, |dir| {
        std::fs::write(dir.join("exec.wasm"), component("foo_executor")).unwrap()
    });
    let stream = Stream::start(server.port(Protocol::Http));
    stream.until("from foo", |t| t == ["foo was here and got 0 document"], 3);
    save(&server.path("exec.wasm"), &component("bar_executor"));
    stream.until("from bar", |t| t == ["bar was here and got 0 document"], 3);
    assert!(stream.finish().iter().all(|(status, _)| *status == 200));
    assert!(server.stop().success());
}

#[test]
fn a_shutdown_does_not_wait_for_a_reload_in_progress() {
    let slow = crate::gateway_support::uses("slow_guest");
    let flow = |init_ms: u64| {
        format!(
            "jtype: Flow\nwith:\n  protocol: http\nexecutors:\n- name: s\n  uses: {slow}\n  \
             uses_with: {{init_ms: {init_ms}}}\n  timeout_ready: -1\n"
        )
    };
    let server = run_watched(&flow(0), &[]);
    // The new flow's executor takes ten minutes to start, and may (`timeout_ready: -1`).
    save(&server.path("flow.yml"), flow(600_000).as_bytes());
    server.wait_for_log("reloading", Duration::from_secs(60));
    // Without giving up the reload, the shutdown would wait for it.
    assert!(server.stop_within(Duration::from_secs(30)).success());
}
