//! `external: true` executors: another flowhost (`flowhost executor serve`) or Jina's
//! `jina executor`, called as Jina's gateway calls its executors.
//!
//! One persistent channel per address ([`Peer`]), so a call costs a stream, not a connection.
//! `timeout_send` bounds each attempt; a call that did not reach the executor is tried again,
//! on the next replica's address, `retries` times (Jina's count: unset or negative is
//! `max(3, replicas) + 1` attempts in all); one the executor answered, even with an error, is
//! never repeated. The far side is as untrusted as a guest: replies are size-limited by the
//! client, and their documents are validated like a guest's output before they go on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use flowhost_client::{Peer, PeerError};
use flowhost_docs::DocumentBatch;
use flowhost_router::ExternalExecutor;
use flowhost_runtime::{CallError, CallFailure, Fault};
use flowhost_telemetry::{IntGauge, RemoteMetrics, RemoteOutcome};
use flowhost_wire::{Request, Response, Status};

/// Attempts at least, when `retries` is unset or negative (Jina's `DEFAULT_MINIMUM_RETRIES`).
const MINIMUM_RETRIES: usize = 3;
/// The pause before the second attempt; it doubles for each further one, up to the cap.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// How long a readiness check waits for each peer's health answer.
const HEALTH_DEADLINE: Duration = Duration::from_secs(2);

/// An `external: true` executor: one or more addresses (its replicas), each with its own
/// persistent channel.
#[derive(Debug)]
pub struct RemoteExecutor {
    name: String,
    peers: Vec<Peer>,
    /// Where the next call starts (round robin over the replicas).
    next: AtomicUsize,
    /// Jina's `timeout_send`: how long one attempt may take, connecting included. `None`
    /// waits for ever (`timeout_send: -1`).
    deadline: Option<Duration>,
    attempts: usize,
    metrics: Option<Measured>,
}

/// The executor's handles and one connection-state gauge per peer, in `peers` order.
#[derive(Debug)]
struct Measured {
    metrics: Arc<RemoteMetrics>,
    connected: Vec<IntGauge>,
}

impl RemoteExecutor {
    /// Calls the executor `name` at `peers` (at least one), each attempt within `deadline`,
    /// with Jina's `retries` (`None` or negative: `max(3, replicas)` retries).
    pub fn new(
        name: &str,
        peers: Vec<Peer>,
        deadline: Option<Duration>,
        retries: Option<i64>,
    ) -> Self {
        let attempts = match retries {
            Some(retries) if retries >= 0 => 1 + retries as usize,
            _ => MINIMUM_RETRIES.max(peers.len()) + 1,
        };
        Self {
            name: name.to_owned(),
            peers,
            next: AtomicUsize::new(0),
            deadline,
            attempts,
            metrics: None,
        }
    }

    /// Counts every attempt and each address's state in `metrics` (`monitoring: true`).
    pub fn measured(mut self, metrics: Option<Arc<RemoteMetrics>>) -> Self {
        self.metrics = metrics.map(|metrics| Measured {
            connected: (self.peers.iter())
                .map(|peer| metrics.address(peer.address()))
                .collect(),
            metrics,
        });
        self
    }

    /// Records one attempt on peer `index`.
    fn record(
        &self,
        index: usize,
        outcome: &Result<Response, PeerError>,
        took: Duration,
        retry: bool,
    ) {
        let Some(measured) = &self.metrics else {
            return;
        };
        let kind = match outcome {
            Ok(_) => RemoteOutcome::Answered,
            Err(PeerError::TimedOut { .. }) => RemoteOutcome::Timeout,
            Err(PeerError::Unreachable { .. }) => RemoteOutcome::Unreachable,
            Err(PeerError::Refused { .. }) => RemoteOutcome::Refused,
        };
        measured.metrics.attempt(kind, took, retry);
        if let Some(gauge) = measured.connected.get(index) {
            gauge.set(i64::from(!matches!(
                kind,
                RemoteOutcome::Unreachable | RemoteOutcome::Timeout
            )));
        }
    }

    /// Sends `request` until it is answered or the attempts run out, trying each replica once
    /// before any twice.
    async fn send(&self, request: &Request) -> Result<Response, PeerError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let traceparent = flowhost_telemetry::trace::traceparent();
        let mut backoff = FIRST_BACKOFF;
        let mut last = None;
        for attempt in 0..self.attempts {
            if attempt > 0 {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            let index = (start + attempt) % self.peers.len().max(1);
            let Some(peer) = self.peers.get(index) else {
                break;
            };
            let sent = Instant::now();
            let outcome = peer
                .process(request, self.deadline, traceparent.as_deref())
                .await;
            self.record(index, &outcome, sent.elapsed(), attempt > 0);
            match outcome {
                Err(error) if error.is_retryable() => {
                    tracing::debug!(executor = %self.name, attempt, %error, "remote call not answered");
                    last = Some(error);
                }
                answered => return answered,
            }
        }
        Err(last.unwrap_or_else(|| PeerError::Unreachable {
            address: self.addresses(),
            reason: "the executor has no address to call".into(),
        }))
    }

    fn addresses(&self) -> String {
        (self.peers.iter().map(Peer::address))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn unreachable(&self, docs: DocumentBatch, error: &PeerError) -> CallFailure {
        let reason = match (error, self.deadline) {
            (PeerError::Unreachable { .. } | PeerError::TimedOut { .. }, Some(deadline)) => {
                format!(
                    "{error} (after {} attempt(s), each within its timeout_send of {} ms)",
                    self.attempts,
                    deadline.as_millis()
                )
            }
            (PeerError::Unreachable { .. } | PeerError::TimedOut { .. }, None) => {
                format!("{error} (after {} attempt(s))", self.attempts)
            }
            (PeerError::Refused { .. }, _) => error.to_string(),
        };
        CallFailure {
            error: CallError::Unavailable {
                executor: self.name.clone(),
                reason,
            },
            docs,
        }
    }

    fn failed(&self, endpoint: &str, docs: DocumentBatch, fault: Fault, at: &str) -> CallFailure {
        CallFailure {
            error: CallError::Failed {
                executor: self.name.clone(),
                method: at.to_owned(),
                endpoint: endpoint.to_owned(),
                fault,
            },
            docs,
        }
    }
}

impl ExternalExecutor for RemoteExecutor {
    fn call<'a>(
        &'a self,
        endpoint: &'a str,
        docs: DocumentBatch,
        parameters: &'a str,
    ) -> BoxFuture<'a, Result<DocumentBatch, CallFailure>> {
        Box::pin(async move {
            let parameters: Map<String, Value> =
                serde_json::from_str(parameters).unwrap_or_default();
            let request = Request::new(endpoint, docs.clone()).with_parameters(parameters);
            let response = match self.send(&request).await {
                Ok(response) => response,
                Err(error) => return Err(self.unreachable(docs, &error)),
            };
            if let Status::Error(info) = response.status {
                let fault = Fault::Raised(flowhost_docs::ExecutorError {
                    name: info.name,
                    message: info.args.join("; "),
                    details: (!info.stacks.is_empty()).then(|| info.stacks.join("\n")),
                });
                let at = format!("{} (at {})", info.executor, self.addresses());
                return Err(self.failed(endpoint, docs, fault, &at));
            }
            match flowhost_docs::validate(&response.docs) {
                Ok(()) => Ok(response.docs),
                Err(error) => {
                    let fault = Fault::InvalidOutput(error.to_string());
                    let at = format!("(at {})", self.addresses());
                    Err(self.failed(endpoint, docs, fault, &at))
                }
            }
        })
    }

    fn ready(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let checks = self
                .peers
                .iter()
                .map(|peer| peer.is_serving(HEALTH_DEADLINE));
            let serving = futures::future::join_all(checks).await;
            if let Some(measured) = &self.metrics {
                for (gauge, up) in measured.connected.iter().zip(&serving) {
                    gauge.set(i64::from(*up));
                }
            }
            // Like a replica set: ready while one replica serves.
            if serving.iter().any(|up| *up) {
                Ok(())
            } else {
                Err(format!(
                    "executor `{}` does not answer its health check at {}",
                    self.name,
                    self.addresses()
                ))
            }
        })
    }
}
