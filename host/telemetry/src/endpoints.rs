//! Per-endpoint handles, looked up without a lock on the hot path.
//!
//! The endpoints a flow binds are known once it is up: [`EndpointTable::bind`] fixes them in
//! a table that is only read afterwards (a few names compared in turn, or a map). Anything
//! else (an executor's catch-all answering a new endpoint, a flow reloaded with more) goes to
//! an overflow table that only grows, to at most [`MAX_ENDPOINTS`](crate::MAX_ENDPOINTS),
//! past which it is counted as [`OTHER`](crate::OTHER). An endpoint met before is found
//! there without a lock or a reference count: a catch-all endpoint is as common as a bound
//! one (Jina's `@requests` without `on=`), and every worker looks it up twice a request.

use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::sharded::{Shard, Shards};

/// A fast hasher: endpoint names come from clients, but the bound map is fixed before any
/// request and the overflow is capped, so flooding it cannot grow anything.
type Map<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;

/// `repr(C)`: the bound table comes first, so that its short names share the line of the
/// owner's fields laid before it (the blocks a request records into).
#[repr(C)]
pub(crate) struct EndpointTable<H> {
    bound: OnceLock<Bound<H>>,
    overflow: Overflow<H>,
    other: H,
    make: Box<dyn Fn(&str) -> H + Send + Sync>,
}

#[repr(C)]
struct Bound<H> {
    /// The names again, inline, when the flow binds at most [`SCAN`] and each is short: a
    /// lookup then reads no memory but this table's.
    short: Option<ShortNames>,
    names: Vec<Box<str>>,
    /// Positions in `names`, when there are more than [`SCAN`].
    index: Map<usize>,
    /// The handles of the endpoints past the first [`INLINE`].
    handles: Vec<H>,
}

/// Up to this many bound endpoints are found by comparing names in turn: a flow binds a
/// few, and a short scan costs less than hashing the name.
const SCAN: usize = 8;

/// The first bound endpoints have no handles here: the caller keeps their cells inline in
/// the block a request already records into (one line fewer to reach, and no pointer to
/// follow), found by [`Slot::Inline`]'s position.
pub(crate) const INLINE: usize = SCAN;

/// A few short names, each in a fixed array: the lengths first, so that a scan reads one line
/// until a length matches.
#[repr(C)]
struct ShortNames {
    count: usize,
    lens: [u8; SCAN],
    bytes: [[u8; SHORT]; SCAN],
}

/// The longest name [`ShortNames`] holds.
const SHORT: usize = 32;

impl ShortNames {
    fn new(names: &[Box<str>]) -> Option<Self> {
        if names.len() > SCAN || names.iter().any(|name| name.len() > SHORT) {
            return None;
        }
        let mut short = ShortNames {
            count: names.len(),
            lens: [0; SCAN],
            bytes: [[0; SHORT]; SCAN],
        };
        for (at, name) in names.iter().enumerate() {
            short.lens[at] = name.len() as u8;
            short.bytes[at][..name.len()].copy_from_slice(name.as_bytes());
        }
        Some(short)
    }

    fn position(&self, endpoint: &str) -> Option<usize> {
        let endpoint = endpoint.as_bytes();
        (0..self.count).find(|&at| {
            usize::from(self.lens[at]) == endpoint.len()
                && self.bytes[at][..endpoint.len()] == *endpoint
        })
    }
}

impl<H> Bound<H> {
    fn position(&self, endpoint: &str) -> Option<usize> {
        if let Some(short) = &self.short {
            return short.position(endpoint);
        }
        if self.names.len() <= SCAN {
            self.names.iter().position(|name| **name == *endpoint)
        } else {
            self.index.get(endpoint).copied()
        }
    }
}

/// Where an endpoint's cells are: inline in the caller's block at a position below
/// [`INLINE`], or in handles of their own, borrowed from the table (without touching a
/// reference count shared with other threads).
pub(crate) enum Slot<'a, H> {
    Inline(usize),
    Handles(&'a H),
}

impl<C> Slot<'_, Shards<C>> {
    /// The endpoint's cells of the thread at `shard`. An inline endpoint's are in that
    /// thread's block, where `inline` finds them by position.
    pub(crate) fn cells<'s>(&'s self, shard: Shard, inline: impl FnOnce(usize) -> &'s C) -> &'s C {
        match self {
            Slot::Inline(at) => inline(*at),
            Slot::Handles(shards) => shards.at(shard).0,
        }
    }

    /// Calls `f` with every thread's cells of the endpoint. An inline endpoint's are in
    /// `blocks`, where `inline` finds them by position.
    pub(crate) fn each<B>(
        &self,
        blocks: &Shards<B>,
        inline: impl Fn(&B, usize) -> &C,
        mut f: impl FnMut(&C),
    ) {
        match self {
            Slot::Inline(at) => blocks.all().for_each(|block| f(inline(block, *at))),
            Slot::Handles(shards) => shards.all().for_each(f),
        }
    }
}

impl<H> EndpointTable<H> {
    pub(crate) fn new(make: impl Fn(&str) -> H + Send + Sync + 'static) -> Self {
        Self {
            bound: OnceLock::new(),
            overflow: Overflow::new(),
            other: make(crate::OTHER),
            make: Box::new(make),
        }
    }

    /// Fixes the endpoints looked up without a lock; only the first call counts.
    pub(crate) fn bind<'a>(&self, endpoints: impl IntoIterator<Item = &'a str>) {
        let mut bound = Bound {
            short: None,
            names: Vec::new(),
            index: Map::default(),
            handles: Vec::new(),
        };
        for endpoint in endpoints.into_iter().take(crate::MAX_ENDPOINTS) {
            if !bound.index.contains_key(endpoint) {
                bound.index.insert(endpoint.into(), bound.names.len());
                if bound.names.len() >= INLINE {
                    bound.handles.push((self.make)(endpoint));
                }
                bound.names.push(endpoint.into());
            }
        }
        if bound.names.len() <= SCAN {
            bound.index = Map::default();
        }
        bound.short = ShortNames::new(&bound.names);
        let _ = self.bound.set(bound);
    }

    /// Where `endpoint`'s cells are.
    pub(crate) fn slot(&self, endpoint: &str) -> Slot<'_, H> {
        if let Some(bound) = self.bound.get()
            && let Some(index) = bound.position(endpoint)
        {
            return match index.checked_sub(INLINE) {
                None => Slot::Inline(index),
                Some(past) => Slot::Handles(&bound.handles[past]),
            };
        }
        let handles = (self.overflow.find(endpoint))
            .or_else(|| self.overflow.add(endpoint, || (self.make)(endpoint)));
        Slot::Handles(handles.unwrap_or(&self.other))
    }

    /// Calls `f` with every endpoint's name and cells, [`OTHER`](crate::OTHER) last.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&str, Slot<'_, H>)) {
        if let Some(bound) = self.bound.get() {
            for (index, endpoint) in bound.names.iter().enumerate() {
                let slot = match index.checked_sub(INLINE) {
                    None => Slot::Inline(index),
                    Some(past) => Slot::Handles(&bound.handles[past]),
                };
                f(endpoint, slot);
            }
        }
        for (endpoint, handles) in self.overflow.entries() {
            f(endpoint, Slot::Handles(handles));
        }
        f(crate::OTHER, Slot::Handles(&self.other));
    }
}

/// The endpoints met after binding, each with the handles made the first time it came: a
/// table that only grows, so a reader holds on to what it found without a lock or a count,
/// and only an endpoint's first request takes the lock that orders additions.
struct Overflow<H> {
    /// Open addressing over twice [`MAX_ENDPOINTS`](crate::MAX_ENDPOINTS) slots (a power of
    /// two), so that a probe meets an empty slot within a few steps even when full.
    slots: Box<[OnceLock<Entry<H>>]>,
    /// Keyed per table: the names come from clients.
    hasher: foldhash::fast::RandomState,
    /// Slots set; changed only under `adding`.
    taken: AtomicUsize,
    adding: Mutex<()>,
}

/// An endpoint's name and the handles made for it.
type Entry<H> = (Box<str>, H);

impl<H> Overflow<H> {
    fn new() -> Self {
        Self {
            slots: (0..2 * crate::MAX_ENDPOINTS.next_power_of_two())
                .map(|_| OnceLock::new())
                .collect(),
            hasher: Default::default(),
            taken: AtomicUsize::new(0),
            adding: Mutex::new(()),
        }
    }

    /// The slots `endpoint` may be in, in the order it is looked for (and added): an entry is
    /// never removed, so an empty slot ends the search.
    fn probe(&self, endpoint: &str) -> impl Iterator<Item = &OnceLock<Entry<H>>> {
        let mask = self.slots.len() - 1;
        let start = self.hasher.hash_one(endpoint) as usize;
        (0..self.slots.len()).map(move |step| &self.slots[start.wrapping_add(step) & mask])
    }

    fn find(&self, endpoint: &str) -> Option<&H> {
        for slot in self.probe(endpoint) {
            match slot.get() {
                None => return None,
                Some((name, handles)) if **name == *endpoint => return Some(handles),
                Some(_) => {}
            }
        }
        None
    }

    /// Adds `endpoint` with the handles `make` gives, unless the table is full (`None`); if
    /// another thread added it meanwhile, its handles.
    fn add(&self, endpoint: &str, make: impl FnOnce() -> H) -> Option<&H> {
        // Full for good: the endpoints past the cap are `other`, and take no lock to learn
        // it. One more look, for an endpoint whose first request was adding it meanwhile.
        if self.taken.load(Ordering::Acquire) >= crate::MAX_ENDPOINTS {
            return self.find(endpoint);
        }
        // Guards nothing but the order of additions: a panic while holding it leaves every
        // slot either set or empty.
        let _adding = self.adding.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(handles) = self.find(endpoint) {
            return Some(handles);
        }
        if self.taken.load(Ordering::Acquire) >= crate::MAX_ENDPOINTS {
            return None;
        }
        // Where `find` stopped: the first empty slot of the name's probe, which only an
        // addition (under the lock held here) fills.
        let empty = self.probe(endpoint).find(|slot| slot.get().is_none())?;
        let (_, handles) = empty.get_or_init(|| (endpoint.into(), make()));
        self.taken.fetch_add(1, Ordering::Release);
        Some(handles)
    }

    /// Every endpoint added, with its handles.
    fn entries(&self) -> impl Iterator<Item = (&str, &H)> {
        (self.slots.iter())
            .filter_map(OnceLock::get)
            .map(|(name, handles)| (&**name, handles))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name an endpoint's cells were made for, or its inline position.
    fn found(table: &EndpointTable<String>, endpoint: &str) -> String {
        match table.slot(endpoint) {
            Slot::Inline(index) => format!("inline {index}"),
            Slot::Handles(name) => name.clone(),
        }
    }

    #[test]
    fn the_first_bound_endpoints_are_inline_and_the_rest_found_through_the_map() {
        let table = EndpointTable::new(|endpoint: &str| endpoint.to_owned());
        let names: Vec<String> = (0..2 * SCAN).map(|n| format!("/e{n}")).collect();
        table.bind(names.iter().map(String::as_str));
        for (index, name) in names.iter().enumerate() {
            let expected = if index < INLINE {
                format!("inline {index}")
            } else {
                name.clone()
            };
            assert_eq!(found(&table, name), expected);
        }
        assert_eq!(found(&table, "/unbound"), "/unbound");
        assert_eq!(
            table.overflow.entries().count(),
            1,
            "only the unbound one overflows"
        );
    }

    #[test]
    fn a_long_bound_name_is_found_as_the_short_ones_are() {
        let table = EndpointTable::new(|endpoint: &str| endpoint.to_owned());
        let long = format!("/{}", "x".repeat(SHORT));
        table.bind(["/a", long.as_str(), "/ab"]);
        assert_eq!(found(&table, "/a"), "inline 0");
        assert_eq!(found(&table, &long), "inline 1");
        assert_eq!(found(&table, "/ab"), "inline 2");
        assert_eq!(found(&table, "/abc"), "/abc");
    }

    #[test]
    fn endpoints_past_the_bound_are_counted_as_other() {
        let table = EndpointTable::new(|endpoint: &str| endpoint.to_owned());
        table.bind(["/index", "/search", "/index"]);
        assert_eq!(found(&table, "/index"), "inline 0");
        assert_eq!(found(&table, "/search"), "inline 1");
        assert_eq!(found(&table, "/new"), "/new");
        for n in 0..crate::MAX_ENDPOINTS {
            found(&table, &format!("/made-up-{n}"));
        }
        assert_eq!(found(&table, "/one-too-many"), crate::OTHER);
        assert_eq!(
            found(&table, "/new"),
            "/new",
            "endpoints seen before keep their label"
        );
        let mut seen = Vec::new();
        table.for_each(|endpoint, slot| {
            if let Slot::Handles(name) = slot {
                assert_eq!(endpoint, *name, "each name with the handles made for it");
            }
            seen.push(endpoint.to_owned());
        });
        assert_eq!(
            seen.len(),
            2 + crate::MAX_ENDPOINTS + 1,
            "bound, loose and other"
        );
        assert_eq!(seen.last().map(String::as_str), Some(crate::OTHER));
    }

    #[test]
    fn threads_meeting_new_endpoints_at_once_get_one_set_of_handles_for_each() {
        let table = EndpointTable::new(|endpoint: &str| endpoint.to_owned());
        table.bind(["/bound"]);
        let names: Vec<String> = (0..crate::MAX_ENDPOINTS + 8)
            .map(|n| format!("/new-{n}"))
            .collect();
        // (name asked, the handles' name, where they are), from every thread.
        let found: Vec<(String, String, usize)> = std::thread::scope(|scope| {
            let (table, names) = (&table, &names);
            let threads: Vec<_> = (0..4)
                .map(|thread| {
                    scope.spawn(move || {
                        (names.iter().cycle().skip(thread * 17))
                            .take(3 * names.len())
                            .map(|name| match table.slot(name) {
                                Slot::Handles(handles) => {
                                    (name.clone(), handles.clone(), handles as *const _ as usize)
                                }
                                Slot::Inline(at) => panic!("{name} is not bound, yet inline {at}"),
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            (threads.into_iter())
                .flat_map(|thread| thread.join().expect("no panic"))
                .collect()
        });
        let mut places: HashMap<&str, Vec<usize>> = HashMap::new();
        for (name, _, place) in &found {
            places.entry(name).or_default().push(*place);
        }
        for (name, seen) in &places {
            assert!(
                seen.iter().all(|place| *place == seen[0]),
                "{name} was given more than one set of handles"
            );
        }
        let own: std::collections::HashSet<&str> = (found.iter())
            .filter(|(name, handles, _)| name == handles)
            .map(|(name, _, _)| name.as_str())
            .collect();
        assert_eq!(
            own.len(),
            crate::MAX_ENDPOINTS,
            "the cap, whichever came first"
        );
        assert!(
            (found.iter())
                .filter(|(name, _, _)| !own.contains(name.as_str()))
                .all(|(_, handles, _)| handles == crate::OTHER),
            "the rest are other"
        );
        assert_eq!(table.overflow.entries().count(), crate::MAX_ENDPOINTS);
    }
}
