//! Moving whole documents (with their chunks and matches) between batches,
//! renumbering indices as they go. Iterative, so a deep tree cannot
//! overflow the stack.

use super::{Document, DocumentBatch};

/// Moves `doc` and everything below it from `source` (the nodes of another
/// batch, taken as they are used) to the end of `out.nodes`; returns `doc`'s
/// new index. The caller links that index into a root or child list.
pub fn adopt_subtree(
    out: &mut DocumentBatch,
    source: &mut [Option<Document>],
    doc: Document,
) -> u32 {
    let root = push(out, doc);
    let mut pending = vec![root];
    while let Some(parent) = pending.pop() {
        for matches in [false, true] {
            let old = std::mem::take(children(&mut out.nodes[parent as usize], matches));
            let mut renumbered = Vec::with_capacity(old.len());
            for index in old {
                if let Some(child) = source.get_mut(index as usize).and_then(Option::take) {
                    let new = push(out, child);
                    renumbered.push(new);
                    pending.push(new);
                }
            }
            *children(&mut out.nodes[parent as usize], matches) = renumbered;
        }
    }
    root
}

fn children(doc: &mut Document, matches: bool) -> &mut Vec<u32> {
    if matches {
        &mut doc.matches
    } else {
        &mut doc.chunks
    }
}

fn push(out: &mut DocumentBatch, doc: Document) -> u32 {
    out.nodes.push(doc);
    (out.nodes.len() - 1) as u32
}

/// Why [`split_roots`] could not split a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// The group sizes do not add up to the number of top-level documents.
    #[error("group sizes add up to {sum}, but the batch has {roots} top-level documents")]
    SizeMismatch {
        /// The sum of the sizes (saturated at `usize::MAX`).
        sum: usize,
        /// How many top-level documents the batch has.
        roots: usize,
    },
    /// A root is not a node of the batch, or is reached twice: the batch is not valid
    /// ([`validate()`](crate::validate()) says why).
    #[error("root {position} (node {index}) is missing or listed twice")]
    BadRoot {
        /// Position of the root in `roots`.
        position: usize,
        /// The node index it holds.
        index: u32,
    },
}

/// Splits the top-level documents of `batch` into consecutive groups of `sizes` documents,
/// in order, each a compact batch of its own with the documents' chunks and matches.
///
/// This is how the answer to a dynamically batched call (several requests' documents in one
/// call) is handed back, one group per request. `sizes` must add up to the number of
/// top-level documents; a size of 0 gives an empty batch. One size covering everything
/// returns `batch` itself, untouched (no copy). A valid input gives valid outputs; a node
/// shared between subtrees (an invalid batch) goes to the first subtree that reaches it.
pub fn split_roots(
    batch: DocumentBatch,
    sizes: &[usize],
) -> Result<Vec<DocumentBatch>, SplitError> {
    let sum = sizes
        .iter()
        .try_fold(0usize, |sum, &n| sum.checked_add(n))
        .unwrap_or(usize::MAX);
    if sum != batch.roots.len() {
        return Err(SplitError::SizeMismatch {
            sum,
            roots: batch.roots.len(),
        });
    }
    if sizes.len() == 1 {
        return Ok(vec![batch]);
    }
    let DocumentBatch { nodes, roots } = batch;
    let mut source: Vec<Option<Document>> = nodes.into_iter().map(Some).collect();
    let mut roots = roots.into_iter().enumerate();
    let mut groups = Vec::with_capacity(sizes.len());
    for &size in sizes {
        let mut out = super::empty_batch();
        out.roots.reserve(size);
        for (position, index) in roots.by_ref().take(size) {
            let doc = source
                .get_mut(index as usize)
                .and_then(Option::take)
                .ok_or(SplitError::BadRoot { position, index })?;
            let new = adopt_subtree(&mut out, &mut source, doc);
            out.roots.push(new);
        }
        groups.push(out);
    }
    Ok(groups)
}

/// Keeps the top-level documents for which `keep` holds (with their chunks
/// and matches) and drops the rest. Returns the batch itself, untouched,
/// when everything is kept.
pub fn retain_roots(
    batch: DocumentBatch,
    mut keep: impl FnMut(&Document, &DocumentBatch) -> bool,
) -> DocumentBatch {
    let verdicts: Vec<bool> = batch
        .roots
        .iter()
        .map(|&r| {
            batch
                .nodes
                .get(r as usize)
                .is_some_and(|doc| keep(doc, &batch))
        })
        .collect();
    if verdicts.iter().all(|&v| v) {
        return batch;
    }
    let DocumentBatch { nodes, roots } = batch;
    let mut source: Vec<Option<Document>> = nodes.into_iter().map(Some).collect();
    let mut out = super::empty_batch();
    for (root, kept) in roots.into_iter().zip(verdicts) {
        if !kept {
            continue;
        }
        if let Some(doc) = source.get_mut(root as usize).and_then(Option::take) {
            let index = adopt_subtree(&mut out, &mut source, doc);
            out.roots.push(index);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{document, validate};

    #[test]
    fn retain_keeps_subtrees_compactly() {
        let mut a = document("a");
        a.chunks = vec![2];
        let mut b = document("b");
        b.matches = vec![3];
        let batch = DocumentBatch {
            nodes: vec![a, b, document("a.chunk"), document("b.match")],
            roots: vec![0, 1],
        };
        let kept = retain_roots(batch.clone(), |doc, _| doc.id == "b");
        assert_eq!(validate(&kept), Ok(()));
        assert_eq!(kept.nodes.len(), 2);
        assert_eq!(kept.nodes[kept.roots[0] as usize].id, "b");
        let m = kept.nodes[kept.roots[0] as usize].matches[0];
        assert_eq!(kept.nodes[m as usize].id, "b.match");
        assert_eq!(retain_roots(batch.clone(), |_, _| true), batch);
        assert!(retain_roots(batch, |_, _| false).nodes.is_empty());
    }

    /// Three roots: `a` with a chunk that has a match, `b` bare, `c` with a match; nodes stored
    /// out of order so that renumbering is needed.
    fn forest() -> DocumentBatch {
        let mut a = document("a");
        a.chunks = vec![4];
        let mut a_chunk = document("a.chunk");
        a_chunk.matches = vec![0];
        let mut c = document("c");
        c.matches = vec![2];
        DocumentBatch {
            nodes: vec![
                document("a.chunk.match"),
                c,
                document("c.match"),
                a,
                a_chunk,
                document("b"),
            ],
            roots: vec![3, 5, 1],
        }
    }

    fn ids(batch: &DocumentBatch) -> Vec<&str> {
        crate::roots(batch).map(|d| d.id.as_str()).collect()
    }

    #[test]
    fn split_keeps_order_and_subtrees_in_compact_batches() {
        let groups = split_roots(forest(), &[2, 0, 1]).unwrap();
        assert_eq!(groups.len(), 3);
        for g in &groups {
            assert_eq!(validate(g), Ok(()));
        }
        assert_eq!(ids(&groups[0]), ["a", "b"]);
        assert_eq!(groups[0].nodes.len(), 4);
        let a = &groups[0].nodes[groups[0].roots[0] as usize];
        let chunk = &groups[0].nodes[a.chunks[0] as usize];
        assert_eq!(chunk.id, "a.chunk");
        assert_eq!(
            groups[0].nodes[chunk.matches[0] as usize].id,
            "a.chunk.match"
        );
        assert!(groups[1].nodes.is_empty() && groups[1].roots.is_empty());
        assert_eq!(ids(&groups[2]), ["c"]);
        assert_eq!(groups[2].nodes.len(), 2);
        let c = &groups[2].nodes[groups[2].roots[0] as usize];
        assert_eq!(groups[2].nodes[c.matches[0] as usize].id, "c.match");
    }

    #[test]
    fn one_group_is_the_batch_untouched_and_single_roots_split_apart() {
        let batch = forest();
        assert_eq!(
            split_roots(batch.clone(), &[3]).unwrap(),
            vec![batch.clone()]
        );
        let singles = split_roots(batch, &[1, 1, 1]).unwrap();
        let all: Vec<Vec<&str>> = singles.iter().map(ids).collect();
        assert_eq!(all, [["a"], ["b"], ["c"]]);
        assert_eq!(
            singles.iter().map(|g| g.nodes.len()).collect::<Vec<_>>(),
            [3, 1, 2]
        );
        assert_eq!(split_roots(crate::empty_batch(), &[]).unwrap(), vec![]);
    }

    #[test]
    fn sizes_must_add_up_and_roots_must_exist() {
        assert_eq!(
            split_roots(forest(), &[2, 2]),
            Err(SplitError::SizeMismatch { sum: 4, roots: 3 })
        );
        assert_eq!(
            split_roots(forest(), &[1]),
            Err(SplitError::SizeMismatch { sum: 1, roots: 3 })
        );
        assert_eq!(
            split_roots(forest(), &[usize::MAX, 4]),
            Err(SplitError::SizeMismatch {
                sum: usize::MAX,
                roots: 3
            })
        );
        let mut bad = forest();
        bad.roots = vec![3, 9, 1];
        assert_eq!(
            split_roots(bad, &[1, 2]),
            Err(SplitError::BadRoot {
                position: 1,
                index: 9
            })
        );
        let e = split_roots(forest(), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "group sizes add up to 0, but the batch has 3 top-level documents"
        );
    }
}
