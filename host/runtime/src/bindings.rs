//! Host-side bindings for the `flowhost:executor` world, generated from `wit/`.
//!
//! Everything else in the crate reaches the generated code through the
//! re-exports in [`crate::docs`] and [`crate::runtime`], so the generator's
//! module paths stay in one place.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "executor-world",
    imports: { default: trappable },
    exports: { default: async },
    additional_derives: [PartialEq],
});

pub use self::exports::flowhost::executor::executor::{
    Description, Metas as WitMetas, MethodInfo, Output as WitOutput,
};
pub use self::flowhost::executor::logging::Level as LogLevel;
pub use self::flowhost::executor::types::{
    Document, DocumentBatch, Dtype, ExecutorError, NamedScore, Tensor,
};
