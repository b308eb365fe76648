//! `{{Class}}`: its catch-all method appends one document saying
//! `<greeting> from {{name}}`; the greeting comes from `uses_with`.

use flowhost_guest::{Document, DocumentArray, Executor, Metas, Request, Result};
use serde::Deserialize;

/// Constructor arguments (Jina's `uses_with`); missing keys take the defaults.
#[derive(Deserialize)]
#[serde(default)]
pub struct Config {
    greeting: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            greeting: "hello".into(),
        }
    }
}

pub struct {{Class}} {
    greeting: String,
}

impl Executor for {{Class}} {
    type Config = Config;

    fn new(config: Config, metas: &Metas) -> Result<Self> {
        flowhost_guest::info!("{} starting", metas.name);
        Ok(Self {
            greeting: config.greeting,
        })
    }
}

impl {{Class}} {
    /// Catch-all: appends the greeting.
    fn greet(&mut self, docs: &mut DocumentArray, _req: &Request) -> Result<()> {
        docs.push(Document::from_text(format!("{} from {{name}}", self.greeting)));
        Ok(())
    }
}

flowhost_guest::export_executor!({{Class}} { greet => * });
