//! What a method learns about the call: [`Request`] (method, endpoint,
//! parameters) and [`Metas`] (who this executor instance is).

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::wit;

/// Jina's `metas`: the identity of this executor instance, fixed at `init`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metas {
    /// The executor's name in the flow.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// The guest path of the workspace directory, if the host granted one.
    pub workspace: Option<String>,
    /// Which replica this is (0-based).
    pub replica_id: u32,
    /// Which shard this is (0-based).
    pub shard_id: u32,
    /// How many shards the executor has.
    pub shards: u32,
    /// How many replicas each shard has.
    pub replicas: u32,
}

impl Default for Metas {
    /// A single unsharded, unreplicated instance named `executor` (handy in tests).
    fn default() -> Self {
        Self {
            name: "executor".to_owned(),
            description: None,
            workspace: None,
            replica_id: 0,
            shard_id: 0,
            shards: 1,
            replicas: 1,
        }
    }
}

impl From<wit::Metas> for Metas {
    fn from(m: wit::Metas) -> Self {
        Self {
            name: m.name,
            description: m.description,
            workspace: m.workspace,
            replica_id: m.replica_id,
            shard_id: m.shard_id,
            shards: m.shards,
            replicas: m.replicas,
        }
    }
}

/// Parses a JSON object handed over as text; empty text counts as `{}`.
pub(crate) fn parse_object(text: &str, what: &str) -> Result<Map<String, Value>> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(Error::value_error(format!(
            "{what} must be a JSON object, got {other}"
        ))),
        Err(err) => Err(Error::value_error(format!(
            "{what} are not valid JSON: {err}"
        ))),
    }
}

/// One call of a method: which method, on which endpoint, with which parameters.
///
/// ```
/// use flowhost_guest::{Metas, Request};
/// use serde_json::json;
///
/// let metas = Metas::default();
/// let params = json!({"limit": 5}).as_object().cloned().unwrap();
/// let req = Request::new("search", "/search", params, &metas);
/// assert_eq!(req.param::<usize>("limit")?, Some(5));
/// assert_eq!(req.param_or("missing", 10usize)?, 10);
/// # Ok::<(), flowhost_guest::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Request<'a> {
    method: &'a str,
    endpoint: &'a str,
    parameters: Map<String, Value>,
    metas: &'a Metas,
}

impl<'a> Request<'a> {
    /// A request (the SDK builds these; public so executors can be unit-tested natively).
    pub fn new(
        method: &'a str,
        endpoint: &'a str,
        parameters: Map<String, Value>,
        metas: &'a Metas,
    ) -> Self {
        Self {
            method,
            endpoint,
            parameters,
            metas,
        }
    }

    /// The method the host asked for.
    pub fn method(&self) -> &str {
        self.method
    }

    /// The endpoint the request arrived on, e.g. `/index`.
    pub fn endpoint(&self) -> &str {
        self.endpoint
    }

    /// The request's parameters.
    pub fn parameters(&self) -> &Map<String, Value> {
        &self.parameters
    }

    /// One parameter deserialised as `T`: `Ok(None)` if absent or `null`, a
    /// `ValueError` if it has the wrong type.
    pub fn param<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.parameters.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => T::deserialize(value)
                .map(Some)
                .map_err(|err| Error::value_error(format!("parameter {key:?}: {err}"))),
        }
    }

    /// One parameter, or `default` if absent.
    pub fn param_or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T> {
        Ok(self.param(key)?.unwrap_or(default))
    }

    /// All parameters deserialised into a typed struct (use `#[serde(default)]`
    /// for optional ones).
    pub fn parameters_as<T: DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(Value::Object(self.parameters.clone()))
            .map_err(|err| Error::value_error(format!("parameters: {err}")))
    }

    /// This instance's metas.
    pub fn metas(&self) -> &Metas {
        self.metas
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn parse_object_accepts_empty_and_rejects_non_objects() {
        assert!(parse_object("", "parameters").unwrap().is_empty());
        assert!(parse_object("null", "parameters").unwrap().is_empty());
        assert_eq!(parse_object(r#"{"a":1}"#, "parameters").unwrap().len(), 1);
        let err = parse_object("[1]", "parameters").unwrap_err();
        assert!(err.message().contains("must be a JSON object"), "{err}");
        assert!(
            parse_object("{", "uses_with")
                .unwrap_err()
                .message()
                .starts_with("uses_with")
        );
    }

    #[test]
    fn typed_parameters() {
        #[derive(Deserialize)]
        struct P {
            #[serde(default)]
            limit: Option<u32>,
            name: String,
        }
        let metas = Metas::default();
        let params = parse_object(r#"{"name": "x", "limit": null, "bad": "s"}"#, "p").unwrap();
        let req = Request::new("m", "/e", params, &metas);
        let p: P = req.parameters_as().unwrap();
        assert_eq!((p.limit, p.name.as_str()), (None, "x"));
        assert_eq!(req.param::<u32>("limit").unwrap(), None);
        let err = req.param::<u32>("bad").unwrap_err();
        assert!(err.message().contains("parameter \"bad\""), "{err}");
        assert_eq!(req.metas().shards, 1);
        assert_eq!((req.method(), req.endpoint()), ("m", "/e"));
    }
}
