//! `ParamPrinter`: shows how `uses_with` reaches the constructor. Its catch-all
//! method logs `param1: X`, `param2: Y`, `param3: Z` and appends one document
//! whose tags are `{"param1": X, "param2": Y, "param3": Z}`.

use flowhost_guest::{Document, DocumentArray, Executor, Metas, Request, Result};
use serde::Deserialize;

/// Constructor arguments; each defaults independently, as Python keyword
/// arguments would.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct Params {
    param1: i64,
    param2: i64,
    param3: i64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            param1: 1,
            param2: 2,
            param3: 3,
        }
    }
}

/// Holds the parameters it was built with.
pub struct ParamPrinter {
    params: Params,
}

impl Executor for ParamPrinter {
    type Config = Params;

    fn new(params: Params, _metas: &Metas) -> Result<Self> {
        Ok(Self { params })
    }
}

impl ParamPrinter {
    /// Catch-all: logs the parameters and appends them as a document's tags.
    fn print(&mut self, docs: &mut DocumentArray, _req: &Request) -> Result<()> {
        let Params {
            param1,
            param2,
            param3,
        } = self.params;
        flowhost_guest::info!("param1: {param1}");
        flowhost_guest::info!("param2: {param2}");
        flowhost_guest::info!("param3: {param3}");
        docs.push(
            Document::new()
                .with_tag("param1", param1)
                .with_tag("param2", param2)
                .with_tag("param3", param3),
        );
        Ok(())
    }
}

flowhost_guest::export_executor!(ParamPrinter { print => * });
