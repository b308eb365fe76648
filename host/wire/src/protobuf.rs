//! Conversions between Jina's protobuf messages and the host's own types.
//!
//! docarray's `DocumentProto` is a tree (chunks and matches nested); the host's
//! [`DocumentBatch`] is flat with indices. Tensors travel as a dense buffer, a shape and a
//! numpy dtype string (`<f4`); tags and parameters as `google.protobuf.Struct`, whose numbers
//! are all doubles (so `3` comes back as `3.0`, as it does from Jina).
//!
//! proto3 cannot tell "unset" from "zero" for scalars, and docarray reads only the fields a
//! message sets, so zero and empty values become `None` here, and `None` is written as the
//! default value.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::Message as _;
use prost_types::value::Kind;
use serde_json::{Map, Number, Value};

use crate::envelope::{DEFAULT_ENDPOINT, ExceptionInfo, Request, Response, RouteEntry, Status};
use crate::proto::docarray::{
    DenseNdArrayProto, DocumentArrayProto, DocumentProto, NamedScoreProto, NdArrayProto,
    document_proto, nd_array_proto,
};
use crate::proto::jina::data_request_proto::{DataContentProto, data_content_proto};
use crate::proto::jina::status_proto::{ExceptionProto, StatusCode};
use crate::proto::jina::{DataRequestProto, HeaderProto, RouteProto, StatusProto};
use flowhost_docs::{self as docs, Document, DocumentBatch, Dtype, NamedScore, Tensor};

/// Why a protobuf request could not be turned into a flow request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("document {position}: `{field}` {problem}")]
    Document {
        /// Where the document is, e.g. `2` or `2.chunks.0`.
        position: String,
        field: &'static str,
        problem: String,
    },
    #[error("`data.docs_bytes` is not a serialised DocumentArrayProto: {0}")]
    DocsBytes(String),
    #[error("`parameters` {0}")]
    Parameters(String),
}

fn doc_error(position: &str, field: &'static str, problem: impl Into<String>) -> ConvertError {
    ConvertError::Document {
        position: position.to_owned(),
        field,
        problem: problem.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Requests and responses
// ---------------------------------------------------------------------------------------------

/// A Jina data request as a flow request.
pub fn request_from_proto(message: DataRequestProto) -> Result<Request, ConvertError> {
    let header = message.header.unwrap_or_default();
    let docs = match message.data.and_then(|d| d.documents) {
        None => docs::empty_batch(),
        Some(data_content_proto::Documents::Docs(array)) => batch_from_proto(array.docs)?,
        Some(data_content_proto::Documents::DocsBytes(bytes)) => {
            let array = DocumentArrayProto::decode(bytes.as_slice())
                .map_err(|e| ConvertError::DocsBytes(e.to_string()))?;
            batch_from_proto(array.docs)?
        }
    };
    let parameters = match message.parameters {
        None => Map::new(),
        Some(params) => struct_to_map(params),
    };
    Ok(Request {
        request_id: non_empty(header.request_id).unwrap_or_else(flowhost_docs::new_id),
        endpoint: header
            .exec_endpoint
            .and_then(non_empty)
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
        docs,
        parameters,
        target_executor: header.target_executor.and_then(non_empty),
    })
}

/// A flow request as a Jina data request (what the client sends).
pub fn request_to_proto(request: &Request) -> DataRequestProto {
    DataRequestProto {
        header: Some(HeaderProto {
            request_id: request.request_id.clone(),
            status: None,
            exec_endpoint: Some(request.endpoint.clone()),
            target_executor: Some(request.target_executor.clone().unwrap_or_default()),
            timeout: None,
        }),
        parameters: Some(map_to_struct(&request.parameters)),
        routes: Vec::new(),
        data: Some(DataContentProto {
            documents: Some(data_content_proto::Documents::Docs(DocumentArrayProto {
                docs: batch_to_proto(&request.docs),
            })),
        }),
    }
}

/// A flow response as Jina's reply: `header.status` is set only on error, as Jina does.
/// Takes the response by value so document bytes move instead of being copied.
pub fn response_to_proto(response: Response) -> DataRequestProto {
    DataRequestProto {
        header: Some(HeaderProto {
            status: status_to_proto(&response.status),
            request_id: response.request_id,
            exec_endpoint: Some(response.endpoint),
            target_executor: Some(String::new()),
            timeout: None,
        }),
        parameters: Some(map_to_struct(&response.parameters)),
        routes: response.routes.iter().map(route_to_proto).collect(),
        data: Some(DataContentProto {
            documents: Some(data_content_proto::Documents::Docs(DocumentArrayProto {
                docs: batch_into_proto(response.docs),
            })),
        }),
    }
}

/// A Jina reply as a flow response (what the client receives).
pub fn response_from_proto(message: DataRequestProto) -> Result<Response, ConvertError> {
    let header = message.header.clone().unwrap_or_default();
    let routes = message.routes.iter().map(route_from_proto).collect();
    let status = status_from_proto(header.status.as_ref());
    let request = request_from_proto(message)?;
    Ok(Response {
        request_id: request.request_id,
        endpoint: request.endpoint,
        docs: request.docs,
        parameters: request.parameters,
        routes,
        status,
    })
}

/// A reply saying the request itself was unreadable, in Jina's error shape
/// (exception `BadRequest`).
pub fn bad_request_reply(request_id: String, message: &str) -> DataRequestProto {
    refusal_reply(request_id, "BadRequest", message)
}

/// A reply saying the gateway did not take the request, with exception `name`
/// (`BadRequest`, `ResourceExhausted`).
pub fn refusal_reply(request_id: String, name: &str, message: &str) -> DataRequestProto {
    DataRequestProto {
        header: Some(HeaderProto {
            request_id,
            status: Some(StatusProto {
                code: StatusCode::Error as i32,
                description: format!("{name}('{message}')"),
                exception: Some(ExceptionProto {
                    name: name.into(),
                    args: vec![message.to_owned()],
                    stacks: Vec::new(),
                    executor: String::new(),
                }),
            }),
            exec_endpoint: None,
            target_executor: None,
            timeout: None,
        }),
        ..Default::default()
    }
}

/// `None` for success (Jina leaves the status unset), the status with its exception otherwise.
pub fn status_to_proto(status: &Status) -> Option<StatusProto> {
    match status {
        Status::Success => None,
        Status::Error(info) => Some(StatusProto {
            code: StatusCode::Error as i32,
            description: info.description.clone(),
            exception: Some(ExceptionProto {
                name: info.name.clone(),
                args: info.args.clone(),
                stacks: info.stacks.clone(),
                executor: info.executor.clone(),
            }),
        }),
    }
}

fn status_from_proto(status: Option<&StatusProto>) -> Status {
    match status {
        Some(s) if s.code == StatusCode::Error as i32 => {
            let exception = s.exception.clone().unwrap_or_default();
            Status::Error(ExceptionInfo {
                name: exception.name,
                args: exception.args,
                stacks: exception.stacks,
                executor: exception.executor,
                description: s.description.clone(),
            })
        }
        _ => Status::Success,
    }
}

fn route_to_proto(route: &RouteEntry) -> RouteProto {
    RouteProto {
        executor: route.executor.clone(),
        start_time: Some(timestamp(route.start)),
        end_time: route.end.map(timestamp),
        status: status_to_proto(&route.status),
    }
}

fn route_from_proto(route: &RouteProto) -> RouteEntry {
    let time = |t: &prost_types::Timestamp| {
        let nanos = Duration::from_secs(t.seconds.max(0) as u64)
            + Duration::from_nanos(t.nanos.max(0) as u64);
        UNIX_EPOCH + nanos
    };
    RouteEntry {
        executor: route.executor.clone(),
        start: route.start_time.as_ref().map(time).unwrap_or(UNIX_EPOCH),
        end: route.end_time.as_ref().map(time),
        status: status_from_proto(route.status.as_ref()),
    }
}

fn timestamp(time: SystemTime) -> prost_types::Timestamp {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp {
        seconds: since.as_secs() as i64,
        nanos: since.subsec_nanos() as i32,
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

// ---------------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------------

/// Top-level documents (trees) as a flat batch.
pub fn batch_from_proto(docs: Vec<DocumentProto>) -> Result<DocumentBatch, ConvertError> {
    let mut batch = docs::empty_batch();
    batch.nodes.reserve(docs.len());
    for (position, doc) in docs.into_iter().enumerate() {
        let root = push_proto(&mut batch, doc, &position.to_string())?;
        batch.roots.push(root);
    }
    Ok(batch)
}

fn push_proto(
    batch: &mut DocumentBatch,
    proto: DocumentProto,
    position: &str,
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
        chunks.push(push_proto(batch, child, &format!("{position}.chunks.{i}"))?);
    }
    let mut matches = Vec::with_capacity(proto.matches.len());
    for (i, child) in proto.matches.into_iter().enumerate() {
        matches.push(push_proto(
            batch,
            child,
            &format!("{position}.matches.{i}"),
        )?);
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
    batch
        .roots
        .iter()
        .filter_map(|&root| node_into_proto(&mut nodes, root as usize))
        .collect()
}

fn node_into_proto(nodes: &mut [Option<Document>], index: usize) -> Option<DocumentProto> {
    let doc = nodes.get_mut(index)?.take()?;
    let mut children = |indices: &[u32]| -> Vec<DocumentProto> {
        indices
            .iter()
            .filter_map(|&i| node_into_proto(nodes, i as usize))
            .collect()
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

// ---------------------------------------------------------------------------------------------
// Tensors
// ---------------------------------------------------------------------------------------------

/// The numpy type string of a dtype (always little-endian, as the WIT contract says).
pub fn numpy_dtype(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::Float16 => "<f2",
        Dtype::Float32 => "<f4",
        Dtype::Float64 => "<f8",
        Dtype::Int8 => "|i1",
        Dtype::Int16 => "<i2",
        Dtype::Int32 => "<i4",
        Dtype::Int64 => "<i8",
        Dtype::Uint8 => "|u1",
        Dtype::Uint16 => "<u2",
        Dtype::Uint32 => "<u4",
        Dtype::Uint64 => "<u8",
        Dtype::Boolean => "|b1",
    }
}

/// Reads a numpy type string: `<f4`, `>i8`, `|u1`, `=f8`, or a name such as `float32`.
/// Returns the dtype and whether the bytes are big-endian.
fn parse_numpy_dtype(text: &str) -> Option<(Dtype, bool)> {
    let named = match text {
        "float16" | "half" => Some(Dtype::Float16),
        "float32" | "float" => Some(Dtype::Float32),
        "float64" | "double" => Some(Dtype::Float64),
        "int8" => Some(Dtype::Int8),
        "int16" => Some(Dtype::Int16),
        "int32" => Some(Dtype::Int32),
        "int64" => Some(Dtype::Int64),
        "uint8" => Some(Dtype::Uint8),
        "uint16" => Some(Dtype::Uint16),
        "uint32" => Some(Dtype::Uint32),
        "uint64" => Some(Dtype::Uint64),
        "bool" => Some(Dtype::Boolean),
        _ => None,
    };
    if let Some(dtype) = named {
        return Some((dtype, false));
    }
    let (big_endian, code) = match text.as_bytes().first()? {
        b'<' | b'=' | b'|' => (false, &text[1..]),
        b'>' | b'!' => (true, &text[1..]),
        _ => (false, text),
    };
    let dtype = match code {
        "f2" | "e" => Dtype::Float16,
        "f4" | "f" => Dtype::Float32,
        "f8" | "d" => Dtype::Float64,
        "i1" | "b" => Dtype::Int8,
        "i2" | "h" => Dtype::Int16,
        "i4" | "i" => Dtype::Int32,
        "i8" | "l" | "q" => Dtype::Int64,
        "u1" | "B" => Dtype::Uint8,
        "u2" | "H" => Dtype::Uint16,
        "u4" | "I" => Dtype::Uint32,
        "u8" | "L" | "Q" => Dtype::Uint64,
        "b1" | "?" => Dtype::Boolean,
        _ => return None,
    };
    Some((dtype, big_endian))
}

/// A docarray array as a tensor. Only dense arrays are supported.
pub fn tensor_from_proto(array: NdArrayProto) -> Result<Tensor, String> {
    let dense = match array.content {
        Some(nd_array_proto::Content::Dense(dense)) => dense,
        Some(nd_array_proto::Content::Sparse(_)) => {
            return Err("is a sparse array; only dense arrays are supported".into());
        }
        None => DenseNdArrayProto::default(),
    };
    let (dtype, big_endian) = if dense.dtype.is_empty() && dense.buffer.is_empty() {
        (Dtype::Float64, false)
    } else {
        parse_numpy_dtype(&dense.dtype)
            .ok_or_else(|| format!("has an unsupported dtype `{}`", dense.dtype))?
    };
    docs::check_tensor_parts(dtype, &dense.shape, dense.buffer.len()).map_err(|e| e.to_string())?;
    let size = docs::element_size(dtype);
    let mut data = dense.buffer;
    if big_endian && size > 1 {
        data.chunks_exact_mut(size).for_each(<[u8]>::reverse);
    }
    Ok(Tensor {
        dtype,
        shape: dense.shape,
        data,
    })
}

/// A tensor as a dense docarray array (`cls_name` `numpy`, as Jina's gateway answers).
pub fn tensor_into_proto(tensor: Tensor) -> NdArrayProto {
    NdArrayProto {
        content: Some(nd_array_proto::Content::Dense(DenseNdArrayProto {
            dtype: numpy_dtype(tensor.dtype).to_owned(),
            buffer: tensor.data,
            shape: tensor.shape,
        })),
        cls_name: "numpy".to_owned(),
        parameters: None,
    }
}

// ---------------------------------------------------------------------------------------------
// google.protobuf.Struct <-> JSON
// ---------------------------------------------------------------------------------------------

/// A `Struct` as a JSON object. A `Struct` holds every number as a double; integral ones
/// (within ±2^53) become JSON integers so executors with typed parameters read `800` as a
/// `u64`. Answers turn them back into doubles (the `Struct` on gRPC,
/// [`crate::json::as_struct_numbers`] on HTTP), which is what Jina's clients see.
pub fn struct_to_map(value: prost_types::Struct) -> Map<String, Value> {
    value
        .fields
        .into_iter()
        .map(|(k, v)| (k, value_to_json(v)))
        .collect()
}

fn value_to_json(value: prost_types::Value) -> Value {
    match value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 => {
            Value::Number(Number::from(n as i64))
        }
        Some(Kind::NumberValue(n)) => Number::from_f64(n).map_or(Value::Null, Value::Number),
        Some(Kind::StringValue(s)) => Value::String(s),
        Some(Kind::BoolValue(b)) => Value::Bool(b),
        Some(Kind::StructValue(s)) => Value::Object(struct_to_map(s)),
        Some(Kind::ListValue(list)) => {
            Value::Array(list.values.into_iter().map(value_to_json).collect())
        }
    }
}

/// A JSON object as a `Struct`.
pub fn map_to_struct(map: &Map<String, Value>) -> prost_types::Struct {
    prost_types::Struct {
        fields: map
            .iter()
            .map(|(k, v)| (k.clone(), json_to_value(v)))
            .collect(),
    }
}

fn json_to_value(value: &Value) -> prost_types::Value {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(json_to_value).collect(),
        }),
        Value::Object(map) => Kind::StructValue(map_to_struct(map)),
    };
    prost_types::Value { kind: Some(kind) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tensor_f32(values: &[f32], shape: &[u32]) -> Tensor {
        Tensor {
            dtype: Dtype::Float32,
            shape: shape.to_vec(),
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    fn sample_batch() -> DocumentBatch {
        let mut root = docs::document("root");
        root.text = Some("hello".into());
        root.tags = Some(r#"{"lang":"en","n":3,"nested":{"ok":true}}"#.into());
        root.embedding = Some(tensor_f32(&[1.0, 2.5, 3.0, 4.0], &[2, 2]));
        root.scores = vec![NamedScore {
            name: "cosine".into(),
            value: 0.5,
            op_name: Some("cosine".into()),
            description: None,
            ref_id: None,
        }];
        root.granularity = Some(1);
        root.location = vec![1.0, 2.0];
        root.chunks = vec![1];
        root.matches = vec![3];
        let mut chunk = docs::document("c1");
        chunk.chunks = vec![2];
        let mut deep = docs::document("c1.1");
        deep.blob = Some(b"bytes".to_vec());
        let mut m = docs::document("m1");
        m.tensor = Some(Tensor {
            dtype: Dtype::Int64,
            shape: vec![2],
            data: [7i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        DocumentBatch {
            nodes: vec![root, chunk, deep, m],
            roots: vec![0],
        }
    }

    #[test]
    fn documents_roundtrip_through_proto() {
        let batch = sample_batch();
        let proto = batch_to_proto(&batch);
        assert_eq!(proto.len(), 1);
        assert_eq!(proto[0].chunks[0].chunks[0].id, "c1.1");
        let dense = match &proto[0].embedding.as_ref().unwrap().content {
            Some(nd_array_proto::Content::Dense(d)) => d.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(dense.dtype, "<f4");
        assert_eq!(dense.shape, vec![2, 2]);
        let back = batch_from_proto(proto).unwrap();
        assert_eq!(docs::validate(&back), Ok(()));
        assert_eq!(back.nodes.len(), 4);
        let root = &back.nodes[0];
        assert_eq!(root.text.as_deref(), Some("hello"));
        assert_eq!(root.embedding, batch.nodes[0].embedding);
        assert_eq!(root.granularity, Some(1));
        assert_eq!(root.location, vec![1.0, 2.0]);
        assert_eq!(root.scores[0].op_name.as_deref(), Some("cosine"));
        // Integral Struct numbers come back as integers for executors.
        let tags: Value = serde_json::from_str(root.tags.as_deref().unwrap()).unwrap();
        assert_eq!(tags, json!({"lang": "en", "n": 3, "nested": {"ok": true}}));
        let deep = &back.nodes[back.nodes[root.chunks[0] as usize].chunks[0] as usize];
        assert_eq!(deep.blob.as_deref(), Some(&b"bytes"[..]));
        let m = &back.nodes[root.matches[0] as usize];
        assert_eq!(m.tensor, batch.nodes[3].tensor);
    }

    #[test]
    fn unset_scalars_stay_unset_and_empty_ids_get_fresh_ones() {
        let back = batch_from_proto(vec![DocumentProto::default()]).unwrap();
        let doc = &back.nodes[0];
        assert_eq!(doc.id.len(), 32);
        assert_eq!(doc.granularity, None);
        assert_eq!(doc.weight, None);
        assert_eq!(doc.tags, None);
        assert_eq!(doc.text, None);
    }

    #[test]
    fn big_endian_and_named_dtypes_are_read() {
        let array = NdArrayProto {
            content: Some(nd_array_proto::Content::Dense(DenseNdArrayProto {
                buffer: 1.5f32.to_be_bytes().to_vec(),
                shape: vec![1],
                dtype: ">f4".into(),
            })),
            ..Default::default()
        };
        let tensor = tensor_from_proto(array).unwrap();
        assert_eq!(tensor.data, 1.5f32.to_le_bytes().to_vec());
        assert_eq!(parse_numpy_dtype("float64"), Some((Dtype::Float64, false)));
        assert_eq!(parse_numpy_dtype("|b1"), Some((Dtype::Boolean, false)));
    }

    #[test]
    fn bad_tensors_say_what_is_wrong() {
        let doc = DocumentProto {
            embedding: Some(NdArrayProto {
                content: Some(nd_array_proto::Content::Dense(DenseNdArrayProto {
                    buffer: vec![0; 7],
                    shape: vec![2],
                    dtype: "<f4".into(),
                })),
                ..Default::default()
            }),
            ..Default::default()
        };
        let error = batch_from_proto(vec![DocumentProto::default(), doc]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "document 1: `embedding` has 7 bytes, but shape [2] of float32 needs 8"
        );
        let doc = DocumentProto {
            content: Some(document_proto::Content::Tensor(NdArrayProto {
                content: Some(nd_array_proto::Content::Dense(DenseNdArrayProto {
                    buffer: vec![0; 8],
                    shape: vec![1],
                    dtype: "<c8".into(),
                })),
                ..Default::default()
            })),
            ..Default::default()
        };
        let error = batch_from_proto(vec![doc]).unwrap_err().to_string();
        assert!(error.contains("unsupported dtype `<c8`"), "{error}");
    }

    #[test]
    fn requests_read_docs_bytes_defaults_and_parameters() {
        let array = DocumentArrayProto {
            docs: batch_to_proto(&sample_batch()),
        };
        let message = DataRequestProto {
            header: Some(HeaderProto {
                request_id: "r1".into(),
                target_executor: Some(String::new()),
                ..Default::default()
            }),
            parameters: Some(map_to_struct(json!({"k": 2}).as_object().unwrap())),
            routes: Vec::new(),
            data: Some(DataContentProto {
                documents: Some(data_content_proto::Documents::DocsBytes(
                    array.encode_to_vec(),
                )),
            }),
        };
        let request = request_from_proto(message).unwrap();
        assert_eq!(request.request_id, "r1");
        assert_eq!(request.endpoint, "/");
        assert_eq!(request.target_executor, None);
        assert_eq!(request.parameters["k"], json!(2));
        assert_eq!(request.docs.nodes.len(), 4);

        let garbage = DataRequestProto {
            data: Some(DataContentProto {
                documents: Some(data_content_proto::Documents::DocsBytes(vec![0xff; 3])),
            }),
            ..Default::default()
        };
        assert!(matches!(
            request_from_proto(garbage),
            Err(ConvertError::DocsBytes(_))
        ));
    }

    #[test]
    fn error_responses_carry_jina_exception_fields() {
        let start = UNIX_EPOCH + Duration::from_millis(1_500);
        let info = ExceptionInfo {
            name: "ValueError".into(),
            args: vec!["bad input".into()],
            stacks: vec!["at guest".into()],
            executor: "bad".into(),
            description: "ValueError('bad input')".into(),
        };
        let response = Response {
            request_id: "r".into(),
            endpoint: "/error".into(),
            docs: docs::empty_batch(),
            parameters: Map::new(),
            routes: vec![RouteEntry {
                executor: "bad".into(),
                start,
                end: Some(start),
                status: Status::Error(info.clone()),
            }],
            status: Status::Error(info.clone()),
        };
        let proto = response_to_proto(response);
        let status = proto.header.as_ref().unwrap().status.clone().unwrap();
        assert_eq!(status.code, StatusCode::Error as i32);
        assert_eq!(status.exception.as_ref().unwrap().name, "ValueError");
        assert_eq!(proto.routes[0].start_time.unwrap().nanos, 500_000_000);
        let back = response_from_proto(proto).unwrap();
        assert_eq!(back.status, Status::Error(info));
        assert_eq!(back.routes[0].start, start);
        assert_eq!(back.endpoint, "/error");
    }

    #[test]
    fn struct_numbers_become_floats() {
        let value = crate::json::as_struct_numbers(json!({"a": 3, "b": [1, "x"], "c": 1.5}));
        assert_eq!(value.to_string(), r#"{"a":3.0,"b":[1.0,"x"],"c":1.5}"#);
    }
}
