//! The one epoch ticker per engine.
//!
//! Deadlines use epoch interruption: compiled code checks a counter at loop
//! headers and function entries, which costs almost nothing. One thread bumps
//! that counter every [`TICK`]; each store decides in its epoch callback whether
//! its call is past its deadline. Never one timer per call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the epoch advances: the granularity of deadlines and of the
/// cooperative yields that keep a long guest call from starving the runtime.
pub const TICK: Duration = Duration::from_millis(2);

/// Stops and joins the ticker thread on drop.
#[derive(Debug)]
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(engine: wasmtime::Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("flowhost-epoch".into())
            .spawn({
                let stop = stop.clone();
                move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
