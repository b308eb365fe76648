//! Write [flowhost] executors in Rust.
//!
//! An executor is one step of a flow: a WebAssembly component that receives
//! batches of documents on endpoints (`/index`, `/search`, …) and returns them,
//! possibly changed. This crate hides the component plumbing: you write a
//! struct, a constructor taking typed `uses_with`, and ordinary methods over a
//! tree-shaped [`DocumentArray`]; one macro, [`export_executor!`], binds the
//! methods to endpoints and exports everything the host calls.
//!
//! # A complete executor
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "my-executor"
//! version = "0.1.0"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! flowhost-guest = { path = "../guest-sdk/rust" }   # or `flowhost-guest.workspace = true`
//! serde = { version = "1", features = ["derive"] }
//! serde_json = "1"
//! ```
//!
//! `src/lib.rs`:
//!
//! ```no_run
//! use flowhost_guest::{
//!     Document, DocumentArray, Error, Executor, Metas, NamedScore, Reply, Request, Result, Tensor,
//! };
//! use serde::Deserialize;
//!
//! /// Constructor arguments: Jina's `uses_with`. Missing keys take the defaults.
//! #[derive(Deserialize)]
//! #[serde(default)]
//! struct Config {
//!     prefix: String,
//!     dim: u32,
//! }
//!
//! impl Default for Config {
//!     fn default() -> Self {
//!         Self { prefix: "seen by".into(), dim: 4 }
//!     }
//! }
//!
//! struct MyExecutor {
//!     config: Config,
//!     name: String,
//!     indexed: Vec<Document>,
//! }
//!
//! impl Executor for MyExecutor {
//!     type Config = Config;
//!
//!     /// Called once per instance, before any request.
//!     fn new(config: Config, metas: &Metas) -> Result<Self> {
//!         if config.dim == 0 {
//!             return Err(Error::new("ValueError", "dim must be positive"));
//!         }
//!         flowhost_guest::info!("{} starting as shard {}/{}", metas.name, metas.shard_id, metas.shards);
//!         Ok(Self { config, name: metas.name.clone(), indexed: Vec::new() })
//!     }
//! }
//!
//! impl MyExecutor {
//!     /// Edits the documents in place: `&mut DocumentArray` means the (changed)
//!     /// documents go back to the host.
//!     fn encode(&mut self, docs: &mut DocumentArray, _req: &Request) -> Result<()> {
//!         for doc in docs.iter_mut() {
//!             let len = doc.text.as_deref().unwrap_or_default().len() as f32;
//!             let values = vec![len; self.config.dim as usize];
//!             doc.embedding = Some(Tensor::from_f32(&values, &[self.config.dim])?);
//!             doc.set_tag("encoded_by", self.name.as_str());
//!         }
//!         Ok(())
//!     }
//!
//!     /// Read-only: `&DocumentArray` means the host keeps its own copy and
//!     /// nothing is copied back.
//!     fn index(&mut self, docs: &DocumentArray, _req: &Request) -> Result<()> {
//!         for doc in docs.iter() {
//!             if doc.embedding.is_none() {
//!                 return Err(Error::new("ValueError", format!("document {} has no embedding", doc.id)));
//!             }
//!         }
//!         self.indexed.extend(docs.iter().cloned());
//!         flowhost_guest::info!("holding {} documents", self.indexed.len());
//!         Ok(())
//!     }
//!
//!     /// Takes the documents by value and decides: `Reply::Unchanged` or new documents.
//!     fn search(&mut self, mut docs: DocumentArray, req: &Request) -> Result<Reply> {
//!         let limit: usize = req.param_or("limit", 3)?;
//!         if limit == 0 {
//!             return Ok(Reply::Unchanged);
//!         }
//!         for query in docs.iter_mut() {
//!             for (rank, hit) in self.indexed.iter().take(limit).enumerate() {
//!                 let mut m = hit.clone();
//!                 m.scores.insert("rank".into(), NamedScore::new(rank as f64).with_op_name("rank"));
//!                 query.add_match(m);
//!             }
//!         }
//!         Ok(Reply::Docs(docs))
//!     }
//!
//!     /// The catch-all: any endpoint not bound elsewhere.
//!     fn default(&mut self, docs: &mut DocumentArray, req: &Request) -> Result<()> {
//!         let text = format!("{} {} on {}", self.config.prefix, self.name, req.endpoint());
//!         let n = docs.len();
//!         docs.push(Document::from_text(text).with_tag("n", n));
//!         Ok(())
//!     }
//! }
//!
//! flowhost_guest::export_executor!(MyExecutor {
//!     encode => ["/encode", "/index-encode"],
//!     index => "/index",
//!     search => "/search",
//!     default => *,
//! });
//! ```
//!
//! Build it as a component:
//!
//! ```sh
//! rustup target add wasm32-wasip2
//! cargo build --release --target wasm32-wasip2
//! # -> target/wasm32-wasip2/release/my_executor.wasm
//! ```
//!
//! # The pieces
//!
//! * [`Executor`]: `type Config` (any `serde::Deserialize`; [`NoConfig`] for
//!   none) and `fn new(config, &Metas)`, called once by the host's `init`.
//!   `uses_with` that does not deserialise fails `init` with a `ValueError`.
//! * Methods come in three shapes ([`Method`]): read-only
//!   (`&DocumentArray` → the host keeps its copy, nothing is copied back),
//!   in place (`&mut DocumentArray` → the documents go back), and owned
//!   (`DocumentArray` → return a [`Reply`]). All take `&mut self` and a
//!   [`Request`] (method, endpoint, [`Request::parameters`] and typed
//!   [`Request::param`], [`Request::metas`]).
//! * [`export_executor!`] binds methods: `"/x"` or `["/x", "/y"]` for
//!   endpoints (Jina's `@requests(on=...)`), `*` for the catch-all
//!   (`@requests`), `[]` for a method only a flow's `uses_requests` binds.
//! * [`Document`] has every docarray v1 field; `chunks` and `matches` are
//!   nested `Vec<Document>` of any depth (the SDK flattens and unflattens the
//!   WIT batch and rejects malformed ones, see [`batch`]). Tags are typed:
//!   [`Document::tags`], [`Document::tag`], [`Document::set_tag`]. Scores are
//!   maps of [`NamedScore`].
//! * [`Tensor`]: dtype, shape and little-endian bytes; [`Tensor::from_f32`],
//!   [`Tensor::vector`], [`Tensor::to_f32_vec`], [`Tensor::iter`],
//!   [`Tensor::cast_f32_vec`] (any dtype).
//! * [`Error`]: `Error::new("ValueError", "message")`, reported to the client
//!   like a Python exception. A panic traps the instance; the host handles it.
//! * Logging: [`info!`], [`warn!`], [`error!`], [`debug!`], [`trace!`] (with
//!   `format!` syntax) or [`log()`], all going to the host's log.
//!
//! # Performance
//!
//! Conversions between the WIT types and these move every string and byte
//! buffer; nothing is cloned. A read-only method, or a [`Reply::Unchanged`],
//! sends nothing back. Tags are parsed only if a method reads them, and sent
//! back verbatim if it does not change them.
//!
//! # Testing executors natively
//!
//! Everything except the host calls works in a native `cargo test`: build the
//! executor with [`Executor::new`], a [`Request`] with [`Request::new`] and
//! call the methods directly. Logging goes to stderr there.
//!
//! [flowhost]: https://example.invalid/flowhost

// Lets the generated bindings name this crate the same way from inside it and
// from the executor crates that expand its macros.
extern crate self as flowhost_guest;

mod array;
pub mod batch;
mod document;
mod error;
mod executor;
mod export;
mod logging;
mod request;
mod tensor;

pub use array::DocumentArray;
pub use document::{Document, NamedScore};
pub use error::{Error, Result};
pub use executor::{Executor, Method, NoConfig, Reply, shape};
pub use logging::{Level, log};
pub use request::{Metas, Request};
pub use serde_json;
pub use tensor::{DType, Element, Tensor};

/// The bindings `wit_bindgen` generates from `wit/executor.wit`. Executors do
/// not need them; [`wit`] re-exports the types under short names.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "executor-world",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "flowhost_guest::bindings",
        runtime_path: "flowhost_guest::__private::wit_bindgen::rt",
    });
}

/// The raw WIT types, as the canonical ABI delivers them.
pub mod wit {
    pub use crate::bindings::exports::flowhost::executor::executor::{
        Description, Metas, MethodInfo, Output,
    };
    pub use crate::bindings::flowhost::executor::types::{
        Document, DocumentBatch, Dtype, ExecutorError, NamedScore, Tensor,
    };
}

/// Everything an executor usually needs: `use flowhost_guest::prelude::*;`.
pub mod prelude {
    pub use crate::{
        DType, Document, DocumentArray, Error, Executor, Metas, NamedScore, NoConfig, Reply,
        Request, Result, Tensor,
    };
}

/// Support for the macros; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings::exports::flowhost::executor::executor::Guest;
    pub use crate::executor::{Instance, describe, guest_call, guest_init, invoke};
    pub use wit_bindgen;
}
