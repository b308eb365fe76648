//! Idle workers hand the memory they freed back to the OS.
//!
//! The binary's allocator (mimalloc, `allocator.rs`) keeps a thread's freed pages until that same
//! thread allocates again. After a load, one worker may take every later request while the
//! other sleeps, holding the load's peak resident for as long as the process lives. So once a
//! second the runtime starts a new reclaim round and wakes its sleeping workers. Each worker,
//! the next time it is about to sleep, returns its freed pages once for that round. A busy
//! worker pays for one collection a second.
//!
//! Rounds rest while the process is idle: after two seconds in which the workers did nothing
//! but the rounds, nothing is left to return, and a round would only wake them. The first
//! worker to wake after that (a request, a timer) starts the rounds again, so a process at
//! rest wakes no thread at all.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// How often a round starts.
const ROUND_EVERY: Duration = Duration::from_secs(1);

/// Less work than this between two rounds, all workers together, is the rounds' own (a timer,
/// a few empty tasks, the collections): the process is idle.
const IDLE_WORK: Duration = Duration::from_millis(1);

thread_local! {
    /// The round this thread last collected in.
    static COLLECTED_IN: Cell<u64> = const { Cell::new(0) };
}

/// The rounds of one runtime, shared by its workers' park and unpark hooks and the task that
/// starts them.
#[derive(Default)]
pub(super) struct Rounds {
    /// The current round; a worker collects when it has not collected in this one.
    round: AtomicU64,
    /// Rounds are resting until a worker wakes.
    resting: AtomicBool,
    /// Workers woken so far, so that rounds never rest on a wake they did not see.
    wakes: AtomicU64,
    resume: Notify,
}

impl Rounds {
    /// A worker's `on_thread_park`: runs `return_freed` once per round.
    pub(super) fn before_sleep(&self, return_freed: fn()) {
        let round = self.round.load(Ordering::Relaxed);
        if COLLECTED_IN.get() != round {
            COLLECTED_IN.set(round);
            return_freed();
        }
    }

    /// A worker's `on_thread_unpark`: something woke the runtime, so resting rounds start
    /// again. While they run, this is an addition and a load, beside the wake's own syscall.
    pub(super) fn after_wake(&self) {
        // SeqCst pairs with the round task's store of `resting` and its reading of `wakes`:
        // either it sees this wake and does not rest, or this sees it resting.
        self.wakes.fetch_add(1, Ordering::SeqCst);
        if self.resting.load(Ordering::SeqCst) && self.resting.swap(false, Ordering::AcqRel) {
            self.resume.notify_one();
        }
    }

    /// Starts a round every `ROUND_EVERY` on the current runtime, for as long as it runs,
    /// resting while it is idle.
    pub(super) fn start(self: Arc<Self>) {
        let metrics = tokio::runtime::Handle::current().metrics();
        // One more than the workers, so that every sleeping worker can be handed one.
        let wakers = metrics.num_workers() + 1;
        let work = move || -> Duration {
            (0..metrics.num_workers())
                .map(|worker| metrics.worker_total_busy_duration(worker))
                .sum()
        };
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(ROUND_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut worked = work();
            let mut idle_before = false;
            loop {
                ticks.tick().await;
                let wakes = self.wakes.load(Ordering::SeqCst);
                let now = work();
                let idle = now.saturating_sub(worked) < IDLE_WORK;
                worked = now;
                // The first idle second still has its round: a load's last frees can take
                // little work.
                if idle && idle_before {
                    self.resting.store(true, Ordering::SeqCst);
                    // A worker woken since the tick may have missed `resting`: no rest then.
                    let missed = self.wakes.load(Ordering::SeqCst) != wakes;
                    if !(missed && self.resting.swap(false, Ordering::AcqRel)) {
                        // `notify_one` keeps its permit for a wake that comes before this
                        // waits.
                        self.resume.notified().await;
                        ticks.reset();
                        worked = work();
                        idle_before = false;
                        continue;
                    }
                }
                idle_before = idle;
                self.round.fetch_add(1, Ordering::Relaxed);
                // Tasks spawned from a worker beyond the one it runs next wake a sleeping
                // worker to steal them; a worker woken with nothing to do goes back to sleep,
                // and collects on the way.
                for _ in 0..wakers {
                    tokio::spawn(async {});
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    static RETURNED: AtomicUsize = AtomicUsize::new(0);

    fn count_return() {
        RETURNED.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn a_worker_returns_its_freed_memory_once_a_round() {
        let rounds = Rounds::default();
        // A thread of its own: the round it last collected in starts unset.
        std::thread::scope(|scope| {
            scope.spawn(|| {
                rounds.round.fetch_add(1, Ordering::SeqCst);
                rounds.before_sleep(count_return);
                rounds.before_sleep(count_return);
                assert_eq!(RETURNED.load(Ordering::SeqCst), 1, "once in a round");
                rounds.round.fetch_add(1, Ordering::SeqCst);
                rounds.before_sleep(count_return);
                rounds.before_sleep(count_return);
                assert_eq!(
                    RETURNED.load(Ordering::SeqCst),
                    2,
                    "once more in the next round"
                );
            });
        });
    }

    /// Waits up to 10 s for `condition`, checking every 10 ms.
    fn eventually(what: &str, condition: impl Fn() -> bool) {
        let until = Instant::now() + Duration::from_secs(10);
        while !condition() {
            assert!(Instant::now() < until, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn rounds_rest_while_the_runtime_is_idle_and_a_wake_resumes_them() {
        fn collect() {}
        let rounds = Arc::new(Rounds::default());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .on_thread_park({
                let rounds = rounds.clone();
                move || rounds.before_sleep(collect)
            })
            .on_thread_unpark({
                let rounds = rounds.clone();
                move || rounds.after_wake()
            })
            .build()
            .expect("a runtime");
        runtime.block_on(async { rounds.clone().start() });
        eventually("the idle runtime's rounds rest", || {
            rounds.resting.load(Ordering::SeqCst)
        });
        let rested_at = rounds.round.load(Ordering::SeqCst);
        assert!(rested_at >= 1, "the first idle second has a round");

        // Work wakes a worker, which resumes the rounds: a round starts a second later.
        runtime.spawn(async {});
        eventually("a round starts after the wake", || {
            rounds.round.load(Ordering::SeqCst) > rested_at
        });
        eventually("the rounds rest again", || {
            rounds.resting.load(Ordering::SeqCst)
        });
    }
}
