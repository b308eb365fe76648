//! Test guest whose cost is set, not earned: `uses_with: {init_ms: N, call_us: M}` makes
//! `init` take N milliseconds and every call M microseconds whatever its size (an executor
//! whose per-call cost dominates, as a model's is); `sleep_ms: S` makes every call also
//! sleep S milliseconds, parked in the host's clock, where no epoch check reaches it. It
//! tags each top-level document with the number of documents in the call (`batch`), so
//! dynamic batching can be seen, and with how many calls this instance has taken, this one
//! included (`calls`), so a restart can be; it raises `ValueError` on a call carrying a
//! document tagged `fail: true`.

use std::time::{Duration, Instant};

use flowhost_guest::serde_json::Value;
use flowhost_guest::{DocumentArray, Error, Executor, Metas, Request, Result};
use serde::Deserialize;

/// Constructor arguments.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    /// How long `init` takes, in milliseconds.
    init_ms: u64,
    /// How long every call takes, in microseconds.
    call_us: u64,
    /// How long every call sleeps, in milliseconds.
    sleep_ms: u64,
}

/// Keeps the per-call cost.
pub struct SlowGuest {
    call: Duration,
    sleep: Duration,
    calls: u64,
}

/// Busy-waits: a sleep would park in the host, which is not what a model's cost looks like.
fn spin(duration: Duration) {
    let began = Instant::now();
    while began.elapsed() < duration {
        std::hint::spin_loop();
    }
}

impl Executor for SlowGuest {
    type Config = Config;

    fn new(config: Config, _metas: &Metas) -> Result<Self> {
        spin(Duration::from_millis(config.init_ms));
        Ok(Self {
            call: Duration::from_micros(config.call_us),
            sleep: Duration::from_millis(config.sleep_ms),
            calls: 0,
        })
    }
}

impl SlowGuest {
    /// Catch-all: pays the call's cost, then tags every document with the call's size.
    fn handle(&mut self, docs: &mut DocumentArray, _req: &Request) -> Result<()> {
        spin(self.call);
        if !self.sleep.is_zero() {
            std::thread::sleep(self.sleep);
        }
        self.calls += 1;
        let size = docs.len();
        for doc in docs.iter_mut() {
            if doc.tags().get("fail") == Some(&Value::Bool(true)) {
                return Err(Error::new(
                    "ValueError",
                    format!("{} asked to fail", doc.id),
                ));
            }
            doc.set_tag("batch", size as u64);
            doc.set_tag("calls", self.calls);
        }
        Ok(())
    }
}

flowhost_guest::export_executor!(SlowGuest { handle => * });
