//! `Tagger`: merges the tags given in `uses_with` (`{"tags": {...}}`) into every
//! top-level document, overwriting keys it shares with them (Python's
//! `dict.update`), then the request's `parameters["tags"]` over them (when it is an
//! object), and returns the documents. Every SDK's example tagger does the same.

use flowhost_guest::serde_json::{Map, Value};
use flowhost_guest::{DocumentArray, Executor, Metas, Request, Result};
use serde::Deserialize;

/// Constructor arguments.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The tags to merge in; empty by default.
    tags: Map<String, Value>,
}

/// Holds the tags to merge.
pub struct Tagger {
    tags: Map<String, Value>,
}

impl Executor for Tagger {
    type Config = Config;

    fn new(config: Config, _metas: &Metas) -> Result<Self> {
        Ok(Self { tags: config.tags })
    }
}

impl Tagger {
    /// Catch-all: merges the tags into each document.
    fn tag(&mut self, docs: &mut DocumentArray, req: &Request) -> Result<()> {
        let per_request = match req.parameters().get("tags") {
            Some(Value::Object(tags)) => Some(tags),
            _ => None,
        };
        for doc in docs.iter_mut() {
            // Refuse tags that did not parse rather than silently replacing them.
            doc.try_tags()?;
            let tags = doc.tags_mut();
            for (key, value) in self.tags.iter().chain(per_request.into_iter().flatten()) {
                tags.insert(key.clone(), value.clone());
            }
        }
        Ok(())
    }
}

flowhost_guest::export_executor!(Tagger { tag => * });
