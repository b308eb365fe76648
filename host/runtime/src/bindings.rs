//! Host-side bindings for the `flowhost:executor` world, generated from `wit/`.
//!
//! The `types` interface is not generated: it maps onto [`types`], which re-exports
//! `flowhost_docs` (the same records, with the canonical-ABI derives), so the router's batches
//! are what the guest receives.
//! Everything else in the crate reaches the generated code through the re-exports below, so
//! the generator's module paths stay in one place.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "executor-world",
    imports: { default: trappable },
    exports: { default: async },
    additional_derives: [PartialEq],
    with: {
        "flowhost:executor/types": self::types,
    },
});

/// What `bindgen!` would have generated for `flowhost:executor/types`, with `flowhost_docs`'s
/// types in place of generated copies. The interface has types only, so its host trait is
/// empty and linking it only declares the instance; this is the generator's output for such
/// an interface (wasmtime-internal-wit-bindgen 48, `world_host_traits` and
/// `add_to_linker`), kept as small as the generated code calls for.
pub mod types {
    use wasmtime::component::{HasData, Linker};

    // The types the `executor` interface's functions name (the rest are reached through these).
    pub use flowhost_docs::{DocumentBatch, ExecutorError};

    /// The interface's host functions: none.
    pub trait Host {}

    impl<H: Host + ?Sized> Host for &mut H {}

    /// The interface's store-aware host functions: none, so every `HasData` has them.
    pub trait HostWithStore<T>: HasData {}

    impl<H: ?Sized + HasData, T> HostWithStore<T> for H {}

    /// Declares the (type-only) instance the component imports.
    pub fn add_to_linker<T, D>(
        linker: &mut Linker<T>,
        _host_getter: fn(&mut T) -> D::Data<'_>,
    ) -> wasmtime::Result<()>
    where
        D: HostWithStore<T>,
        T: 'static,
    {
        linker.instance("flowhost:executor/types@0.1.0")?;
        Ok(())
    }
}

pub use self::exports::flowhost::executor::executor::{
    Description, Metas as WitMetas, MethodInfo, Output as WitOutput,
};
pub use self::flowhost::executor::logging::Level as LogLevel;
pub use flowhost_docs::{DocumentBatch, ExecutorError};
