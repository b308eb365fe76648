//! One flow executor at run time: its shards, each a set of replicas, plus
//! the optional `uses_before` and `uses_after` executors, and the endpoint to
//! method table after `uses_requests`.
//!
//! A request goes to one replica (the one with the fewest calls in flight).
//! With shards, polling decides: ANY sends it to one shard (round robin, so an
//! index spreads evenly), ALL to every shard, whose answers are merged (or
//! handed to `uses_after`). `uses_before` runs ahead of the shards.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::{BoxFuture, Either};

use flowhost_docs::{DocumentBatch, Dtype};
use flowhost_flow::{DynamicBatching, Polling, PollingSpec};
use flowhost_runtime::{CallFailure, Description, Executor};
use flowhost_telemetry::trace::Traced;

use crate::batching::{BatchPolicy, Batcher};

/// The `uses_requests` key (and Jina's spellings of it) for the catch-all method.
pub const CATCH_ALL_KEYS: [&str; 3] = ["__default__", "/default", "*"];

/// Which method handles which endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodTable {
    bound: HashMap<String, String>,
    catch_all: Option<String>,
}

/// A `uses_requests` entry naming a method the executor does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("uses_requests binds {endpoint} to `{method}`, but the executor's methods are: {}", available.join(", "))]
pub struct UnknownMethod {
    /// The `uses_requests` key: an endpoint, or one of [`CATCH_ALL_KEYS`].
    pub endpoint: String,
    /// The method it names.
    pub method: String,
    /// The executor's methods, catch-all included, sorted.
    pub available: Vec<String>,
}

impl MethodTable {
    /// The executor's own bindings, or, when the flow gives `uses_requests`,
    /// those instead (as in Jina, where the executor's `@requests(on=...)`
    /// bindings are replaced and only its catch-all survives unless rebound).
    pub fn new(
        description: &Description,
        uses_requests: &BTreeMap<String, String>,
    ) -> Result<Self, UnknownMethod> {
        let mut table = Self {
            bound: HashMap::new(),
            catch_all: description.catch_all.clone(),
        };
        if uses_requests.is_empty() {
            for method in &description.methods {
                for endpoint in &method.endpoints {
                    table.bound.insert(endpoint.clone(), method.name.clone());
                }
            }
            return Ok(table);
        }
        let known = |name: &str| {
            description.methods.iter().any(|m| m.name == name)
                || description.catch_all.as_deref() == Some(name)
        };
        for (endpoint, method) in uses_requests {
            if !known(method) {
                let mut available: Vec<String> =
                    description.methods.iter().map(|m| m.name.clone()).collect();
                available.extend(description.catch_all.clone());
                available.sort();
                available.dedup();
                return Err(UnknownMethod {
                    endpoint: endpoint.clone(),
                    method: method.clone(),
                    available,
                });
            }
            if CATCH_ALL_KEYS.contains(&endpoint.as_str()) {
                table.catch_all = Some(method.clone());
            } else {
                table.bound.insert(endpoint.clone(), method.clone());
            }
        }
        Ok(table)
    }

    /// The method for `endpoint`; `None` means the executor does not handle it
    /// and the documents pass by untouched, as in Jina.
    pub fn method_for(&self, endpoint: &str) -> Option<&str> {
        self.bound
            .get(endpoint)
            .or(self.catch_all.as_ref())
            .map(String::as_str)
    }

    /// The endpoints bound explicitly (for endpoint discovery).
    pub fn endpoints(&self) -> impl Iterator<Item = &str> {
        self.bound.keys().map(String::as_str)
    }
}

/// Interchangeable instances of one executor and the endpoint table they share: what a
/// batched call needs, without the batching queues themselves (which hold a copy of it).
#[derive(Debug, Clone)]
pub(crate) struct Replicas {
    replicas: Arc<[Executor]>,
    methods: Arc<MethodTable>,
}

impl Replicas {
    /// The executor's name, for errors.
    pub(crate) fn name(&self) -> &str {
        self.replicas.first().map_or("", Executor::name)
    }

    fn pick(&self) -> Option<&Executor> {
        self.replicas.iter().min_by_key(|r| r.in_flight())
    }

    /// Calls `method` on the least busy replica.
    pub(crate) async fn call_method(
        &self,
        method: &str,
        endpoint: &str,
        docs: DocumentBatch,
        parameters: &str,
    ) -> Result<DocumentBatch, CallFailure> {
        match self.pick() {
            Some(replica) => replica.call(method, endpoint, docs, parameters).await,
            None => Ok(docs),
        }
    }
}

/// Interchangeable instances of one executor; each call goes to the least busy, gathered
/// with other requests' documents first where `uses_dynamic_batching` says so.
#[derive(Debug, Clone)]
pub struct ReplicaSet {
    replicas: Replicas,
    batching: Option<Arc<Batching>>,
}

/// `uses_dynamic_batching` and the queues it makes.
#[derive(Debug)]
struct Batching {
    rules: DynamicBatching,
    batcher: Batcher,
}

impl ReplicaSet {
    /// `replicas`, all serving endpoints through `methods`.
    pub fn new(replicas: Vec<Executor>, methods: MethodTable) -> Self {
        Self {
            replicas: Replicas {
                replicas: replicas.into(),
                methods: Arc::new(methods),
            },
            batching: None,
        }
    }

    /// Gathers requests into batched calls on the endpoints and methods `rules` name
    /// (Jina's `uses_dynamic_batching`); nothing changes when it names none.
    pub fn with_dynamic_batching(mut self, rules: DynamicBatching) -> Self {
        self.batching = (!rules.is_empty()).then(|| {
            Arc::new(Batching {
                rules,
                batcher: Batcher::new(self.replicas.clone()),
            })
        });
        self
    }

    /// Every instance of the set.
    pub fn replicas(&self) -> &[Executor] {
        &self.replicas.replicas
    }

    /// The endpoint-to-method table all replicas share.
    pub fn methods(&self) -> &MethodTable {
        &self.replicas.methods
    }

    /// Calls the method bound to `endpoint` on one replica; documents pass
    /// untouched when nothing is bound.
    pub async fn call(
        &self,
        endpoint: &str,
        docs: DocumentBatch,
        parameters: &str,
    ) -> Result<DocumentBatch, CallFailure> {
        let Some(method) = self.replicas.methods.method_for(endpoint) else {
            return Ok(docs);
        };
        if let Some(batching) = &self.batching
            && let Some(rule) = batching.rules.for_call(endpoint, method)
        {
            let policy = BatchPolicy {
                preferred_batch_size: rule.preferred_batch_size.max(1),
                timeout: Duration::from_millis(rule.timeout_ms),
                flush_all: rule.flush_all,
            };
            return batching
                .batcher
                .call(policy, method, endpoint, docs, parameters)
                .await;
        }
        self.replicas
            .call_method(method, endpoint, docs, parameters)
            .await
    }
}

/// An executor the flow does not run itself (`external: true`): reached over the network,
/// it resolves endpoints and replicas on its own side. A deployment may have several, one
/// per shard.
pub trait ExternalExecutor: Send + Sync + std::fmt::Debug {
    /// Sends `docs` to `endpoint`; on failure the documents come back with the error.
    fn call<'a>(
        &'a self,
        endpoint: &'a str,
        docs: DocumentBatch,
        parameters: &'a str,
    ) -> BoxFuture<'a, Result<DocumentBatch, CallFailure>>;

    /// Whether the executor is there to be called (its health check answers SERVING); `Err`
    /// says which executor is not, and why.
    fn ready(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// One executor of the flow, as deployed.
#[derive(Debug)]
pub struct Deployment {
    /// The executor's `name` in the flow, as routes, errors and `target_executor` see it.
    pub name: String,
    /// One replica set per shard; `polling` picks one shard or all for each request.
    pub shards: Vec<ReplicaSet>,
    /// The `uses_before` executor, run ahead of the shards.
    pub before: Option<ReplicaSet>,
    /// The `uses_after` executor, run on the shards' answer.
    pub after: Option<ReplicaSet>,
    /// The executor's `polling:`; `None` means Jina's defaults ([`PollingSpec::for_endpoint`]).
    pub polling: Option<PollingSpec>,
    /// The shards of an `external: true` executor, served elsewhere; then `shards` is
    /// empty, and `before`, `after` and `polling` work as for shards the flow runs.
    pub external: Vec<Arc<dyn ExternalExecutor>>,
    /// `output_array_type` as a numpy dtype: every tensor and embedding of the answer is
    /// converted to it.
    output_dtype: Option<Dtype>,
    next_shard: AtomicUsize,
    /// `name`, shared by the spans of its calls (a span then copies no string).
    traced_as: Arc<str>,
}

impl Deployment {
    /// A deployment the flow runs itself, from its parts.
    pub fn new(
        name: impl Into<String>,
        shards: Vec<ReplicaSet>,
        before: Option<ReplicaSet>,
        after: Option<ReplicaSet>,
        polling: Option<PollingSpec>,
    ) -> Self {
        let name = name.into();
        Self {
            traced_as: name.as_str().into(),
            name,
            shards,
            before,
            after,
            polling,
            external: Vec::new(),
            output_dtype: None,
            next_shard: AtomicUsize::new(0),
        }
    }

    /// Converts every tensor and embedding of the deployment's answers to `dtype` (Jina's
    /// `output_array_type`, given a numpy dtype name).
    pub fn with_output_dtype(mut self, dtype: Option<Dtype>) -> Self {
        self.output_dtype = dtype;
        self
    }

    /// A deployment whose shards are served elsewhere (`external: true`), one remote per
    /// shard, with `uses_before` / `uses_after` run here.
    pub fn external(
        name: impl Into<String>,
        remote_shards: Vec<Arc<dyn ExternalExecutor>>,
        before: Option<ReplicaSet>,
        after: Option<ReplicaSet>,
        polling: Option<PollingSpec>,
    ) -> Self {
        let mut deployment = Self::new(name, Vec::new(), before, after, polling);
        deployment.external = remote_shards;
        deployment
    }

    /// A deployment of one pass-through executor (a node without `uses`).
    pub fn pass_through(name: impl Into<String>) -> Self {
        let name = name.into();
        let replica = Executor::pass_through(name.as_str());
        Self::new(
            name,
            vec![ReplicaSet::new(vec![replica], MethodTable::default())],
            None,
            None,
            None,
        )
    }

    /// Every instance, for shutdown and status.
    pub fn executors(&self) -> impl Iterator<Item = &Executor> {
        self.before
            .iter()
            .chain(&self.shards)
            .chain(&self.after)
            .flat_map(|set| set.replicas())
    }

    /// The endpoints any part binds explicitly (for endpoint discovery); may repeat.
    pub fn endpoints(&self) -> impl Iterator<Item = &str> {
        self.before
            .iter()
            .chain(&self.shards)
            .chain(&self.after)
            .flat_map(|set| set.methods().endpoints())
    }

    /// Runs one request on `endpoint`: `uses_before`, then one shard or all of them (merged
    /// by id), then `uses_after`; shards may be served here or elsewhere. `parameters` is a
    /// JSON object as text. A failure carries the documents the failing part was given.
    pub fn call<'a>(
        &'a self,
        endpoint: &'a str,
        docs: DocumentBatch,
        parameters: &'a str,
    ) -> impl Future<Output = Result<DocumentBatch, CallFailure>> + Send + 'a {
        let work = self.call_parts(endpoint, docs, parameters);
        // Untraced, the call is its parts as they are: no wrapper future to move them into.
        if !flowhost_telemetry::trace::enabled() {
            return Either::Left(work);
        }
        let traced = Traced::executor(&self.traced_as);
        // A combinator, not an async block: a block would hold `work` twice (captured, and
        // moved into the span's future), doubling the size of every call's future.
        Either::Right(traced.run(work).inspect(move |result| {
            if let Err(failure) = result {
                traced.fail(failure.error.exception_name(), &failure.error.to_string());
            }
        }))
    }

    async fn call_parts(
        &self,
        endpoint: &str,
        docs: DocumentBatch,
        parameters: &str,
    ) -> Result<DocumentBatch, CallFailure> {
        let docs = match &self.before {
            Some(before) => before.call(endpoint, docs, parameters).await?,
            None => docs,
        };
        let docs = match self.shard_count() {
            0 => docs,
            1 => self.call_shard(0, endpoint, docs, parameters).await?,
            count => match PollingSpec::for_endpoint(self.polling.as_ref(), endpoint) {
                Polling::Any => {
                    let next = self.next_shard.fetch_add(1, Ordering::Relaxed) % count;
                    self.call_shard(next, endpoint, docs, parameters).await?
                }
                Polling::All => self.call_all(count, endpoint, docs, parameters).await?,
            },
        };
        let mut docs = match &self.after {
            Some(after) => after.call(endpoint, docs, parameters).await?,
            None => docs,
        };
        if let Some(dtype) = self.output_dtype {
            flowhost_docs::cast_batch(&mut docs, dtype);
        }
        Ok(docs)
    }

    fn shard_count(&self) -> usize {
        if self.external.is_empty() {
            self.shards.len()
        } else {
            self.external.len()
        }
    }

    async fn call_shard(
        &self,
        shard: usize,
        endpoint: &str,
        docs: DocumentBatch,
        parameters: &str,
    ) -> Result<DocumentBatch, CallFailure> {
        match self.external.get(shard) {
            Some(remote) => remote.call(endpoint, docs, parameters).await,
            None => match self.shards.get(shard) {
                Some(set) => set.call(endpoint, docs, parameters).await,
                None => Ok(docs),
            },
        }
    }

    async fn call_all(
        &self,
        count: usize,
        endpoint: &str,
        docs: DocumentBatch,
        parameters: &str,
    ) -> Result<DocumentBatch, CallFailure> {
        let calls =
            (0..count).map(|shard| self.call_shard(shard, endpoint, docs.clone(), parameters));
        let answers = futures::future::join_all(calls).await;
        let mut merged = Vec::with_capacity(answers.len());
        for answer in answers {
            match answer {
                Ok(batch) => merged.push(batch),
                Err(failure) => {
                    return Err(CallFailure {
                        error: failure.error,
                        docs,
                    });
                }
            }
        }
        Ok(flowhost_docs::merge::reduce(merged))
    }
}
