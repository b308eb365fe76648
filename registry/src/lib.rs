//! flowhost-registry: the `uses` grammar and its resolution to a local component file,
//! independent of the runtime.
//!
//! ```no_run
//! # async fn demo() -> flowhost_registry::Result<()> {
//! use flowhost_registry::{ResolveContext, PullPolicy, resolve};
//! let ctx = ResolveContext::from_env()?                      // config file + environment
//!     .with_flow_file("flows/flow.yml".as_ref())
//!     .with_pull_policy(PullPolicy::Missing);
//! let c = resolve("oci://localhost:5000/acme/encoder:1.0", &ctx).await?;
//! println!("{} {} {}", c.path.display(), c.digest, c.reference);
//! # Ok(()) }
//! ```
//!
//! Modules, one job each: [`reference`] (the `uses` schemes; image reference grammar by
//! oci-client), [`docker_name`] (Docker naming rules),
//! [`config`] (settings), [`auth`] (credentials), [`cache`] (content-addressed store),
//! `transport` (one registry's client and errors), `pull` (fetch into the cache),
//! [`image`] (Wasm in container image layers), [`artifact`] (CNCF Wasm layout),
//! [`manifest`] (manifest JSON), [`push`] (push), [`inspect`] (a component's world and
//! digest), [`resolve`] (the entry point).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod artifact;
pub mod auth;
pub mod cache;
pub mod config;
pub mod docker_name;
pub mod error;
pub mod image;
pub mod inspect;
pub mod manifest;
mod progress;
mod pull;
pub mod push;
pub mod reference;
pub mod resolve;
mod transport;

pub use artifact::ArtifactOptions;
pub use auth::{login, logout};
pub use cache::Cache;
pub use config::{HubConfig, Settings};
pub use error::{Error, Result};
pub use inspect::{ComponentInfo, WasmKind, inspect, inspect_bytes, inspect_file};
pub use push::{PushResult, push};
pub use reference::{ImageRef, ReferenceError, Uses};
pub use resolve::{PullPolicy, ResolveContext, ResolvedComponent, Source, pull, resolve};
