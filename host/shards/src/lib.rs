//! A value per thread, each on cache lines of its own, for counts that many threads bump and
//! few read: the metrics' cells (`flowhost-telemetry`) and the runtime's count of guest calls
//! under way (the epoch ticker).
//!
//! One atomic that every worker writes moves its line between cores on every write. Split
//! into [`Shards`], each thread writes a line no other thread writes (a thread takes the next
//! shard the first time it asks, and keeps it), and a reader adds the shards up. The number
//! of owned shards is bounded ([`owned_shards`]); threads past it share one more, which is
//! why a writer is told whether it is [alone](Shard::alone) on its shard.
//!
//! Owns only where a thread's cell is. Must not know what the cells count, or flowhost.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use flowhost_shards::Shards;
//!
//! let calls: Shards<AtomicU64> = Shards::new();
//! let (mine, _alone) = calls.mine();
//! mine.fetch_add(1, Ordering::Relaxed);
//! let total: u64 = calls.all().map(|cell| cell.load(Ordering::Relaxed)).sum();
//! assert_eq!(total, 1);
//! ```

#![forbid(unsafe_code)]

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_utils::CachePadded;

/// How many threads get a shard of their own in every [`Shards`]: twice the machine's cores
/// (the workers, and the blocking threads and timers beside them), at least 4 and at most 64.
/// Threads past them share one more shard.
#[inline]
pub fn owned_shards() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (2 * cores).clamp(4, 64)
    })
}

/// A thread's place in every [`Shards`]: a shard only it writes, or the shared one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shard {
    /// Written by this thread alone.
    Owned(usize),
    /// Written by every thread past [`owned_shards`].
    Shared,
}

impl Shard {
    /// Whether the thread alone writes the cells at this shard: it may then load and store
    /// where others would need an atomic addition.
    #[inline]
    pub fn alone(self) -> bool {
        matches!(self, Shard::Owned(_))
    }
}

/// The calling thread's shard: the next free one the first time it asks, then the same.
#[inline]
pub fn my_shard() -> Shard {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    let index = INDEX.with(|index| {
        if index.get() == usize::MAX {
            index.set(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        index.get()
    });
    if index < owned_shards() {
        Shard::Owned(index)
    } else {
        Shard::Shared
    }
}

/// One value per thread that owns a shard, then the shared one: one allocation, so a handle
/// reaches its cell in one step. Clones share the cells.
pub struct Shards<T>(Arc<[CachePadded<T>]>);

impl<T> Clone for Shards<T> {
    fn clone(&self) -> Self {
        Shards(self.0.clone())
    }
}

impl<T: Default> Shards<T> {
    /// Every shard's value at its default.
    pub fn new() -> Self {
        Shards(
            (0..=owned_shards())
                .map(|_| CachePadded::default())
                .collect(),
        )
    }
}

impl<T: Default> Default for Shards<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Shards<T> {
    /// The calling thread's cell, and whether it is the only thread that writes it.
    #[inline]
    pub fn mine(&self) -> (&T, bool) {
        self.at(my_shard())
    }

    /// The cell at `shard` (a [`my_shard`] read once for several `Shards`), and whether the
    /// thread it belongs to writes it alone.
    #[inline]
    pub fn at(&self, shard: Shard) -> (&T, bool) {
        // `owned_shards()` owned cells, then the shared one.
        match shard {
            Shard::Owned(index) => (&self.0[index], true),
            Shard::Shared => (&self.0[self.0.len() - 1], false),
        }
    }

    /// Every cell, the shared one last, for a reader to add up.
    pub fn all(&self) -> impl Iterator<Item = &T> {
        self.0.iter().map(|cell| &**cell)
    }
}

impl<T: fmt::Debug> fmt::Debug for Shards<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.all()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::*;

    #[test]
    fn a_thread_keeps_its_shard_and_threads_past_the_owned_ones_share_the_last() {
        let shards: Shards<AtomicU64> = Shards::new();
        assert_eq!(shards.all().count(), owned_shards() + 1);
        assert_eq!(my_shard(), my_shard());
        let threads = 2 * owned_shards();
        let seen: Vec<Shard> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let (cell, _) = shards.mine();
                        cell.fetch_add(1, Ordering::Relaxed);
                        my_shard()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .collect()
        });
        let total: u64 = shards.all().map(|cell| cell.load(Ordering::Relaxed)).sum();
        assert_eq!(total, threads as u64);
        assert!(
            seen.contains(&Shard::Shared),
            "{threads} threads all owned a shard"
        );
        let mut owned: Vec<usize> = (seen.iter())
            .filter_map(|shard| match shard {
                Shard::Owned(index) => Some(*index),
                Shard::Shared => None,
            })
            .collect();
        owned.sort_unstable();
        owned.dedup();
        let alone = seen.iter().filter(|shard| shard.alone()).count();
        assert_eq!(owned.len(), alone, "two threads were given one owned shard");
        let (_, shared_alone) = shards.at(Shard::Shared);
        assert!(!shared_alone);
    }
}
