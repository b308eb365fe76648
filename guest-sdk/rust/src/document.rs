//! [`Document`]: one docarray v1 document as a tree, with typed tags and scores.
//!
//! Tags arrive as JSON text. They are parsed only when a method first looks at
//! them, and handed back verbatim when the method never changed them, so
//! executors that ignore tags pay nothing for them.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A named score or evaluation (docarray's `NamedScore`); the name is the key
/// it is stored under in [`Document::scores`] or [`Document::evaluations`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NamedScore {
    /// The score itself.
    pub value: f64,
    /// The operation that produced it, e.g. `cosine`.
    pub op_name: Option<String>,
    /// Free-form description.
    pub description: Option<String>,
    /// The id of the document this score refers to.
    pub ref_id: Option<String>,
}

impl NamedScore {
    /// A score with just a value.
    pub fn new(value: f64) -> Self {
        Self {
            value,
            ..Self::default()
        }
    }

    /// Sets `op_name`.
    #[must_use]
    pub fn with_op_name(mut self, op_name: impl Into<String>) -> Self {
        self.op_name = Some(op_name.into());
        self
    }

    /// Sets `description`.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets `ref_id`.
    #[must_use]
    pub fn with_ref_id(mut self, ref_id: impl Into<String>) -> Self {
        self.ref_id = Some(ref_id.into());
        self
    }
}

/// Lazily parsed tags. `raw` is the JSON text as received and stays the source of
/// truth until a method asks for mutable access.
#[derive(Clone, Default)]
pub(crate) struct Tags {
    raw: Option<String>,
    parsed: OnceCell<std::result::Result<Map<String, Value>, String>>,
}

impl Tags {
    pub(crate) fn from_raw(raw: Option<String>) -> Self {
        Self {
            raw,
            parsed: OnceCell::new(),
        }
    }

    fn parse(raw: Option<&str>) -> std::result::Result<Map<String, Value>, String> {
        match raw {
            None => Ok(Map::new()),
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(other) => Err(format!("tags must be a JSON object, got {other}")),
                Err(err) => Err(format!("tags are not valid JSON: {err}")),
            },
        }
    }

    fn get(&self) -> &std::result::Result<Map<String, Value>, String> {
        self.parsed.get_or_init(|| Self::parse(self.raw.as_deref()))
    }

    fn get_mut(&mut self) -> &mut Map<String, Value> {
        self.get();
        // From now on the map is the source of truth.
        self.raw = None;
        let parsed = self.parsed.get_mut().expect("initialised just above");
        if parsed.is_err() {
            *parsed = Ok(Map::new());
        }
        match parsed {
            Ok(map) => map,
            Err(_) => unreachable!("replaced by an empty map just above"),
        }
    }

    /// The JSON text to send back: the received text if untouched, else the map
    /// serialised (`None` when empty).
    pub(crate) fn into_raw(self) -> Option<String> {
        if self.raw.is_some() {
            return self.raw;
        }
        match self.parsed.into_inner() {
            Some(Ok(map)) if !map.is_empty() => Some(Value::Object(map).to_string()),
            _ => None,
        }
    }
}

fn empty_map() -> &'static Map<String, Value> {
    static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

/// A random 32-hex-digit id, like docarray's default ids.
///
/// std's `RandomState` is seeded from the platform's random source (WASI
/// `random` inside a component), so no extra dependency is needed.
fn random_id() -> String {
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let hi = std::collections::hash_map::RandomState::new().hash_one(n);
    let lo = std::collections::hash_map::RandomState::new().hash_one(!n);
    format!("{hi:016x}{lo:016x}")
}

/// One document, shaped like docarray v1's `Document`, with its `chunks` and
/// `matches` as nested documents (any depth).
///
/// All fields are public except the tags, which go through typed accessors.
///
/// ```
/// use flowhost_guest::{Document, NamedScore, Tensor};
///
/// let mut doc = Document::from_text("hello")
///     .with_tag("lang", "en")
///     .with_embedding(Tensor::vector(&[0.1f32, 0.2, 0.3]));
/// doc.set_tag("views", 3);
/// assert_eq!(doc.tag::<String>("lang")?, Some("en".to_owned()));
/// assert_eq!(doc.tag::<u32>("views")?, Some(3));
/// doc.scores.insert("cosine".into(), NamedScore::new(0.9).with_op_name("cosine"));
///
/// let mut parent = Document::new();
/// parent.add_chunk(doc);
/// assert_eq!(parent.chunks[0].parent_id.as_deref(), Some(parent.id.as_str()));
/// # Ok::<(), flowhost_guest::Error>(())
/// ```
#[derive(Clone)]
pub struct Document {
    /// The document's id (a random hex string for [`Document::new`]).
    pub id: String,
    /// The id of the document this one is a chunk of.
    pub parent_id: Option<String>,
    /// Depth in the chunk tree (0 at the top).
    pub granularity: Option<i32>,
    /// Depth in the match tree (0 at the top).
    pub adjacency: Option<i32>,
    /// Text content.
    pub text: Option<String>,
    /// Binary content.
    pub blob: Option<Vec<u8>>,
    /// Tensor content.
    pub tensor: Option<Tensor>,
    /// The embedding.
    pub embedding: Option<Tensor>,
    /// A URI of the content.
    pub uri: Option<String>,
    /// The content's MIME type.
    pub mime_type: Option<String>,
    tags: Tags,
    /// The document's weight.
    pub weight: Option<f64>,
    /// The modality, e.g. `text` or `image`.
    pub modality: Option<String>,
    /// Offset within the parent.
    pub offset: Option<f64>,
    /// Location within the parent.
    pub location: Vec<f64>,
    /// Scores by name, e.g. `cosine`.
    pub scores: BTreeMap<String, NamedScore>,
    /// Evaluations by name.
    pub evaluations: BTreeMap<String, NamedScore>,
    /// Sub-documents (segments of this one).
    pub chunks: Vec<Document>,
    /// Results of a search with this document as the query.
    pub matches: Vec<Document>,
}

impl Default for Document {
    fn default() -> Self {
        Self::new()
    }
}

impl Document {
    /// An empty document with a fresh random id.
    pub fn new() -> Self {
        Self::with_id(random_id())
    }

    /// An empty document with the given id.
    pub fn with_id(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            parent_id: None,
            granularity: None,
            adjacency: None,
            text: None,
            blob: None,
            tensor: None,
            embedding: None,
            uri: None,
            mime_type: None,
            tags: Tags::default(),
            weight: None,
            modality: None,
            offset: None,
            location: Vec::new(),
            scores: BTreeMap::new(),
            evaluations: BTreeMap::new(),
            chunks: Vec::new(),
            matches: Vec::new(),
        }
    }

    /// A document with a fresh id holding `text`.
    pub fn from_text(text: impl Into<String>) -> Self {
        Self::new().with_text(text)
    }

    /// Sets `text`.
    #[must_use]
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Sets `blob`.
    #[must_use]
    pub fn with_blob(mut self, blob: Vec<u8>) -> Self {
        self.blob = Some(blob);
        self
    }

    /// Sets `tensor`.
    #[must_use]
    pub fn with_tensor(mut self, tensor: Tensor) -> Self {
        self.tensor = Some(tensor);
        self
    }

    /// Sets `embedding`.
    #[must_use]
    pub fn with_embedding(mut self, embedding: Tensor) -> Self {
        self.embedding = Some(embedding);
        self
    }

    /// Sets `uri`.
    #[must_use]
    pub fn with_uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = Some(uri.into());
        self
    }

    /// Sets `mime_type`.
    #[must_use]
    pub fn with_mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// Sets one tag.
    #[must_use]
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set_tag(key, value);
        self
    }

    /// Appends a chunk (see [`Document::add_chunk`]).
    #[must_use]
    pub fn with_chunk(mut self, chunk: Document) -> Self {
        self.add_chunk(chunk);
        self
    }

    /// Appends a match (see [`Document::add_match`]).
    #[must_use]
    pub fn with_match(mut self, m: Document) -> Self {
        self.add_match(m);
        self
    }

    /// Appends a chunk, setting its `parent_id` to this document's id and its
    /// `granularity` one deeper, as docarray does. (Pushing onto `chunks`
    /// directly leaves them as they are.)
    pub fn add_chunk(&mut self, mut chunk: Document) {
        chunk.parent_id = Some(self.id.clone());
        chunk.granularity = Some(self.granularity.unwrap_or(0) + 1);
        self.chunks.push(chunk);
    }

    /// Appends a match, setting its `adjacency` one deeper, as docarray does.
    pub fn add_match(&mut self, mut m: Document) {
        m.adjacency = Some(self.adjacency.unwrap_or(0) + 1);
        self.matches.push(m);
    }

    /// The tags as a JSON object; empty if there are none or if the host sent
    /// something that is not a JSON object (use [`Document::try_tags`] to see that).
    pub fn tags(&self) -> &Map<String, Value> {
        self.tags.get().as_ref().unwrap_or_else(|_| empty_map())
    }

    /// The tags as a JSON object, or a `ValueError` if they did not parse.
    pub fn try_tags(&self) -> Result<&Map<String, Value>> {
        self.tags
            .get()
            .as_ref()
            .map_err(|msg| Error::value_error(format!("document {}: {msg}", self.id)))
    }

    /// Mutable tags. Tags that did not parse as a JSON object are replaced by an
    /// empty object.
    pub fn tags_mut(&mut self) -> &mut Map<String, Value> {
        self.tags.get_mut()
    }

    /// One tag deserialised as `T`: `Ok(None)` if absent, a `ValueError` if it
    /// has the wrong type or the tags did not parse.
    pub fn tag<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.try_tags()?.get(key) {
            None => Ok(None),
            Some(value) => T::deserialize(value).map(Some).map_err(|err| {
                Error::value_error(format!("document {}: tag {key:?}: {err}", self.id))
            }),
        }
    }

    /// Sets one tag.
    pub fn set_tag(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.tags_mut().insert(key.into(), value.into());
    }

    /// Removes one tag, returning its value.
    pub fn remove_tag(&mut self, key: &str) -> Option<Value> {
        self.tags_mut().remove(key)
    }

    /// Replaces all tags.
    pub fn set_tags(&mut self, tags: Map<String, Value>) {
        *self.tags_mut() = tags;
    }

    /// Moves the tags out as JSON text (for the WIT conversion).
    pub(crate) fn take_raw_tags(&mut self) -> Option<String> {
        std::mem::take(&mut self.tags).into_raw()
    }

    pub(crate) fn set_raw_tags(&mut self, raw: Option<String>) {
        self.tags = Tags::from_raw(raw);
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Document");
        s.field("id", &self.id);
        macro_rules! opt {
            ($($field:ident),*) => {$(
                if let Some(v) = &self.$field {
                    s.field(stringify!($field), v);
                }
            )*};
        }
        opt!(
            parent_id,
            granularity,
            adjacency,
            text,
            blob,
            tensor,
            embedding,
            uri,
            mime_type
        );
        match self.tags.get() {
            Ok(map) if map.is_empty() => {}
            Ok(map) => {
                s.field("tags", map);
            }
            Err(msg) => {
                s.field("tags", msg);
            }
        }
        opt!(weight, modality, offset);
        if !self.location.is_empty() {
            s.field("location", &self.location);
        }
        if !self.scores.is_empty() {
            s.field("scores", &self.scores);
        }
        if !self.evaluations.is_empty() {
            s.field("evaluations", &self.evaluations);
        }
        if !self.chunks.is_empty() {
            s.field("chunks", &self.chunks);
        }
        if !self.matches.is_empty() {
            s.field("matches", &self.matches);
        }
        s.finish()
    }
}

/// Equal when every field is; tags compare as parsed JSON, not as text.
impl PartialEq for Document {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.parent_id == other.parent_id
            && self.granularity == other.granularity
            && self.adjacency == other.adjacency
            && self.text == other.text
            && self.blob == other.blob
            && self.tensor == other.tensor
            && self.embedding == other.embedding
            && self.uri == other.uri
            && self.mime_type == other.mime_type
            && self.tags.get() == other.tags.get()
            && self.weight == other.weight
            && self.modality == other.modality
            && self.offset == other.offset
            && self.location == other.location
            && self.scores == other.scores
            && self.evaluations == other.evaluations
            && self.chunks == other.chunks
            && self.matches == other.matches
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_random_hex() {
        let a = Document::new();
        let b = Document::new();
        assert_eq!(a.id.len(), 32);
        assert!(a.id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn typed_tags() {
        let mut doc = Document::new().with_tag("n", 3).with_tag("name", "x");
        assert_eq!(doc.tag::<i64>("n").unwrap(), Some(3));
        assert_eq!(doc.tag::<String>("name").unwrap(), Some("x".into()));
        assert_eq!(doc.tag::<String>("missing").unwrap(), None);
        let err = doc.tag::<String>("n").unwrap_err();
        assert_eq!(err.name(), "ValueError");
        assert!(err.message().contains("\"n\""), "{err}");
        doc.set_tag("list", json!([1, 2]));
        assert_eq!(doc.tag::<Vec<u8>>("list").unwrap(), Some(vec![1, 2]));
        assert_eq!(doc.remove_tag("n"), Some(json!(3)));
        assert_eq!(doc.tags().len(), 2);
    }

    #[test]
    fn raw_tags_pass_through_untouched() {
        let mut doc = Document::new();
        // Key order and formatting survive when a method only reads.
        doc.set_raw_tags(Some(r#"{"z": 1, "a": 2.50}"#.into()));
        assert_eq!(doc.tag::<f64>("a").unwrap(), Some(2.5));
        assert_eq!(
            doc.take_raw_tags().as_deref(),
            Some(r#"{"z": 1, "a": 2.50}"#)
        );
        // Once mutated, the map is serialised.
        doc.set_raw_tags(Some(r#"{"z": 1}"#.into()));
        doc.set_tag("a", 2);
        let raw = doc.take_raw_tags().unwrap();
        let back: Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(back, json!({"z": 1, "a": 2}));
        // No tags stay none.
        assert_eq!(Document::new().take_raw_tags(), None);
    }

    #[test]
    fn invalid_tags_are_reported() {
        let mut doc = Document::with_id("d1");
        doc.set_raw_tags(Some("[1, 2]".into()));
        assert!(doc.tags().is_empty());
        let err = doc.try_tags().unwrap_err();
        assert!(err.message().contains("document d1"), "{err}");
        assert!(doc.tag::<i32>("x").is_err());
        doc.set_raw_tags(Some("{not json".into()));
        assert!(doc.try_tags().is_err());
        doc.set_tag("ok", true);
        assert_eq!(doc.tags().len(), 1);
    }

    #[test]
    fn chunks_and_matches_get_docarray_bookkeeping() {
        let doc = Document::with_id("p")
            .with_chunk(Document::with_id("c").with_chunk(Document::with_id("cc")))
            .with_match(Document::with_id("m"));
        assert_eq!(doc.chunks[0].parent_id.as_deref(), Some("p"));
        assert_eq!(doc.chunks[0].granularity, Some(1));
        assert_eq!(doc.chunks[0].chunks[0].granularity, Some(1));
        assert_eq!(doc.matches[0].adjacency, Some(1));
        assert!(format!("{doc:?}").contains("\"cc\""));
    }
}
