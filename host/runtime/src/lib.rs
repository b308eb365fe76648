//! The component runtime: turns executor components into isolated,
//! long-lived, fast instances.
//!
//! - [`Runtime`] owns the process's engine (pooling allocator, copy-on-write
//!   memory, epoch ticker) and the compile cache, and loads components into
//!   [`ExecutorComponent`]s (compiled, linked, pre-instantiated). Components that
//!   use the component model's async built-ins get a second engine of their own.
//! - [`Executor::start`] turns a component plus an [`InstanceConfig`] into a
//!   running instance owned by one task, reached through a cloneable handle.
//!
//! It must not know flows, routing or the network: it runs one executor
//! instance safely and quickly, and reports faults precisely. Documents are
//! `flowhost_docs`'s types, lowered into the guest as they are.
//!
//! The one `unsafe` in the host is here: loading a compiled component from the
//! compile cache (`cache.rs` says what guards it).

#![warn(missing_docs)]

#[doc(hidden)]
pub mod bench_support;
pub(crate) mod bindings;
mod cache;
mod component;
mod engine;
mod error;
mod executor;
mod imports;
mod instance;
mod limits;
mod log_stream;
mod sandbox;
mod state;
mod ticker;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

pub use bindings::{Description, MethodInfo};
pub use cache::{CacheOutcome, content_digest};
pub use component::ExecutorComponent;
pub use engine::{Allocation, RuntimeConfig, default_cache_dir};
pub use error::{CallError, CallFailure, Fault, RuntimeError, StartError};
pub use executor::Executor;
pub use instance::InstanceConfig;
pub use limits::InstanceLimits;
pub use sandbox::{Sandbox, WORKSPACE_GUEST_PATH};
pub use ticker::TICK;

use bindings::ExecutorWorld;
use cache::CompileCache;
use component::LinkContext;
use engine::Concurrency;
use state::InstanceState;
use ticker::EpochTicker;

/// The process's Wasm runtime. Create one and share it.
pub struct Runtime {
    /// The engine every component runs on unless it needs the other one.
    plain: LinkedEngine,
    /// The engine for components that use the component model's async built-ins, started
    /// the first time one loads (see [`RuntimeConfig::component_model_async`]).
    concurrent: Mutex<Option<Arc<LinkedEngine>>>,
    config: RuntimeConfig,
}

/// An engine with what is bound to it: the host's imports linked, its folder of the
/// compile cache, and the thread that advances its epochs.
struct LinkedEngine {
    engine: Engine,
    linker: Linker<InstanceState>,
    cache: CompileCache,
    ticker: Arc<EpochTicker>,
    pooling: bool,
}

impl LinkedEngine {
    fn new(config: &RuntimeConfig, concurrency: Concurrency) -> Result<Self, RuntimeError> {
        let (engine, pooling) = engine::build_engine(config, concurrency)?;
        let mut linker = Linker::new(&engine);
        let link_error = |source: wasmtime::Error| RuntimeError::Engine {
            what: "linking host imports",
            source,
        };
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link_error)?;
        // Linked so that components importing it (componentize-js's default build) load;
        // the sandbox refuses every request they make (`sandbox::RefuseOutgoing`).
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(link_error)?;
        ExecutorWorld::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(link_error)?;
        let cache = CompileCache::new(&engine, config.cache_dir.as_deref());
        let ticker = Arc::new(EpochTicker::start(engine.clone()).map_err(RuntimeError::Ticker)?);
        Ok(Self {
            engine,
            linker,
            cache,
            ticker,
            pooling,
        })
    }

    /// Compiles `bytes` (or finds them in the cache), links and pre-instantiates them.
    fn load(
        &self,
        config: &RuntimeConfig,
        path: &Path,
        bytes: &[u8],
        digest: String,
    ) -> Result<ExecutorComponent, RuntimeError> {
        let (component, outcome) = self.cache.load(&self.engine, path, bytes, &digest)?;
        tracing::debug!(component = %path.display(), ?outcome, "component loaded");
        let context = LinkContext {
            engine: &self.engine,
            linker: &self.linker,
            ticker: &self.ticker,
            max_memory: config.max_memory_per_instance,
            fuel_enabled: config.consume_fuel,
        };
        ExecutorComponent::link(context, component, path, digest, outcome)
    }
}

impl Runtime {
    /// Builds the engine (falling back from the pooling allocator as [`Allocation::Auto`] allows),
    /// links WASI and the host's `flowhost:executor` imports, opens the compile cache and
    /// starts the epoch ticker thread.
    pub fn new(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        Ok(Self {
            plain: LinkedEngine::new(&config, Concurrency::Off)?,
            concurrent: Mutex::new(None),
            config,
        })
    }

    /// Whether instances come from the pooling allocator (or on-demand after a fallback).
    pub fn uses_pooling(&self) -> bool {
        self.plain.pooling
    }

    /// Whether the epoch ticker of the engine most components run on is advancing: it
    /// parks once no guest code has run for a while, and a guest call wakes it.
    pub fn epoch_ticking(&self) -> bool {
        self.plain.ticker.ticking()
    }

    /// The settings this runtime was created with.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Loads a component file: check its imports, compile (or cache hit), link,
    /// pre-instantiate.
    /// Compilation is CPU-heavy; from async code call [`Runtime::load_async`].
    pub fn load(&self, path: &Path) -> Result<Arc<ExecutorComponent>, RuntimeError> {
        let bytes = std::fs::read(path).map_err(|source| RuntimeError::Read {
            path: path.to_owned(),
            source,
        })?;
        self.load_bytes(path, &bytes)
    }

    /// Like [`Runtime::load`], for bytes already in memory; `path` names them in errors.
    ///
    /// A component the plain engine refuses for its async built-ins is loaded on the
    /// concurrent engine instead: wasmtime's validation tells, before any code is generated.
    pub fn load_bytes(
        &self,
        path: &Path,
        bytes: &[u8],
    ) -> Result<Arc<ExecutorComponent>, RuntimeError> {
        imports::check(path, bytes)?;
        let digest = content_digest(bytes);
        let loaded = match self.plain.load(&self.config, path, bytes, digest.clone()) {
            Err(refused) if self.config.component_model_async && refused.asks_for_concurrency() => {
                tracing::debug!(component = %path.display(), "uses async built-ins: the concurrent engine runs it");
                self.concurrent()?.load(&self.config, path, bytes, digest)
            }
            loaded => loaded,
        };
        loaded.map(Arc::new)
    }

    fn concurrent(&self) -> Result<Arc<LinkedEngine>, RuntimeError> {
        let mut slot = self
            .concurrent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(engine) = slot.as_ref() {
            return Ok(engine.clone());
        }
        let engine = Arc::new(LinkedEngine::new(&self.config, Concurrency::On)?);
        *slot = Some(engine.clone());
        Ok(engine)
    }

    /// [`Runtime::load`] on the blocking pool, so compiling does not stall other tasks.
    pub async fn load_async(
        self: &Arc<Self>,
        path: &Path,
    ) -> Result<Arc<ExecutorComponent>, RuntimeError> {
        let runtime = self.clone();
        let owned = path.to_owned();
        tokio::task::spawn_blocking(move || runtime.load(&owned))
            .await
            .unwrap_or_else(|join| {
                Err(RuntimeError::Compile {
                    path: path.to_owned(),
                    source: wasmtime::Error::new(join).context("the compiler task failed"),
                })
            })
    }
}
