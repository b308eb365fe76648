//! Jina's dynamic batching (`uses_dynamic_batching`): requests to one endpoint of one
//! executor are gathered into one call, and the answer is handed back per request.
//!
//! As in Jina's `BatchQueue`, there is one queue per endpoint and per request parameters
//! (requests with different parameters are never called together, since a call has one set
//! of them). A queue flushes when it holds `preferred_batch_size` documents, or `timeout`
//! after the first one arrived; the gathered documents then go out in calls of at most
//! `preferred_batch_size` documents (all in one call with `flush_all`), a request's
//! documents split across calls when they do not fit. Each call must answer as many
//! top-level documents as it was given, in order: that is how the answer is split back.
//! A failed call fails every request with documents in it, each getting the error and its
//! own documents back.
//!
//! Unlike Jina, where each replica has its own queues, the queues sit in front of a
//! shard's replica set: a batch goes to the least busy replica, and the calls of one flush
//! run at once, so replicas share the gathered work.
//!
//! A queue is a task that owns nothing but the replicas: it ends once its executor is
//! dropped (or after a quiet spell, to be made again by the next request), so neither a
//! reloaded flow nor clients sending ever-new parameters leave tasks behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use flowhost_docs::{DocumentBatch, empty_batch, merge, split_roots};
use flowhost_runtime::{CallError, CallFailure, Fault};

use crate::deployment::Replicas;

/// When a queue flushes and how it splits what it gathered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchPolicy {
    /// Documents that make a call; a queue holding this many flushes at once. At least 1.
    pub(crate) preferred_batch_size: usize,
    /// How long the first request of a batch waits for others.
    pub(crate) timeout: Duration,
    /// Send everything gathered in one call rather than in calls of `preferred_batch_size`.
    pub(crate) flush_all: bool,
}

/// Requests a queue may hold before senders wait: backpressure, not a drop.
const QUEUE_CAPACITY: usize = 1024;

/// How long a queue with nothing to do lives on.
const IDLE: Duration = Duration::from_secs(10);

/// The batching queues of one shard's replica set, one per endpoint and parameters.
pub(crate) struct Batcher {
    replicas: Replicas,
    queues: Mutex<HashMap<QueueKey, mpsc::Sender<Pending>>>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct QueueKey {
    endpoint: String,
    method: String,
    parameters: String,
}

/// One request waiting in a queue.
struct Pending {
    docs: DocumentBatch,
    reply: oneshot::Sender<Result<DocumentBatch, CallFailure>>,
}

impl Batcher {
    pub(crate) fn new(replicas: Replicas) -> Self {
        Self {
            replicas,
            queues: Mutex::new(HashMap::new()),
        }
    }

    /// Queues `docs` for `method` on `endpoint` and waits for this request's share of the
    /// answer.
    pub(crate) async fn call(
        &self,
        policy: BatchPolicy,
        method: &str,
        endpoint: &str,
        docs: DocumentBatch,
        parameters: &str,
    ) -> Result<DocumentBatch, CallFailure> {
        let key = QueueKey {
            endpoint: endpoint.to_owned(),
            method: method.to_owned(),
            parameters: parameters.to_owned(),
        };
        let (reply, answer) = oneshot::channel();
        let mut pending = Pending { docs, reply };
        // A queue that has just gone quiet refuses the send and hands the request back:
        // it goes to a fresh queue, never lost.
        loop {
            let queue = self.queue(&key, policy);
            match queue.send(pending).await {
                Ok(()) => break,
                Err(mpsc::error::SendError(back)) => {
                    pending = back;
                    self.forget(&key, &queue);
                }
            }
        }
        match answer.await {
            Ok(result) => result,
            // Only a panicking flush drops a reply; the documents went with it.
            Err(_) => Err(CallFailure {
                error: CallError::Unavailable {
                    executor: self.replicas.name().to_owned(),
                    reason: "its batching queue stopped".into(),
                },
                docs: empty_batch(),
            }),
        }
    }

    fn queue(&self, key: &QueueKey, policy: BatchPolicy) -> mpsc::Sender<Pending> {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(queue) = queues.get(key).filter(|queue| !queue.is_closed()) {
            return queue.clone();
        }
        // Clients choose parameters: drop queues that have ended before adding one.
        queues.retain(|_, queue| !queue.is_closed());
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run_queue(
            self.replicas.clone(),
            key.clone(),
            policy,
            receiver,
        ));
        queues.insert(key.clone(), sender.clone());
        sender
    }

    fn forget(&self, key: &QueueKey, closed: &mpsc::Sender<Pending>) {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        if queues
            .get(key)
            .is_some_and(|queue| queue.same_channel(closed))
        {
            queues.remove(key);
        }
    }
}

/// Gathers requests into batches until every sender is gone or the queue has been idle.
async fn run_queue(
    replicas: Replicas,
    key: QueueKey,
    policy: BatchPolicy,
    mut requests: mpsc::Receiver<Pending>,
) {
    let key = Arc::new(key);
    loop {
        let first = match tokio::time::timeout(IDLE, requests.recv()).await {
            Ok(Some(first)) => first,
            Ok(None) => return,
            Err(_idle) => {
                // Refuse new requests, then serve the ones that slipped in.
                requests.close();
                let mut late = Vec::new();
                while let Some(pending) = requests.recv().await {
                    late.push(pending);
                }
                if !late.is_empty() {
                    flush(replicas.clone(), key.clone(), policy, late).await;
                }
                return;
            }
        };
        let deadline = Instant::now() + policy.timeout;
        let mut documents = first.docs.roots.len();
        let mut gathered = vec![first];
        while documents < policy.preferred_batch_size {
            match tokio::time::timeout_at(deadline, requests.recv()).await {
                Ok(Some(pending)) => {
                    documents += pending.docs.roots.len();
                    gathered.push(pending);
                }
                Ok(None) | Err(_) => break,
            }
        }
        // The next batch gathers while this one runs.
        tokio::spawn(flush(replicas.clone(), key.clone(), policy, gathered));
    }
}

/// One request's documents in one call.
struct Piece {
    request: usize,
    docs: DocumentBatch,
}

/// Calls the executor on what was gathered and answers every request.
async fn flush(
    replicas: Replicas,
    key: Arc<QueueKey>,
    policy: BatchPolicy,
    gathered: Vec<Pending>,
) {
    let size = if policy.flush_all {
        usize::MAX
    } else {
        policy.preferred_batch_size.max(1)
    };
    let mut replies = Vec::with_capacity(gathered.len());
    let mut calls: Vec<Vec<Piece>> = vec![Vec::new()];
    let mut room = size;
    for (request, Pending { docs, reply }) in gathered.into_iter().enumerate() {
        replies.push(reply);
        let mut docs = docs;
        loop {
            let count = docs.roots.len();
            if count <= room {
                room -= count;
                push_piece(&mut calls, request, docs);
                break;
            }
            // Fill this call, carry the rest to the next.
            let (head, tail) = split_in_two(docs, room);
            push_piece(&mut calls, request, head);
            calls.push(Vec::new());
            room = size;
            docs = tail;
        }
        if room == 0 {
            calls.push(Vec::new());
            room = size;
        }
    }
    calls.retain(|pieces| !pieces.is_empty());

    let answers = futures::future::join_all(
        calls
            .into_iter()
            .map(|pieces| call_with(&replicas, &key, pieces)),
    )
    .await;

    // Each request's pieces, in order, and the first error any of its calls met.
    let mut outcomes: Vec<(Vec<DocumentBatch>, Option<CallError>)> =
        (0..replies.len()).map(|_| (Vec::new(), None)).collect();
    for answer in answers {
        for (piece, error) in answer {
            let (pieces, failed) = &mut outcomes[piece.request];
            pieces.push(piece.docs);
            if failed.is_none() {
                *failed = error;
            }
        }
    }
    for (reply, (pieces, error)) in replies.into_iter().zip(outcomes) {
        let docs = match pieces.len() {
            1 => pieces.into_iter().next().unwrap_or_else(empty_batch),
            _ => merge::concat(pieces),
        };
        let _ = reply.send(match error {
            None => Ok(docs),
            Some(error) => Err(CallFailure { error, docs }),
        });
    }
}

fn push_piece(calls: &mut [Vec<Piece>], request: usize, docs: DocumentBatch) {
    if let Some(last) = calls.last_mut() {
        last.push(Piece { request, docs });
    }
}

/// The first `head` top-level documents and the rest.
fn split_in_two(docs: DocumentBatch, head: usize) -> (DocumentBatch, DocumentBatch) {
    let rest = docs.roots.len().saturating_sub(head);
    match split_roots(docs, &[head, rest]).map(<[DocumentBatch; 2]>::try_from) {
        Ok(Ok([head, tail])) => (head, tail),
        // The sizes add up by construction; nothing to lose if they ever did not.
        _ => (empty_batch(), empty_batch()),
    }
}

/// One call with the pieces of one or more requests; gives each piece back answered, or as
/// sent with the call's error.
async fn call_with(
    replicas: &Replicas,
    key: &QueueKey,
    pieces: Vec<Piece>,
) -> Vec<(Piece, Option<CallError>)> {
    let sizes: Vec<usize> = pieces.iter().map(|p| p.docs.roots.len()).collect();
    let sent: usize = sizes.iter().sum();
    let requests: Vec<usize> = pieces.iter().map(|p| p.request).collect();
    let batch = match pieces.len() {
        1 => pieces
            .into_iter()
            .next()
            .map(|p| p.docs)
            .unwrap_or_else(empty_batch),
        _ => merge::concat(pieces.into_iter().map(|p| p.docs)),
    };
    let (docs, error) = match replicas
        .call_method(&key.method, &key.endpoint, batch, &key.parameters)
        .await
    {
        Ok(answer) if answer.roots.len() == sent => (answer, None),
        Ok(answer) => {
            // Jina's check: without one answer per document there is no telling whose is whose.
            let error = CallError::Failed {
                executor: replicas.name().to_owned(),
                method: key.method.clone(),
                endpoint: key.endpoint.clone(),
                fault: Fault::InvalidOutput(format!(
                    "dynamic batching needs as many documents back as were sent: sent {sent}, got {}",
                    answer.roots.len()
                )),
            };
            tracing::warn!(executor = replicas.name(), %error, "batched call answered the wrong count");
            // The answer cannot be split: each request gets nothing of it, and the error.
            let docs = requests.iter().map(|&request| {
                (
                    Piece {
                        request,
                        docs: empty_batch(),
                    },
                    Some(error.clone()),
                )
            });
            return docs.collect();
        }
        Err(failure) => (failure.docs, Some(failure.error)),
    };
    let parts = match split_roots(docs, &sizes) {
        Ok(parts) => parts,
        Err(_) => sizes.iter().map(|_| empty_batch()).collect(),
    };
    requests
        .into_iter()
        .zip(parts)
        .map(|(request, docs)| (Piece { request, docs }, error.clone()))
        .collect()
}
