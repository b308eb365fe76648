//! `/metrics`: the process's Prometheus registry, on the monitoring port (Jina's
//! `port_monitoring`). Plain HTTP, as Jina's and every Prometheus exporter's is.

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use flowhost_telemetry::Metrics;

pub fn router(metrics: Metrics) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move { ([(CONTENT_TYPE, Metrics::CONTENT_TYPE)], metrics.render()) }
        }),
    )
}
