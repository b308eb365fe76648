//! Checks that a flat batch really is a forest.
//!
//! A batch comes back from untrusted guest code; the router and the gateway
//! walk chunks and matches by index, so a bad index or a shared node must be
//! caught here, once, rather than panicking (or looping) somewhere later.

use super::DocumentBatch;

/// Why a batch is not a well-formed forest of documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("root {position} points at node {index}, but the batch has {len} nodes")]
    RootOutOfRange {
        position: usize,
        index: u32,
        len: usize,
    },
    #[error("node {parent} lists {kind} {index}, but the batch has {len} nodes")]
    ChildOutOfRange {
        parent: usize,
        kind: &'static str,
        index: u32,
        len: usize,
    },
    #[error("node {index} is reached more than once (a document can have only one parent)")]
    SharedNode { index: u32 },
    #[error("node {index} is not reachable from any root")]
    Unreachable { index: usize },
}

/// Checks every index of `batch` and that each node has exactly one parent
/// (or is a root). Runs in O(nodes + edges) without recursion.
pub fn validate(batch: &DocumentBatch) -> Result<(), BatchError> {
    let len = batch.nodes.len();
    let mut seen = vec![false; len];
    let mut stack: Vec<usize> = Vec::with_capacity(batch.roots.len());
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
        stack.push(index as usize);
    }
    while let Some(parent) = stack.pop() {
        let doc = &batch.nodes[parent];
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
            stack.push(index as usize);
        }
    }
    match seen.iter().position(|reached| !reached) {
        Some(index) => Err(BatchError::Unreachable { index }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{document, empty_batch};

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

    #[test]
    fn rejects_orphans() {
        let mut batch = tree();
        batch.nodes.push(document("orphan"));
        assert_eq!(validate(&batch), Err(BatchError::Unreachable { index: 4 }));
    }
}
