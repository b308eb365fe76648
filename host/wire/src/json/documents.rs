//! Documents as Jina's JSON: what `POST /post` takes and answers, and what
//! the CLI prints.
//!
//! The shape is docarray v1's `Document.to_dict()`: every field present, `null`
//! when unset, chunks and matches nested, tensors as nested lists of numbers.

use serde_json::{Map, Value, json};

use flowhost_docs::{DocumentBatch, Dtype, NamedScore, Tensor, document, tensor_values};

/// Why a JSON document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document {position}: `{field}` {problem}")]
pub struct JsonError {
    /// Where the document is, e.g. `2` or `2.chunks.0`.
    pub position: String,
    /// The field at fault, e.g. `tensor`.
    pub field: String,
    /// What is wrong with it, e.g. `must be a string`.
    pub problem: String,
}

/// The top-level documents of `batch` as a JSON array.
pub fn batch_to_json(batch: &DocumentBatch) -> Value {
    Value::Array(
        batch
            .roots
            .iter()
            .map(|&root| node_to_json(batch, root as usize))
            .collect(),
    )
}

fn node_to_json(batch: &DocumentBatch, index: usize) -> Value {
    let Some(doc) = batch.nodes.get(index) else {
        return Value::Null;
    };
    let children = |indices: &[u32]| -> Value {
        Value::Array(
            indices
                .iter()
                .map(|&i| node_to_json(batch, i as usize))
                .collect(),
        )
    };
    let mut value = json!({
        "id": doc.id,
        "parent_id": doc.parent_id,
        "granularity": doc.granularity,
        "adjacency": doc.adjacency,
        "blob": doc.blob.as_ref().map(|b| base64_encode(b)),
        "mime_type": doc.mime_type,
        "text": doc.text,
        "weight": doc.weight,
        "uri": doc.uri,
        "offset": doc.offset,
        "location": if doc.location.is_empty() { Value::Null } else { json!(doc.location) },
        "modality": doc.modality,
        "evaluations": scores_to_json(&doc.evaluations),
        "scores": scores_to_json(&doc.scores),
    });
    // Values already built are moved in: `json!` would copy them (deeply), which made
    // rendering a tree cost its size times its depth.
    if let Value::Object(map) = &mut value {
        let optional = |v: Option<Value>| v.unwrap_or(Value::Null);
        map.insert(
            "tensor".into(),
            optional(doc.tensor.as_ref().map(tensor_to_json)),
        );
        map.insert(
            "embedding".into(),
            optional(doc.embedding.as_ref().map(tensor_to_json)),
        );
        map.insert(
            "tags".into(),
            optional(
                doc.tags
                    .as_deref()
                    .and_then(|t| serde_json::from_str::<Value>(t).ok()),
            ),
        );
        map.insert("chunks".into(), children(&doc.chunks));
        map.insert("matches".into(), children(&doc.matches));
    }
    value
}

fn scores_to_json(scores: &[NamedScore]) -> Value {
    if scores.is_empty() {
        return Value::Null;
    }
    let map: Map<String, Value> = scores
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                json!({
                    "value": s.value,
                    "op_name": s.op_name,
                    "description": s.description,
                    "ref_id": s.ref_id,
                }),
            )
        })
        .collect();
    Value::Object(map)
}

fn tensor_to_json(tensor: &Tensor) -> Value {
    let values = tensor_values(tensor);
    let number = |v: f64| match tensor.dtype {
        Dtype::Float16 | Dtype::Float32 | Dtype::Float64 => json!(v),
        Dtype::Boolean => json!(v != 0.0),
        _ => json!(v as i64),
    };
    fn nest(values: &[f64], shape: &[u32], number: &dyn Fn(f64) -> Value) -> Value {
        match shape {
            [] | [_] => Value::Array(values.iter().map(|&v| number(v)).collect()),
            [outer, inner @ ..] => {
                let step = values.len() / (*outer).max(1) as usize;
                Value::Array(
                    values
                        .chunks(step.max(1))
                        .map(|part| nest(part, inner, number))
                        .collect(),
                )
            }
        }
    }
    if tensor.shape.is_empty() {
        return values.first().map(|&v| number(v)).unwrap_or(Value::Null);
    }
    nest(&values, &tensor.shape, &number)
}

/// Reads Jina-shaped JSON documents (a list, as in `{"data": [...]}`) into a
/// batch. Missing ids get fresh random ones, as docarray does; fields docarray does not
/// know are ignored, as its model does, and numbers given for ids are taken as their text.
pub fn batch_from_json(docs: &[Value]) -> Result<DocumentBatch, JsonError> {
    let mut batch = flowhost_docs::empty_batch();
    for (position, value) in docs.iter().enumerate() {
        let root = push_json(&mut batch, value, &position.to_string())?;
        batch.roots.push(root);
    }
    Ok(batch)
}

fn push_json(batch: &mut DocumentBatch, value: &Value, position: &str) -> Result<u32, JsonError> {
    let fail = |field: &str, problem: &str| JsonError {
        position: position.to_owned(),
        field: field.to_owned(),
        problem: problem.to_owned(),
    };
    let object = value
        .as_object()
        .ok_or_else(|| fail("", "must be an object"))?;
    let text = |field: &str| -> Result<Option<String>, JsonError> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(fail(field, "must be a string")),
        }
    };
    let number = |field: &str| -> Result<Option<f64>, JsonError> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| fail(field, "must be a number")),
        }
    };
    let integer = |field: &str| -> Result<Option<i32>, JsonError> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .map(Some)
                .ok_or_else(|| fail(field, "must be a 32-bit integer")),
        }
    };
    let tensor = |field: &str| -> Result<Option<Tensor>, JsonError> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => tensor_from_json(v)
                .map(Some)
                .map_err(|problem| fail(field, &problem)),
        }
    };
    // docarray's Document model (and so Jina's gateway) ignores fields it does not know.
    for key in object.keys() {
        if !KNOWN_FIELDS.contains(&key.as_str()) {
            tracing::debug!(document = %position, field = %key, "document field ignored");
        }
    }
    // pydantic takes a number for an id as its text (`5` is the id "5").
    let identifier = |field: &str| -> Result<Option<String>, JsonError> {
        match object.get(field) {
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            _ => text(field),
        }
    };
    let mut doc = document(identifier("id")?.unwrap_or_else(flowhost_docs::new_id));
    doc.parent_id = identifier("parent_id")?;
    doc.granularity = integer("granularity")?;
    doc.adjacency = integer("adjacency")?;
    doc.text = text("text")?;
    doc.blob = text("blob")?
        .map(|b| base64_decode(&b).ok_or_else(|| fail("blob", "must be base64")))
        .transpose()?;
    doc.tensor = tensor("tensor")?;
    doc.embedding = tensor("embedding")?;
    doc.uri = text("uri")?;
    doc.mime_type = text("mime_type")?;
    doc.modality = text("modality")?;
    doc.weight = number("weight")?;
    doc.offset = number("offset")?;
    doc.tags = match object.get("tags") {
        None | Some(Value::Null) => None,
        Some(tags @ Value::Object(_)) => Some(tags.to_string()),
        Some(_) => return Err(fail("tags", "must be an object")),
    };
    doc.location = match object.get("location") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_f64()
                    .ok_or_else(|| fail("location", "must be a list of numbers"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(fail("location", "must be a list of numbers")),
    };
    doc.scores = scores_from_json(object.get("scores")).map_err(|p| fail("scores", &p))?;
    doc.evaluations =
        scores_from_json(object.get("evaluations")).map_err(|p| fail("evaluations", &p))?;

    let index = batch.nodes.len() as u32;
    batch.nodes.push(doc);
    for kind in ["chunks", "matches"] {
        let children = match object.get(kind) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(children)) => children,
            Some(_) => return Err(fail(kind, "must be a list of documents")),
        };
        let mut indices = Vec::with_capacity(children.len());
        for (i, child) in children.iter().enumerate() {
            indices.push(push_json(batch, child, &format!("{position}.{kind}.{i}"))?);
        }
        let node = &mut batch.nodes[index as usize];
        if kind == "chunks" {
            node.chunks = indices;
        } else {
            node.matches = indices;
        }
    }
    Ok(index)
}

const KNOWN_FIELDS: &[&str] = &[
    "id",
    "parent_id",
    "granularity",
    "adjacency",
    "blob",
    "tensor",
    "mime_type",
    "text",
    "weight",
    "uri",
    "tags",
    "offset",
    "location",
    "embedding",
    "modality",
    "evaluations",
    "scores",
    "chunks",
    "matches",
];

fn scores_from_json(value: Option<&Value>) -> Result<Vec<NamedScore>, String> {
    let map = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err("must be an object of named scores".into()),
    };
    map.iter()
        .map(|(name, score)| {
            // A number stands for its text, as docarray's model reads it; anything else that
            // is not text is refused rather than dropped.
            let field = |key: &str| -> Result<Option<String>, String> {
                match score.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(Value::Number(n)) => Ok(Some(n.to_string())),
                    Some(_) => Err(format!("`{name}` `{key}` must be a string")),
                }
            };
            Ok(NamedScore {
                name: name.clone(),
                value: score
                    .get("value")
                    .and_then(Value::as_f64)
                    .ok_or_else(|| format!("`{name}` needs a numeric `value`"))?,
                op_name: field("op_name")?,
                description: field("description")?,
                ref_id: field("ref_id")?,
            })
        })
        .collect()
}

/// A nested list of numbers becomes a float64 tensor of the list's shape.
fn tensor_from_json(value: &Value) -> Result<Tensor, String> {
    let mut shape = Vec::new();
    let mut probe = value;
    while let Value::Array(items) = probe {
        shape.push(u32::try_from(items.len()).map_err(|_| "is too large".to_string())?);
        match items.first() {
            Some(first) => probe = first,
            None => break,
        }
    }
    let mut data = Vec::new();
    fn flatten(
        value: &Value,
        depth: usize,
        shape: &[u32],
        data: &mut Vec<u8>,
    ) -> Result<(), String> {
        match (value, shape.get(depth)) {
            (Value::Array(items), Some(&len)) if items.len() == len as usize => items
                .iter()
                .try_for_each(|item| flatten(item, depth + 1, shape, data)),
            (Value::Number(n), None) => {
                let v = n.as_f64().ok_or("holds a number that is not finite")?;
                data.extend_from_slice(&v.to_le_bytes());
                Ok(())
            }
            (Value::Bool(b), None) => {
                data.extend_from_slice(&f64::from(u8::from(*b)).to_le_bytes());
                Ok(())
            }
            _ => Err("must be a number or a rectangular nested list of numbers".into()),
        }
    }
    flatten(value, 0, &shape, &mut data)?;
    Ok(Tensor {
        dtype: Dtype::Float64,
        shape,
        data,
    })
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrips_a_nested_document_with_tensors_tags_and_scores() {
        let input = json!([{
            "id": "root",
            "text": "hello",
            "tags": {"lang": "en", "n": 3},
            "embedding": [[1.0, 2.5], [3.0, 4.0]],
            "blob": "aGVsbG8=",
            "scores": {"cosine": {"value": 0.5, "op_name": "cosine"}},
            "chunks": [{"id": "c1", "chunks": [{"id": "c1.1", "text": "deep"}]}],
            "matches": [{"id": "m1"}],
        }]);
        let batch = batch_from_json(input.as_array().unwrap()).unwrap();
        assert_eq!(flowhost_docs::validate(&batch), Ok(()));
        assert_eq!(batch.nodes.len(), 4);
        let out = batch_to_json(&batch);
        let doc = &out[0];
        assert_eq!(doc["embedding"], json!([[1.0, 2.5], [3.0, 4.0]]));
        assert_eq!(doc["blob"], json!("aGVsbG8="));
        assert_eq!(doc["tags"], json!({"lang": "en", "n": 3}));
        assert_eq!(doc["chunks"][0]["chunks"][0]["text"], json!("deep"));
        assert_eq!(doc["matches"][0]["id"], json!("m1"));
        assert_eq!(doc["scores"]["cosine"]["value"], json!(0.5));
        assert_eq!(doc["uri"], Value::Null, "unset fields are present and null");
    }

    #[test]
    fn errors_name_the_document_and_field() {
        let bad = [json!({"text": 5})];
        let error = batch_from_json(&bad).unwrap_err().to_string();
        assert_eq!(error, "document 0: `text` must be a string");
        let bad = [json!({"chunks": [{"embedding": [[1], [2, 3]]}]})];
        let error = batch_from_json(&bad).unwrap_err().to_string();
        assert!(
            error.starts_with("document 0.chunks.0: `embedding`"),
            "{error}"
        );
    }

    #[test]
    fn unknown_fields_are_ignored_and_numeric_ids_become_text_as_in_docarray() {
        let batch = batch_from_json(&[json!({"id": 5, "parent_id": 4, "colour": "red"})]).unwrap();
        assert_eq!(batch.nodes[0].id, "5");
        assert_eq!(batch.nodes[0].parent_id.as_deref(), Some("4"));
    }

    #[test]
    fn score_texts_keep_numbers_and_refuse_other_values() {
        let batch =
            batch_from_json(&[json!({"scores": {"s": {"value": 1, "op_name": 0, "ref_id": "r"}}})])
                .unwrap();
        let score = &batch.nodes[0].scores[0];
        assert_eq!(score.op_name.as_deref(), Some("0"));
        assert_eq!(score.ref_id.as_deref(), Some("r"));
        let error = batch_from_json(&[json!({"scores": {"s": {"value": 1, "description": [1]}}})])
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`s` `description` must be a string"),
            "{error}"
        );
    }
}
