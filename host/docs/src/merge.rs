//! Merging the branches of a join ("reduce"), as docarray v1 does it.
//!
//! Documents are united by id, in the order of the join's `needs` (so the
//! answer is the same on every run; Jina's depends on which branch finished
//! first). A document present in several branches keeps the left-most
//! branch's value of every field that branch set, takes the others' values
//! for fields it left empty, and has its chunks and matches merged the same
//! way, to any depth.

use std::collections::HashMap;

use crate::{Document, DocumentBatch, adopt_subtree, empty_batch};

/// Merges `batches` left to right into one.
pub fn reduce(batches: impl IntoIterator<Item = DocumentBatch>) -> DocumentBatch {
    let mut batches = batches.into_iter();
    let Some(mut out) = batches.next() else {
        return empty_batch();
    };
    for other in batches {
        reduce_into(&mut out, other);
    }
    out
}

/// Appends `batches` left to right without merging anything (`disable_reduce`):
/// a custom merger downstream sees every branch's documents, duplicates included.
pub fn concat(batches: impl IntoIterator<Item = DocumentBatch>) -> DocumentBatch {
    let mut out = empty_batch();
    for batch in batches {
        let offset = out.nodes.len() as u32;
        out.roots.extend(batch.roots.iter().map(|r| r + offset));
        out.nodes.extend(batch.nodes.into_iter().map(|mut doc| {
            doc.chunks.iter_mut().for_each(|i| *i += offset);
            doc.matches.iter_mut().for_each(|i| *i += offset);
            doc
        }));
    }
    out
}

/// Where a list of children lives, so it can be found again after `out.nodes` grows.
#[derive(Clone, Copy)]
enum List {
    Roots,
    Chunks(u32),
    Matches(u32),
}

fn list_mut(batch: &mut DocumentBatch, list: List) -> &mut Vec<u32> {
    match list {
        List::Roots => &mut batch.roots,
        List::Chunks(node) => &mut batch.nodes[node as usize].chunks,
        List::Matches(node) => &mut batch.nodes[node as usize].matches,
    }
}

fn reduce_into(out: &mut DocumentBatch, other: DocumentBatch) {
    let DocumentBatch { nodes, roots } = other;
    let mut source: Vec<Option<Document>> = nodes.into_iter().map(Some).collect();
    // Work list of (list in `out`, children from `other` to merge into it).
    let mut work = vec![(List::Roots, roots)];
    while let Some((list, incoming)) = work.pop() {
        let existing = list_mut(out, list).clone();
        let mut by_id: HashMap<String, u32> = existing
            .into_iter()
            .map(|i| (out.nodes[i as usize].id.clone(), i))
            .collect();
        for index in incoming {
            let Some(doc) = source.get_mut(index as usize).and_then(Option::take) else {
                continue;
            };
            match by_id.get(&doc.id) {
                Some(&existing) => {
                    let (chunks, matches) = merge_fields(&mut out.nodes[existing as usize], doc);
                    if !chunks.is_empty() {
                        work.push((List::Chunks(existing), chunks));
                    }
                    if !matches.is_empty() {
                        work.push((List::Matches(existing), matches));
                    }
                }
                None => {
                    // A later document of the same list with this id merges into this one,
                    // as docarray's reduce does.
                    let id = doc.id.clone();
                    let adopted = adopt_subtree(out, &mut source, doc);
                    list_mut(out, list).push(adopted);
                    by_id.insert(id, adopted);
                }
            }
        }
    }
}

/// Fills `left`'s empty fields from `right`; returns `right`'s chunks and
/// matches (indices into the right batch) to merge next.
fn merge_fields(left: &mut Document, right: Document) -> (Vec<u32>, Vec<u32>) {
    fn fill<T>(left: &mut Option<T>, right: Option<T>) {
        if left.is_none() {
            *left = right;
        }
    }
    fn fill_vec<T>(left: &mut Vec<T>, right: Vec<T>) {
        if left.is_empty() {
            *left = right;
        }
    }
    let Document {
        id: _,
        parent_id: _,
        granularity,
        adjacency,
        text,
        blob,
        tensor,
        embedding,
        uri,
        mime_type,
        tags,
        weight,
        modality,
        offset,
        location,
        scores,
        evaluations,
        chunks,
        matches,
    } = right;
    fill(&mut left.granularity, granularity);
    fill(&mut left.adjacency, adjacency);
    fill(&mut left.text, text);
    fill(&mut left.blob, blob);
    fill(&mut left.tensor, tensor);
    fill(&mut left.embedding, embedding);
    fill(&mut left.uri, uri);
    fill(&mut left.mime_type, mime_type);
    fill(&mut left.tags, tags);
    fill(&mut left.weight, weight);
    fill(&mut left.modality, modality);
    fill(&mut left.offset, offset);
    fill_vec(&mut left.location, location);
    fill_vec(&mut left.scores, scores);
    fill_vec(&mut left.evaluations, evaluations);
    (chunks, matches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{batch_of, document, validate};

    fn text(id: &str, text: &str) -> Document {
        let mut doc = document(id);
        doc.text = Some(text.into());
        doc
    }

    fn root_texts(batch: &DocumentBatch) -> Vec<(String, Option<String>)> {
        crate::roots(batch)
            .map(|d| (d.id.clone(), d.text.clone()))
            .collect()
    }

    #[test]
    fn diamond_from_the_seed_unites_by_id_in_needs_order() {
        let foo = text("foo", "foo was here and got 0 document");
        let bar = batch_of([foo.clone(), text("bar", "bar was here and got 1 document")]);
        let baz = batch_of([foo, text("baz", "baz was here and got 1 document")]);
        let merged = reduce([bar, baz]);
        let texts: Vec<_> = root_texts(&merged)
            .into_iter()
            .filter_map(|(_, t)| t)
            .collect();
        assert_eq!(
            texts,
            [
                "foo was here and got 0 document",
                "bar was here and got 1 document",
                "baz was here and got 1 document"
            ]
        );
    }

    #[test]
    fn duplicates_within_a_branch_merge_into_one_as_docarray_does() {
        // docarray 0.21: `DocumentArray([a]).reduce(DocumentArray([b(text 1), b(uri u, text 2)]))`
        // gives a, then one b with text 1 and uri u.
        let mut second = text("b", "2");
        second.uri = Some("u".into());
        let merged = reduce([
            batch_of([text("a", "x")]),
            batch_of([text("b", "1"), second]),
        ]);
        assert_eq!(
            root_texts(&merged),
            [
                ("a".into(), Some("x".into())),
                ("b".into(), Some("1".into()))
            ]
        );
        let b = &merged.nodes[merged.roots[1] as usize];
        assert_eq!(b.uri.as_deref(), Some("u"));
        validate(&merged).unwrap();
    }

    #[test]
    fn left_wins_set_fields_and_right_fills_empty_ones() {
        let mut left = text("a", "left");
        left.tags = None;
        let mut right = text("a", "right");
        right.uri = Some("file://x".into());
        right.tags = Some(r#"{"k":1}"#.into());
        let merged = reduce([batch_of([left]), batch_of([right])]);
        let doc = &merged.nodes[merged.roots[0] as usize];
        assert_eq!(doc.text.as_deref(), Some("left"));
        assert_eq!(doc.uri.as_deref(), Some("file://x"));
        assert_eq!(doc.tags.as_deref(), Some(r#"{"k":1}"#));
    }

    #[test]
    fn chunks_and_matches_merge_recursively() {
        // left: a{chunks: [c1]}, right: a{chunks: [c1{matches:[m]}, c2], matches: [x]}
        let mut a = document("a");
        a.chunks = vec![1];
        let left = DocumentBatch {
            nodes: vec![a, text("c1", "left chunk")],
            roots: vec![0],
        };
        let mut a = document("a");
        a.chunks = vec![1, 3];
        a.matches = vec![4];
        let mut c1 = text("c1", "right chunk");
        c1.matches = vec![2];
        let right = DocumentBatch {
            nodes: vec![a, c1, document("m"), document("c2"), document("x")],
            roots: vec![0],
        };
        let merged = reduce([left, right]);
        assert_eq!(validate(&merged), Ok(()));
        let a = &merged.nodes[merged.roots[0] as usize];
        let ids = |list: &[u32]| -> Vec<String> {
            list.iter()
                .map(|&i| merged.nodes[i as usize].id.clone())
                .collect()
        };
        assert_eq!(ids(&a.chunks), ["c1", "c2"]);
        assert_eq!(ids(&a.matches), ["x"]);
        let c1 = &merged.nodes[a.chunks[0] as usize];
        assert_eq!(c1.text.as_deref(), Some("left chunk"));
        assert_eq!(ids(&c1.matches), ["m"]);
    }

    #[test]
    fn empty_branches_vanish() {
        let merged = reduce([empty_batch(), batch_of([text("a", "x")]), empty_batch()]);
        assert_eq!(
            root_texts(&merged),
            [("a".to_string(), Some("x".to_string()))]
        );
        assert_eq!(reduce(Vec::new()), empty_batch());
    }
}
