//! Per-endpoint handles, looked up without a lock on the hot path.
//!
//! The endpoints a flow binds are known once it is up: [`EndpointTable::bind`] fixes them in
//! a table that is only read afterwards (a few names compared in turn, or a map). Anything
//! else (an executor's catch-all answering a new endpoint, a flow reloaded with more) goes to
//! a small locked overflow, bounded by [`MAX_ENDPOINTS`](crate::MAX_ENDPOINTS), past which it
//! is counted as [`OTHER`](crate::OTHER).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::sharded::{Shard, Shards};

/// A fast hasher: endpoint names come from clients, but the bound map is fixed before any
/// request and the overflow is capped, so flooding it cannot grow anything.
type Map<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;

/// `repr(C)`: the bound table comes first, so that its short names share the line of the
/// owner's fields laid before it (the blocks a request records into).
#[repr(C)]
pub(crate) struct EndpointTable<H> {
    bound: OnceLock<Bound<H>>,
    overflow: Mutex<Map<Arc<H>>>,
    other: Arc<H>,
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
/// [`INLINE`], among the bound handles (borrowed, without touching a reference count shared
/// with other threads), or in handles of their own.
pub(crate) enum Slot<'a, H> {
    Inline(usize),
    Bound(&'a H),
    Loose(Arc<H>),
}

impl<C> Slot<'_, Shards<C>> {
    /// The endpoint's cells of the thread at `shard`. An inline endpoint's are in that
    /// thread's block, where `inline` finds them by position.
    pub(crate) fn cells<'s>(&'s self, shard: Shard, inline: impl FnOnce(usize) -> &'s C) -> &'s C {
        match self {
            Slot::Inline(at) => inline(*at),
            Slot::Bound(shards) => shards.at(shard).0,
            Slot::Loose(shards) => shards.at(shard).0,
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
            Slot::Bound(shards) => shards.all().for_each(f),
            Slot::Loose(shards) => shards.all().for_each(f),
        }
    }
}

impl<H> EndpointTable<H> {
    pub(crate) fn new(make: impl Fn(&str) -> H + Send + Sync + 'static) -> Self {
        Self {
            bound: OnceLock::new(),
            overflow: Mutex::new(Map::default()),
            other: Arc::new(make(crate::OTHER)),
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
                Some(past) => Slot::Bound(&bound.handles[past]),
            };
        }
        let Ok(mut overflow) = self.overflow.lock() else {
            return Slot::Loose(self.other.clone());
        };
        if let Some(handles) = overflow.get(endpoint) {
            return Slot::Loose(handles.clone());
        }
        if overflow.len() >= crate::MAX_ENDPOINTS {
            return Slot::Loose(self.other.clone());
        }
        let handles = Arc::new((self.make)(endpoint));
        overflow.insert(endpoint.into(), handles.clone());
        Slot::Loose(handles)
    }

    /// Calls `f` with every endpoint's name and cells, [`OTHER`](crate::OTHER) last.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&str, Slot<'_, H>)) {
        if let Some(bound) = self.bound.get() {
            for (index, endpoint) in bound.names.iter().enumerate() {
                let slot = match index.checked_sub(INLINE) {
                    None => Slot::Inline(index),
                    Some(past) => Slot::Bound(&bound.handles[past]),
                };
                f(endpoint, slot);
            }
        }
        let loose: Vec<(Box<str>, Arc<H>)> = {
            let overflow = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
            (overflow.iter())
                .map(|(endpoint, handles)| (endpoint.clone(), handles.clone()))
                .collect()
        };
        for (endpoint, handles) in loose {
            f(&endpoint, Slot::Loose(handles));
        }
        f(crate::OTHER, Slot::Loose(self.other.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name an endpoint's cells were made for, or its inline position.
    fn found(table: &EndpointTable<String>, endpoint: &str) -> String {
        match table.slot(endpoint) {
            Slot::Inline(index) => format!("inline {index}"),
            Slot::Bound(name) => name.clone(),
            Slot::Loose(name) => (*name).clone(),
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
            assert!(!matches!(table.slot(name), Slot::Loose(_)));
        }
        assert!(matches!(table.slot("/unbound"), Slot::Loose(_)));
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
            if let Slot::Loose(name) = slot {
                assert_eq!(endpoint, *name);
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
}
