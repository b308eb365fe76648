//! Idle workers hand the memory they freed back to the OS.
//!
//! The binary's allocator (mimalloc, `main.rs`) keeps a thread's freed pages until that same
//! thread allocates again. After a load, one worker may take every later request while the
//! other sleeps, holding the load's peak resident for as long as the process lives. So once a
//! second the runtime starts a new reclaim round and wakes its sleeping workers. Each worker,
//! the next time it is about to sleep, returns its freed pages once for that round. A busy
//! worker pays for one collection a second. An idle one wakes once a second, only to collect.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How often a round starts.
const ROUND_EVERY: Duration = Duration::from_secs(1);

/// The current round; a worker collects when it has not collected in this one.
static ROUND: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The round this thread last collected in.
    static COLLECTED_IN: Cell<u64> = const { Cell::new(0) };
}

/// A worker's `on_thread_park`: runs `return_freed` once per round.
pub(super) fn before_sleep(return_freed: fn()) {
    let round = ROUND.load(Ordering::Relaxed);
    if COLLECTED_IN.get() != round {
        COLLECTED_IN.set(round);
        return_freed();
    }
}

/// Starts a round every `ROUND_EVERY` on the current runtime, for as long as it runs.
pub(super) fn start_rounds() {
    // One more than the workers, so that every sleeping worker can be handed one.
    let wakers = tokio::runtime::Handle::current().metrics().num_workers() + 1;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(ROUND_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            ROUND.fetch_add(1, Ordering::Relaxed);
            // Tasks spawned from a worker beyond the one it runs next wake a sleeping worker
            // to steal them; a worker woken with nothing to do goes back to sleep, and
            // collects on the way.
            for _ in 0..wakers {
                tokio::spawn(async {});
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    static RETURNED: AtomicUsize = AtomicUsize::new(0);

    fn count_return() {
        RETURNED.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn a_worker_returns_its_freed_memory_once_a_round() {
        // A thread of its own: the round it last collected in starts unset.
        std::thread::spawn(|| {
            let round = ROUND.fetch_add(1, Ordering::SeqCst) + 1;
            before_sleep(count_return);
            before_sleep(count_return);
            assert_eq!(RETURNED.load(Ordering::SeqCst), 1, "once in round {round}");
            ROUND.fetch_add(1, Ordering::SeqCst);
            before_sleep(count_return);
            before_sleep(count_return);
            assert_eq!(
                RETURNED.load(Ordering::SeqCst),
                2,
                "once more in the next round"
            );
        })
        .join()
        .expect("the test thread");
    }
}
