//! The one epoch ticker per engine.
//!
//! Deadlines use epoch interruption: compiled code checks a counter at loop
//! headers and function entries, which costs almost nothing. One thread bumps
//! that counter every [`TICK`]; each store decides in its epoch callback whether
//! its call is past its deadline. Never one timer per call.
//!
//! The ticker runs only while guest code may run. Every guest invocation holds an
//! [`Awake`] for as long as it lasts; once [`IDLE_TICKS`] ticks have passed with none
//! held, the thread parks until the next invocation wakes it. An idle process would
//! otherwise wake 500 times a second for nothing. Under load the thread never parks,
//! and a trickle of requests wakes it at most once per idle period.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use flowhost_shards::Shards;

/// How often the epoch advances: the granularity of deadlines and of the
/// cooperative yields that keep a long guest call from starving the runtime.
pub const TICK: Duration = Duration::from_millis(2);

/// How many ticks in a row with no guest code running before the ticker parks (100 ms):
/// long enough that steady traffic never parks it, short enough that an idle process
/// goes quiet at once.
const IDLE_TICKS: u32 = 50;

/// Stops and joins the ticker thread on drop.
#[derive(Debug)]
pub(crate) struct EpochTicker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    /// Guest invocations under way, counted per thread on cache lines of their own so
    /// that workers starting calls do not pass one line between cores. An invocation
    /// takes back its count from the line it added it to, even when it ends on another
    /// thread, so no count goes negative. Threads past the owned shards share one count,
    /// which atomics allow.
    running: Shards<AtomicIsize>,
    /// The thread is parked, or about to park, until an invocation wakes it.
    asleep: AtomicBool,
    stop: AtomicBool,
}

/// Held by a guest invocation while it may run: the ticker keeps ticking until every
/// one is dropped. Dropping it on any thread, or with its call cancelled, is fine.
#[must_use = "the ticker may park while no Awake is held"]
pub(crate) struct Awake<'a> {
    running: &'a AtomicIsize,
}

impl Drop for Awake<'_> {
    fn drop(&mut self) {
        self.running.fetch_sub(1, Ordering::Release);
    }
}

impl Shared {
    fn busy(&self) -> bool {
        let running: isize = (self.running.all())
            .map(|count| count.load(Ordering::SeqCst))
            .sum();
        running != 0
    }
}

impl EpochTicker {
    pub(crate) fn start(engine: wasmtime::Engine) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            running: Shards::new(),
            asleep: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let thread = std::thread::Builder::new()
            .name("flowhost-epoch".into())
            .spawn({
                let shared = shared.clone();
                move || tick(&engine, &shared)
            })?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Marks a guest invocation as under way, waking the ticker if it is parked. Take it
    /// after the store's epoch deadline is set and hold it until the invocation ends.
    pub(crate) fn awake(&self) -> Awake<'_> {
        let (running, _) = self.shared.running.mine();
        // SeqCst pairs with the ticker's store of `asleep` and its reading of the
        // counts: either it sees this invocation, or this sees it going to sleep.
        running.fetch_add(1, Ordering::SeqCst);
        let shared = &self.shared;
        if shared.asleep.load(Ordering::SeqCst)
            && shared.asleep.swap(false, Ordering::SeqCst)
            && let Some(thread) = &self.thread
        {
            thread.thread().unpark();
        }
        Awake { running }
    }

    /// Whether the ticker is advancing the epoch (it parks while no guest code runs).
    pub(crate) fn ticking(&self) -> bool {
        !self.shared.asleep.load(Ordering::SeqCst)
    }
}

fn tick(engine: &wasmtime::Engine, shared: &Shared) {
    let mut idle = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        std::thread::sleep(TICK);
        engine.increment_epoch();
        if shared.busy() {
            idle = 0;
            continue;
        }
        idle += 1;
        if idle < IDLE_TICKS {
            continue;
        }
        idle = 0;
        shared.asleep.store(true, Ordering::SeqCst);
        if shared.busy() {
            // An invocation began meanwhile; it may have taken `asleep` back already.
            shared.asleep.store(false, Ordering::SeqCst);
            continue;
        }
        // `park` may return early, and an `unpark` that came before it is not lost.
        while shared.asleep.load(Ordering::SeqCst) && !shared.stop.load(Ordering::Relaxed) {
            std::thread::park();
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// Waits up to 5 s for `condition`, checking every millisecond.
    fn eventually(what: &str, condition: impl Fn() -> bool) {
        let until = Instant::now() + Duration::from_secs(5);
        while !condition() {
            assert!(Instant::now() < until, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn ticker() -> EpochTicker {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let engine = wasmtime::Engine::new(&config).expect("a plain engine");
        EpochTicker::start(engine).expect("the ticker thread")
    }

    #[test]
    fn an_idle_ticker_parks_and_an_invocation_wakes_it() {
        let ticker = ticker();
        eventually("the idle ticker parks", || !ticker.ticking());
        let awake = ticker.awake();
        assert!(
            ticker.ticking(),
            "an invocation must wake the ticker at once"
        );
        drop(awake);
        eventually("the ticker parks again", || !ticker.ticking());
    }

    #[test]
    fn the_ticker_keeps_ticking_while_an_invocation_runs() {
        let ticker = ticker();
        let awake = ticker.awake();
        // Five idle periods: a ticker that ignored `awake` would have parked by then.
        let until = Instant::now() + 5 * IDLE_TICKS * TICK;
        while Instant::now() < until {
            assert!(ticker.ticking());
            std::thread::sleep(TICK);
        }
        drop(awake);
        eventually("the ticker parks once the invocation ends", || {
            !ticker.ticking()
        });
    }

    #[test]
    fn an_invocation_ended_on_another_thread_lets_the_ticker_park() {
        let ticker = ticker();
        let awake = ticker.awake();
        std::thread::scope(|scope| {
            scope.spawn(move || drop(awake));
        });
        eventually("the ticker parks", || !ticker.ticking());
    }

    #[test]
    fn a_parked_ticker_stops_when_dropped() {
        let ticker = ticker();
        eventually("the idle ticker parks", || !ticker.ticking());
        drop(ticker);
    }
}
