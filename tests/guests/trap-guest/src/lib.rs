//! Misbehaving guest for the runtime's containment tests.
//!
//! Its one method, the catch-all `handle`, looks at the endpoint:
//! `/trap` panics (a wasm trap), `/error` raises `ValueError: bad input`,
//! anything else returns `unchanged`, so a fresh instance can be shown to work.
//! `uses_with: {raise_on: [/foo]}` makes more endpoints raise like `/error` (the
//! gateway benchmarks' error scenario posts to `/foo`).

use flowhost_guest::{DocumentArray, Error, Executor, Metas, Request, Result};
use serde::Deserialize;

/// Constructor arguments.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Endpoints that raise `ValueError: bad input`, besides `/error`.
    raise_on: Vec<String>,
}

pub struct TrapGuest {
    raise_on: Vec<String>,
}

impl Executor for TrapGuest {
    type Config = Config;

    fn new(config: Config, _metas: &Metas) -> Result<Self> {
        Ok(Self {
            raise_on: config.raise_on,
        })
    }
}

impl TrapGuest {
    /// Catch-all: misbehaves according to the endpoint.
    fn handle(&mut self, _docs: &DocumentArray, req: &Request) -> Result<()> {
        match req.endpoint() {
            "/trap" => panic!("boom"),
            "/error" => Err(Error::new("ValueError", "bad input")),
            other if self.raise_on.iter().any(|e| e == other) => {
                Err(Error::new("ValueError", "bad input"))
            }
            _ => Ok(()),
        }
    }
}

flowhost_guest::export_executor!(TrapGuest { handle => * });
