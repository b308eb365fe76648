//! Misbehaving guest for the hardening tests: it speaks the WIT directly (the SDK would not
//! let it build these batches) and answers each endpoint with output the host must refuse
//! or carry safely:
//!
//! - `/deep?N` (parameters `{"depth": N}`): one document whose chunks nest N levels deep
//!   (matches instead with `{"kind": "matches"}`);
//! - `/many-dims`: an embedding with 10,000 dimensions of size 1;
//! - `/short-tensor`: a tensor whose bytes do not fill its shape;
//! - `/overflow-shape`: a shape whose element count overflows;
//! - anything else: `unchanged`, so the same instance can be shown to still answer.

use flowhost_guest::__private::Guest;
use flowhost_guest::wit::{
    Description, Document, DocumentBatch, Dtype, ExecutorError, Metas, MethodInfo, Output, Tensor,
};

struct HostileOutput;

fn document(id: String) -> Document {
    Document {
        id,
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

fn number(parameters: &str, key: &str) -> Option<u64> {
    let value: flowhost_guest::serde_json::Value =
        flowhost_guest::serde_json::from_str(parameters).ok()?;
    value.get(key)?.as_u64()
}

fn deep(depth: u32, matches: bool) -> DocumentBatch {
    let nodes = (0..depth)
        .map(|i| {
            let mut doc = document(format!("level-{i}"));
            if i + 1 < depth {
                if matches {
                    doc.matches = vec![i + 1];
                } else {
                    doc.chunks = vec![i + 1];
                }
            }
            doc
        })
        .collect();
    DocumentBatch {
        nodes,
        roots: vec![0],
    }
}

fn with_tensor(tensor: Tensor, as_embedding: bool) -> DocumentBatch {
    let mut doc = document("bad-tensor".to_owned());
    if as_embedding {
        doc.embedding = Some(tensor);
    } else {
        doc.tensor = Some(tensor);
    }
    DocumentBatch {
        nodes: vec![doc],
        roots: vec![0],
    }
}

impl Guest for HostileOutput {
    fn init(_uses_with: String, _metas: Metas) -> Result<(), ExecutorError> {
        Ok(())
    }

    fn describe() -> Description {
        Description {
            methods: vec![MethodInfo {
                name: "handle".to_owned(),
                endpoints: Vec::new(),
            }],
            catch_all: Some("handle".to_owned()),
        }
    }

    fn call(
        _method: String,
        endpoint: String,
        _docs: DocumentBatch,
        parameters: String,
    ) -> Result<Output, ExecutorError> {
        let batch = match endpoint.as_str() {
            "/deep" => {
                let depth = number(&parameters, "depth").unwrap_or(5_000) as u32;
                let matches = parameters.contains("\"matches\"");
                deep(depth, matches)
            }
            "/many-dims" => with_tensor(
                Tensor {
                    dtype: Dtype::Float32,
                    shape: vec![1; 10_000],
                    data: vec![0; 4],
                },
                true,
            ),
            "/short-tensor" => with_tensor(
                Tensor {
                    dtype: Dtype::Float32,
                    shape: vec![2, 3],
                    data: vec![0; 8],
                },
                false,
            ),
            "/overflow-shape" => with_tensor(
                Tensor {
                    dtype: Dtype::Float64,
                    shape: vec![u32::MAX, u32::MAX, u32::MAX],
                    data: vec![0; 8],
                },
                false,
            ),
            _ => return Ok(Output::Unchanged),
        };
        Ok(Output::Docs(batch))
    }
}

flowhost_guest::bindings::export!(HostileOutput with_types_in flowhost_guest::bindings);
