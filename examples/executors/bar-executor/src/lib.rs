//! `BarExecutor`: its catch-all method `bar` appends one document saying
//! `bar was here and got {n} document`, where n is how many documents it received
//! (the Jina seed's `BarExecutor`).

use flowhost_guest::{Document, DocumentArray, Executor, Metas, NoConfig, Request, Result};

/// Stateless; no constructor arguments.
pub struct BarExecutor;

impl Executor for BarExecutor {
    type Config = NoConfig;

    fn new(_config: NoConfig, _metas: &Metas) -> Result<Self> {
        Ok(Self)
    }
}

impl BarExecutor {
    /// Catch-all: appends the greeting document.
    fn bar(&mut self, docs: &mut DocumentArray, _req: &Request) -> Result<()> {
        let n = docs.len();
        docs.push(Document::from_text(format!(
            "bar was here and got {n} document"
        )));
        Ok(())
    }
}

flowhost_guest::export_executor!(BarExecutor { bar => * });
