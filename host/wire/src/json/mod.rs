//! Jina's JSON request and reply shapes, for HTTP `/post` (and the CRUD and custom endpoints)
//! and the WebSocket `json` subprotocol.
//!
//! What Jina 3.34 answers, as seen on the wire: `header` (`requestId`, `status` null on
//! success, `execEndpoint`, `targetExecutor`), `parameters`, `routes` (`executor`,
//! `startTime`, `endTime`, `status`) and `data` as a plain list of documents. Numbers in tags
//! and parameters come back as floats, because Jina moves them through a protobuf `Struct`.

pub mod documents;
mod lenient;
mod shapes;

use std::time::SystemTime;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

use documents::{JsonBatch, JsonDocuments};
pub use lenient::JsonError;
use lenient::Object;
use shapes::{
    Detail, ErrorBody, ExceptionBody, Header, RequestBody, RequestId, ResponseBody, Route,
    StatusBody, ValidationError,
};

use crate::envelope::{
    DEFAULT_ENDPOINT, ExceptionInfo, Readiness, Refusal, Request, Response, RouteEntry, Status,
};

/// Why a JSON request was refused; the message names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BadRequest {
    /// What is wrong, naming the value at fault: "`data[0].text` must be a string, got a
    /// number".
    pub message: String,
    /// The body is not JSON at all (FastAPI's `json_invalid`), rather than JSON of the wrong
    /// shape (`value_error`).
    pub not_json: bool,
}

impl From<JsonError> for BadRequest {
    fn from(error: JsonError) -> Self {
        let message = if error.syntax {
            format!("the body is not valid JSON: {}", error.problem)
        } else if error.path.is_empty() {
            format!(
                "the body {}; send one like {{\"data\": [{{\"text\": \"hello\"}}], \
                 \"execEndpoint\": \"/index\"}}",
                error.problem
            )
        } else {
            error.to_string()
        };
        BadRequest {
            message,
            not_json: error.syntax,
        }
    }
}

/// Reads a Jina request body straight from its bytes. `endpoint` is the endpoint the URL names
/// (`/index`), or `None` for `/post`, which takes `execEndpoint` from the body.
pub fn request_from_slice(body: &[u8], endpoint: Option<&str>) -> Result<Request, BadRequest> {
    let Object(body) = lenient::from_slice::<Object<RequestBody>>(body)?;
    Ok(request(body, endpoint))
}

fn request(body: RequestBody, endpoint: Option<&str>) -> Request {
    let endpoint = match endpoint {
        Some(fixed) => fixed.to_owned(),
        None => body
            .exec_endpoint
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
    };
    let mut request =
        Request::new(endpoint, body.data.0).with_parameters(body.parameters.unwrap_or_default());
    request.target_executor = body.target_executor;
    if let Some(id) = body.request_id {
        request.request_id = id;
    }
    request
}

/// The request id a body carries, read on its own so that a request refused for its shape is
/// answered under its id; empty if there is none to read.
pub fn request_id_of(body: &[u8]) -> String {
    serde_json::from_slice::<RequestId>(body)
        .ok()
        .and_then(|id| id.request_id)
        .unwrap_or_default()
}

/// Jina's JSON reply as a response (routes are not read back).
pub fn response_from_slice(reply: &[u8]) -> Result<Response, ReplyError> {
    let reply = lenient::from_slice::<ResponseBody<JsonDocuments>>(reply)?;
    let status = match reply.header.status {
        Some(status) if status.code == 1 => {
            let exception = status.exception.unwrap_or_default();
            Status::Error(ExceptionInfo {
                name: exception.name,
                args: exception.args,
                stacks: exception.stacks,
                executor: exception.executor,
                description: status.description,
            })
        }
        _ => Status::Success,
    };
    Ok(Response {
        request_id: reply.header.request_id,
        endpoint: reply.header.exec_endpoint.unwrap_or_default(),
        docs: reply.data.0,
        parameters: reply.parameters,
        routes: Vec::new(),
        status,
    })
}

/// An HTTP error body with one sentence: `{"detail": "Not Found"}` (413, 405, 503, ...).
pub fn error_detail(text: impl Into<String>) -> Value {
    to_value(ErrorBody {
        detail: Detail::Text(text.into()),
    })
}

/// An unreadable request body, as FastAPI answers it (422): `kind` is FastAPI's error type
/// (`json_invalid`, `value_error.missing`, `value_error`).
pub fn invalid_body(kind: &str, message: String) -> Value {
    to_value(ErrorBody {
        detail: Detail::Invalid(vec![ValidationError {
            loc: vec![Value::from("body")],
            msg: message,
            kind: kind.to_owned(),
        }]),
    })
}

/// The reason in an HTTP error body, whichever form `detail` takes (other servers may send
/// anything else: then a generic reason).
pub fn error_reason(body: Value) -> String {
    match serde_json::from_value::<ErrorBody>(body).map(|body| body.detail) {
        Ok(Detail::Text(text)) => text,
        Ok(Detail::Invalid(errors)) if !errors.is_empty() => errors
            .iter()
            .map(|error| {
                let at: Vec<String> = (error.loc.iter())
                    .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                    .collect();
                format!("{}: {}", at.join("."), error.msg)
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => "the request was refused".to_owned(),
    }
}

/// Why a JSON reply could not be read; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable reply: {0}")]
pub struct ReplyError(#[from] pub JsonError);

/// A flow response in Jina's JSON shape, as a tree to look inside.
pub fn response_to_json(response: &Response) -> Value {
    to_value(JsonReply(response))
}

/// A flow response in Jina's JSON shape, as the text a gateway answers: the same text as
/// [`response_to_json`]'s tree, written without building the tree.
pub fn response_to_string(response: &Response) -> String {
    // Cannot fail: every key is a string and nothing here reports an error of its own.
    serde_json::to_string(&JsonReply(response)).unwrap_or_default()
}

/// A response as Jina answers it: `data`, `header`, `parameters`, `routes`, each object's keys
/// in sorted order, as a `Value` tree (a `BTreeMap`) would write them.
struct JsonReply<'a>(&'a Response);

impl Serialize for JsonReply<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let response = self.0;
        let header = Header {
            exec_endpoint: Some(response.endpoint.clone()),
            request_id: response.request_id.clone(),
            status: status_body(&response.status),
            target_executor: Some(String::new()),
        };
        let routes: Vec<Route> = response.routes.iter().map(route_body).collect();
        let mut reply = serializer.serialize_map(Some(4))?;
        reply.serialize_entry("data", &JsonBatch::as_answered(&response.docs))?;
        reply.serialize_entry("header", &header)?;
        reply.serialize_entry("parameters", &StructNumbersMap(&response.parameters))?;
        reply.serialize_entry("routes", &routes)?;
        reply.end()
    }
}

/// A JSON value written as it comes back from a trip through a protobuf `Struct`: integral
/// numbers as floats, so HTTP answers the same `3.0` that gRPC and Jina do.
struct StructNumbers<'a>(&'a Value);

/// An object whose values are written as [`StructNumbers`].
struct StructNumbersMap<'a>(&'a Map<String, Value>);

impl Serialize for StructNumbersMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.0
                .iter()
                .map(|(key, value)| (key, StructNumbers(value))),
        )
    }
}

impl Serialize for StructNumbers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Number(n) if !n.is_f64() => match n.as_f64() {
                Some(float) => serializer.serialize_f64(float),
                None => serializer.serialize_unit(),
            },
            Value::Array(items) => serializer.collect_seq(items.iter().map(StructNumbers)),
            Value::Object(map) => StructNumbersMap(map).serialize(serializer),
            other => other.serialize(serializer),
        }
    }
}

/// Jina's `dry_run` answer as JSON: `{"code": 0 | 1, "description", "exception": null}`.
pub fn readiness_to_json(readiness: &Readiness) -> Value {
    let (code, description) = match readiness {
        Readiness::Ready => (0, String::new()),
        Readiness::NotReady(reason) => (1, reason.clone()),
    };
    to_value(StatusBody {
        code,
        description,
        exception: None,
    })
}

/// A reply saying the gateway did not take the request (the WebSocket's JSON frames).
pub fn refusal_to_json(request_id: &str, refusal: Refusal, message: &str) -> Value {
    to_value(ResponseBody {
        header: Header {
            request_id: request_id.to_owned(),
            status: status_body(&Status::Error(ExceptionInfo::refusal(refusal, message))),
            exec_endpoint: None,
            target_executor: None,
        },
        parameters: Map::new(),
        routes: Vec::new(),
        data: Value::Array(Vec::new()),
    })
}

/// Serializing these shapes cannot fail: every key is a string and every number finite.
fn to_value(shape: impl serde::Serialize) -> Value {
    serde_json::to_value(shape).unwrap_or(Value::Null)
}

/// `null` on success, Jina's status object (code 1 and the exception) on error.
pub fn status_to_json(status: &Status) -> Value {
    to_value(status_body(status))
}

fn status_body(status: &Status) -> Option<StatusBody> {
    match status {
        Status::Success => None,
        Status::Error(info) => Some(StatusBody {
            code: 1,
            description: info.description.clone(),
            exception: Some(ExceptionBody {
                name: info.name.clone(),
                args: info.args.clone(),
                stacks: info.stacks.clone(),
                executor: info.executor.clone(),
            }),
        }),
    }
}

fn route_body(route: &RouteEntry) -> Route {
    Route {
        executor: route.executor.clone(),
        start_time: iso_time(route.start),
        end_time: route.end.map(iso_time),
        status: status_body(&route.status),
    }
}

/// `2021-08-05T07:26:58.636258+00:00`, the format Jina's routes use.
pub fn iso_time(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time)
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// Rewrites integral numbers as floats, recursively: what a trip through a protobuf `Struct`
/// does, so HTTP answers the same `3.0` that gRPC and Jina do.
pub fn as_struct_numbers(value: Value) -> Value {
    to_value(StructNumbers(&value))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use flowhost_docs as docs;
    use serde_json::json;

    fn request_from_json(body: Value, endpoint: Option<&str>) -> Result<Request, BadRequest> {
        request_from_slice(body.to_string().as_bytes(), endpoint)
    }

    #[test]
    fn error_bodies_read_back_whichever_form_detail_takes() {
        let fastapi = json!({"detail": [
            {"loc": ["body", "data", 0], "msg": "value is not a valid dict", "type": "type_error.dict"},
            {"loc": ["body"], "msg": "field required", "type": "value_error.missing"}
        ]});
        assert_eq!(
            error_reason(fastapi),
            "body.data.0: value is not a valid dict; body: field required"
        );
        assert_eq!(error_reason(error_detail("no")), "no");
        assert_eq!(
            error_reason(invalid_body("value_error", "`data` is wrong".into())),
            "body: `data` is wrong"
        );
        assert_eq!(error_reason(Value::Null), "the request was refused");
    }

    #[test]
    fn reads_the_seed_curl_body() {
        let body = json!({"data": [{"text": "hello world"}], "execEndpoint": "/index"});
        let request = request_from_json(body, None).unwrap();
        assert_eq!(request.endpoint, "/index");
        assert_eq!(request.docs.nodes[0].text.as_deref(), Some("hello world"));
        let body = json!({"data": ["plain", {"mimeType": "text/plain"}], "parameters": {"a": 1}});
        let request = request_from_json(body, Some("/search")).unwrap();
        assert_eq!(request.endpoint, "/search");
        assert_eq!(request.docs.nodes[0].text.as_deref(), Some("plain"));
        assert_eq!(
            request.docs.nodes[1].mime_type.as_deref(),
            Some("text/plain")
        );
        assert_eq!(request.parameters["a"], json!(1));
    }

    #[test]
    fn malformed_bodies_say_what_is_wrong() {
        let error = request_from_json(json!([1]), None).unwrap_err();
        assert!(
            error
                .message
                .starts_with("the body must be an object, got a list; send one like"),
            "{error}"
        );
        let error = request_from_json(json!({"data": 5}), None).unwrap_err();
        assert_eq!(
            error.message,
            "`data` must be a list of documents, got a number"
        );
        let error = request_from_json(json!({"data": [{"text": 1}]}), None).unwrap_err();
        assert_eq!(
            error.message,
            "`data[0].text` must be a string, got a number"
        );
        let error = request_from_json(json!({"execEndpoint": {"x": 1}}), None).unwrap_err();
        assert_eq!(
            error.message,
            "`execEndpoint` must be a string, got an object"
        );
        assert!(!error.not_json);
    }

    #[test]
    fn bodies_that_are_not_json_are_told_apart() {
        let error = request_from_slice(b"{\"data\": [", None).unwrap_err();
        assert!(error.not_json, "{error}");
        assert!(
            error.message.starts_with("the body is not valid JSON"),
            "{error}"
        );
        let error = request_from_slice(b"{} x", None).unwrap_err();
        assert!(error.not_json, "{error}");
        let body = br#"{"data": [{"text": 1}], "requestId": "r7"}"#;
        let error = request_from_slice(body, None).unwrap_err();
        assert_eq!(
            error.message,
            "`data[0].text` must be a string, got a number"
        );
        assert_eq!(request_id_of(body), "r7");
    }

    #[test]
    fn lets_through_what_jinas_models_let_through() {
        let request = request_from_json(
            json!({"execEndpoint": 7, "targetExecutor": 2, "requestId": 9, "exec_endpont": "/x"}),
            None,
        )
        .unwrap();
        assert_eq!(request.endpoint, "7");
        assert_eq!(request.target_executor.as_deref(), Some("2"));
        assert_eq!(request.request_id, "9");
    }

    /// A response with every kind of field the reply writes: tensors of several dtypes and
    /// shapes, a blob, repeated score names, nested chunks and matches, tags and parameters
    /// with integers, routes and an error status.
    fn rich_response() -> Response {
        let mut root = docs::document("root");
        root.text = Some("hello".into());
        root.blob = Some(b"\x00\xffbytes".to_vec());
        root.tags = Some(r#"{"z":1,"a":{"n":[2,2.5,"x"]},"m":null}"#.into());
        root.embedding = Some(docs::Tensor {
            dtype: docs::Dtype::Float32,
            shape: vec![2, 2],
            data: [1.0f32, 2.5, -3.0, 4.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        });
        root.tensor = Some(docs::Tensor {
            dtype: docs::Dtype::Int64,
            shape: vec![],
            data: 7i64.to_le_bytes().to_vec(),
        });
        root.location = vec![1.0, 2.0];
        root.weight = Some(1.0);
        root.scores = ["b", "a", "b"]
            .iter()
            .enumerate()
            .map(|(i, name)| docs::NamedScore {
                name: (*name).into(),
                value: i as f64,
                op_name: Some("cosine".into()),
                description: None,
                ref_id: Some("r".into()),
            })
            .collect();
        let mut chunk = docs::document("chunk");
        chunk.tensor = Some(docs::Tensor {
            dtype: docs::Dtype::Boolean,
            shape: vec![3],
            data: vec![1, 0, 1],
        });
        chunk.tags = Some(r#"{"k":3}"#.into());
        let mut batch = docs::batch_of([root, chunk, docs::document("match")]);
        batch.roots = vec![0];
        batch.nodes[0].chunks = vec![1];
        batch.nodes[0].matches = vec![2];
        batch.nodes[1].parent_id = Some("root".into());
        let start = UNIX_EPOCH + Duration::from_micros(1_628_148_418_636_258);
        Response {
            request_id: "r".into(),
            endpoint: "/index".into(),
            docs: batch,
            parameters: json!({"k": 1, "nested": {"b": [1, 2]}, "a": "x"})
                .as_object()
                .unwrap()
                .clone(),
            routes: vec![RouteEntry {
                executor: "gateway".into(),
                start,
                end: None,
                status: Status::Error(ExceptionInfo {
                    name: "ValueError".into(),
                    args: vec!["bad".into()],
                    stacks: vec!["line".into()],
                    executor: "e".into(),
                    description: "d".into(),
                }),
            }],
            status: Status::Success,
        }
    }

    #[test]
    fn the_reply_text_is_the_trees_text() {
        let response = rich_response();
        let tree = response_to_json(&response);
        // A `Value` tree writes its keys sorted: the same text means the direct writer sorts
        // them too, and writes every number and null the tree does.
        assert_eq!(response_to_string(&response), tree.to_string());
        let doc = &tree["data"][0];
        assert_eq!(
            doc["tags"].to_string(),
            r#"{"a":{"n":[2.0,2.5,"x"]},"m":null,"z":1.0}"#
        );
        assert_eq!(doc["embedding"], json!([[1.0, 2.5], [-3.0, 4.0]]));
        assert_eq!(doc["tensor"], json!(7));
        assert_eq!(doc["blob"], json!("AP9ieXRlcw=="));
        assert_eq!(
            doc["scores"]["b"]["value"],
            json!(2.0),
            "the last `b` is kept"
        );
        assert_eq!(doc["scores"]["a"]["value"], json!(1.0));
        assert_eq!(doc["chunks"][0]["tensor"], json!([true, false, true]));
        assert_eq!(doc["chunks"][0]["tags"].to_string(), r#"{"k":3.0}"#);
        assert_eq!(doc["chunks"][0]["chunks"], Value::Null);
        assert_eq!(doc["matches"][0]["id"], json!("match"));
        assert_eq!(tree["routes"][0]["endTime"], Value::Null);
        assert_eq!(
            tree["routes"][0]["status"]["exception"]["stacks"],
            json!(["line"])
        );
        assert_eq!(tree["parameters"]["nested"]["b"], json!([1.0, 2.0]));
    }

    #[test]
    fn answers_in_jina_shape() {
        let mut doc = docs::document("d");
        doc.tags = Some(r#"{"n":3}"#.into());
        let start = UNIX_EPOCH + Duration::from_micros(1_628_148_418_636_258);
        let info = ExceptionInfo {
            name: "ValueError".into(),
            args: vec!["bad input".into()],
            stacks: vec![],
            executor: "trap".into(),
            description: "ValueError('bad input')".into(),
        };
        let response = Response {
            request_id: "r".into(),
            endpoint: "/index".into(),
            docs: docs::batch_of([doc]),
            parameters: json!({"k": 1}).as_object().unwrap().clone(),
            routes: vec![RouteEntry {
                executor: "gateway".into(),
                start,
                end: Some(start),
                status: Status::Success,
            }],
            status: Status::Error(info),
        };
        let value = response_to_json(&response);
        assert_eq!(value["header"]["requestId"], json!("r"));
        assert_eq!(value["header"]["status"]["code"], json!(1));
        assert_eq!(
            value["header"]["status"]["exception"]["name"],
            json!("ValueError")
        );
        assert_eq!(
            value["routes"][0]["startTime"],
            json!("2021-08-05T07:26:58.636258+00:00")
        );
        assert_eq!(value["routes"][0]["status"], Value::Null);
        assert_eq!(value["data"][0]["tags"].to_string(), r#"{"n":3.0}"#);
        assert_eq!(value["data"][0]["chunks"], Value::Null);
        assert_eq!(value["parameters"].to_string(), r#"{"k":1.0}"#);
    }
}
