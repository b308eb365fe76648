//! An OpenAPI-driven fuzzer against the HTTP gateway: schemathesis (PyPI, pinned in
//! `tests/python/requirements-tools.txt`, installed into `.venv-tools` by
//! `scripts/install-test-deps.sh`) reads the gateway's own `/openapi.json` and sends every
//! operation schema-valid and schema-violating requests, plus methods the document does not
//! list. No answer may be a 5xx, every answer must match the document (status code, content
//! type, headers, body schema), and the process must still serve afterwards.
//!
//! The run is bounded: a fixed number of examples per operation, a fixed seed (the same
//! requests every run) and a hard timeout on the whole fuzzer.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flowhost_wire::Protocol;

use crate::gateway_support::{FlowServer, http_get, uses};

/// The answers checked: no server error, and conformance to the document. Schemathesis's
/// request-side checks (`negative_data_rejection`, `positive_data_acceptance`) are left out:
/// the gateway takes some bodies the document forbids (`"id": 0` becomes `"0"`, `"data":
/// null` is no documents) and refuses with 422 some it allows (an `adjacency` past 32 bits,
/// a score without a numeric `value`), so those checks judge the request schema's precision,
/// not the gateway's robustness.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,unsupported_method";

/// Examples per operation in the fuzzing phase (the coverage phase adds its boundary cases).
const MAX_EXAMPLES: &str = "20";

const SEED: &str = "20240601";

/// The whole fuzzer run, killed past this; it takes about 25 s on two idle cores.
const TIMEOUT: Duration = Duration::from_secs(80);

/// The schemathesis CLI from `.venv-tools`, or `$FLOWHOST_SCHEMATHESIS`.
fn schemathesis() -> PathBuf {
    crate::gateway_support::venv_tool(
        "FLOWHOST_SCHEMATHESIS",
        ".venv-tools/bin/schemathesis",
        "scripts/install-test-deps.sh",
    )
}

/// foo_executor then noop_executor on HTTP, with an exposed endpoint that adds the two
/// methods the built-in routes do not use (a GET and a PATCH that take a body).
fn fuzz_flow() -> String {
    format!(
        "jtype: Flow\nwith:\n  host: 127.0.0.1\n  protocol: [http]\n  expose_endpoints:\n    \
         /foo:\n      methods: [GET, PATCH]\n      summary: an exposed endpoint\n\
         executors:\n  - name: foo\n    uses: {}\n  - name: noop\n    uses: {}\n",
        uses("foo_executor"),
        uses("noop_executor"),
    )
}

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_mismatch() {
    let fuzzer = schemathesis();
    let server = FlowServer::start(&fuzz_flow(), 1);
    let port = server.port(Protocol::Http);
    let log_path = server.path("schemathesis.log");
    let log = File::create(&log_path).expect("log file");
    let started = Instant::now();
    let mut child = Command::new(&fuzzer)
        .arg("run")
        .arg(format!("http://127.0.0.1:{port}/openapi.json"))
        .args(["--checks", CHECKS])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", SEED])
        .args(["--workers", "2"])
        .args(["--request-timeout", "10"])
        // Hypothesis's health checks judge the generator's speed, not the server's answers;
        // on a loaded CI machine they only make noise.
        .args(["--suppress-health-check", "all"])
        .args(["--generation-database", "none"])
        .arg("--no-color")
        .current_dir(server.dir.path())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("{} runs: {e}", fuzzer.display()));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let output = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("schemathesis did not finish within {TIMEOUT:?}; its output:\n{output}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let elapsed = started.elapsed();
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        status.success(),
        "schemathesis exited with {status} after {elapsed:?}; its output:\n{output}"
    );
    let summary: Vec<&str> = output.lines().rev().take(20).collect();
    println!(
        "schemathesis passed in {elapsed:?}:\n{}",
        summary.into_iter().rev().collect::<Vec<_>>().join("\n")
    );

    // The gateway still serves, and nothing in it panicked.
    let (status, _, body) = http_get(port, "/");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let log: Vec<String> = server.stderr.try_iter().collect();
    assert!(
        !log.iter().any(|line| line.contains("panicked")),
        "flowhost's log:\n{}",
        log.join("\n")
    );
    assert!(server.stop().success());
}
