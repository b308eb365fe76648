//! `NoopExecutor`: for tests and benchmarks of the runtime itself.
//!
//! * `noop` (catch-all): returns `unchanged`, so nothing is copied back;
//! * `echo` (`/echo`): returns the documents as received, forcing a full copy
//!   each way;
//! * `slow` (`/slow`): sleeps `parameters.sleep_ms` milliseconds (default: the
//!   `uses_with` `sleep_ms`, itself 0 by default), then returns `unchanged`.

use std::time::Duration;

use flowhost_guest::{DocumentArray, Executor, Metas, Request, Result};
use serde::Deserialize;

/// Constructor arguments.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    /// How long `/slow` sleeps when the request does not say.
    sleep_ms: u64,
}

/// Does nothing, at various speeds.
pub struct NoopExecutor {
    sleep_ms: u64,
}

impl Executor for NoopExecutor {
    type Config = Config;

    fn new(config: Config, _metas: &Metas) -> Result<Self> {
        Ok(Self {
            sleep_ms: config.sleep_ms,
        })
    }
}

impl NoopExecutor {
    /// Catch-all: unchanged.
    fn noop(&mut self, _docs: &DocumentArray, _req: &Request) -> Result<()> {
        Ok(())
    }

    /// `/echo`: the documents go back as they came.
    fn echo(&mut self, _docs: &mut DocumentArray, _req: &Request) -> Result<()> {
        Ok(())
    }

    /// `/slow`: sleeps, then unchanged. Says so first, so a test can wait until a request is
    /// in flight instead of guessing how long that takes.
    fn slow(&mut self, _docs: &DocumentArray, req: &Request) -> Result<()> {
        let ms: u64 = req.param_or("sleep_ms", self.sleep_ms)?;
        flowhost_guest::info!("sleeping {ms} ms");
        std::thread::sleep(Duration::from_millis(ms));
        Ok(())
    }
}

flowhost_guest::export_executor!(NoopExecutor {
    noop => *,
    echo => "/echo",
    slow => "/slow",
});
