//! Misbehaving guest for the runtime's containment tests: its catch-all
//! `handle` allocates 1 MiB chunks without bound on `/bomb`, writing into each
//! so the pages are really touched, until the host's memory cap stops it. Any
//! other endpoint returns `unchanged`.

use flowhost_guest::{DocumentArray, Executor, Metas, NoConfig, Request, Result};

const MIB: usize = 1 << 20;

/// Stateless.
pub struct MemoryBomb;

impl Executor for MemoryBomb {
    type Config = NoConfig;

    fn new(_config: NoConfig, _metas: &Metas) -> Result<Self> {
        Ok(Self)
    }
}

impl MemoryBomb {
    /// Catch-all: allocates forever on `/bomb`.
    fn handle(&mut self, _docs: &DocumentArray, req: &Request) -> Result<()> {
        if req.endpoint() == "/bomb" {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                let mut chunk = vec![0u8; MIB];
                // Touch every page with non-zero data.
                for (i, byte) in chunk.iter_mut().enumerate().step_by(4096) {
                    *byte = (i as u8) | 1;
                }
                hoard.push(std::hint::black_box(chunk));
                flowhost_guest::debug!("memory bomb holds {} MiB", hoard.len());
            }
        }
        Ok(())
    }
}

flowhost_guest::export_executor!(MemoryBomb { handle => * });
