//! Misbehaving guest for the runtime's containment tests.
//!
//! Its one method, the catch-all `handle`, looks at the endpoint:
//! `/trap` panics (a wasm trap), `/error` raises `ValueError: bad input`,
//! anything else returns `unchanged`, so a fresh instance can be shown to work.

use flowhost_guest::{DocumentArray, Error, Executor, Metas, NoConfig, Request, Result};

/// Stateless.
pub struct TrapGuest;

impl Executor for TrapGuest {
    type Config = NoConfig;

    fn new(_config: NoConfig, _metas: &Metas) -> Result<Self> {
        Ok(Self)
    }
}

impl TrapGuest {
    /// Catch-all: misbehaves according to the endpoint.
    fn handle(&mut self, _docs: &DocumentArray, req: &Request) -> Result<()> {
        match req.endpoint() {
            "/trap" => panic!("boom"),
            "/error" => Err(Error::new("ValueError", "bad input")),
            _ => Ok(()),
        }
    }
}

flowhost_guest::export_executor!(TrapGuest { handle => * });
