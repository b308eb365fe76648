//! `FooExecutor`: its catch-all method `foo` appends one document saying
//! `foo was here and got {n} document`, where n is how many documents it received
//! (the Jina seed's `FooExecutor`).

use flowhost_guest::{Document, DocumentArray, Executor, Metas, NoConfig, Request, Result};

/// Stateless; no constructor arguments.
pub struct FooExecutor;

impl Executor for FooExecutor {
    type Config = NoConfig;

    fn new(_config: NoConfig, _metas: &Metas) -> Result<Self> {
        Ok(Self)
    }
}

impl FooExecutor {
    /// Catch-all: appends the greeting document.
    fn foo(&mut self, docs: &mut DocumentArray, _req: &Request) -> Result<()> {
        let n = docs.len();
        docs.push(Document::from_text(format!(
            "foo was here and got {n} document"
        )));
        Ok(())
    }
}

flowhost_guest::export_executor!(FooExecutor { foo => * });
