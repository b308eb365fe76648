//! Misbehaving guest for the runtime's sandbox tests. On `/escape` its
//! catch-all `handle` tries to reach outside the sandbox and reports, without
//! trapping, what happened, as the tags of one appended document:
//!
//! | tag | attempt | value |
//! | --- | --- | --- |
//! | `passwd` | read `/etc/passwd` | `"read N bytes"` or `"denied: <error>"` |
//! | `env_count` | count environment variables | a number |
//! | `home` | read `HOME` | the value or `null` |
//! | `socket` | TCP connect to `parameters.addr` (default `127.0.0.1:1`) | `"connected"` or `"denied: <error>"` |
//! | `workspace_write` | list the metas workspace and write a file there | `"ok"`, `"denied: <error>"` or `"none"` without a workspace |
//!
//! Any other endpoint returns `unchanged`.

use std::path::Path;

use flowhost_guest::serde_json::Value;
use flowhost_guest::{Document, DocumentArray, Executor, Metas, NoConfig, Request, Result};

/// Remembers the workspace it was given.
pub struct EscapeGuest {
    workspace: Option<String>,
}

impl Executor for EscapeGuest {
    type Config = NoConfig;

    fn new(_config: NoConfig, metas: &Metas) -> Result<Self> {
        Ok(Self {
            workspace: metas.workspace.clone(),
        })
    }
}

fn denied(err: impl std::fmt::Display) -> String {
    format!("denied: {err}")
}

fn try_passwd() -> String {
    match std::fs::read_to_string("/etc/passwd") {
        Ok(text) => format!("read {} bytes", text.len()),
        Err(err) => denied(err),
    }
}

fn try_socket(addr: &str) -> String {
    match std::net::TcpStream::connect(addr) {
        Ok(_) => "connected".to_owned(),
        Err(err) => denied(err),
    }
}

fn try_workspace(workspace: Option<&str>) -> String {
    let Some(dir) = workspace else {
        return "none".to_owned();
    };
    let dir = Path::new(dir);
    let attempt = || -> std::io::Result<()> {
        let entries = std::fs::read_dir(dir)?.count();
        flowhost_guest::info!("workspace {} has {entries} entries", dir.display());
        std::fs::write(
            dir.join("escape-guest.txt"),
            b"written from inside the sandbox\n",
        )?;
        Ok(())
    };
    match attempt() {
        Ok(()) => "ok".to_owned(),
        Err(err) => denied(err),
    }
}

impl EscapeGuest {
    /// Catch-all: reports the escape attempts on `/escape`.
    fn handle(&mut self, docs: &mut DocumentArray, req: &Request) -> Result<()> {
        if req.endpoint() != "/escape" {
            return Ok(());
        }
        let addr: String = req.param_or("addr", "127.0.0.1:1".to_owned())?;
        // `vars_os`, not `vars`: `vars` panics on a non-UTF-8 variable.
        let env_count = std::env::vars_os().count();
        let home = std::env::var("HOME")
            .ok()
            .map_or(Value::Null, Value::String);
        let report = Document::new()
            .with_tag("passwd", try_passwd())
            .with_tag("env_count", env_count)
            .with_tag("home", home)
            .with_tag("socket", try_socket(&addr))
            .with_tag("workspace_write", try_workspace(self.workspace.as_deref()));
        flowhost_guest::info!("escape report: {:?}", report.tags());
        docs.push(report);
        Ok(())
    }
}

flowhost_guest::export_executor!(EscapeGuest { handle => * });
