//! The router: executes one request through a flow's DAG.
//!
//! Owns the order executors run in, replicas and shards ([`deployment`]), Jina's dynamic
//! batching in front of them, joins and `when` filters on the request path. Must not know the network or any wire shape beyond the
//! protocol-neutral envelope (`flowhost_wire::Request`, `Response`): the gateway serves it, the runtime
//! (or a remote executor behind [`ExternalExecutor`]) does the work.
//!
//! Executors run as soon as all their inputs are in, so parallel branches
//! overlap; a join merges its inputs in `needs` order (see `flowhost_docs::merge`), unless
//! it disables reduce. `when` filters drop documents for one branch only.
//! Floating executors get their own copy and run in the background: the reply
//! does not wait for them, [`Router::close`] does. An executor error ends the
//! request with status ERROR naming the executor; other requests carry on.
//!
//! Outputs travel between nodes as `Arc`s: a batch read by one consumer is
//! moved, never copied; a batch shared by branches is copied only for those
//! that start while another still holds it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batching;
pub mod deployment;
mod plan;

use std::sync::Arc;
use std::time::SystemTime;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use regex::Regex;
use serde_json::{Map, Value};
use tokio_util::task::TaskTracker;

use flowhost_docs::when::Filter;
use flowhost_docs::{DocumentBatch, merge, retain_roots};
use flowhost_flow::topology::Topology;
use flowhost_runtime::{CallError, CallFailure};
use flowhost_wire::{ExceptionInfo, Refusal, Request, Response, RouteEntry, Status};

pub use deployment::{Deployment, ExternalExecutor, MethodTable, ReplicaSet, UnknownMethod};
pub use plan::{Plan, Sink, Source};

/// One executor node of the flow, ready to route to.
#[derive(Debug)]
pub struct RouteNode {
    /// What runs: the executor's shards, replicas, `uses_before` and `uses_after`.
    pub deployment: Arc<Deployment>,
    /// The executor's `when:` filter: top-level documents failing it are dropped from this
    /// node's input, and so from its branch.
    pub when: Option<Filter>,
    /// Jina's `disable_reduce`: at a join, concatenate the inputs ([`merge::concat`]) instead
    /// of merging them by id.
    pub disable_reduce: bool,
}

/// Routes requests through a deployed flow. Shared by every gateway protocol.
pub struct Router {
    nodes: Vec<Arc<RouteNode>>,
    plan: Arc<Plan>,
    background: TaskTracker,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("executors", &self.nodes.len())
            .finish_non_exhaustive()
    }
}

type Shared = Arc<DocumentBatch>;

/// Takes a shared batch, copying only if someone else still holds it.
fn own(batch: Shared) -> DocumentBatch {
    Arc::try_unwrap(batch).unwrap_or_else(|shared| (*shared).clone())
}

struct Finished {
    index: usize,
    result: Result<DocumentBatch, CallFailure>,
    route: RouteEntry,
}

impl Router {
    /// `nodes[i]` runs flow executor `i` of `topology`.
    pub fn new(nodes: Vec<RouteNode>, topology: &Topology) -> Self {
        let plan = Plan::new(topology, nodes.len());
        Self {
            nodes: nodes.into_iter().map(Arc::new).collect(),
            plan: Arc::new(plan),
            background: TaskTracker::new(),
        }
    }

    /// Every endpoint some executor binds explicitly, sorted (endpoint discovery).
    pub fn endpoints(&self) -> Vec<String> {
        let mut endpoints: Vec<String> = self
            .nodes
            .iter()
            .flat_map(|n| n.deployment.endpoints().map(str::to_owned))
            .collect();
        endpoints.sort();
        endpoints.dedup();
        endpoints
    }

    /// Every executor's deployment, in flow order.
    pub fn deployments(&self) -> impl Iterator<Item = &Arc<Deployment>> {
        self.nodes.iter().map(|n| &n.deployment)
    }

    /// Whether every executor served elsewhere answers its health check; `Err` names those
    /// that do not. Executors the flow runs itself are ready once the flow has started.
    pub async fn readiness(&self) -> Result<(), String> {
        let checks = (self.deployments())
            .flat_map(|deployment| &deployment.external)
            .map(|remote| async move { remote.ready().await.err() });
        let failures: Vec<String> = futures::future::join_all(checks)
            .await
            .into_iter()
            .flatten()
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }

    /// Waits for floating work already started, then refuses new floating work.
    pub async fn close(&self) {
        self.background.close();
        self.background.wait().await;
    }

    /// Floating executor calls still running.
    pub fn background_tasks(&self) -> usize {
        self.background.len()
    }

    /// Runs `request` through the flow. The reply carries the gateway end's documents (merged
    /// when several branches reach it) and, after the gateway's own, one route per non-floating
    /// executor that finished. An invalid `target_executor` regex is refused as a bad request;
    /// executors whose name it does not match are skipped, passing their input on. The first
    /// executor error ends the request with status ERROR and the documents that executor was
    /// given.
    pub async fn process(&self, request: Request) -> Response {
        let started = SystemTime::now();
        let Request {
            request_id,
            endpoint,
            docs,
            parameters,
            target_executor,
        } = request;
        let target = match target_executor.as_deref().map(Regex::new).transpose() {
            Ok(target) => target,
            Err(error) => {
                let info = ExceptionInfo::refusal(
                    Refusal::BadRequest,
                    format!("target_executor is not a valid regular expression: {error}"),
                );
                return Response {
                    request_id,
                    endpoint,
                    docs,
                    parameters,
                    routes: vec![gateway_route(started, Status::Error(info.clone()))],
                    status: Status::Error(info),
                };
            }
        };
        let call = CallContext {
            endpoint: Arc::from(endpoint.as_str()),
            parameters: Arc::new(Parameters::new(&parameters)),
        };

        let plan = &self.plan;
        let mut slots: Vec<Vec<Option<Shared>>> =
            plan.inputs.iter().map(|i| vec![None; i.len()]).collect();
        let mut end_slots: Vec<Option<Shared>> = vec![None; plan.end_inputs.len()];
        let mut routes = vec![gateway_route(started, Status::Success)];
        let mut running: FuturesUnordered<BoxFuture<'static, Finished>> = FuturesUnordered::new();

        let request_docs = Arc::new(docs);
        let mut ready = Vec::new();
        deliver(
            &plan.gateway_outputs,
            &request_docs,
            &mut slots,
            &mut end_slots,
            &mut ready,
        );
        drop(request_docs);

        loop {
            for index in ready.drain(..) {
                let inputs: Vec<Shared> =
                    slots[index].iter_mut().filter_map(Option::take).collect();
                let node = self.nodes[index].clone();
                if plan.floating[index] {
                    // The reply never waits for a floating executor; its
                    // floating successors run after it in the same task.
                    let input = prepare(&node, inputs);
                    self.spawn_floating(index, input, call.clone(), target.clone());
                    continue;
                }
                let skip = !targeted(target.as_ref(), &node.deployment.name);
                running.push(Box::pin(run_node(index, node, inputs, call.clone(), skip)));
            }
            let Some(finished) = running.next().await else {
                break;
            };
            routes.push(finished.route);
            match finished.result {
                Ok(output) => {
                    let output = Arc::new(output);
                    deliver(
                        &plan.outputs[finished.index],
                        &output,
                        &mut slots,
                        &mut end_slots,
                        &mut ready,
                    );
                }
                Err(failure) => {
                    let info = exception(&failure.error);
                    if let Some(gateway) = routes.first_mut() {
                        gateway.end = Some(SystemTime::now());
                    }
                    return Response {
                        request_id,
                        endpoint,
                        docs: failure.docs,
                        parameters,
                        routes,
                        status: Status::Error(info),
                    };
                }
            }
        }
        let outputs: Vec<DocumentBatch> = end_slots.into_iter().flatten().map(own).collect();
        let docs = match outputs.len() {
            1 => outputs
                .into_iter()
                .next()
                .unwrap_or_else(flowhost_docs::empty_batch),
            _ => merge::reduce(outputs),
        };
        if let Some(gateway) = routes.first_mut() {
            gateway.end = Some(SystemTime::now());
        }
        Response {
            request_id,
            endpoint,
            docs,
            parameters,
            routes,
            status: Status::Success,
        }
    }

    fn spawn_floating(
        &self,
        index: usize,
        input: DocumentBatch,
        call: CallContext,
        target: Option<Regex>,
    ) {
        let nodes = self.nodes.clone();
        let plan = self.plan.clone();
        // A floating executor runs after the reply, in its own task: its span stays in the
        // request's trace.
        self.background
            .spawn(flowhost_telemetry::trace::in_current(run_floating(
                nodes, plan, index, input, call, target,
            )));
    }
}

/// Whether `target_executor` lets the executor `name` have the request. As Jina's gateway,
/// which tests it with Python's `re.match`: the pattern must match at the start of the name
/// (not necessarily to its end).
fn targeted(target: Option<&Regex>, name: &str) -> bool {
    target.is_none_or(|target| target.find(name).is_some_and(|found| found.start() == 0))
}

/// Runs a floating executor, then the floating executors that need it, each only if
/// `target_executor` lets it have the request.
fn run_floating(
    nodes: Vec<Arc<RouteNode>>,
    plan: Arc<Plan>,
    index: usize,
    input: DocumentBatch,
    call: CallContext,
    target: Option<Regex>,
) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let node = nodes[index].clone();
        let output = if !targeted(target.as_ref(), &node.deployment.name) {
            input
        } else {
            let params = call.parameters.for_executor(&node.deployment.name);
            match node.deployment.call(&call.endpoint, input, &params).await {
                Ok(output) => output,
                Err(failure) => {
                    tracing::warn!(executor = %node.deployment.name, error = %failure, "floating executor failed");
                    return;
                }
            }
        };
        let next: Vec<usize> = plan.outputs[index]
            .iter()
            .filter_map(|sink| match sink {
                Sink::Executor { index, .. } if plan.floating[*index] => Some(*index),
                _ => None,
            })
            .collect();
        let output = Arc::new(output);
        let runs = next.into_iter().map(|successor| {
            let input = prepare(&nodes[successor], vec![output.clone()]);
            run_floating(
                nodes.clone(),
                plan.clone(),
                successor,
                input,
                call.clone(),
                target.clone(),
            )
        });
        let runs: Vec<_> = runs.collect();
        drop(output);
        futures::future::join_all(runs).await;
    })
}

/// The request's parameters as JSON text, and per-executor variants.
struct Parameters {
    common: String,
    /// The parameters again, kept only when some value is an object and so
    /// may be meant for one executor alone.
    object: Option<Map<String, Value>>,
}

impl Parameters {
    fn new(object: &Map<String, Value>) -> Self {
        Self {
            common: serde_json::to_string(object).unwrap_or_else(|_| "{}".into()),
            object: object
                .values()
                .any(Value::is_object)
                .then(|| object.clone()),
        }
    }

    /// Jina lets a key naming an executor carry parameters for it alone.
    fn for_executor(&self, name: &str) -> std::borrow::Cow<'_, str> {
        let Some(object) = &self.object else {
            return std::borrow::Cow::Borrowed(&self.common);
        };
        match object.get(name) {
            Some(Value::Object(specific)) => {
                let mut merged = object.clone();
                for (key, value) in specific {
                    merged.insert(key.clone(), value.clone());
                }
                std::borrow::Cow::Owned(Value::Object(merged).to_string())
            }
            _ => std::borrow::Cow::Borrowed(&self.common),
        }
    }
}

#[derive(Clone)]
struct CallContext {
    endpoint: Arc<str>,
    parameters: Arc<Parameters>,
}

/// Files `output` into every slot it feeds; queues executors whose inputs are all in.
fn deliver(
    sinks: &[Sink],
    output: &Shared,
    slots: &mut [Vec<Option<Shared>>],
    end_slots: &mut [Option<Shared>],
    ready: &mut Vec<usize>,
) {
    for sink in sinks {
        match *sink {
            Sink::Executor { index, slot } => {
                slots[index][slot] = Some(output.clone());
                if slots[index].iter().all(Option::is_some) {
                    ready.push(index);
                }
            }
            Sink::End { slot } => end_slots[slot] = Some(output.clone()),
        }
    }
}

/// Merges a node's inputs and applies its `when` filter.
fn prepare(node: &RouteNode, inputs: Vec<Shared>) -> DocumentBatch {
    let docs = if inputs.len() == 1 {
        inputs
            .into_iter()
            .next()
            .map(own)
            .unwrap_or_else(flowhost_docs::empty_batch)
    } else if node.disable_reduce {
        merge::concat(inputs.into_iter().map(own))
    } else {
        merge::reduce(inputs.into_iter().map(own))
    };
    match &node.when {
        Some(filter) => retain_roots(docs, |doc, batch| filter.matches(doc, batch)),
        None => docs,
    }
}

async fn run_node(
    index: usize,
    node: Arc<RouteNode>,
    inputs: Vec<Shared>,
    call: CallContext,
    skip: bool,
) -> Finished {
    let start = SystemTime::now();
    let input = prepare(&node, inputs);
    let result = if skip {
        Ok(input)
    } else {
        let params = call.parameters.for_executor(&node.deployment.name);
        node.deployment.call(&call.endpoint, input, &params).await
    };
    let status = match &result {
        Ok(_) => Status::Success,
        Err(failure) => Status::Error(exception(&failure.error)),
    };
    Finished {
        index,
        result,
        route: RouteEntry {
            executor: node.deployment.name.clone(),
            start,
            end: Some(SystemTime::now()),
            status,
        },
    }
}

fn gateway_route(start: SystemTime, status: Status) -> RouteEntry {
    RouteEntry {
        executor: "gateway".into(),
        start,
        end: None,
        status,
    }
}

/// A runtime error in Jina's exception shape.
pub fn exception(error: &CallError) -> ExceptionInfo {
    let (args, stacks) = match error {
        CallError::Failed { fault, .. } => match fault {
            flowhost_runtime::Fault::Raised(raised) => (
                vec![raised.message.clone()],
                raised.details.iter().cloned().collect(),
            ),
            other => (vec![other.to_string()], Vec::new()),
        },
        CallError::Unavailable { reason, .. } => (vec![reason.clone()], Vec::new()),
    };
    ExceptionInfo {
        name: error.exception_name().to_owned(),
        args,
        stacks,
        executor: error.executor().to_owned(),
        description: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_executor_matches_at_the_start_of_the_name_as_jina_does() {
        let target = |pattern: &str| Regex::new(pattern).unwrap();
        assert!(targeted(None, "anything"));
        assert!(targeted(Some(&target("foo")), "fooExecutor"));
        assert!(targeted(Some(&target("^router$")), "router"));
        assert!(targeted(Some(&target("executor0|first")), "first"));
        // Python's `re.match`: a match later in the name does not count.
        assert!(!targeted(Some(&target("Executor")), "fooExecutor"));
        assert!(!targeted(Some(&target("^router$")), "router2"));
    }
}
