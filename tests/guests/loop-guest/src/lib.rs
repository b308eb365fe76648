//! Misbehaving guest for the runtime's containment tests: its catch-all
//! `handle` spins forever on `/loop` (only the host's deadline stops it) and
//! returns `unchanged` on any other endpoint.

use flowhost_guest::{DocumentArray, Executor, Metas, NoConfig, Request, Result};

/// Stateless.
pub struct LoopGuest;

impl Executor for LoopGuest {
    type Config = NoConfig;

    fn new(_config: NoConfig, _metas: &Metas) -> Result<Self> {
        Ok(Self)
    }
}

impl LoopGuest {
    /// Catch-all: loops forever on `/loop`.
    fn handle(&mut self, _docs: &DocumentArray, req: &Request) -> Result<()> {
        if req.endpoint() == "/loop" {
            let mut counter = 0u64;
            // `black_box` keeps the optimiser from proving the loop has no effect.
            loop {
                counter = std::hint::black_box(counter.wrapping_add(1));
            }
        }
        Ok(())
    }
}

flowhost_guest::export_executor!(LoopGuest { handle => * });
