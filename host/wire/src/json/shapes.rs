//! Jina's JSON envelope as serde types: written once, used to write replies (the gateway) and
//! to read them (the client), and to read requests. The documents inside (`data`) are read by
//! [`JsonDocuments`] and written by [`super::documents::JsonBatch`].
//!
//! Fields that are written are declared in sorted order: a reply is written straight to text,
//! and its keys come out in the order a `serde_json::Value` tree (a `BTreeMap`) writes them.

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::documents::JsonDocuments;
use super::lenient::text_or_number;

/// A request body (`POST /post` and the CRUD routes), as Jina's pydantic model reads it:
/// camelCase aliases and snake_case names alike, fields it does not know ignored.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RequestBody {
    #[serde(
        rename = "execEndpoint",
        alias = "exec_endpoint",
        default,
        deserialize_with = "text"
    )]
    pub exec_endpoint: Option<String>,
    #[serde(
        rename = "targetExecutor",
        alias = "target_executor",
        default,
        deserialize_with = "text"
    )]
    pub target_executor: Option<String>,
    #[serde(default, deserialize_with = "object")]
    pub parameters: Option<Map<String, Value>>,
    #[serde(
        rename = "requestId",
        alias = "request_id",
        default,
        deserialize_with = "text"
    )]
    pub request_id: Option<String>,
    #[serde(default)]
    pub data: JsonDocuments,
}

/// Only a request's id, for answering a request that could not be read under its id.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RequestId {
    #[serde(
        rename = "requestId",
        alias = "request_id",
        default,
        deserialize_with = "text"
    )]
    pub request_id: Option<String>,
}

/// A reply: what `POST /post` answers and a WebSocket JSON frame carries. `Data` is what
/// `data` is written from (a JSON value built by the documents' writer) or read into
/// ([`JsonDocuments`]).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ResponseBody<Data = Value> {
    pub header: Header,
    #[serde(default)]
    pub parameters: Map<String, Value>,
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub data: Data,
}

/// `header`: the request id, the status (`null` on success), the endpoint.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Header {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec_endpoint: Option<String>,
    #[serde(default)]
    pub request_id: String,
    #[serde(default)]
    pub status: Option<StatusBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_executor: Option<String>,
}

/// A status: code 0 (success) or 1 (error), with the exception on error.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StatusBody {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub exception: Option<ExceptionBody>,
}

/// Jina's `header.status.exception`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct ExceptionBody {
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub executor: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub stacks: Vec<String>,
}

/// One of `routes`: times as Jina writes them (`2021-08-05T07:26:58.636258+00:00`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Route {
    pub end_time: Option<String>,
    pub executor: String,
    pub start_time: String,
    pub status: Option<StatusBody>,
}

/// An HTTP error body as FastAPI (and so Jina's gateway) writes it: `{"detail": "..."}`, or
/// for an unreadable body `{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ErrorBody {
    pub detail: Detail,
}

/// `detail`: a sentence, or FastAPI's validation errors.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum Detail {
    Text(String),
    Invalid(Vec<ValidationError>),
}

/// One FastAPI validation error: where (`["body", "data", 0]`), what, and its type.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ValidationError {
    pub loc: Vec<Value>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A JSON type's name for messages: "got a boolean".
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A string field as pydantic reads one: a number stands for its text; `null` and `""` are
/// unset.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(text_or_number(deserializer)?.filter(|text| !text.is_empty()))
}

/// An object field; `null` is unset.
fn object<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Map<String, Value>>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        other => Err(D::Error::custom(format!(
            "must be an object, got {}",
            kind(&other)
        ))),
    }
}
