//! The HTTP gateway's OpenAPI document, written from the same route table that builds the
//! router, and the Swagger UI and Redoc pages that render it. Their scripts and styles are
//! compiled into the binary (vendored from npm: swagger-ui-dist 5.32.0, redoc 2.5.1), so the
//! pages work without internet access.

use serde_json::{Map, Value, json};

use super::http::{RouteKind, RouteSpec};
use crate::GatewayConfig;

pub const DEFAULT_TITLE: &str = "flowhost Flow";

pub static SWAGGER_JS: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js");
pub static SWAGGER_CSS: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui.css");
pub static REDOC_JS: &[u8] = include_bytes!("../assets/redoc/redoc.standalone.js");

/// The OpenAPI 3.0 document of a flow's HTTP gateway.
pub fn openapi_document(config: &GatewayConfig, routes: &[RouteSpec]) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for (index, route) in routes.iter().enumerate() {
        let operation = operation(route, index);
        let entry = paths
            .entry(route.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(route.method.to_owned(), operation);
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": config.title.clone().unwrap_or_else(|| DEFAULT_TITLE.to_owned()),
            "description": config.description.clone().unwrap_or_else(|| {
                "A Flow served by flowhost. Set `title` and `description` under the flow's \
                 `with:` to change this text."
                    .to_owned()
            }),
            "version": env!("CARGO_PKG_VERSION"),
        },
        "paths": paths,
        "components": { "schemas": schemas() },
    })
}

fn operation(route: &RouteSpec, index: usize) -> Value {
    let schema_ref = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let mut op = json!({
        "summary": route.summary,
        "description": route.description,
        "operationId": format!("{}_{}_{index}", route.method, slug(&route.path)),
    });
    if !route.tags.is_empty() {
        op["tags"] = json!(route.tags);
    }
    // What admission answers before a handler runs (`{"detail": "..."}`, as Jina's errors).
    let refused = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": schema_ref("HTTPError") } },
        })
    };
    let ok = |schema: Value| {
        json!({
            "description": "Successful Response",
            "content": { "application/json": { "schema": schema } },
        })
    };
    match &route.kind {
        RouteKind::Health => op["responses"] = json!({ "200": ok(json!({"type": "object"})) }),
        RouteKind::Status => op["responses"] = json!({ "200": ok(schema_ref("InfoModel")) }),
        RouteKind::DryRun => op["responses"] = json!({ "200": ok(schema_ref("StatusProto")) }),
        RouteKind::Post | RouteKind::Endpoint(_) => {
            let model = if route.kind == RouteKind::Post {
                "JinaEndpointRequestModel"
            } else {
                "JinaRequestModel"
            };
            op["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": schema_ref(model) } },
            });
            op["responses"] = json!({
                "200": ok(schema_ref("JinaResponseModel")),
                "422": {
                    "description": "Validation Error",
                    "content": { "application/json": { "schema": schema_ref("HTTPValidationError") } },
                },
                "400": refused("The request body could not be read (the client broke off)"),
                "408": refused("The request body did not arrive within `read_timeout_ms`"),
                "413": refused("The request body is larger than `max_request_size`"),
                "503": refused("The gateway's `request_memory_budget` is spent, or the flow is shutting down; retry later"),
            });
        }
    }
    op
}

fn slug(path: &str) -> String {
    let slug: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let slug = slug.trim_matches('_');
    if slug.is_empty() {
        "root".into()
    } else {
        slug.into()
    }
}

fn schemas() -> Value {
    let score = json!({
        "type": "object",
        "properties": {
            "value": {"type": "number"},
            "op_name": {"type": "string", "nullable": true},
            "description": {"type": "string", "nullable": true},
            "ref_id": {"type": "string", "nullable": true},
        },
    });
    let tensor = json!({
        "description": "A number or a nested list of numbers",
        "nullable": true,
    });
    let request_properties = json!({
        "data": {
            "description": "Documents to send: objects with docarray v1's fields, or strings (taken as text)",
            "type": "array",
            "items": {
                "oneOf": [{"$ref": "#/components/schemas/Document"}, {"type": "string"}]
            },
            "example": [{"text": "hello, world!"}],
        },
        "parameters": {
            "type": "object",
            "description": "Parameters for the executors; a key naming an executor holds parameters for it alone",
            "example": {},
        },
        "targetExecutor": {
            "type": "string",
            "description": "A regular expression: only executors whose names match run",
            "example": "",
        },
    });
    let mut endpoint_properties = request_properties.clone();
    endpoint_properties["execEndpoint"] = json!({
        "type": "string",
        "description": "The endpoint, e.g. `/index`: executors bound to it respond",
        "default": "/",
        "example": "/",
    });
    json!({
        "Document": {
            "type": "object",
            "description": "A docarray v1 Document",
            "properties": {
                "id": {"type": "string"},
                "parent_id": {"type": "string", "nullable": true},
                "granularity": {"type": "integer", "nullable": true},
                "adjacency": {"type": "integer", "nullable": true},
                "blob": {"type": "string", "format": "byte", "nullable": true},
                "tensor": tensor,
                "mime_type": {"type": "string", "nullable": true},
                "text": {"type": "string", "nullable": true},
                "weight": {"type": "number", "nullable": true},
                "uri": {"type": "string", "nullable": true},
                "tags": {"type": "object", "nullable": true},
                "offset": {"type": "number", "nullable": true},
                "location": {"type": "array", "items": {"type": "number"}, "nullable": true},
                "embedding": tensor,
                "modality": {"type": "string", "nullable": true},
                "evaluations": {"type": "object", "additionalProperties": score, "nullable": true},
                "scores": {"type": "object", "additionalProperties": score, "nullable": true},
                "chunks": {"type": "array", "items": {"$ref": "#/components/schemas/Document"}, "nullable": true},
                "matches": {"type": "array", "items": {"$ref": "#/components/schemas/Document"}, "nullable": true},
            },
        },
        "JinaRequestModel": {
            "type": "object",
            "description": "A data request to the endpoint the path names",
            "properties": request_properties,
        },
        "JinaEndpointRequestModel": {
            "type": "object",
            "description": "A data request to the endpoint `execEndpoint` names",
            "properties": endpoint_properties,
        },
        "ExceptionProto": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "args": {"type": "array", "items": {"type": "string"}},
                "stacks": {"type": "array", "items": {"type": "string"}},
                "executor": {"type": "string"},
            },
        },
        "StatusProto": {
            "type": "object",
            "nullable": true,
            "properties": {
                "code": {"type": "integer", "enum": [0, 1], "description": "0 SUCCESS, 1 ERROR"},
                "description": {"type": "string"},
                "exception": {
                    "allOf": [{"$ref": "#/components/schemas/ExceptionProto"}],
                    "nullable": true,
                },
            },
        },
        "HeaderProto": {
            "type": "object",
            "properties": {
                "requestId": {"type": "string"},
                "status": {"$ref": "#/components/schemas/StatusProto"},
                "execEndpoint": {"type": "string"},
                "targetExecutor": {"type": "string"},
            },
        },
        "RouteProto": {
            "type": "object",
            "properties": {
                "executor": {"type": "string"},
                "startTime": {"type": "string", "format": "date-time"},
                "endTime": {"type": "string", "format": "date-time", "nullable": true},
                "status": {"$ref": "#/components/schemas/StatusProto"},
            },
        },
        "JinaResponseModel": {
            "type": "object",
            "properties": {
                "header": {"$ref": "#/components/schemas/HeaderProto"},
                "parameters": {"type": "object"},
                "routes": {"type": "array", "items": {"$ref": "#/components/schemas/RouteProto"}},
                "data": {"type": "array", "items": {"$ref": "#/components/schemas/Document"}},
            },
        },
        "InfoModel": {
            "type": "object",
            "required": ["jina", "envs"],
            "properties": {
                "jina": {"type": "object", "additionalProperties": {"type": "string"}},
                "envs": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "HTTPValidationError": {
            "type": "object",
            "properties": {
                "detail": {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}},
            },
        },
        "HTTPError": {
            "type": "object",
            "required": ["detail"],
            "properties": {"detail": {"type": "string"}},
        },
        "ValidationError": {
            "type": "object",
            "required": ["loc", "msg", "type"],
            "properties": {
                "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                "msg": {"type": "string"},
                "type": {"type": "string"},
            },
        },
    })
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Swagger UI, loading its assets from this gateway.
pub fn swagger_page(title: &str) -> String {
    format!(
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - Swagger UI</title>
<link rel="stylesheet" href="/_assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/_assets/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true }});
</script>
</body>
</html>
"##,
        title = escape_html(title)
    )
}

/// Redoc, loading its script from this gateway.
pub fn redoc_page(title: &str) -> String {
    format!(
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - ReDoc</title>
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="/_assets/redoc.standalone.js"></script>
</body>
</html>
"##,
        title = escape_html(title)
    )
}
