//! Running `flowhost run` as a real process for the gateway tests: a flow file in a temporary
//! folder, free ports (the gateway picks them; the ready banner says which), SIGTERM to stop.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use flowhost_wire::Protocol;

pub fn flowhost_bin() -> &'static str {
    env!("CARGO_BIN_EXE_flowhost-e2e")
}

/// A port nothing listens on now, for a server that must be told its port up front.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `uses:` line for a guest component.
pub fn uses(guest: &str) -> String {
    flowhost_test_support::guest(guest).display().to_string()
}

pub struct FlowServer {
    child: Child,
    pub dir: tempfile::TempDir,
    /// `(protocol, port)` in the flow's order.
    pub ports: Vec<(Protocol, u16)>,
    pub banner: String,
    pub stderr: mpsc::Receiver<String>,
}

impl FlowServer {
    /// Writes `yaml` to `flow.yml` in a fresh folder (plus `files`), starts `flowhost run`
    /// and waits for the ready banner listing `protocols` ports.
    pub fn start(yaml: &str, protocols: usize) -> FlowServer {
        Self::start_with(yaml, protocols, |_| {})
    }

    pub fn start_with(yaml: &str, protocols: usize, prepare: impl FnOnce(&Path)) -> FlowServer {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("flow.yml"), yaml).expect("flow file");
        prepare(dir.path());
        let mut command = Command::new(flowhost_bin());
        command.arg("run").arg(dir.path().join("flow.yml"));
        Self::spawn(command, dir, protocols)
    }

    /// Runs `command` (a `flowhost` invocation that serves) and waits for its ready banner.
    pub fn spawn(mut command: Command, dir: tempfile::TempDir, protocols: usize) -> FlowServer {
        let mut child = command
            .env(
                "FLOWHOST_CACHE_DIR",
                flowhost_test_support::target_dir().join("flowhost-test-cache"),
            )
            .env("FLOWHOST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowhost runs");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (lines, banner_lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if err_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = String::new();
        let mut ports = Vec::new();
        let mut protocol = None;
        while ports.len() < protocols {
            let line = match banner_lines.recv_timeout(Duration::from_secs(120)) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    let logs: Vec<String> = err_rx.try_iter().collect();
                    panic!(
                        "no ready banner; stdout so far:\n{banner}\nstderr:\n{}",
                        logs.join("\n")
                    );
                }
            };
            banner.push_str(&line);
            banner.push('\n');
            if let Some(name) = line.split("Protocol:").nth(1) {
                protocol = Protocol::parse(name.trim());
            }
            if let Some(address) = line.split("Local access:").nth(1) {
                let port = address
                    .trim()
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("a port in the banner");
                ports.push((protocol.expect("protocol line first"), port));
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in banner_lines.iter() {});
        FlowServer {
            child,
            dir,
            ports,
            banner,
            stderr: err_rx,
        }
    }

    pub fn port(&self, protocol: Protocol) -> u16 {
        self.ports
            .iter()
            .find(|(p, _)| *p == protocol)
            .map(|(_, port)| *port)
            .unwrap_or_else(|| panic!("no {protocol:?} port"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then wait for the exit.
    pub fn stop(self) -> ExitStatus {
        self.stop_within(Duration::from_secs(60))
    }

    /// Waits until the server logs a line containing `needle` (e.g. an executor saying it
    /// started on a request); panics with the log after `timeout`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        panic!(
            "no log line with `{needle}` within {timeout:?}; log:\n{}",
            seen.join("\n")
        );
    }

    /// SIGTERM, then wait for the exit; panics if it takes longer than `timeout`.
    pub fn stop_within(mut self, timeout: Duration) -> ExitStatus {
        signal_term(self.child.id());
        let status = wait_with_timeout(&mut self.child, timeout);
        if !status.success() {
            let logs: Vec<String> = self.stderr.try_iter().collect();
            eprintln!(
                "flowhost exited with {status}; its log:\n{}",
                logs.join("\n")
            );
        }
        status
    }
}

impl Drop for FlowServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn signal_term(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One HTTP/1.1 exchange on a fresh connection: `(status, headers, body)`.
pub fn http(port: u16, request: &str) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let body = raw[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, head, body)
}

pub fn http_get(port: u16, path: &str) -> (u16, String, Vec<u8>) {
    http(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
}

/// The `text` of each document in a Jina JSON answer (`data`), in order.
pub fn json_texts(answer: &serde_json::Value) -> Vec<&str> {
    answer["data"]
        .as_array()
        .map(|docs| docs.iter().filter_map(|d| d["text"].as_str()).collect())
        .unwrap_or_default()
}

pub fn http_post(port: u16, path: &str, body: &str) -> (u16, serde_json::Value) {
    let (status, _, body) = http(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// Runs `command` to its end and returns its standard output; panics, showing the command and
/// both outputs, when it fails.
pub fn succeeds(command: &mut Command) -> String {
    let output = command.output().expect("the command runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?}\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A program from one of the project's virtualenvs (`relative` to the workspace root), or
/// the path in `$override_var`; panics saying which script installs it when it is missing.
pub fn venv_tool(override_var: &str, relative: &str, installed_by: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(override_var) {
        return path.into();
    }
    let path = flowhost_test_support::workspace_root().join(relative);
    assert!(
        path.is_file(),
        "{} is missing: run `bash {installed_by}` (scripts/setup.sh does)",
        path.display()
    );
    path
}

/// The Jina client's Python (`.venv-jina`, made by `scripts/jina-venv.sh`), or
/// `$FLOWHOST_JINA_PYTHON`.
pub fn jina_python() -> PathBuf {
    venv_tool(
        "FLOWHOST_JINA_PYTHON",
        ".venv-jina/bin/python",
        "scripts/jina-venv.sh",
    )
}

/// Runs `tests/python/jina_client.py` with `args`; panics with its output when it fails.
pub fn jina_client(args: &[&str]) -> String {
    let script = flowhost_test_support::workspace_root().join("tests/python/jina_client.py");
    let output = Command::new(jina_python())
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        output.status.success(),
        "jina_client.py {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}
