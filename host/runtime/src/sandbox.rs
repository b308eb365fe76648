//! The WASI sandbox of one instance: what the guest can see of the world.
//!
//! Nothing by default: no directories, no environment, no sockets, no name
//! lookups, no stdin. A flow may grant a workspace directory (preopened at
//! [`WORKSPACE_GUEST_PATH`]) and named environment variables; stdout and
//! stderr go to the log under the executor's name.

use std::path::PathBuf;
use std::sync::Arc;

use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::error::StartError;
use super::log_stream::{LogStream, LogTags, Stream};

/// Where a granted workspace appears inside the guest.
pub const WORKSPACE_GUEST_PATH: &str = "/workspace";

/// What an executor is granted beyond the empty sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sandbox {
    /// A host directory the guest may read and write, created if missing.
    pub workspace: Option<PathBuf>,
    /// Environment variables the guest sees; nothing of the host's leaks.
    pub env: Vec<(String, String)>,
}

pub(crate) fn build_wasi(
    executor: &Arc<str>,
    log: &Arc<LogTags>,
    sandbox: &Sandbox,
) -> Result<WasiCtx, StartError> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(LogStream::new(log.clone(), Stream::Stdout))
        .stderr(LogStream::new(log.clone(), Stream::Stderr))
        .envs(&sandbox.env)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }));
    if let Some(dir) = &sandbox.workspace {
        let fail = |reason: String| StartError::Workspace {
            executor: executor.to_string(),
            path: dir.clone(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        wasi.preopened_dir(dir, WORKSPACE_GUEST_PATH, FsPerms::ReadWrite)
            .map_err(|e| fail(e.to_string()))?;
    }
    Ok(wasi.build())
}

/// The `wasi:http` hooks of every instance: the interface is linked, so components built
/// with it (componentize-js's default) load, and every outgoing request is refused with
/// `HTTP-request-denied`. The sandbox has no network; this keeps it closed for HTTP too.
pub(crate) struct RefuseOutgoing;

impl wasmtime_wasi_http::WasiHttpHooks for RefuseOutgoing {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _on_response_error: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<wasmtime_wasi_http::WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                )>,
            > + Send,
    > {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}
