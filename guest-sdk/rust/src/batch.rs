//! Conversion between the flat WIT `document-batch` and the tree-shaped
//! [`DocumentArray`], both ways, at any depth.
//!
//! Every byte buffer and string is moved, never cloned. Incoming batches are
//! validated first: an index out of range, a node reached twice (which covers
//! cycles and shared children) or a node no root reaches is rejected with an
//! `InvalidDocumentBatch` error naming the node. Both directions are iterative,
//! so deep trees cannot overflow the (small) wasm stack.

use std::collections::{BTreeMap, VecDeque};

use crate::array::DocumentArray;
use crate::document::{Document, NamedScore};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::wit;

/// The error name for a malformed batch.
pub const INVALID_BATCH: &str = "InvalidDocumentBatch";

fn invalid(message: String) -> Error {
    Error::new(INVALID_BATCH, message)
}

/// How a node was reached, for error messages.
#[derive(Clone, Copy)]
enum Via {
    Root(usize),
    Chunk(usize, usize),
    Match(usize, usize),
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Via::Root(pos) => write!(f, "root #{pos}"),
            Via::Chunk(pos, parent) => write!(f, "chunk #{pos} of node {parent}"),
            Via::Match(pos, parent) => write!(f, "match #{pos} of node {parent}"),
        }
    }
}

/// Checks the batch is a forest and returns its nodes parents-first.
fn validate(nodes: &[wit::Document], roots: &[u32]) -> Result<Vec<usize>> {
    let n = nodes.len();
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let visit = |idx: u32, via: Via, seen: &mut [bool], order: &mut Vec<usize>| {
        let i = idx as usize;
        if i >= n {
            return Err(invalid(format!(
                "{via} is node {idx}, out of range (the batch has {n} nodes)"
            )));
        }
        if seen[i] {
            return Err(invalid(format!(
                "node {idx} (id {:?}) is reached twice, the second time as {via}; \
                 a batch must be a forest without cycles or shared children",
                nodes[i].id
            )));
        }
        seen[i] = true;
        order.push(i);
        Ok(())
    };
    for (pos, &r) in roots.iter().enumerate() {
        visit(r, Via::Root(pos), &mut seen, &mut order)?;
    }
    // Breadth-first over the growing `order`: every node is pushed after its parent.
    let mut k = 0;
    while k < order.len() {
        let parent = order[k];
        for (pos, &c) in nodes[parent].chunks.iter().enumerate() {
            visit(c, Via::Chunk(pos, parent), &mut seen, &mut order)?;
        }
        for (pos, &m) in nodes[parent].matches.iter().enumerate() {
            visit(m, Via::Match(pos, parent), &mut seen, &mut order)?;
        }
        k += 1;
    }
    if order.len() != n {
        let orphan = seen.iter().position(|s| !s).unwrap_or(0);
        return Err(invalid(format!(
            "node {orphan} (id {:?}) is not reachable from any root",
            nodes[orphan].id
        )));
    }
    Ok(order)
}

fn scores_from_wit(scores: Vec<wit::NamedScore>) -> BTreeMap<String, NamedScore> {
    scores
        .into_iter()
        .map(|s| {
            let score = NamedScore {
                value: s.value,
                op_name: s.op_name,
                description: s.description,
                ref_id: s.ref_id,
            };
            (s.name, score)
        })
        .collect()
}

fn scores_to_wit(scores: BTreeMap<String, NamedScore>) -> Vec<wit::NamedScore> {
    scores
        .into_iter()
        .map(|(name, s)| wit::NamedScore {
            name,
            value: s.value,
            op_name: s.op_name,
            description: s.description,
            ref_id: s.ref_id,
        })
        .collect()
}

fn tensor_from_wit(t: Option<wit::Tensor>, id: &str, field: &str) -> Result<Option<Tensor>> {
    t.map(|t| {
        Tensor::try_from(t)
            .map_err(|e| invalid(format!("document {id:?}: {field}: {}", e.message())))
    })
    .transpose()
}

/// Converts one node, leaving `chunks` and `matches` empty.
fn doc_from_wit(d: wit::Document) -> Result<Document> {
    let tensor = tensor_from_wit(d.tensor, &d.id, "tensor")?;
    let embedding = tensor_from_wit(d.embedding, &d.id, "embedding")?;
    let mut doc = Document::with_id(d.id);
    doc.parent_id = d.parent_id;
    doc.granularity = d.granularity;
    doc.adjacency = d.adjacency;
    doc.text = d.text;
    doc.blob = d.blob;
    doc.tensor = tensor;
    doc.embedding = embedding;
    doc.uri = d.uri;
    doc.mime_type = d.mime_type;
    doc.set_raw_tags(d.tags);
    doc.weight = d.weight;
    doc.modality = d.modality;
    doc.offset = d.offset;
    doc.location = d.location;
    doc.scores = scores_from_wit(d.scores);
    doc.evaluations = scores_from_wit(d.evaluations);
    Ok(doc)
}

/// Converts one document, ignoring its `chunks` and `matches` (the caller takes them first).
fn doc_to_wit(mut d: Document) -> wit::Document {
    let tags = d.take_raw_tags();
    wit::Document {
        id: d.id,
        parent_id: d.parent_id,
        granularity: d.granularity,
        adjacency: d.adjacency,
        text: d.text,
        blob: d.blob,
        tensor: d.tensor.map(Into::into),
        embedding: d.embedding.map(Into::into),
        uri: d.uri,
        mime_type: d.mime_type,
        tags,
        weight: d.weight,
        modality: d.modality,
        offset: d.offset,
        location: d.location,
        scores: scores_to_wit(d.scores),
        evaluations: scores_to_wit(d.evaluations),
        chunks: Vec::new(),
        matches: Vec::new(),
    }
}

/// Rebuilds the document tree from a flat batch, rejecting malformed batches.
pub fn unflatten(batch: wit::DocumentBatch) -> Result<DocumentArray> {
    let wit::DocumentBatch { nodes, roots } = batch;

    // Fast path for the common flat batch: roots are exactly 0..n and nobody has children.
    let flat = roots.len() == nodes.len()
        && roots.iter().enumerate().all(|(i, &r)| r as usize == i)
        && nodes
            .iter()
            .all(|d| d.chunks.is_empty() && d.matches.is_empty());
    if flat {
        let docs: Vec<Document> = nodes.into_iter().map(doc_from_wit).collect::<Result<_>>()?;
        return Ok(docs.into());
    }

    let order = validate(&nodes, &roots)?;
    let internal = || Error::new("InternalError", "document batch conversion lost a node");
    let mut pending: Vec<Option<wit::Document>> = nodes.into_iter().map(Some).collect();
    let mut built: Vec<Option<Document>> = std::iter::repeat_with(|| None)
        .take(pending.len())
        .collect();
    // Children come after their parent in `order`, so walking it backwards
    // builds every child before the parent that adopts it.
    for &i in order.iter().rev() {
        let mut node = pending[i].take().ok_or_else(internal)?;
        let chunk_ids = std::mem::take(&mut node.chunks);
        let match_ids = std::mem::take(&mut node.matches);
        let mut doc = doc_from_wit(node)?;
        doc.chunks = chunk_ids
            .iter()
            .map(|&c| built[c as usize].take().ok_or_else(internal))
            .collect::<Result<_>>()?;
        doc.matches = match_ids
            .iter()
            .map(|&m| built[m as usize].take().ok_or_else(internal))
            .collect::<Result<_>>()?;
        built[i] = Some(doc);
    }
    let docs: Vec<Document> = roots
        .iter()
        .map(|&r| built[r as usize].take().ok_or_else(internal))
        .collect::<Result<_>>()?;
    Ok(docs.into())
}

/// Which list of its parent a node belongs to.
#[derive(Clone, Copy)]
enum Slot {
    Root,
    Chunk(usize),
    Match(usize),
}

fn index(i: usize) -> Result<u32> {
    u32::try_from(i).map_err(|_| invalid(format!("more than {} documents", u32::MAX)))
}

/// Flattens the document tree into a batch: roots first (nodes `0..roots`),
/// then their descendants breadth-first.
pub fn flatten(docs: DocumentArray) -> Result<wit::DocumentBatch> {
    let docs = docs.into_vec();
    // Fast path for the common flat array: node i is root i.
    if docs
        .iter()
        .all(|d| d.chunks.is_empty() && d.matches.is_empty())
    {
        let roots = (0..docs.len()).map(index).collect::<Result<_>>()?;
        let nodes = docs.into_iter().map(doc_to_wit).collect();
        return Ok(wit::DocumentBatch { nodes, roots });
    }
    let mut nodes: Vec<wit::Document> = Vec::with_capacity(docs.len());
    let mut roots = Vec::with_capacity(docs.len());
    let mut queue: VecDeque<(Document, Slot)> = docs.into_iter().map(|d| (d, Slot::Root)).collect();
    while let Some((mut doc, slot)) = queue.pop_front() {
        let i = nodes.len();
        let idx = index(i)?;
        match slot {
            Slot::Root => roots.push(idx),
            Slot::Chunk(parent) => nodes[parent].chunks.push(idx),
            Slot::Match(parent) => nodes[parent].matches.push(idx),
        }
        let chunks = std::mem::take(&mut doc.chunks);
        let matches = std::mem::take(&mut doc.matches);
        queue.extend(chunks.into_iter().map(|c| (c, Slot::Chunk(i))));
        queue.extend(matches.into_iter().map(|m| (m, Slot::Match(i))));
        nodes.push(doc_to_wit(doc));
    }
    Ok(wit::DocumentBatch { nodes, roots })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(id: &str, chunks: Vec<u32>, matches: Vec<u32>) -> wit::Document {
        let mut d = doc_to_wit(Document::with_id(id));
        d.chunks = chunks;
        d.matches = matches;
        d
    }

    fn full_doc(id: &str) -> Document {
        let mut d = Document::with_id(id)
            .with_text(format!("text of {id}"))
            .with_blob(vec![1, 2, 3])
            .with_tensor(Tensor::from_f32(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap())
            .with_embedding(Tensor::vector(&[0.5f32; 8]))
            .with_uri("file://x")
            .with_mime_type("text/plain")
            .with_tag("id", id);
        d.parent_id = Some("p".into());
        d.granularity = Some(1);
        d.adjacency = Some(2);
        d.weight = Some(0.5);
        d.modality = Some("text".into());
        d.offset = Some(3.0);
        d.location = vec![1.0, 2.0];
        d.scores
            .insert("cosine".into(), NamedScore::new(0.9).with_op_name("cosine"));
        d.evaluations.insert(
            "precision".into(),
            NamedScore::new(1.0).with_description("d").with_ref_id("r"),
        );
        d
    }

    /// A tree three levels below the roots, with chunks and matches at every level.
    fn depth3() -> DocumentArray {
        let leaf = |id: &str| full_doc(id);
        let mid = |id: &str| {
            let mut d = full_doc(id);
            d.chunks = vec![leaf(&format!("{id}.c0")), leaf(&format!("{id}.c1"))];
            d.matches = vec![leaf(&format!("{id}.m0"))];
            d
        };
        let top = |id: &str| {
            let mut d = full_doc(id);
            d.chunks = vec![mid(&format!("{id}.c0"))];
            d.matches = vec![mid(&format!("{id}.m0")), mid(&format!("{id}.m1"))];
            d
        };
        let mut r0 = full_doc("r0");
        r0.chunks = vec![top("r0.c0")];
        r0.matches = vec![top("r0.m0")];
        vec![r0, full_doc("r1"), Document::with_id("r2")].into()
    }

    #[test]
    fn roundtrip_depth_3() {
        let original = depth3();
        let batch = flatten(original.clone()).unwrap();
        assert_eq!(batch.roots, vec![0, 1, 2]);
        assert_eq!(batch.nodes.len(), original.traverse().count());
        let back = unflatten(batch).unwrap();
        assert_eq!(back, original);
        // And the deepest node really is there.
        assert_eq!(back[0].matches[0].matches[1].chunks[1].id, "r0.m0.m1.c1");
        assert_eq!(
            back[0].chunks[0].chunks[0].matches[0]
                .tag::<String>("id")
                .unwrap(),
            Some("r0.c0.c0.m0".into())
        );
    }

    #[test]
    fn roundtrip_flat_and_empty() {
        let docs: DocumentArray = (0..5).map(|i| full_doc(&i.to_string())).collect();
        let back = unflatten(flatten(docs.clone()).unwrap()).unwrap();
        assert_eq!(back, docs);
        let empty = flatten(DocumentArray::new()).unwrap();
        assert!(empty.nodes.is_empty() && empty.roots.is_empty());
        assert!(unflatten(empty).unwrap().is_empty());
    }

    #[test]
    fn accepts_any_node_order() {
        // Children listed before their parents, roots not first.
        let batch = wit::DocumentBatch {
            nodes: vec![
                node("grandchild", vec![], vec![]),
                node("child", vec![0], vec![]),
                node("root", vec![], vec![1]),
            ],
            roots: vec![2],
        };
        let docs = unflatten(batch).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].matches[0].chunks[0].id, "grandchild");
    }

    #[test]
    fn deep_chains_do_not_overflow_the_stack() {
        let depth = 20_000;
        let nodes = (0..depth)
            .map(|i| {
                let next = if i + 1 < depth { vec![i + 1] } else { vec![] };
                node(&i.to_string(), next, vec![])
            })
            .collect();
        let docs = unflatten(wit::DocumentBatch {
            nodes,
            roots: vec![0],
        })
        .unwrap();
        let batch = flatten(docs).unwrap();
        assert_eq!(batch.nodes.len(), depth as usize);
        // Dropping a 20k-deep tree recursively would itself overflow; the
        // batch above was built from it, so only the flat form is left.
    }

    fn expect_invalid(batch: wit::DocumentBatch, needle: &str) {
        let err = unflatten(batch).unwrap_err();
        assert_eq!(err.name(), INVALID_BATCH);
        assert!(
            err.message().contains(needle),
            "{err} does not mention {needle:?}"
        );
    }

    #[test]
    fn rejects_out_of_range_indices() {
        expect_invalid(
            wit::DocumentBatch {
                nodes: vec![node("a", vec![], vec![])],
                roots: vec![1],
            },
            "root #0 is node 1, out of range (the batch has 1 nodes)",
        );
        expect_invalid(
            wit::DocumentBatch {
                nodes: vec![node("a", vec![7], vec![])],
                roots: vec![0],
            },
            "chunk #0 of node 0 is node 7, out of range",
        );
        expect_invalid(
            wit::DocumentBatch {
                nodes: vec![
                    node("a", vec![], vec![1]),
                    node("b", vec![], vec![u32::MAX]),
                ],
                roots: vec![0],
            },
            "match #0 of node 1 is node 4294967295",
        );
    }

    #[test]
    fn rejects_cycles() {
        // Self-loop.
        expect_invalid(
            wit::DocumentBatch {
                nodes: vec![node("a", vec![0], vec![])],
                roots: vec![0],
            },
            "node 0 (id \"a\") is reached twice",
        );
        // Longer cycle through a match.
        expect_invalid(
            wit::DocumentBatch {
                nodes: vec![
                    node("a", vec![1], vec![]),
                    node("b", vec![], vec![2]),
                    node("c", vec![0], vec![]),
                ],
                roots: vec![0],
            },
            "reached twice, the second time as chunk #0 of node 2",
        );
        // A cycle no root reaches.
        expect_invalid(
            wit::DocumentBatch {
                nodes: vec![
                    node("a", vec![], vec![]),
                    node("b", vec![2], vec![]),
                    node("c", vec![1], vec![]),
                ],
                roots: vec![0],
            },
            "node 1 (id \"b\") is not reachable from any root",
        );
    }

    #[test]
    fn rejects_duplicates() {
        // The same root twice.
        expect_invalid(
            wit::DocumentBatch {
                nodes: vec![node("a", vec![], vec![])],
                roots: vec![0, 0],
            },
            "the second time as root #1",
        );
        // A child shared by two parents.
        expect_invalid(
            wit::DocumentBatch {
                nodes: vec![
                    node("a", vec![2], vec![]),
                    node("b", vec![], vec![2]),
                    node("shared", vec![], vec![]),
                ],
                roots: vec![0, 1],
            },
            "node 2 (id \"shared\") is reached twice, the second time as match #0 of node 1",
        );
        // A child that is also a root.
        expect_invalid(
            wit::DocumentBatch {
                nodes: vec![node("a", vec![1], vec![]), node("b", vec![], vec![])],
                roots: vec![0, 1],
            },
            "reached twice",
        );
        // The same child twice in one list.
        expect_invalid(
            wit::DocumentBatch {
                nodes: vec![node("a", vec![1, 1], vec![]), node("b", vec![], vec![])],
                roots: vec![0],
            },
            "the second time as chunk #1 of node 0",
        );
    }

    #[test]
    fn rejects_bad_tensors_naming_the_document() {
        let mut d = node("bad", vec![], vec![]);
        d.embedding = Some(wit::Tensor {
            dtype: wit::Dtype::Float32,
            shape: vec![4],
            data: vec![0; 3],
        });
        expect_invalid(
            wit::DocumentBatch {
                nodes: vec![d],
                roots: vec![0],
            },
            "document \"bad\": embedding",
        );
    }

    #[test]
    fn conversion_moves_buffers() {
        let doc = full_doc("x");
        let emb_ptr = doc.embedding.as_ref().unwrap().data().as_ptr();
        let blob_ptr = doc.blob.as_ref().unwrap().as_ptr();
        let batch = flatten(vec![doc].into()).unwrap();
        assert_eq!(
            batch.nodes[0].embedding.as_ref().unwrap().data.as_ptr(),
            emb_ptr
        );
        assert_eq!(batch.nodes[0].blob.as_ref().unwrap().as_ptr(), blob_ptr);
        let back = unflatten(batch).unwrap();
        assert_eq!(back[0].embedding.as_ref().unwrap().data().as_ptr(), emb_ptr);
        assert_eq!(back[0].blob.as_ref().unwrap().as_ptr(), blob_ptr);
    }

    /// Rough guest-side cost of a 100-document, 512-float call; run with
    /// `cargo test --release -p flowhost-guest -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing, not a check"]
    fn conversion_throughput() {
        let docs: DocumentArray = (0..100)
            .map(|i| {
                let values: Vec<f32> = (0..512).map(|j| (i * j) as f32).collect();
                Document::with_id(format!("doc-{i}"))
                    .with_embedding(Tensor::from_f32(&values, &[512]).unwrap())
            })
            .collect();
        let mut batch = flatten(docs).unwrap();
        let rounds = 20_000;
        let began = std::time::Instant::now();
        for _ in 0..rounds {
            batch = flatten(unflatten(batch).unwrap()).unwrap();
        }
        let per_doc = began.elapsed() / (rounds * 100);
        eprintln!("unflatten + flatten: {per_doc:?} per document");
    }

    #[test]
    fn tags_survive_as_json() {
        let mut d = Document::with_id("t");
        d.set_tags(json!({"a": {"b": [1, 2]}}).as_object().unwrap().clone());
        let batch = flatten(vec![d].into()).unwrap();
        let raw: serde_json::Value =
            serde_json::from_str(batch.nodes[0].tags.as_ref().unwrap()).unwrap();
        assert_eq!(raw, json!({"a": {"b": [1, 2]}}));
    }
}
