//! A loaded executor component: compiled, linked against the host's imports
//! and pre-instantiated, ready to stamp out instances in microseconds.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::bindings::ExecutorWorldPre;
use super::cache::CacheOutcome;
use super::error::RuntimeError;
use super::state::InstanceState;
use super::ticker::EpochTicker;

/// A component ready to instantiate. Cheap to share: replicas and shards of
/// one executor all start from the same `ExecutorComponent`.
pub struct ExecutorComponent {
    pub(crate) pre: ExecutorWorldPre<InstanceState>,
    pub(crate) engine: Engine,
    pub(crate) max_memory: u64,
    pub(crate) fuel_enabled: bool,
    path: PathBuf,
    digest: String,
    cache: CacheOutcome,
    /// The thread that advances this engine's epochs: instances must never outlive it,
    /// and each guest invocation keeps it awake.
    pub(crate) ticker: Arc<EpochTicker>,
}

impl std::fmt::Debug for ExecutorComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutorComponent")
            .field("path", &self.path)
            .field("digest", &self.digest)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

pub(crate) struct LinkContext<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) linker: &'a Linker<InstanceState>,
    pub(crate) ticker: &'a Arc<EpochTicker>,
    pub(crate) max_memory: u64,
    pub(crate) fuel_enabled: bool,
}

impl ExecutorComponent {
    pub(crate) fn link(
        context: LinkContext<'_>,
        component: Component,
        path: &Path,
        digest: String,
        cache: CacheOutcome,
    ) -> Result<Self, RuntimeError> {
        let link_error = |source: wasmtime::Error| RuntimeError::Link {
            path: path.to_owned(),
            source,
        };
        let instance_pre = context
            .linker
            .instantiate_pre(&component)
            .map_err(link_error)?;
        let pre = ExecutorWorldPre::new(instance_pre).map_err(link_error)?;
        Ok(Self {
            pre,
            engine: context.engine.clone(),
            max_memory: context.max_memory,
            fuel_enabled: context.fuel_enabled,
            path: path.to_owned(),
            digest,
            cache,
            ticker: context.ticker.clone(),
        })
    }

    /// The file the component was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `blake3:<hex>` of the component's bytes, its key in the compile cache.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Whether loading compiled the component or found it in the cache.
    pub fn cache_outcome(&self) -> CacheOutcome {
        self.cache
    }
}
