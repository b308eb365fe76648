//! `BazExecutor`: its catch-all method `baz` appends one document saying
//! `baz was here and got {n} document`, where n is how many documents it received
//! (the Jina seed's `BazExecutor`).

use flowhost_guest::{Document, DocumentArray, Executor, Metas, NoConfig, Request, Result};

/// Stateless; no constructor arguments.
pub struct BazExecutor;

impl Executor for BazExecutor {
    type Config = NoConfig;

    fn new(_config: NoConfig, _metas: &Metas) -> Result<Self> {
        Ok(Self)
    }
}

impl BazExecutor {
    /// Catch-all: appends the greeting document.
    fn baz(&mut self, docs: &mut DocumentArray, _req: &Request) -> Result<()> {
        let n = docs.len();
        docs.push(Document::from_text(format!(
            "baz was here and got {n} document"
        )));
        Ok(())
    }
}

flowhost_guest::export_executor!(BazExecutor { baz => * });
