//! Helpers shared by the test modules: building documents, starting executors and flows.

use std::sync::Arc;

use flowhost::deploy::{DeployOptions, RunningFlow};
use flowhost_docs::{self as docs, Document, DocumentBatch, Dtype, Tensor};
use flowhost_flow::Flow;
use flowhost_runtime::{Executor, InstanceConfig, Runtime};
use flowhost_wire::{Request, Response, Status};
use serde_json::{Map, Value};

pub fn text_doc(id: &str, text: &str) -> Document {
    let mut doc = docs::document(id);
    doc.text = Some(text.to_owned());
    doc
}

pub fn texts(batch: &DocumentBatch) -> Vec<String> {
    docs::roots(batch)
        .map(|d| d.text.clone().unwrap_or_default())
        .collect()
}

pub fn tags(doc: &Document) -> serde_json::Value {
    doc.tags
        .as_deref()
        .map(|t| serde_json::from_str(t).expect("tags are JSON"))
        .unwrap_or(serde_json::Value::Null)
}

pub async fn start(runtime: &Arc<Runtime>, guest: &str, config: InstanceConfig) -> Executor {
    let component = runtime
        .load_async(&flowhost_test_support::guest(guest))
        .await
        .expect("component loads");
    Executor::start(component, config)
        .await
        .expect("executor starts")
}

/// The method an executor binds to `endpoint` by default, or its catch-all.
pub fn method_for(executor: &Executor, endpoint: &str) -> String {
    let description = executor.description();
    description
        .methods
        .iter()
        .find(|m| m.endpoints.iter().any(|e| e == endpoint))
        .map(|m| m.name.clone())
        .or_else(|| description.catch_all.clone())
        .unwrap_or_else(|| panic!("{} has no method for {endpoint}", executor.name()))
}

pub async fn post(
    executor: &Executor,
    endpoint: &str,
    batch: DocumentBatch,
    parameters: &str,
) -> DocumentBatch {
    let method = method_for(executor, endpoint);
    executor
        .call(&method, endpoint, batch, parameters)
        .await
        .unwrap_or_else(|failure| panic!("call failed: {failure}"))
}

/// A document with a float32 embedding.
pub fn embedded(id: &str, values: &[f32]) -> Document {
    let mut doc = docs::document(id);
    doc.embedding = Some(Tensor {
        dtype: Dtype::Float32,
        shape: vec![values.len() as u32],
        data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    });
    doc
}

/// The error a flow fails to deploy with.
pub async fn deploy_error(
    flow: flowhost_flow::Flow,
    options: flowhost::deploy::DeployOptions,
) -> String {
    match flowhost::deploy::RunningFlow::start(flow, options).await {
        Ok(_) => panic!("the flow deployed, but should have been refused"),
        Err(error) => error.to_string(),
    }
}

/// Deploys `flow` on the shared test runtime, from the workspace's root.
pub async fn deploy(flow: Flow) -> RunningFlow {
    RunningFlow::start(flow, deploy_options())
        .await
        .unwrap_or_else(|e| panic!("flow deploys: {e}"))
}

/// Deploys `flow` as [`deploy`] does, with its metrics recorded into the returned registry.
pub async fn deploy_with_metrics(flow: Flow) -> (RunningFlow, flowhost_telemetry::Metrics) {
    let metrics = flowhost_telemetry::Metrics::new().unwrap_or_else(|e| panic!("{e}"));
    let mut options = deploy_options();
    options.metrics = Some(metrics.clone());
    let flow = RunningFlow::start(flow, options)
        .await
        .unwrap_or_else(|e| panic!("flow deploys: {e}"));
    (flow, metrics)
}

/// Deploy options on the shared test runtime, from the workspace's root.
pub fn deploy_options() -> DeployOptions {
    DeployOptions::new(
        flowhost_test_support::workspace_root(),
        flowhost_test_support::runtime(),
    )
}

/// Sends one request through the flow's router.
pub async fn post_flow(
    flow: &RunningFlow,
    endpoint: &str,
    docs: DocumentBatch,
    parameters: Value,
) -> Response {
    let parameters: Map<String, Value> = match parameters {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    flow.router()
        .process(Request::new(endpoint, docs).with_parameters(parameters))
        .await
}

/// The documents of a successful response; panics with the error otherwise.
pub fn ok(response: Response) -> DocumentBatch {
    match &response.status {
        Status::Success => response.docs,
        Status::Error(e) => panic!("request failed: {}", e.description),
    }
}
