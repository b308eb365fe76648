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

mod documents;
mod envelope;
mod structs;
mod tensors;

pub use documents::{batch_from_proto, batch_into_proto, batch_to_proto};
pub use envelope::{
    readiness_to_proto, refusal_reply, request_from_proto, request_to_proto, response_from_proto,
    response_to_proto, status_to_proto,
};
pub use structs::{map_to_struct, struct_to_map};
pub use tensors::{numpy_dtype, tensor_from_proto, tensor_into_proto};

/// Why a protobuf request could not be turned into a flow request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// One document does not fit the host's model.
    #[error("document {position}: `{field}` {problem}")]
    Document {
        /// Where the document is, e.g. `2` or `2.chunks.0`.
        position: String,
        /// The field at fault, e.g. `tensor`.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// `docs_bytes` does not decode; prost's reason.
    #[error("`data.docs_bytes` is not a serialised DocumentArrayProto: {0}")]
    DocsBytes(String),
    /// `parameters` is not a JSON object's worth of `Struct`.
    #[error("`parameters` {0}")]
    Parameters(String),
}

fn doc_error(
    position: &impl std::fmt::Display,
    field: &'static str,
    problem: impl Into<String>,
) -> ConvertError {
    ConvertError::Document {
        position: position.to_string(),
        field,
        problem: problem.into(),
    }
}

/// proto3 writes an unset string as empty; the host's `None`.
fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use std::time::{Duration, UNIX_EPOCH};

    use flowhost_docs::{self as docs, DocumentBatch, Dtype, NamedScore, Tensor};
    use prost::Message as _;
    use serde_json::{Map, Value};

    use super::*;
    use crate::envelope::{ExceptionInfo, Response, RouteEntry, Status};
    use crate::proto::docarray::{
        DenseNdArrayProto, DocumentArrayProto, DocumentProto, NdArrayProto, document_proto,
        nd_array_proto,
    };
    use crate::proto::jina::data_request_proto::{DataContentProto, data_content_proto};
    use crate::proto::jina::status_proto::StatusCode;
    use crate::proto::jina::{DataRequestProto, HeaderProto};
    use crate::protobuf::tensors::parse_numpy_dtype;

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
        let error = batch_from_proto(vec![doc.clone()]).unwrap_err().to_string();
        assert!(error.contains("unsupported dtype `<c8`"), "{error}");
        // A nested document is named by its path.
        let parent = DocumentProto {
            chunks: vec![
                DocumentProto::default(),
                DocumentProto {
                    matches: vec![doc],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let error = batch_from_proto(vec![DocumentProto::default(), parent])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("document 1.chunks.1.matches.0: `tensor`"),
            "{error}"
        );
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
