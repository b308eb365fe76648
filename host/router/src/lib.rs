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
//! Floating executors get their own copy and run in the background, each once
//! all its inputs are in (from the request's run or from other floating
//! executors): the reply does not wait for them, [`Router::close`] does. An
//! executor error ends the request with status ERROR naming the executor; other
//! requests carry on.
//!
//! Outputs travel between nodes as `Arc`s: a batch read by one consumer is
//! moved, never copied; a batch shared by branches is copied only for those
//! that start while another still holds it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batching;
pub mod deployment;
mod plan;

use std::sync::{Arc, Mutex, PoisonError};
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
    nodes: Arc<[Arc<RouteNode>]>,
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
        let mut routes = vec![gateway_route(started, Status::Success)];
        let mut running: FuturesUnordered<BoxFuture<'static, Finished>> = FuturesUnordered::new();

        // Floating executors are joined apart from the rest: their inputs may come from
        // this request's run or from other floating executors, after the reply has gone.
        let floating = plan.has_floating().then(|| {
            Arc::new(FloatingRun {
                nodes: self.nodes.clone(),
                plan: plan.clone(),
                call: call.clone(),
                target: target.clone(),
                background: self.background.clone(),
                slots: Mutex::new(empty_slots(plan)),
            })
        });
        let mut inputs = Inputs {
            plan,
            floating: floating.as_ref(),
            executors: empty_slots(plan),
            end: vec![None; plan.end_inputs.len()],
            ready: Vec::new(),
        };
        inputs.deliver(&plan.gateway_outputs, &Arc::new(docs));

        loop {
            for (index, gathered) in inputs.ready.drain(..) {
                let node = self.nodes[index].clone();
                let skip = !targeted(target.as_ref(), &node.deployment.name);
                running.push(Box::pin(run_node(
                    index,
                    node,
                    gathered,
                    call.clone(),
                    skip,
                )));
            }
            let Some(finished) = running.next().await else {
                break;
            };
            routes.push(finished.route);
            match finished.result {
                Ok(output) => {
                    inputs.deliver(&plan.outputs[finished.index], &Arc::new(output));
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
        let outputs: Vec<DocumentBatch> = inputs.end.into_iter().flatten().map(own).collect();
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
}

/// Whether `target_executor` lets the executor `name` have the request. As Jina's gateway,
/// which tests it with Python's `re.match`: the pattern must match at the start of the name
/// (not necessarily to its end).
fn targeted(target: Option<&Regex>, name: &str) -> bool {
    target.is_none_or(|target| target.find(name).is_some_and(|found| found.start() == 0))
}

/// One request's floating executors: each starts, in a task of its own, once all its
/// inputs are in, whether they come from the request's run (which may have replied by then)
/// or from other floating executors. A floating executor that fails is logged, and what
/// needs it does not run.
struct FloatingRun {
    nodes: Arc<[Arc<RouteNode>]>,
    plan: Arc<Plan>,
    call: CallContext,
    target: Option<Regex>,
    background: TaskTracker,
    /// Per executor, its inputs so far (only floating executors' are used).
    slots: Mutex<Vec<Vec<Option<Shared>>>>,
}

impl FloatingRun {
    /// Files `output` as input `slot` of the floating executor `index`, and starts it if that
    /// was its last input.
    fn deliver(self: &Arc<Self>, index: usize, slot: usize, output: &Shared) {
        // A panic while holding the lock leaves plain slots, still usable.
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(inputs) = file(&mut slots[index], slot, output) else {
            return;
        };
        drop(slots);
        // The task keeps the request's span, so the floating call stays in its trace.
        self.background.spawn(flowhost_telemetry::trace::in_current(
            self.clone().run(index, inputs),
        ));
    }

    async fn run(self: Arc<Self>, index: usize, inputs: Vec<Shared>) {
        let node = &self.nodes[index];
        let input = prepare(node, inputs);
        let output = if targeted(self.target.as_ref(), &node.deployment.name) {
            let params = self.call.parameters.for_executor(&node.deployment.name);
            match node
                .deployment
                .call(&self.call.endpoint, input, &params)
                .await
            {
                Ok(output) => output,
                Err(failure) => {
                    tracing::warn!(executor = %node.deployment.name, error = %failure, "floating executor failed");
                    return;
                }
            }
        } else {
            input
        };
        let output = Arc::new(output);
        for sink in &self.plan.outputs[index] {
            // What needs a floating executor is floating too (the topology's rule).
            if let Sink::Executor { index, slot } = *sink {
                self.deliver(index, slot, &output);
            }
        }
    }
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

/// The request's run: executors' inputs as they come in, in `needs` order, and the gateway
/// end's. Floating executors' inputs go to the [`FloatingRun`].
struct Inputs<'a> {
    plan: &'a Plan,
    floating: Option<&'a Arc<FloatingRun>>,
    /// Per executor, its inputs so far.
    executors: Vec<Vec<Option<Shared>>>,
    end: Vec<Option<Shared>>,
    /// Non-floating executors whose inputs are all in, with those inputs.
    ready: Vec<(usize, Vec<Shared>)>,
}

impl Inputs<'_> {
    /// Files `output` into every slot `sinks` names.
    fn deliver(&mut self, sinks: &[Sink], output: &Shared) {
        for sink in sinks {
            match *sink {
                Sink::Executor { index, slot } if self.plan.floating[index] => {
                    if let Some(floating) = self.floating {
                        floating.deliver(index, slot, output);
                    }
                }
                Sink::Executor { index, slot } => {
                    if let Some(inputs) = file(&mut self.executors[index], slot, output) {
                        self.ready.push((index, inputs));
                    }
                }
                Sink::End { slot } => self.end[slot] = Some(output.clone()),
            }
        }
    }
}

/// One empty input slot per `needs` entry of every executor.
fn empty_slots(plan: &Plan) -> Vec<Vec<Option<Shared>>> {
    plan.inputs.iter().map(|i| vec![None; i.len()]).collect()
}

/// Files `output` as input `slot` of one executor; when that was its last input, takes and
/// returns them all, in `needs` order.
fn file(inputs: &mut [Option<Shared>], slot: usize, output: &Shared) -> Option<Vec<Shared>> {
    inputs[slot] = Some(output.clone());
    inputs
        .iter()
        .all(Option::is_some)
        .then(|| inputs.iter_mut().filter_map(Option::take).collect())
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
