//! Per-endpoint handles, looked up without a lock on the hot path.
//!
//! The endpoints a flow binds are known once it is up: [`EndpointTable::bind`] fixes them in
//! a map that is only read afterwards. Anything else (an executor's catch-all answering a new
//! endpoint, a flow reloaded with more) goes to a small locked overflow, bounded by
//! [`MAX_ENDPOINTS`](crate::MAX_ENDPOINTS), past which it is counted as [`OTHER`](crate::OTHER).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A fast hasher: endpoint names come from clients, but the bound map is fixed before any
/// request and the overflow is capped, so flooding it cannot grow anything.
type Map<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;

pub(crate) struct EndpointTable<H> {
    bound: OnceLock<Bound<H>>,
    overflow: Mutex<Map<Arc<H>>>,
    other: Arc<H>,
    make: Box<dyn Fn(&str) -> H + Send + Sync>,
}

struct Bound<H> {
    index: Map<usize>,
    handles: Vec<H>,
}

/// Where an endpoint's handles are: an index into the bound ones (held without touching a
/// reference count shared with other threads), or handles of their own.
pub(crate) enum Slot<H> {
    Bound(usize),
    Loose(Arc<H>),
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
            index: Map::default(),
            handles: Vec::new(),
        };
        for endpoint in endpoints.into_iter().take(crate::MAX_ENDPOINTS) {
            if !bound.index.contains_key(endpoint) {
                bound.index.insert(endpoint.into(), bound.handles.len());
                bound.handles.push((self.make)(endpoint));
            }
        }
        let _ = self.bound.set(bound);
    }

    /// Where `endpoint`'s handles are.
    pub(crate) fn slot(&self, endpoint: &str) -> Slot<H> {
        if let Some(&index) = self.bound.get().and_then(|bound| bound.index.get(endpoint)) {
            return Slot::Bound(index);
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

    /// The handles in `slot` (one this table gave).
    pub(crate) fn handles<'a>(&'a self, slot: &'a Slot<H>) -> &'a H {
        match slot {
            Slot::Bound(index) => (self.bound.get())
                .and_then(|bound| bound.handles.get(*index))
                .unwrap_or(&self.other),
            Slot::Loose(handles) => handles,
        }
    }

    /// Calls `f` with `endpoint`'s handles.
    pub(crate) fn with<T>(&self, endpoint: &str, f: impl FnOnce(&H) -> T) -> T {
        let slot = self.slot(endpoint);
        f(self.handles(&slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_past_the_bound_are_counted_as_other() {
        let table = EndpointTable::new(|endpoint: &str| endpoint.to_owned());
        table.bind(["/index", "/search", "/index"]);
        let get = |endpoint: &str| table.with(endpoint, Clone::clone);
        assert!(matches!(table.slot("/search"), Slot::Bound(1)));
        assert_eq!(get("/index"), "/index");
        assert_eq!(get("/search"), "/search");
        assert_eq!(get("/new"), "/new");
        for n in 0..crate::MAX_ENDPOINTS {
            get(&format!("/made-up-{n}"));
        }
        assert_eq!(get("/one-too-many"), crate::OTHER);
        assert_eq!(
            get("/new"),
            "/new",
            "endpoints seen before keep their label"
        );
    }
}
