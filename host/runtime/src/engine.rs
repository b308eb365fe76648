//! The process's one [`wasmtime::Engine`] and how it is configured.
//!
//! Instances come from the pooling allocator (pre-reserved slots, so a new
//! replica is a few page-table operations) with copy-on-write memory
//! initialisation; if the machine cannot reserve the pool's address space
//! (a `ulimit -v`, a small 32-bit-ish VM) we fall back to on-demand
//! allocation and say so.

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::error::RuntimeError;

/// How instance memory is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Allocation {
    /// Pooling if its reservation succeeds, on-demand otherwise.
    #[default]
    Auto,
    /// Pooling, or fail.
    Pooling,
    /// Plain mmap per instance.
    OnDemand,
}

/// Engine-wide settings. Per-executor limits live in [`super::InstanceLimits`].
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<std::path::PathBuf>,
    /// How instance memory is allocated; [`Allocation::Auto`] by default.
    pub allocation: Allocation,
    /// How many component instances may be alive at once (the pool's size); each may
    /// hold up to 24 core instances, 2 memories and 24 tables on average.
    pub max_instances: u32,
    /// The largest memory any single instance may reach; executor memory
    /// limits above this are refused at start.
    pub max_memory_per_instance: u64,
    /// Meter instructions so executors may set a fuel limit. Costs a few
    /// percent of guest speed, so it is off unless some executor asks.
    pub consume_fuel: bool,
    /// Accept components that use the component model's async built-ins (`task.return`,
    /// streams, futures: async exports, as WASI 0.3 components have). None of this
    /// repository's SDKs emit them, QuickJS's build included. They run on a second engine,
    /// started the first time one loads, because an engine with concurrency support calls
    /// every component through wasmtime's concurrent path, which doubles the cost of a
    /// small call (BENCHMARKS.md). On by default.
    pub component_model_async: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            cache_dir: default_cache_dir(),
            allocation: Allocation::Auto,
            max_instances: 256,
            max_memory_per_instance: 4 << 30,
            consume_fuel: false,
            component_model_async: true,
        }
    }
}

/// `$FLOWHOST_CACHE_DIR`, else `$XDG_CACHE_HOME/flowhost`, else `~/.cache/flowhost`.
pub fn default_cache_dir() -> Option<std::path::PathBuf> {
    if let Some(dir) = std::env::var_os("FLOWHOST_CACHE_DIR") {
        return Some(dir.into());
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(std::path::PathBuf::from(dir).join("flowhost"));
    }
    std::env::var_os("HOME").map(|home| std::path::PathBuf::from(home).join(".cache/flowhost"))
}

fn base_config(config: &RuntimeConfig, concurrency: Concurrency) -> Config {
    let concurrent = concurrency == Concurrency::On;
    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(config.consume_fuel)
        .wasm_component_model_async(concurrent)
        .concurrency_support(concurrent)
        .memory_init_cow(true)
        .parallel_compilation(true);
    wasm
}

/// What one component instance may hold, on average, of the pool's core instances,
/// memories and tables. A component built by rustc holds a handful of core instances (the
/// program, libc's shims, the WASI adapter) and one memory; an interpreter built by
/// componentize-py holds 14 core instances (CPython and its libraries, dynamically linked).
/// Larger counts reserve more address space, not memory, so they are sized
/// for the interpreters.
const CORE_INSTANCES_PER_COMPONENT: u32 = 24;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 24;

fn pooling(config: &RuntimeConfig) -> PoolingAllocationConfig {
    let instances = config.max_instances.max(1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
        .total_memories(instances.saturating_mul(MEMORIES_PER_COMPONENT))
        .total_tables(instances.saturating_mul(TABLES_PER_COMPONENT))
        .total_stacks(instances)
        .max_memory_size(usize::try_from(config.max_memory_per_instance).unwrap_or(usize::MAX))
        // Keep a little of each slot's memory mapped: re-instantiating a
        // replica after a fault then touches no fresh pages for small guests.
        .linear_memory_keep_resident(64 << 10)
        .async_stack_keep_resident(64 << 10);
    pool
}

/// Whether an engine runs components that use the component model's async built-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Concurrency {
    /// Every call takes wasmtime's synchronous path on a fiber; async built-ins are refused.
    Off,
    /// Async built-ins are accepted, and every call takes the concurrent path.
    On,
}

/// Builds an engine as configured, with the pooling fallback of [`Allocation::Auto`].
pub(crate) fn build_engine(
    config: &RuntimeConfig,
    concurrency: Concurrency,
) -> Result<(Engine, bool), RuntimeError> {
    let on_demand = || {
        Engine::new(&base_config(config, concurrency)).map_err(|source| RuntimeError::Engine {
            what: "engine",
            source,
        })
    };
    if config.allocation == Allocation::OnDemand {
        return Ok((on_demand()?, false));
    }
    let mut wasm = base_config(config, concurrency);
    wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(config)));
    match Engine::new(&wasm) {
        Ok(engine) => Ok((engine, true)),
        Err(error) if config.allocation == Allocation::Auto => {
            tracing::warn!(%error, "pooling allocator unavailable; instances will be allocated on demand");
            Ok((on_demand()?, false))
        }
        Err(source) => Err(RuntimeError::Engine {
            what: "pooling allocator",
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::cache::{CompileCache, content_digest};

    fn compile(concurrency: Concurrency, wat: &str) -> Result<(), RuntimeError> {
        let config = RuntimeConfig {
            cache_dir: None,
            allocation: Allocation::OnDemand,
            ..RuntimeConfig::default()
        };
        let (engine, _) = build_engine(&config, concurrency)?;
        let cache = CompileCache::new(&engine, None);
        let bytes = wat.as_bytes();
        cache
            .load(&engine, Path::new("a.wasm"), bytes, &content_digest(bytes))
            .map(drop)
    }

    /// The plain engine refuses async built-ins in a way that sends the component to the
    /// concurrent engine, which accepts it; other faults stay the component's own.
    #[test]
    fn async_built_ins_ask_for_the_concurrent_engine() {
        let uses_async = "(component (core func (canon backpressure.inc)))";
        let refused = compile(Concurrency::Off, uses_async).unwrap_err();
        assert!(refused.asks_for_concurrency(), "{refused}");
        compile(Concurrency::On, uses_async).unwrap();

        compile(Concurrency::Off, "(component)").unwrap();
        let broken =
            compile(Concurrency::Off, "(component (core func (canon lower)))").unwrap_err();
        assert!(!broken.asks_for_concurrency(), "{broken}");
    }
}
