//! Documents as Jina's JSON: what `POST /post` takes and answers, and what
//! the CLI prints.
//!
//! The shape is docarray v1's `Document.to_dict()`: every field present, `null`
//! when unset, chunks and matches nested, tensors as nested lists of numbers.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lenient::{self, Object, text_or_number};
use flowhost_docs::{Document, DocumentBatch, Dtype, NamedScore, Tensor, document, tensor_values};

pub use super::lenient::JsonError;

/// The top-level documents of `batch` as a JSON array, in docarray's `to_dict()` shape.
pub fn batch_to_json(batch: &DocumentBatch) -> Value {
    serde_json::to_value(JsonBatch::new(batch)).unwrap_or(Value::Null)
}

/// The top-level documents of a batch, written as JSON straight from the batch: no
/// `serde_json::Value` tree in between, which cost a map and its inserts per document.
///
/// Every object's keys are written in sorted order, the order a `Value` tree (a `BTreeMap`)
/// writes them in, so the bytes are the same whichever way a document goes out.
#[derive(Debug, Clone, Copy)]
pub struct JsonBatch<'a> {
    batch: &'a DocumentBatch,
    as_answered: bool,
}

impl<'a> JsonBatch<'a> {
    /// docarray's `to_dict()`: tags as they are, empty chunk and match lists as `[]`.
    pub fn new(batch: &'a DocumentBatch) -> Self {
        JsonBatch {
            batch,
            as_answered: false,
        }
    }

    /// What Jina's gateway answers: tags have been through a protobuf `Struct`, so their
    /// integers are floats; empty chunk and match lists are `null`.
    pub fn as_answered(batch: &'a DocumentBatch) -> Self {
        JsonBatch {
            batch,
            as_answered: true,
        }
    }

    fn nodes(self, indices: &'a [u32]) -> Nodes<'a> {
        Nodes {
            shape: self,
            indices,
        }
    }
}

impl Serialize for JsonBatch<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.nodes(&self.batch.roots).serialize(serializer)
    }
}

/// A list of documents of the batch, by index.
struct Nodes<'a> {
    shape: JsonBatch<'a>,
    indices: &'a [u32],
}

impl Serialize for Nodes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut list = serializer.serialize_seq(Some(self.indices.len()))?;
        for &index in self.indices {
            match self.shape.batch.nodes.get(index as usize) {
                Some(doc) => list.serialize_element(&Node {
                    shape: self.shape,
                    doc,
                })?,
                None => list.serialize_element(&())?,
            }
        }
        list.end()
    }
}

/// One document, with its chunks and matches nested.
struct Node<'a> {
    shape: JsonBatch<'a>,
    doc: &'a Document,
}

impl<'a> Serialize for Node<'a> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Node { shape, doc } = self;
        let children = |indices: &'a [u32]| {
            (!(shape.as_answered && indices.is_empty())).then(|| shape.nodes(indices))
        };
        let tags = (doc.tags.as_deref()).and_then(|t| serde_json::from_str::<Value>(t).ok());
        let mut map = serializer.serialize_map(Some(19))?;
        map.serialize_entry("adjacency", &doc.adjacency)?;
        map.serialize_entry("blob", &doc.blob.as_deref().map(Base64))?;
        map.serialize_entry("chunks", &children(&doc.chunks))?;
        map.serialize_entry("embedding", &doc.embedding.as_ref().map(JsonTensorOut))?;
        map.serialize_entry("evaluations", &Scores(&doc.evaluations))?;
        map.serialize_entry("granularity", &doc.granularity)?;
        map.serialize_entry("id", &doc.id)?;
        map.serialize_entry(
            "location",
            &(!doc.location.is_empty()).then_some(&doc.location),
        )?;
        map.serialize_entry("matches", &children(&doc.matches))?;
        map.serialize_entry("mime_type", &doc.mime_type)?;
        map.serialize_entry("modality", &doc.modality)?;
        map.serialize_entry("offset", &doc.offset)?;
        map.serialize_entry("parent_id", &doc.parent_id)?;
        map.serialize_entry("scores", &Scores(&doc.scores))?;
        match &tags {
            Some(tags) if shape.as_answered => {
                map.serialize_entry("tags", &super::StructNumbers(tags))?;
            }
            tags => map.serialize_entry("tags", tags)?,
        }
        map.serialize_entry("tensor", &doc.tensor.as_ref().map(JsonTensorOut))?;
        map.serialize_entry("text", &doc.text)?;
        map.serialize_entry("uri", &doc.uri)?;
        map.serialize_entry("weight", &doc.weight)?;
        map.end()
    }
}

/// Bytes as base64 text, written without an intermediate string.
struct Base64<'a>(&'a [u8]);

impl Serialize for Base64<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use base64::display::Base64Display;
        use base64::engine::general_purpose::STANDARD;
        serializer.collect_str(&Base64Display::new(self.0, &STANDARD))
    }
}

/// Named scores as an object keyed by name (sorted; a repeated name keeps its last score),
/// `null` when there are none.
struct Scores<'a>(&'a [NamedScore]);

impl Serialize for Scores<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return serializer.serialize_unit();
        }
        // Collected as a map, so a later score replaces an earlier one of the same name.
        let by_name: BTreeMap<&str, &NamedScore> = self
            .0
            .iter()
            .map(|score| (score.name.as_str(), score))
            .collect();
        serializer.collect_map(
            by_name
                .into_iter()
                .map(|(name, score)| (name, Score(score))),
        )
    }
}

struct Score<'a>(&'a NamedScore);

impl Serialize for Score<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let score = self.0;
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("description", &score.description)?;
        map.serialize_entry("op_name", &score.op_name)?;
        map.serialize_entry("ref_id", &score.ref_id)?;
        map.serialize_entry("value", &score.value)?;
        map.end()
    }
}

/// A tensor as nested lists of numbers of its shape (a scalar for shape `[]`): floats stay
/// floats, booleans are `true`/`false`, integers are integers.
struct JsonTensorOut<'a>(&'a Tensor);

impl Serialize for JsonTensorOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let tensor = self.0;
        let values = tensor_values(tensor);
        if tensor.shape.is_empty() {
            return match values.first() {
                Some(&value) => Element(tensor.dtype, value).serialize(serializer),
                None => serializer.serialize_unit(),
            };
        }
        Nest {
            dtype: tensor.dtype,
            values: &values,
            shape: &tensor.shape,
        }
        .serialize(serializer)
    }
}

/// One level of a tensor's nesting: `values` split evenly over the first of `shape`.
struct Nest<'a> {
    dtype: Dtype,
    values: &'a [f64],
    shape: &'a [u32],
}

impl Serialize for Nest<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.shape {
            [] | [_] => serializer.collect_seq(self.values.iter().map(|&v| Element(self.dtype, v))),
            [outer, inner @ ..] => {
                let step = (self.values.len() / (*outer).max(1) as usize).max(1);
                serializer.collect_seq(self.values.chunks(step).map(|part| Nest {
                    dtype: self.dtype,
                    values: part,
                    shape: inner,
                }))
            }
        }
    }
}

struct Element(Dtype, f64);

impl Serialize for Element {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Dtype::Float16 | Dtype::Float32 | Dtype::Float64 => serializer.serialize_f64(self.1),
            Dtype::Boolean => serializer.serialize_bool(self.1 != 0.0),
            _ => serializer.serialize_i64(self.1 as i64),
        }
    }
}

/// A list of Jina JSON documents read into a batch: what `data` holds in a request or a reply.
///
/// docarray's lenient shape is taken as docarray takes it: a document may be a string (its
/// text); `{"docs": [...]}` stands for the list; `null` is no documents; ids given as numbers
/// are their text; `parentId`/`mimeType` are the snake_case fields; missing ids get fresh
/// random ones; fields docarray does not know are ignored, as its model ignores them. The
/// documents are read straight from the JSON text, never through a `serde_json::Value` tree.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonDocuments(pub DocumentBatch);

impl Default for JsonDocuments {
    fn default() -> Self {
        JsonDocuments(flowhost_docs::empty_batch())
    }
}

/// Reads a JSON list of documents (or `{"docs": [...]}`) into a batch.
pub fn batch_from_slice(json: &[u8]) -> Result<DocumentBatch, JsonError> {
    lenient::from_slice::<JsonDocuments>(json).map(|documents| documents.0)
}

/// Reads one JSON document object and adds it to `batch` as a top-level document (a line of a
/// JSON-lines file).
pub fn push_document_from_slice(batch: &mut DocumentBatch, json: &[u8]) -> Result<(), JsonError> {
    let Object(document) = lenient::from_slice::<Object<JsonDocument>>(json)?;
    let root = document.push_into(batch);
    batch.roots.push(root);
    Ok(())
}

impl<'de> Deserialize<'de> for JsonDocuments {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DocumentsVisitor)
    }
}

struct DocumentsVisitor;

impl<'de> Visitor<'de> for DocumentsVisitor {
    type Value = JsonDocuments;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of documents")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonDocuments::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
        let mut batch = flowhost_docs::empty_batch();
        while let Some(Item(document)) = items.next_element::<Item>()? {
            let root = document.push_into(&mut batch);
            batch.roots.push(root);
        }
        Ok(JsonDocuments(batch))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut documents = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "docs" {
                documents = Some(map.next_value_seed(ListOnly)?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        documents
            .ok_or_else(|| de::Error::custom("must be a list of documents, or {\"docs\": [...]}"))
    }
}

/// `{"docs": ...}` holds a list, not another `{"docs": ...}`.
struct ListOnly;

impl<'de> DeserializeSeed<'de> for ListOnly {
    type Value = JsonDocuments;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(DocumentsVisitor)
    }
}

/// A top-level document: an object, or a string taken as its text.
struct Item(JsonDocument);

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a document (an object, or a string taken as its text)")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        self.visit_string(text.to_owned())
    }
    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Item(JsonDocument {
            text: Some(text),
            ..JsonDocument::default()
        }))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        JsonDocument::deserialize(MapAccessDeserializer::new(map)).map(Item)
    }
}

/// One document as docarray v1's model reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JsonDocument {
    #[serde(deserialize_with = "text_or_number")]
    id: Option<String>,
    #[serde(alias = "parentId", deserialize_with = "text_or_number")]
    parent_id: Option<String>,
    granularity: Option<i32>,
    adjacency: Option<i32>,
    #[serde(deserialize_with = "base64_blob")]
    blob: Option<Vec<u8>>,
    tensor: Option<JsonTensor>,
    #[serde(alias = "mimeType")]
    mime_type: Option<String>,
    text: Option<String>,
    weight: Option<f64>,
    uri: Option<String>,
    #[serde(deserialize_with = "tags_text")]
    tags: Option<String>,
    offset: Option<f64>,
    location: Option<Vec<f64>>,
    embedding: Option<JsonTensor>,
    modality: Option<String>,
    evaluations: Option<JsonScores>,
    scores: Option<JsonScores>,
    chunks: Option<Vec<Object<JsonDocument>>>,
    matches: Option<Vec<Object<JsonDocument>>>,
}

impl JsonDocument {
    /// Moves the document and its chunks and matches into `batch` (parents before their
    /// children, as a valid batch orders them) and returns its index.
    fn push_into(self, batch: &mut DocumentBatch) -> u32 {
        let index = batch.nodes.len() as u32;
        let mut doc = document(self.id.unwrap_or_else(flowhost_docs::new_id));
        doc.parent_id = self.parent_id;
        doc.granularity = self.granularity;
        doc.adjacency = self.adjacency;
        doc.blob = self.blob;
        doc.tensor = self.tensor.map(|t| t.0);
        doc.mime_type = self.mime_type;
        doc.text = self.text;
        doc.weight = self.weight;
        doc.uri = self.uri;
        doc.tags = self.tags;
        doc.offset = self.offset;
        doc.location = self.location.unwrap_or_default();
        doc.embedding = self.embedding.map(|t| t.0);
        doc.modality = self.modality;
        doc.evaluations = self.evaluations.map(|s| s.0).unwrap_or_default();
        doc.scores = self.scores.map(|s| s.0).unwrap_or_default();
        batch.nodes.push(doc);
        let mut children = |list: Option<Vec<Object<JsonDocument>>>| -> Vec<u32> {
            (list.unwrap_or_default().into_iter())
                .map(|Object(child)| child.push_into(batch))
                .collect()
        };
        let chunks = children(self.chunks);
        let matches = children(self.matches);
        let node = &mut batch.nodes[index as usize];
        node.chunks = chunks;
        node.matches = matches;
        index
    }
}

fn base64_blob<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
    use base64::Engine as _;
    let Some(text) = Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)? else {
        return Ok(None);
    };
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map(Some)
        .map_err(|error| de::Error::custom(format_args!("must be base64 ({error})")))
}

/// Tags are kept as their JSON text (the WIT `tags` field).
fn tags_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(
        Option::<Object<Map<String, Value>>>::deserialize(deserializer)?
            .map(|Object(tags)| Value::Object(tags).to_string()),
    )
}

/// `scores` and `evaluations`: named scores, in the order given.
#[derive(Debug)]
struct JsonScores(Vec<NamedScore>);

/// One named score; `value` is required, the texts take numbers as pydantic does.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a score such as {\"value\": 0.5}")]
struct JsonScore {
    value: f64,
    #[serde(default, deserialize_with = "text_or_number")]
    op_name: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    description: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    ref_id: Option<String>,
}

impl<'de> Deserialize<'de> for JsonScores {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ScoresVisitor)
    }
}

struct ScoresVisitor;

impl<'de> Visitor<'de> for ScoresVisitor {
    type Value = JsonScores;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of named scores")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut scores = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let Object(score) = map.next_value::<Object<JsonScore>>()?;
            scores.push(NamedScore {
                name,
                value: score.value,
                op_name: score.op_name,
                description: score.description,
                ref_id: score.ref_id,
            });
        }
        Ok(JsonScores(scores))
    }
}

/// A number or a rectangular nested list of numbers (booleans count as 0 and 1): a float64
/// tensor of the list's shape, written into its bytes as it is read.
#[derive(Debug)]
struct JsonTensor(Tensor);

impl<'de> Deserialize<'de> for JsonTensor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut shape = Vec::new();
        let mut data = Vec::new();
        let mut leaf_depth = None;
        Nested {
            depth: 0,
            shape: &mut shape,
            leaf_depth: &mut leaf_depth,
            data: &mut data,
        }
        .deserialize(deserializer)?;
        Ok(JsonTensor(Tensor {
            dtype: Dtype::Float64,
            shape,
            data,
        }))
    }
}

/// One level of a nested list. The first list met at each depth fixes that dimension; every
/// later one must match it, and numbers may only sit at one depth.
struct Nested<'a> {
    depth: usize,
    shape: &'a mut Vec<u32>,
    leaf_depth: &'a mut Option<usize>,
    data: &'a mut Vec<u8>,
}

const NOT_RECTANGULAR: &str = "must be a rectangular nested list of numbers";

impl Nested<'_> {
    fn number<E: de::Error>(self, value: f64) -> Result<(), E> {
        match *self.leaf_depth {
            None if self.shape.len() > self.depth => return Err(E::custom(NOT_RECTANGULAR)),
            None => *self.leaf_depth = Some(self.depth),
            Some(depth) if depth != self.depth => return Err(E::custom(NOT_RECTANGULAR)),
            Some(_) => {}
        }
        self.data.extend_from_slice(&value.to_le_bytes());
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Nested<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Nested<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or a rectangular nested list of numbers")
    }
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<(), E> {
        self.number(value)
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        self.number(value as f64)
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        self.number(value as f64)
    }
    fn visit_bool<E: de::Error>(self, value: bool) -> Result<(), E> {
        self.number(f64::from(u8::from(value)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        if *self.leaf_depth == Some(self.depth) {
            return Err(de::Error::custom(NOT_RECTANGULAR));
        }
        let known = self.shape.get(self.depth).copied();
        if known.is_none() {
            self.shape.push(0);
        }
        let mut count: u32 = 0;
        while items
            .next_element_seed(Nested {
                depth: self.depth + 1,
                shape: &mut *self.shape,
                leaf_depth: &mut *self.leaf_depth,
                data: &mut *self.data,
            })?
            .is_some()
        {
            count = (count.checked_add(1))
                .ok_or_else(|| de::Error::custom("has more than 2^32 entries on one axis"))?;
        }
        match known {
            None => self.shape[self.depth] = count,
            Some(length) if length == count => {}
            Some(_) => return Err(de::Error::custom(NOT_RECTANGULAR)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(json: Value) -> Result<DocumentBatch, JsonError> {
        batch_from_slice(json.to_string().as_bytes())
    }

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
        let batch = read(input).unwrap();
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

    /// The writer recurses once per level of chunks: a tree as deep as a valid batch may be
    /// (and deeper, as an unvalidated protobuf request may be) writes on a small stack.
    #[test]
    fn deep_trees_write_on_a_small_stack() {
        let depth = 2 * flowhost_docs::MAX_DEPTH;
        let mut batch = flowhost_docs::batch_of((0..depth).map(|i| document(format!("d{i}"))));
        batch.roots = vec![0];
        for i in 0..depth - 1 {
            batch.nodes[i].chunks = vec![i as u32 + 1];
        }
        let written = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || {
                let text = serde_json::to_string(&JsonBatch::as_answered(&batch));
                let tree = batch_to_json(&batch);
                (text.map(|t| t.len()), tree.is_array())
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(matches!(written, (Ok(len), true) if len > depth * 100));
    }

    /// A quarter of a tokio worker's default stack. An unoptimised build needs 256–512 KiB
    /// for this test's tree.
    const STACK: usize = 512 << 10;

    #[test]
    fn errors_name_the_document_and_field() {
        let error = read(json!([{"text": 5}])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`[0].text` must be a string, got a number"
        );
        let error = read(json!([{}, {"chunks": [{"embedding": [[1], [2, 3]]}]}])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`[1].chunks[0].embedding[1]` must be a rectangular nested list of numbers"
        );
        let error = read(json!([{"chunks": [["c"]]}])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`[0].chunks[0]` must be an object, got a list"
        );
        let error = read(json!([{"blob": "%%"}])).unwrap_err();
        assert!(error.to_string().starts_with("`[0].blob` must be base64"));
        let error = read(json!([{"granularity": 5_000_000_000u64}])).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`[0].granularity` must be i32")
        );
        let error = batch_from_slice(b"[{\"text\": ").unwrap_err();
        assert!(error.syntax, "{error}");
        let error = batch_from_slice(b"[] []").unwrap_err();
        assert!(error.syntax, "{error}");
    }

    #[test]
    fn tensors_take_their_shape_from_the_nesting() {
        let batch = read(json!([
            {"tensor": 2},
            {"tensor": [[true, false, true]]},
            {"tensor": [[], []]},
        ]))
        .unwrap();
        let shapes: Vec<_> = (batch.nodes.iter())
            .map(|d| d.tensor.as_ref().unwrap().shape.clone())
            .collect();
        assert_eq!(shapes, [vec![], vec![1, 3], vec![2, 0]]);
        assert_eq!(
            tensor_values(batch.nodes[1].tensor.as_ref().unwrap()),
            [1.0, 0.0, 1.0]
        );
        for ragged in [
            json!([1, [2]]),
            json!([[1], 2]),
            json!([[], [1]]),
            json!(["a"]),
        ] {
            let error = read(json!([{"tensor": ragged}])).unwrap_err();
            assert!(error.path.starts_with("[0].tensor"), "{ragged}: {error}");
        }
    }

    #[test]
    fn takes_what_docarray_takes() {
        let batch = read(json!([
            {"id": 5, "parentId": 4, "mimeType": "text/plain", "colour": "red", "_metadata": {}},
            "plain text",
        ]))
        .unwrap();
        assert_eq!(batch.nodes[0].id, "5");
        assert_eq!(batch.nodes[0].parent_id.as_deref(), Some("4"));
        assert_eq!(batch.nodes[0].mime_type.as_deref(), Some("text/plain"));
        assert_eq!(batch.nodes[1].text.as_deref(), Some("plain text"));
        assert_ne!(batch.nodes[1].id, "", "a missing id is made");
        let docs_form = batch_from_slice(br#"{"docs": [{"id": "a"}], "other": 1}"#).unwrap();
        assert_eq!(docs_form.nodes[0].id, "a");
        assert!(batch_from_slice(b"null").unwrap().roots.is_empty());
        let error = batch_from_slice(br#"{"doc": []}"#).unwrap_err();
        assert!(error.problem.contains("{\"docs\": [...]}"), "{error}");
    }

    #[test]
    fn score_texts_keep_numbers_and_refuse_other_values() {
        let batch =
            read(json!([{"scores": {"s": {"value": 1, "op_name": 0, "ref_id": "r"}}}])).unwrap();
        let score = &batch.nodes[0].scores[0];
        assert_eq!(score.op_name.as_deref(), Some("0"));
        assert_eq!(score.ref_id.as_deref(), Some("r"));
        let error = read(json!([{"scores": {"s": {"value": 1, "description": [1]}}}])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`[0].scores.s.description` must be a string, got a list"
        );
        let error = read(json!([{"scores": {"s": {"op_name": "x"}}}])).unwrap_err();
        assert_eq!(error.to_string(), "`[0].scores.s` missing field `value`");
    }

    #[test]
    fn a_json_lines_document_is_added_as_a_root() {
        let mut batch = flowhost_docs::empty_batch();
        push_document_from_slice(&mut batch, br#"{"text": "a", "chunks": [{}]}"#).unwrap();
        push_document_from_slice(&mut batch, br#"{"text": "b"}"#).unwrap();
        assert_eq!(batch.roots, [0, 2]);
        assert!(push_document_from_slice(&mut batch, b"\"c\"").is_err());
    }
}
