//! A guest's stdout, stderr and `logging` calls, turned into `tracing` events tagged with
//! the flow, executor, replica and shard, one event per line.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use super::state::truncate_line;

/// Which of the guest's streams this is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// Who a guest's log line comes from.
#[derive(Debug)]
pub(crate) struct LogTags {
    pub(crate) flow: Arc<str>,
    pub(crate) executor: Arc<str>,
    pub(crate) replica: u32,
    pub(crate) shard: u32,
}

impl LogTags {
    /// One line at `level`, from `source` (`stdout`, `stderr` or `logging`).
    pub(crate) fn emit(&self, level: tracing::Level, source: &'static str, line: &str) {
        let (flow, executor, replica, shard) =
            (&*self.flow, &*self.executor, self.replica, self.shard);
        flowhost_telemetry::request::with_request_id(|request_id| {
            macro_rules! at {
                ($event:ident) => {
                    tracing::$event!(
                        target: "executor",
                        flow,
                        executor,
                        replica,
                        shard,
                        source,
                        request_id,
                        "{line}"
                    )
                };
            }
            match level {
                tracing::Level::TRACE => at!(trace),
                tracing::Level::DEBUG => at!(debug),
                tracing::Level::INFO => at!(info),
                tracing::Level::WARN => at!(warn),
                tracing::Level::ERROR => at!(error),
            }
        });
    }
}

#[derive(Clone)]
pub(crate) struct LogStream {
    tags: Arc<LogTags>,
    stream: Stream,
}

impl LogStream {
    pub(crate) fn new(tags: Arc<LogTags>, stream: Stream) -> Self {
        Self { tags, stream }
    }
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            sink: self.clone(),
            pending: Vec::new(),
        })
    }
}

/// Buffers a partial line until its newline (or until it is too long).
struct LineWriter {
    sink: LogStream,
    pending: Vec<u8>,
}

/// A line without a newline is flushed once it reaches this size.
const MAX_PENDING: usize = 16 << 10;

impl LineWriter {
    fn emit(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = truncate_line(text.trim_end_matches('\r'));
        match self.sink.stream {
            Stream::Stdout => self.sink.tags.emit(tracing::Level::INFO, "stdout", text),
            Stream::Stderr => self.sink.tags.emit(tracing::Level::WARN, "stderr", text),
        }
    }

    fn flush_pending(&mut self) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.emit(&line);
        }
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let mut rest = buf;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            if this.pending.is_empty() {
                this.emit(&rest[..newline]);
            } else {
                this.pending.extend_from_slice(&rest[..newline]);
                this.flush_pending();
            }
            rest = &rest[newline + 1..];
        }
        this.pending.extend_from_slice(rest);
        if this.pending.len() >= MAX_PENDING {
            this.flush_pending();
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().flush_pending();
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        self.flush_pending();
    }
}
