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
}
