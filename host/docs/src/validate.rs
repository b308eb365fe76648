//! Checks that a flat batch really is a forest of well-formed documents.
//!
//! A batch comes back from untrusted guest code (or a remote executor); the router and the
//! gateway walk chunks and matches by index, and the edges render trees and tensors, so a bad
//! index, a shared node, a tree deeper than any client could send, or a tensor whose bytes do
//! not fit its shape must be caught here, once, rather than panicking, looping or overflowing
//! the stack somewhere later.

use super::{Document, DocumentBatch, Dtype, Tensor};

/// The most messages protobuf decoders nest (prost's and Python protobuf's limit): what a
/// client can send, and what any Jina peer can decode from the host.
const PROTO_NESTING: usize = 100;
/// The messages around a top-level document in a request (`DataRequestProto`,
/// `DataContentProto`, `DocumentArrayProto`).
const ENVELOPE: usize = 3;
/// Protobuf messages one level of tags takes: a `Struct` (or `ListValue`), its map entry,
/// and the `Value`.
const PROTO_PER_TAG_LEVEL: usize = 3;

/// The deepest a document tree may nest: a root is level 1, its chunks and matches level 2,
/// and so on. With the envelope it stays under the protobuf decoders' nesting limit with room
/// for the deepest document's own fields (a tensor is two messages deep, a score two, tags
/// three a level), so every batch the host passes on can be decoded by any Jina peer; a
/// document's tags may nest only as deep as the room its level leaves (checked per document).
pub const MAX_DEPTH: usize = 80;

/// The most dimensions a tensor may have: numpy's limit (`NPY_MAXDIMS` before numpy 2),
/// so every tensor the host passes on can be reshaped by a Jina client.
pub const MAX_DIMS: usize = 32;

/// Why a batch is not a well-formed forest of documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// An entry of `roots` is not an index into `nodes`.
    #[error("root {position} points at node {index}, but the batch has {len} nodes")]
    RootOutOfRange {
        /// Position of the bad entry in `roots`.
        position: usize,
        /// The index that entry holds.
        index: u32,
        /// Length of `nodes`.
        len: usize,
    },
    /// A `chunks` or `matches` entry is not an index into `nodes`.
    #[error("node {parent} lists {kind} {index}, but the batch has {len} nodes")]
    ChildOutOfRange {
        /// Index into `nodes` of the document listing the child.
        parent: usize,
        /// `"chunk"` or `"match"`: which list the entry is in.
        kind: &'static str,
        /// The out-of-range index.
        index: u32,
        /// Length of `nodes`.
        len: usize,
    },
    /// A node listed more than once across `roots`, `chunks` and `matches` (shared, or a cycle).
    #[error("node {index} is reached more than once (a document can have only one parent)")]
    SharedNode {
        /// Index into `nodes` of the node reached a second time.
        index: u32,
    },
    /// A node that no root leads to.
    #[error("node {index} is not reachable from any root")]
    Unreachable {
        /// Index into `nodes` of the first such node.
        index: usize,
    },
    /// A tree nests deeper than [`MAX_DEPTH`].
    #[error(
        "document `{id}` (node {index}) nests {depth} levels deep; at most {MAX_DEPTH} are allowed"
    )]
    TooDeep {
        /// Index into `nodes` of a document at level [`MAX_DEPTH`] that still has children.
        index: usize,
        /// That document's `id`.
        id: String,
        /// The level its children would be at (a root is level 1).
        depth: usize,
    },
    /// A document's `tags` nest deeper than a protobuf reply holds at the document's level.
    #[error(
        "document `{id}` (node {index}) at level {depth} has `tags` nested {nesting} levels; a protobuf reply holds at most {allowed} at that level"
    )]
    TagsTooDeep {
        /// Index into `nodes` of the document.
        index: usize,
        /// The document's `id`.
        id: String,
        /// The document's level (a root is level 1).
        depth: usize,
        /// How deep the `tags` JSON nests (objects and lists).
        nesting: usize,
        /// The most nesting the document's level leaves room for.
        allowed: usize,
    },
    /// A document's `tensor` or `embedding` does not describe one array.
    #[error("document `{id}` (node {index}): `{field}` {problem}")]
    BadTensor {
        /// Index into `nodes` of the document.
        index: usize,
        /// The document's `id`.
        id: String,
        /// `"tensor"` or `"embedding"`.
        field: &'static str,
        /// What is wrong with it.
        #[source]
        problem: TensorError,
    },
}

/// Why a tensor's parts do not describe one array.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TensorError {
    /// `shape` has more than [`MAX_DIMS`] dimensions.
    #[error("has {dims} dimensions; at most {MAX_DIMS} are allowed")]
    TooManyDims {
        /// How many dimensions `shape` has.
        dims: usize,
    },
    /// The byte size `shape` implies overflows `usize`.
    #[error("has a shape {shape:?} whose size overflows")]
    ShapeOverflow {
        /// The offending shape.
        shape: Vec<u32>,
    },
    /// The data is not exactly as many bytes as `shape` and `dtype` need.
    #[error("has {bytes} bytes, but shape {shape:?} of {} needs {needed}", dtype_name(*.dtype))]
    SizeMismatch {
        /// Length of the data, in bytes.
        bytes: usize,
        /// The tensor's shape.
        shape: Vec<u32>,
        /// The tensor's element type.
        dtype: Dtype,
        /// Bytes `shape` and `dtype` need.
        needed: usize,
    },
}

/// numpy's name for `dtype`, as users know it.
pub fn dtype_name(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::Float16 => "float16",
        Dtype::Float32 => "float32",
        Dtype::Float64 => "float64",
        Dtype::Int8 => "int8",
        Dtype::Int16 => "int16",
        Dtype::Int32 => "int32",
        Dtype::Int64 => "int64",
        Dtype::Uint8 => "uint8",
        Dtype::Uint16 => "uint16",
        Dtype::Uint32 => "uint32",
        Dtype::Uint64 => "uint64",
        Dtype::Boolean => "bool",
    }
}

/// The bytes one element of `dtype` takes.
pub fn element_size(dtype: Dtype) -> usize {
    match dtype {
        Dtype::Int8 | Dtype::Uint8 | Dtype::Boolean => 1,
        Dtype::Float16 | Dtype::Int16 | Dtype::Uint16 => 2,
        Dtype::Float32 | Dtype::Int32 | Dtype::Uint32 => 4,
        Dtype::Float64 | Dtype::Int64 | Dtype::Uint64 => 8,
    }
}

/// Checks that `shape` has at most [`MAX_DIMS`] dimensions and that `bytes` bytes of
/// `dtype` fill it exactly.
pub fn check_tensor_parts(dtype: Dtype, shape: &[u32], bytes: usize) -> Result<(), TensorError> {
    if shape.len() > MAX_DIMS {
        return Err(TensorError::TooManyDims { dims: shape.len() });
    }
    let needed = shape
        .iter()
        .try_fold(element_size(dtype), |n, &d| n.checked_mul(d as usize))
        .ok_or_else(|| TensorError::ShapeOverflow {
            shape: shape.to_vec(),
        })?;
    if needed != bytes {
        return Err(TensorError::SizeMismatch {
            bytes,
            shape: shape.to_vec(),
            dtype,
            needed,
        });
    }
    Ok(())
}

/// [`check_tensor_parts`] for a whole tensor.
pub fn check_tensor(tensor: &Tensor) -> Result<(), TensorError> {
    check_tensor_parts(tensor.dtype, &tensor.shape, tensor.data.len())
}

/// Checks every index of `batch`, that each node has exactly one parent (or is a root), that
/// no tree nests deeper than [`MAX_DEPTH`], and that every tensor and embedding is
/// consistent. Runs in O(nodes + edges) without recursion.
pub fn validate(batch: &DocumentBatch) -> Result<(), BatchError> {
    let len = batch.nodes.len();
    let mut seen = vec![false; len];
    // (node, its level): roots are level 1.
    let mut stack: Vec<(usize, usize)> = Vec::with_capacity(batch.roots.len());
    for (position, &index) in batch.roots.iter().enumerate() {
        let slot = seen
            .get_mut(index as usize)
            .ok_or(BatchError::RootOutOfRange {
                position,
                index,
                len,
            })?;
        if std::mem::replace(slot, true) {
            return Err(BatchError::SharedNode { index });
        }
        stack.push((index as usize, 1));
    }
    while let Some((parent, depth)) = stack.pop() {
        let doc = &batch.nodes[parent];
        check_document(parent, doc, depth)?;
        if depth >= MAX_DEPTH && !(doc.chunks.is_empty() && doc.matches.is_empty()) {
            return Err(BatchError::TooDeep {
                index: parent,
                id: doc.id.clone(),
                depth: depth + 1,
            });
        }
        let children = doc
            .chunks
            .iter()
            .map(|i| ("chunk", *i))
            .chain(doc.matches.iter().map(|i| ("match", *i)));
        for (kind, index) in children {
            let slot = seen
                .get_mut(index as usize)
                .ok_or(BatchError::ChildOutOfRange {
                    parent,
                    kind,
                    index,
                    len,
                })?;
            if std::mem::replace(slot, true) {
                return Err(BatchError::SharedNode { index });
            }
            stack.push((index as usize, depth + 1));
        }
    }
    match seen.iter().position(|reached| !reached) {
        Some(index) => Err(BatchError::Unreachable { index }),
        None => Ok(()),
    }
}

/// How deep brackets nest in a JSON text (strings skipped), in one pass.
fn json_nesting(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for byte in text.bytes() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn check_document(index: usize, doc: &Document, depth: usize) -> Result<(), BatchError> {
    if let Some(tags) = &doc.tags {
        let allowed = PROTO_NESTING.saturating_sub(ENVELOPE + depth) / PROTO_PER_TAG_LEVEL;
        let nesting = json_nesting(tags);
        if nesting > allowed {
            return Err(BatchError::TagsTooDeep {
                index,
                id: doc.id.clone(),
                depth,
                nesting,
                allowed,
            });
        }
    }
    let fields = [("tensor", &doc.tensor), ("embedding", &doc.embedding)];
    for (field, tensor) in fields {
        if let Some(tensor) = tensor {
            check_tensor(tensor).map_err(|problem| BatchError::BadTensor {
                index,
                id: doc.id.clone(),
                field,
                problem,
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{document, empty_batch};

    fn tree() -> DocumentBatch {
        let mut root = document("root");
        root.chunks = vec![1];
        root.matches = vec![2];
        let mut chunk = document("chunk");
        chunk.chunks = vec![3];
        DocumentBatch {
            nodes: vec![root, chunk, document("match"), document("grandchunk")],
            roots: vec![0],
        }
    }

    #[test]
    fn accepts_a_nested_forest_and_an_empty_batch() {
        assert_eq!(validate(&tree()), Ok(()));
        assert_eq!(validate(&empty_batch()), Ok(()));
    }

    #[test]
    fn rejects_out_of_range_indices() {
        let mut batch = tree();
        batch.nodes[1].chunks = vec![9];
        assert!(matches!(
            validate(&batch),
            Err(BatchError::ChildOutOfRange { index: 9, .. })
        ));
        let mut batch = tree();
        batch.roots = vec![4];
        assert!(matches!(
            validate(&batch),
            Err(BatchError::RootOutOfRange { index: 4, .. })
        ));
    }

    #[test]
    fn rejects_cycles_and_shared_children() {
        let mut batch = tree();
        batch.nodes[3].chunks = vec![0];
        assert_eq!(validate(&batch), Err(BatchError::SharedNode { index: 0 }));
        let mut batch = tree();
        batch.nodes[2].matches = vec![3];
        assert_eq!(validate(&batch), Err(BatchError::SharedNode { index: 3 }));
    }

    /// A chain of `levels` documents, each the only chunk of the one before.
    fn chain(levels: usize) -> DocumentBatch {
        let nodes = (0..levels)
            .map(|i| {
                let mut doc = document(format!("d{i}"));
                if i + 1 < levels {
                    doc.chunks = vec![i as u32 + 1];
                }
                doc
            })
            .collect();
        DocumentBatch {
            nodes,
            roots: vec![0],
        }
    }

    #[test]
    fn trees_may_nest_up_to_the_limit_and_no_deeper() {
        assert_eq!(validate(&chain(MAX_DEPTH)), Ok(()));
        let error = validate(&chain(100_000)).unwrap_err();
        assert_eq!(
            error,
            BatchError::TooDeep {
                index: MAX_DEPTH - 1,
                id: format!("d{}", MAX_DEPTH - 1),
                depth: MAX_DEPTH + 1
            }
        );
        assert!(error.to_string().contains("at most 80"), "{error}");
    }

    #[test]
    fn tags_may_nest_as_deep_as_a_protobuf_reply_holds_at_their_level() {
        let nested = |levels: usize| "{\"a\":".repeat(levels) + "1" + &"}".repeat(levels);
        assert_eq!(json_nesting(&nested(3)), 3);
        assert_eq!(
            json_nesting(r#"{"a": "{[{[not brackets]}]}", "b": [1, [2]]}"#),
            3
        );
        let mut batch = chain(MAX_DEPTH);
        // At the root: (100 - 3 - 1) / 3 = 32 levels.
        batch.nodes[0].tags = Some(nested(32));
        assert_eq!(validate(&batch), Ok(()));
        batch.nodes[0].tags = Some(nested(33));
        assert!(matches!(
            validate(&batch),
            Err(BatchError::TagsTooDeep {
                nesting: 33,
                allowed: 32,
                ..
            })
        ));
        // At the deepest level: (100 - 3 - 80) / 3 = 5.
        batch.nodes[0].tags = None;
        batch.nodes[MAX_DEPTH - 1].tags = Some(nested(5));
        assert_eq!(validate(&batch), Ok(()));
        batch.nodes[MAX_DEPTH - 1].tags = Some(nested(6));
        let error = validate(&batch).unwrap_err().to_string();
        assert!(
            error.contains("at level 80 has `tags` nested 6 levels"),
            "{error}"
        );
    }

    #[test]
    fn tensors_must_fill_their_shape_with_few_dimensions() {
        let tensor = |shape: Vec<u32>, bytes: usize| Tensor {
            dtype: Dtype::Float32,
            shape,
            data: vec![0; bytes],
        };
        let mut batch = tree();
        batch.nodes[2].embedding = Some(tensor(vec![2, 3], 24));
        batch.nodes[3].tensor = Some(tensor(vec![], 4));
        assert_eq!(validate(&batch), Ok(()));

        batch.nodes[3].tensor = Some(tensor(vec![2, 3], 23));
        let error = validate(&batch).unwrap_err().to_string();
        assert_eq!(
            error,
            "document `grandchunk` (node 3): `tensor` has 23 bytes, but shape [2, 3] of float32 needs 24"
        );
        batch.nodes[3].tensor = None;
        batch.nodes[2].embedding = Some(tensor(vec![1; 10_000], 4));
        let error = validate(&batch).unwrap_err().to_string();
        assert!(
            error.contains("`embedding` has 10000 dimensions; at most 32"),
            "{error}"
        );
        batch.nodes[2].embedding = Some(tensor(vec![u32::MAX; 4], 4));
        let error = validate(&batch).unwrap_err().to_string();
        assert!(error.contains("overflows"), "{error}");
    }

    #[test]
    fn rejects_orphans() {
        let mut batch = tree();
        batch.nodes.push(document("orphan"));
        assert_eq!(validate(&batch), Err(BatchError::Unreachable { index: 4 }));
    }
}
