//! The data each instance's `Store` carries: its WASI context, its limits and
//! the bookkeeping that lets a fault be explained (which deadline, which cap).

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::bindings::{LogLevel, flowhost::executor::logging};
use super::limits::MemoryLimiter;
use super::log_stream::LogTags;
use super::sandbox::RefuseOutgoing;

/// Log lines longer than this are cut: a guest must not be able to make the
/// host format megabytes per call.
const MAX_LOG_LINE: usize = 16 << 10;

pub(crate) struct InstanceState {
    /// What the guest's log lines are tagged with.
    pub(crate) log: Arc<LogTags>,
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) http: WasiHttpCtx,
    pub(crate) http_hooks: RefuseOutgoing,
    pub(crate) limiter: MemoryLimiter,
    /// When the running call must stop; `None` between calls.
    pub(crate) deadline: Option<Instant>,
    /// Set by the epoch callback when it interrupted a call at its deadline.
    pub(crate) deadline_hit: bool,
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_hooks,
        }
    }
}

pub(crate) fn truncate_line(line: &str) -> &str {
    if line.len() <= MAX_LOG_LINE {
        return line;
    }
    let mut end = MAX_LOG_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

/// The `types` interface declares records only; it has nothing to implement.
impl super::bindings::types::Host for InstanceState {}

impl logging::Host for InstanceState {
    fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            LogLevel::Trace => tracing::Level::TRACE,
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Error => tracing::Level::ERROR,
        };
        self.log.emit(level, "logging", truncate_line(&message));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_char_boundaries() {
        let long = "é".repeat(MAX_LOG_LINE);
        let cut = truncate_line(&long);
        assert!(cut.len() <= MAX_LOG_LINE);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(truncate_line("short"), "short");
    }
}
