//! Per-endpoint handles, looked up without a lock on the hot path.
//!
//! The endpoints a flow binds are known once it is up: [`EndpointTable::bind`] fixes them in
//! a map that is only read afterwards. Anything else (an executor's catch-all answering a new
//! endpoint, a flow reloaded with more) goes to a small locked overflow, bounded by
//! [`MAX_ENDPOINTS`](crate::MAX_ENDPOINTS), past which it is counted as [`OTHER`](crate::OTHER).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

pub(crate) struct EndpointTable<H> {
    bound: OnceLock<HashMap<Box<str>, H>>,
    overflow: Mutex<HashMap<Box<str>, H>>,
    other: H,
    make: Box<dyn Fn(&str) -> H + Send + Sync>,
}

impl<H: Clone> EndpointTable<H> {
    pub(crate) fn new(make: impl Fn(&str) -> H + Send + Sync + 'static) -> Self {
        Self {
            bound: OnceLock::new(),
            overflow: Mutex::new(HashMap::new()),
            other: make(crate::OTHER),
            make: Box::new(make),
        }
    }

    /// Fixes the endpoints looked up without a lock; only the first call counts.
    pub(crate) fn bind<'a>(&self, endpoints: impl IntoIterator<Item = &'a str>) {
        let bound = endpoints
            .into_iter()
            .take(crate::MAX_ENDPOINTS)
            .map(|endpoint| (endpoint.into(), (self.make)(endpoint)))
            .collect();
        let _ = self.bound.set(bound);
    }

    pub(crate) fn get(&self, endpoint: &str) -> H {
        if let Some(handles) = self.bound.get().and_then(|bound| bound.get(endpoint)) {
            return handles.clone();
        }
        let Ok(mut overflow) = self.overflow.lock() else {
            return self.other.clone();
        };
        if let Some(handles) = overflow.get(endpoint) {
            return handles.clone();
        }
        if overflow.len() >= crate::MAX_ENDPOINTS {
            return self.other.clone();
        }
        let handles = (self.make)(endpoint);
        overflow.insert(endpoint.into(), handles.clone());
        handles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_past_the_bound_are_counted_as_other() {
        let table = EndpointTable::new(|endpoint: &str| endpoint.to_owned());
        table.bind(["/index"]);
        assert_eq!(table.get("/index"), "/index");
        assert_eq!(table.get("/new"), "/new");
        for n in 0..crate::MAX_ENDPOINTS {
            table.get(&format!("/made-up-{n}"));
        }
        assert_eq!(table.get("/one-too-many"), crate::OTHER);
        assert_eq!(
            table.get("/new"),
            "/new",
            "endpoints seen before keep their label"
        );
    }
}
