//! flowhost: run document pipelines whose executors are sandboxed
//! WebAssembly components.
//!
//! - [`runtime`]: the component runtime (engine, compile cache, instances).
//! - [`docs`]: documents in the shape the executor contract moves them.

pub mod cli;
pub mod client;
pub mod deploy;
pub mod docs;
pub mod flow;
pub mod gateway;
pub mod proto;
pub mod router;
pub mod runtime;
pub mod topology;
