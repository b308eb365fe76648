//! HTTP: Jina's REST shape on axum.
//!
//! `POST /post` takes `{"data": [...], "execEndpoint": "/index", "parameters": {...}}`;
//! `/index`, `/search`, `/update` and `/delete` (hidden by `no_crud_endpoints`; `/status`,
//! `/dry_run` and `/post` by `no_debug_endpoints`, as in Jina) and the
//! flow's `expose_endpoints` take the same body without `execEndpoint`. Answers are Jina's
//! JSON: an executor error is still HTTP 200 with `header.status.code` 1 and the exception,
//! as Jina answers; a body that cannot be read is a 422 in FastAPI's validation shape
//! (`{"detail": [{"loc", "msg", "type"}]}`), as Jina answers, whose `msg` names the problem.
//! The routes come from one table ([`routes`]) that also writes the OpenAPI document.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on};
use serde_json::json;

use super::Shared;
use super::observe::{Observed, traceparent};
use super::openapi;
use crate::GatewayConfig;
use flowhost_telemetry::{Front, Refused};
use flowhost_wire::Readiness;
use flowhost_wire::json::{request_from_slice, response_to_string};

/// What a route does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKind {
    Health,
    Status,
    DryRun,
    /// `/post`: the endpoint comes from the body.
    Post,
    /// A fixed endpoint (CRUD or exposed).
    Endpoint(String),
}

/// One HTTP route, as served and as documented.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub path: String,
    /// Lower-case HTTP method, as OpenAPI spells it.
    pub method: &'static str,
    pub kind: RouteKind,
    pub summary: String,
    pub description: String,
    pub tags: Vec<String>,
}

/// Every route of a flow's HTTP gateway, in Jina's order.
pub fn routes(config: &GatewayConfig) -> Vec<RouteSpec> {
    let mut out = vec![RouteSpec {
        path: "/".into(),
        method: "get",
        kind: RouteKind::Health,
        summary: "Get the health of the gateway".into(),
        description: "Answers `{}` while the gateway is serving.".into(),
        tags: vec![],
    }];
    // Jina's `no_debug_endpoints` leaves out its whole "Debug" group: `/status`, `/dry_run`
    // and `/post`.
    if !config.no_debug_endpoints {
        out.extend([
            RouteSpec {
                path: "/status".into(),
                method: "get",
                kind: RouteKind::Status,
                summary: "Get the status of the service".into(),
                description: "Versions of flowhost and of the protocol it speaks.".into(),
                tags: vec![],
            },
            RouteSpec {
                path: "/dry_run".into(),
                method: "get",
                kind: RouteKind::DryRun,
                summary: "Get the readiness of the Flow".into(),
                description: "Answers status code 0 once every executor is ready.".into(),
                tags: vec![],
            },
            RouteSpec {
                path: "/post".into(),
                method: "post",
                kind: RouteKind::Post,
                summary: "Post".into(),
                description: "Post a data request to the endpoint named by `execEndpoint` \
                              (the same as `Client.post(endpoint, ...)`)."
                    .into(),
                tags: vec![],
            },
        ]);
    }
    if !config.no_crud_endpoints {
        for (path, method) in [
            ("/index", "post"),
            ("/search", "post"),
            ("/delete", "delete"),
            ("/update", "put"),
        ] {
            out.push(RouteSpec {
                path: path.into(),
                method,
                kind: RouteKind::Endpoint(path.into()),
                summary: title_case(path),
                description: format!(
                    "Post data requests to the Flow. Executors bound to `{path}` will respond."
                ),
                tags: vec!["CRUD".into()],
            });
        }
    }
    for (endpoint, exposed) in &config.expose_endpoints {
        let methods: Vec<String> = if exposed.methods.is_empty() {
            vec!["POST".into()]
        } else {
            exposed.methods.clone()
        };
        for method in methods {
            let Some(method) = openapi_method(&method) else {
                tracing::warn!(
                    endpoint,
                    method,
                    "exposed endpoint: unknown HTTP method, skipped"
                );
                continue;
            };
            if !servable_path(endpoint) {
                tracing::warn!(endpoint, "exposed endpoint: not a plain path, skipped");
                continue;
            }
            if out
                .iter()
                .any(|r| r.path == *endpoint && r.method == method)
            {
                tracing::warn!(
                    endpoint,
                    method,
                    "exposed endpoint: already served, skipped"
                );
                continue;
            }
            out.push(RouteSpec {
                path: endpoint.clone(),
                method,
                kind: RouteKind::Endpoint(endpoint.clone()),
                summary: exposed
                    .summary
                    .clone()
                    .unwrap_or_else(|| format!("Endpoint {endpoint}")),
                description: exposed.description.clone().unwrap_or_default(),
                tags: exposed.tags.clone(),
            });
        }
    }
    out
}

fn title_case(path: &str) -> String {
    let mut chars = path.trim_start_matches('/').chars();
    match chars.next() {
        Some(first) => format!("/{}{}", first.to_uppercase(), chars.as_str()),
        None => path.to_owned(),
    }
}

fn openapi_method(method: &str) -> Option<&'static str> {
    Some(match method.to_ascii_uppercase().as_str() {
        "GET" => "get",
        "POST" => "post",
        "PUT" => "put",
        "DELETE" => "delete",
        "PATCH" => "patch",
        _ => return None,
    })
}

/// Paths the gateway serves itself, whatever the flow exposes.
const RESERVED: &[&str] = &["/openapi.json", "/docs", "/redoc"];

/// A literal path axum can route (it would panic on `{param}` or `:param` segments, or on a
/// path it already serves).
fn servable_path(path: &str) -> bool {
    path.starts_with('/')
        && !RESERVED.contains(&path)
        && !path.starts_with("/_assets/")
        && !path.contains(['{', '}', '*', '?', '#'])
        && !path.split('/').any(|segment| segment.starts_with(':'))
}

fn method_filter(method: &str) -> MethodFilter {
    match method {
        "get" => MethodFilter::GET,
        "put" => MethodFilter::PUT,
        "delete" => MethodFilter::DELETE,
        "patch" => MethodFilter::PATCH,
        _ => MethodFilter::POST,
    }
}

/// The HTTP gateway.
pub fn router(shared: Arc<Shared>) -> axum::Router {
    let specs = routes(&shared.config);
    let document = Arc::new(openapi::openapi_document(&shared.config, &specs));
    let mut by_path: BTreeMap<String, MethodRouter> = BTreeMap::new();
    for spec in specs {
        let shared = shared.clone();
        let handler: MethodRouter = match spec.kind.clone() {
            RouteKind::Health => get(|| async { axum::Json(json!({})) }),
            RouteKind::Status => get(|| async {
                let (jina, envs) = info();
                axum::Json(json!({ "jina": jina, "envs": envs }))
            }),
            RouteKind::DryRun => get(move || async move {
                axum::Json(flowhost_wire::json::readiness_to_json(
                    &readiness(&shared).await,
                ))
            }),
            RouteKind::Post => on(
                method_filter(spec.method),
                move |headers: HeaderMap, body: Bytes| async move {
                    handle(&shared, &headers, body, None).await
                },
            ),
            RouteKind::Endpoint(endpoint) => on(
                method_filter(spec.method),
                move |headers: HeaderMap, body: Bytes| async move {
                    handle(&shared, &headers, body, Some(&endpoint)).await
                },
            ),
        };
        let entry = by_path.remove(&spec.path).unwrap_or_default();
        by_path.insert(spec.path, entry.merge(handler));
    }
    let mut app = axum::Router::new();
    for (path, method_router) in by_path {
        app = app.route(&path, method_router);
    }
    let title = shared
        .config
        .title
        .clone()
        .unwrap_or_else(|| openapi::DEFAULT_TITLE.to_owned());
    let swagger_title = title.clone();
    app = app
        .route(
            "/openapi.json",
            get(move || async move { axum::Json((*document).clone()) }),
        )
        .route(
            "/docs",
            get(move || async move { Html(openapi::swagger_page(&swagger_title)) }),
        )
        .route(
            "/redoc",
            get(move || async move { Html(openapi::redoc_page(&title)) }),
        )
        .route(
            "/_assets/swagger-ui-bundle.js",
            get(|| async { asset("text/javascript", openapi::SWAGGER_JS) }),
        )
        .route(
            "/_assets/swagger-ui.css",
            get(|| async { asset("text/css", openapi::SWAGGER_CSS) }),
        )
        .route(
            "/_assets/redoc.standalone.js",
            get(|| async { asset("text/javascript", openapi::REDOC_JS) }),
        )
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(flowhost_wire::json::error_detail("Not Found")),
            )
        })
        .layer(axum::middleware::map_response(method_not_allowed_as_json))
        // Admission has read the body within the flow's limits already.
        .layer(DefaultBodyLimit::disable());
    if shared.config.cors {
        // Jina's CORS: any origin, method and header.
        app = app.layer(tower_http::cors::CorsLayer::permissive());
    }
    app
}

/// A wrong method (`GET /post`) answers as Jina's does: 405 with `{"detail": "Method Not
/// Allowed"}` (axum's 405 has an empty body); the `Allow` header stays.
async fn method_not_allowed_as_json(response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let body = flowhost_wire::json::error_detail("Method Not Allowed").to_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        body,
    )
        .into_response()
}

/// A body that cannot be read, answered as Jina's HTTP gateway (FastAPI) answers it: 422 with
/// a list of validation errors. `kind` is FastAPI's error type (`json_invalid`,
/// `value_error.missing`, `value_error`).
fn unprocessable(kind: &str, message: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(flowhost_wire::json::invalid_body(kind, message)),
    )
        .into_response()
}

async fn handle(
    shared: &Shared,
    headers: &HeaderMap,
    body: Bytes,
    endpoint: Option<&str>,
) -> Response {
    let refuse = |kind: &str, message: String| {
        shared.count_refusal(Front::Http, Refused::Unreadable);
        unprocessable(kind, message)
    };
    if body.is_empty() {
        return refuse(
            "value_error.missing",
            "the body is empty; send a JSON object such as {\"data\": [{\"text\": \"hello\"}]}"
                .into(),
        );
    }
    let request = match request_from_slice(&body, endpoint) {
        Ok(request) => request,
        Err(error) if error.not_json => return refuse("json_invalid", error.message),
        Err(error) => return refuse("value_error", error.message),
    };
    let observed = Observed::begin(
        shared,
        Front::Http,
        &request,
        body.len(),
        traceparent(headers),
    );
    let response = observed.process(shared, request).await;
    let failure = observed.failure(&response);
    let body = response_to_string(&response);
    observed.answered(failure, || body.len());
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The gateway's readiness: it only serves once every executor it runs is up; executors
/// served elsewhere must answer their health checks.
pub async fn readiness(shared: &Shared) -> Readiness {
    if *shared.shutdown.borrow() {
        return Readiness::NotReady("the gateway is shutting down".into());
    }
    shared.service.readiness().await
}

/// `_status` / `GET /status`: versions.
pub fn info() -> (HashMap<String, String>, HashMap<String, String>) {
    let jina = HashMap::from([
        ("flowhost".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
        ("protocol".to_owned(), "jina 3.x, docarray v1".to_owned()),
        ("platform".to_owned(), std::env::consts::OS.to_owned()),
        ("architecture".to_owned(), std::env::consts::ARCH.to_owned()),
    ]);
    (jina, HashMap::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_axum_cannot_route_are_refused() {
        assert!(servable_path("/foo/bar"));
        assert!(!servable_path("foo"));
        assert!(!servable_path("/{id}"));
        assert!(!servable_path("/a/:b"));
        assert!(!servable_path("/docs"));
        assert!(!servable_path("/_assets/x.js"));
        assert_eq!(title_case("/index"), "/Index");
    }
}
