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
    /// IEEE 754 half precision, 2 bytes (numpy `float16`).
    #[cfg_attr(feature = "component", component(name = "float16"))]
    Float16,
    /// IEEE 754 single precision, 4 bytes (numpy `float32`).
    #[cfg_attr(feature = "component", component(name = "float32"))]
    Float32,
    /// IEEE 754 double precision, 8 bytes (numpy `float64`).
    #[cfg_attr(feature = "component", component(name = "float64"))]
    Float64,
    /// Signed, 1 byte (numpy `int8`).
    #[cfg_attr(feature = "component", component(name = "int8"))]
    Int8,
    /// Signed, 2 bytes (numpy `int16`).
    #[cfg_attr(feature = "component", component(name = "int16"))]
    Int16,
    /// Signed, 4 bytes (numpy `int32`).
    #[cfg_attr(feature = "component", component(name = "int32"))]
    Int32,
    /// Signed, 8 bytes (numpy `int64`).
    #[cfg_attr(feature = "component", component(name = "int64"))]
    Int64,
    /// Unsigned, 1 byte (numpy `uint8`).
    #[cfg_attr(feature = "component", component(name = "uint8"))]
    Uint8,
    /// Unsigned, 2 bytes (numpy `uint16`).
    #[cfg_attr(feature = "component", component(name = "uint16"))]
    Uint16,
    /// Unsigned, 4 bytes (numpy `uint32`).
    #[cfg_attr(feature = "component", component(name = "uint32"))]
    Uint32,
    /// Unsigned, 8 bytes (numpy `uint64`).
    #[cfg_attr(feature = "component", component(name = "uint64"))]
    Uint64,
    /// One byte per element, nonzero meaning true (numpy `bool`).
    #[cfg_attr(feature = "component", component(name = "boolean"))]
    Boolean,
}

impl Dtype {
    /// Every element type, in the WIT enum's order.
    pub const ALL: [Dtype; 12] = [
        Dtype::Float16,
        Dtype::Float32,
        Dtype::Float64,
        Dtype::Int8,
        Dtype::Int16,
        Dtype::Int32,
        Dtype::Int64,
        Dtype::Uint8,
        Dtype::Uint16,
        Dtype::Uint32,
        Dtype::Uint64,
        Dtype::Boolean,
    ];

    /// The dtype numpy calls `name` (`float32`, `uint8`, `bool`, ...: the names
    /// [`dtype_name`](crate::dtype_name) gives), or `None`. Exact, lower-case names only:
    /// normalising user spellings (`f4`, `<f4`) is the caller's business (the flow crate does it
    /// for `output_array_type`).
    pub fn from_numpy_name(name: &str) -> Option<Dtype> {
        Dtype::ALL
            .into_iter()
            .find(|&dtype| crate::dtype_name(dtype) == name)
    }
}

/// An n-dimensional array: `shape`'s product × the dtype's size = `data.len()`, little-endian.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "component", derive(ComponentType, Lift, Lower))]
#[cfg_attr(feature = "component", component(record))]
pub struct Tensor {
    /// Element type of `data`.
    pub dtype: Dtype,
    /// Dimensions, outermost first (empty for a scalar); a valid batch allows at most
    /// [`MAX_DIMS`](crate::MAX_DIMS).
    pub shape: Vec<u32>,
    /// Elements in row-major order, little-endian: `product(shape) × element_size(dtype)` bytes.
    pub data: Vec<u8>,
}

/// One of a document's `scores` or `evaluations`, keyed by `name`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "component", derive(ComponentType, Lift, Lower))]
#[cfg_attr(feature = "component", component(record))]
pub struct NamedScore {
    /// The key docarray keeps the score under in `scores`/`evaluations`, e.g. `cosine`.
    pub name: String,
    /// docarray `NamedScore.value`.
    pub value: f64,
    /// docarray `NamedScore.op_name`: the operation (e.g. a metric) that produced the score.
    #[cfg_attr(feature = "component", component(name = "op-name"))]
    pub op_name: Option<String>,
    /// docarray `NamedScore.description`: free text about the score.
    pub description: Option<String>,
    /// docarray `NamedScore.ref_id`: id of the document the score refers to.
    #[cfg_attr(feature = "component", component(name = "ref-id"))]
    pub ref_id: Option<String>,
}

/// One docarray v1 document. `chunks` and `matches` index into the enclosing
/// [`DocumentBatch`]'s `nodes`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "component", derive(ComponentType, Lift, Lower))]
#[cfg_attr(feature = "component", component(record))]
pub struct Document {
    /// docarray's `id`; joins unite documents by it ([`new_id`](crate::new_id) makes fresh ones).
    pub id: String,
    /// docarray's `parent_id`: id of the document this one is a chunk of.
    #[cfg_attr(feature = "component", component(name = "parent-id"))]
    pub parent_id: Option<String>,
    /// docarray's `granularity`: chunk depth, 0 for a top-level document.
    pub granularity: Option<i32>,
    /// docarray's `adjacency`: match depth, 0 for a top-level document.
    pub adjacency: Option<i32>,
    /// docarray's `text` content.
    pub text: Option<String>,
    /// docarray's `blob`: raw binary content.
    pub blob: Option<Vec<u8>>,
    /// docarray's `tensor` (ndarray) content.
    pub tensor: Option<Tensor>,
    /// docarray's `embedding`: the document's vector representation.
    pub embedding: Option<Tensor>,
    /// docarray's `uri`: where the content comes from (a path, URL or data URI).
    pub uri: Option<String>,
    /// docarray's `mime_type` of the content.
    #[cfg_attr(feature = "component", component(name = "mime-type"))]
    pub mime_type: Option<String>,
    /// A JSON object, as text.
    pub tags: Option<String>,
    /// docarray's `weight`: a user-set importance, e.g. for weighted ranking.
    pub weight: Option<f64>,
    /// docarray's `modality`: a free-form label of the content's kind, e.g. `image`.
    pub modality: Option<String>,
    /// docarray's `offset`: this document's position within its parent (e.g. a chunk's index).
    pub offset: Option<f64>,
    /// docarray's `location`: where the content sits in its parent (e.g. start and end of a text
    /// span, or an image crop's coordinates); empty when unset.
    pub location: Vec<f64>,
    /// docarray's `scores` (a dict keyed by [`NamedScore::name`] there), e.g. a match's similarity.
    pub scores: Vec<NamedScore>,
    /// docarray's `evaluations`: evaluation metrics, keyed by name like `scores`.
    pub evaluations: Vec<NamedScore>,
    /// docarray's `chunks`: indices into the batch's `nodes` of this document's chunks, in order.
    pub chunks: Vec<u32>,
    /// docarray's `matches`: indices into the batch's `nodes` of this document's matches, in order.
    pub matches: Vec<u32>,
}

/// Documents as a flat list: `roots` are the top-level ones, the rest are
/// reached through `chunks` and `matches`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "component", derive(ComponentType, Lift, Lower))]
#[cfg_attr(feature = "component", component(record))]
pub struct DocumentBatch {
    /// Every document, top-level or not; `roots`, `chunks` and `matches` index into it.
    pub nodes: Vec<Document>,
    /// Indices into `nodes` of the top-level documents (the DocumentArray itself), in order.
    pub roots: Vec<u32>,
}

/// What an executor raises: Jina's exception name, message and details.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "component", derive(ComponentType, Lift, Lower))]
#[cfg_attr(feature = "component", component(record))]
pub struct ExecutorError {
    /// The exception's type name, e.g. `ValueError` (Jina's `exception.name`).
    pub name: String,
    /// What went wrong; reported as the exception's only argument (Jina's `exception.args`).
    pub message: String,
    /// Anything that helps, e.g. a stack trace or the offending input; reported as Jina's
    /// `exception.stacks`.
    pub details: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_names_round_trip_and_nothing_else_parses() {
        for dtype in Dtype::ALL {
            assert_eq!(
                Dtype::from_numpy_name(crate::dtype_name(dtype)),
                Some(dtype)
            );
        }
        assert_eq!(Dtype::from_numpy_name("bool"), Some(Dtype::Boolean));
        assert_eq!(Dtype::from_numpy_name("float32"), Some(Dtype::Float32));
        for other in ["boolean", "Float32", "f4", "<f4", "float", "torch", ""] {
            assert_eq!(Dtype::from_numpy_name(other), None, "{other}");
        }
    }
}
