//! Documents as the host holds them, and everything done to a batch of them.
//!
//! The host keeps documents in exactly the shape the WIT contract moves them
//! (a flat [`DocumentBatch`] whose documents refer to chunks and matches by
//! index), so handing a batch to an executor is one lowering pass and an
//! `unchanged` reply costs nothing. This crate owns that shape and its
//! invariants: constructing batches, checking one an executor returned
//! ([`validate`]), moving subtrees, merging a join's branches ([`merge`]) and
//! the `when` query language ([`when`]).
//!
//! It must not know wasmtime, the network or flows: the runtime, the wire and
//! the router all build on it. The `component` feature (enabled by the runtime
//! alone) derives the canonical-ABI traits that let wasmtime lower these types
//! into a guest directly.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod merge;
mod subtree;
mod tensor;
mod types;
mod validate;
pub mod when;

pub use subtree::{SplitError, adopt_subtree, retain_roots, split_roots};
pub use tensor::{cast, cast_batch, tensor_values};
pub use types::{Document, DocumentBatch, Dtype, ExecutorError, NamedScore, Tensor};
pub use validate::{
    BatchError, MAX_DEPTH, MAX_DIMS, TensorError, check_tensor, check_tensor_parts, dtype_name,
    element_size, validate,
};

/// A fresh document id: 32 hex digits, like docarray's `uuid.uuid1().hex`. Random (v4) from a
/// thread-local generator: no system call per request.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A document with only its id set.
pub fn document(id: impl Into<String>) -> Document {
    Document {
        id: id.into(),
        parent_id: None,
        granularity: None,
        adjacency: None,
        text: None,
        blob: None,
        tensor: None,
        embedding: None,
        uri: None,
        mime_type: None,
        tags: None,
        weight: None,
        modality: None,
        offset: None,
        location: Vec::new(),
        scores: Vec::new(),
        evaluations: Vec::new(),
        chunks: Vec::new(),
        matches: Vec::new(),
    }
}

/// A batch with no documents.
pub fn empty_batch() -> DocumentBatch {
    DocumentBatch {
        nodes: Vec::new(),
        roots: Vec::new(),
    }
}

/// A batch of top-level documents without chunks or matches.
///
/// Any `chunks`/`matches` indices already on the documents are dropped, since
/// they could not point anywhere meaningful in the new batch.
pub fn batch_of(docs: impl IntoIterator<Item = Document>) -> DocumentBatch {
    let nodes: Vec<Document> = docs
        .into_iter()
        .map(|mut doc| {
            doc.chunks.clear();
            doc.matches.clear();
            doc
        })
        .collect();
    let roots = (0..nodes.len() as u32).collect();
    DocumentBatch { nodes, roots }
}

/// The top-level documents of a batch, in order.
pub fn roots(batch: &DocumentBatch) -> impl Iterator<Item = &Document> {
    batch
        .roots
        .iter()
        .filter_map(|&index| batch.nodes.get(index as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_distinct_hex() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn batch_of_drops_dangling_children_and_roots_everything() {
        let mut doc = document("a");
        doc.chunks.push(7);
        let batch = batch_of([doc, document("b")]);
        assert_eq!(batch.roots, vec![0, 1]);
        assert!(batch.nodes[0].chunks.is_empty());
        assert!(validate(&batch).is_ok());
        let ids: Vec<&str> = roots(&batch).map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }
}
