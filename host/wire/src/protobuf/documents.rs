//! docarray's `DocumentProto` trees as the host's flat [`DocumentBatch`], and back.

use std::collections::HashMap;

use flowhost_docs::{self as docs, Document, DocumentBatch, NamedScore};
use serde_json::Value;

use super::non_empty;
use super::{
    ConvertError, doc_error, map_to_struct, struct_to_map, tensor_from_proto, tensor_into_proto,
};
use crate::proto::docarray::{DocumentProto, NamedScoreProto, document_proto};

/// Top-level documents (trees) as a flat batch.
pub fn batch_from_proto(docs: Vec<DocumentProto>) -> Result<DocumentBatch, ConvertError> {
    let mut batch = docs::empty_batch();
    batch.nodes.reserve(docs.len());
    batch.roots.reserve(docs.len());
    for (index, doc) in docs.into_iter().enumerate() {
        let root = push_proto(&mut batch, doc, &Position::Root(index))?;
        batch.roots.push(root);
    }
    Ok(batch)
}

/// Where a document sits in a request (`3`, `3.chunks.0`), written out only for an error:
/// a request of a hundred documents takes no allocation to say where each one is.
enum Position<'a> {
    Root(usize),
    Child {
        parent: &'a Position<'a>,
        field: &'static str,
        index: usize,
    },
}

impl std::fmt::Display for Position<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Root(index) => write!(f, "{index}"),
            Position::Child {
                parent,
                field,
                index,
            } => write!(f, "{parent}.{field}.{index}"),
        }
    }
}

fn push_proto(
    batch: &mut DocumentBatch,
    proto: DocumentProto,
    position: &Position<'_>,
) -> Result<u32, ConvertError> {
    let small = |field: &'static str, value: u32| -> Result<Option<i32>, ConvertError> {
        match value {
            0 => Ok(None),
            v => i32::try_from(v)
                .map(Some)
                .map_err(|_| doc_error(position, field, "is larger than a 32-bit signed integer")),
        }
    };
    let mut doc = docs::document(non_empty(proto.id).unwrap_or_else(flowhost_docs::new_id));
    match proto.content {
        None => {}
        Some(document_proto::Content::Text(text)) => doc.text = Some(text),
        Some(document_proto::Content::Blob(blob)) => doc.blob = Some(blob),
        Some(document_proto::Content::Tensor(tensor)) => {
            doc.tensor =
                Some(tensor_from_proto(tensor).map_err(|p| doc_error(position, "tensor", p))?);
        }
    }
    doc.granularity = small("granularity", proto.granularity)?;
    doc.adjacency = small("adjacency", proto.adjacency)?;
    doc.parent_id = non_empty(proto.parent_id);
    doc.weight = nonzero(proto.weight);
    doc.uri = non_empty(proto.uri);
    doc.modality = non_empty(proto.modality);
    doc.mime_type = non_empty(proto.mime_type);
    doc.offset = nonzero(proto.offset);
    doc.location = proto.location.into_iter().map(f64::from).collect();
    doc.embedding = proto
        .embedding
        .map(tensor_from_proto)
        .transpose()
        .map_err(|p| doc_error(position, "embedding", p))?;
    doc.tags = proto
        .tags
        .filter(|tags| !tags.fields.is_empty())
        .map(|tags| Value::Object(struct_to_map(tags)).to_string());
    doc.scores = scores_from_proto(proto.scores);
    doc.evaluations = scores_from_proto(proto.evaluations);

    let index = u32::try_from(batch.nodes.len())
        .map_err(|_| doc_error(position, "chunks", "make the request too large"))?;
    batch.nodes.push(doc);
    let mut chunks = Vec::with_capacity(proto.chunks.len());
    for (i, child) in proto.chunks.into_iter().enumerate() {
        let at = Position::Child {
            parent: position,
            field: "chunks",
            index: i,
        };
        chunks.push(push_proto(batch, child, &at)?);
    }
    let mut matches = Vec::with_capacity(proto.matches.len());
    for (i, child) in proto.matches.into_iter().enumerate() {
        let at = Position::Child {
            parent: position,
            field: "matches",
            index: i,
        };
        matches.push(push_proto(batch, child, &at)?);
    }
    let node = &mut batch.nodes[index as usize];
    node.chunks = chunks;
    node.matches = matches;
    Ok(index)
}

fn nonzero(value: f32) -> Option<f64> {
    if value == 0.0 {
        None
    } else {
        Some(f64::from(value))
    }
}

fn scores_from_proto(scores: HashMap<String, NamedScoreProto>) -> Vec<NamedScore> {
    let mut out: Vec<NamedScore> = scores
        .into_iter()
        .map(|(name, s)| NamedScore {
            name,
            value: f64::from(s.value),
            op_name: non_empty(s.op_name),
            description: non_empty(s.description),
            ref_id: non_empty(s.ref_id),
        })
        .collect();
    // Protobuf maps have no order; sort so replies are deterministic.
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The top-level documents of a batch as trees.
pub fn batch_to_proto(batch: &DocumentBatch) -> Vec<DocumentProto> {
    batch_into_proto(batch.clone())
}

/// The top-level documents of a batch as trees, moving every document out of the batch.
/// Each node is taken once, so a node reached twice (an invalid batch) appears once.
pub fn batch_into_proto(batch: DocumentBatch) -> Vec<DocumentProto> {
    let mut nodes: Vec<Option<Document>> = batch.nodes.into_iter().map(Some).collect();
    // Sized up front: grown from empty, the vector would copy its (large) messages over and
    // over on the way to a hundred.
    let mut docs = Vec::with_capacity(batch.roots.len());
    docs.extend(
        (batch.roots.iter()).filter_map(|&root| node_into_proto(&mut nodes, root as usize)),
    );
    docs
}

fn node_into_proto(nodes: &mut [Option<Document>], index: usize) -> Option<DocumentProto> {
    let doc = nodes.get_mut(index)?.take()?;
    let mut children = |indices: &[u32]| -> Vec<DocumentProto> {
        let mut children = Vec::with_capacity(indices.len());
        children.extend((indices.iter()).filter_map(|&i| node_into_proto(nodes, i as usize)));
        children
    };
    let chunks = children(&doc.chunks);
    let matches = children(&doc.matches);
    let content = if let Some(text) = doc.text {
        Some(document_proto::Content::Text(text))
    } else if let Some(tensor) = doc.tensor {
        Some(document_proto::Content::Tensor(tensor_into_proto(tensor)))
    } else {
        doc.blob.map(document_proto::Content::Blob)
    };
    Some(DocumentProto {
        id: doc.id,
        content,
        granularity: doc.granularity.unwrap_or(0).max(0) as u32,
        adjacency: doc.adjacency.unwrap_or(0).max(0) as u32,
        parent_id: doc.parent_id.unwrap_or_default(),
        weight: doc.weight.unwrap_or(0.0) as f32,
        uri: doc.uri.unwrap_or_default(),
        modality: doc.modality.unwrap_or_default(),
        mime_type: doc.mime_type.unwrap_or_default(),
        offset: doc.offset.unwrap_or(0.0) as f32,
        location: doc.location.iter().map(|&v| v as f32).collect(),
        chunks,
        matches,
        embedding: doc.embedding.map(tensor_into_proto),
        tags: doc
            .tags
            .as_deref()
            .and_then(|tags| match serde_json::from_str::<Value>(tags) {
                Ok(Value::Object(map)) => Some(map_to_struct(&map)),
                _ => None,
            }),
        scores: scores_to_proto(&doc.scores),
        evaluations: scores_to_proto(&doc.evaluations),
        metadata: None,
    })
}

fn scores_to_proto(scores: &[NamedScore]) -> HashMap<String, NamedScoreProto> {
    scores
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                NamedScoreProto {
                    value: s.value as f32,
                    op_name: s.op_name.clone().unwrap_or_default(),
                    description: s.description.clone().unwrap_or_default(),
                    ref_id: s.ref_id.clone().unwrap_or_default(),
                },
            )
        })
        .collect()
}
