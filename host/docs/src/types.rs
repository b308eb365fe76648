//! The `flowhost:executor/types` interface of `wit/executor.wit`, as plain Rust.
//!
//! These are the very types the runtime lowers into a guest: its `bindgen!` maps the WIT
//! interface onto this module (`with:`), so a batch crosses into Wasm without a conversion
//! copy. With the `component` feature they derive wasmtime's canonical-ABI traits; wasmtime
//! checks each record's field names and types against the component when it links, so a
//! drift from the WIT file fails loudly at the first instantiation (every runtime test).
//! Field order is the WIT order: the canonical ABI lays records out by it.

#[cfg(feature = "component")]
use wasmtime::component::{ComponentType, Lift, Lower};

/// An element type of a [`Tensor`] (WIT `dtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "component", derive(ComponentType, Lift, Lower))]
#[cfg_attr(feature = "component", component(enum))]
#[repr(u8)]
pub enum Dtype {
    #[cfg_attr(feature = "component", component(name = "float16"))]
    Float16,
    #[cfg_attr(feature = "component", component(name = "float32"))]
    Float32,
    #[cfg_attr(feature = "component", component(name = "float64"))]
    Float64,
    #[cfg_attr(feature = "component", component(name = "int8"))]
    Int8,
    #[cfg_attr(feature = "component", component(name = "int16"))]
    Int16,
    #[cfg_attr(feature = "component", component(name = "int32"))]
    Int32,
    #[cfg_attr(feature = "component", component(name = "int64"))]
    Int64,
    #[cfg_attr(feature = "component", component(name = "uint8"))]
    Uint8,
    #[cfg_attr(feature = "component", component(name = "uint16"))]
    Uint16,
    #[cfg_attr(feature = "component", component(name = "uint32"))]
    Uint32,
    #[cfg_attr(feature = "component", component(name = "uint64"))]
    Uint64,
    #[cfg_attr(feature = "component", component(name = "boolean"))]
    Boolean,
}

/// An n-dimensional array: `shape`'s product × the dtype's size = `data.len()`, little-endian.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "component", derive(ComponentType, Lift, Lower))]
#[cfg_attr(feature = "component", component(record))]
pub struct Tensor {
    pub dtype: Dtype,
    pub shape: Vec<u32>,
    pub data: Vec<u8>,
}

/// One of a document's `scores` or `evaluations`, keyed by `name`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "component", derive(ComponentType, Lift, Lower))]
#[cfg_attr(feature = "component", component(record))]
pub struct NamedScore {
    pub name: String,
    pub value: f64,
    #[cfg_attr(feature = "component", component(name = "op-name"))]
    pub op_name: Option<String>,
    pub description: Option<String>,
    #[cfg_attr(feature = "component", component(name = "ref-id"))]
    pub ref_id: Option<String>,
}

/// One docarray v1 document. `chunks` and `matches` index into the enclosing
/// [`DocumentBatch`]'s `nodes`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "component", derive(ComponentType, Lift, Lower))]
#[cfg_attr(feature = "component", component(record))]
pub struct Document {
    pub id: String,
    #[cfg_attr(feature = "component", component(name = "parent-id"))]
    pub parent_id: Option<String>,
    pub granularity: Option<i32>,
    pub adjacency: Option<i32>,
    pub text: Option<String>,
    pub blob: Option<Vec<u8>>,
    pub tensor: Option<Tensor>,
    pub embedding: Option<Tensor>,
    pub uri: Option<String>,
    #[cfg_attr(feature = "component", component(name = "mime-type"))]
    pub mime_type: Option<String>,
    /// A JSON object, as text.
    pub tags: Option<String>,
    pub weight: Option<f64>,
    pub modality: Option<String>,
    pub offset: Option<f64>,
    pub location: Vec<f64>,
    pub scores: Vec<NamedScore>,
    pub evaluations: Vec<NamedScore>,
    pub chunks: Vec<u32>,
    pub matches: Vec<u32>,
}

/// Documents as a flat list: `roots` are the top-level ones, the rest are
/// reached through `chunks` and `matches`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "component", derive(ComponentType, Lift, Lower))]
#[cfg_attr(feature = "component", component(record))]
pub struct DocumentBatch {
    pub nodes: Vec<Document>,
    pub roots: Vec<u32>,
}

/// What an executor raises: Jina's exception name, message and details.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "component", derive(ComponentType, Lift, Lower))]
#[cfg_attr(feature = "component", component(record))]
pub struct ExecutorError {
    pub name: String,
    pub message: String,
    pub details: Option<String>,
}
