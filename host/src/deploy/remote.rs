//! `external: true` executors: another flowhost (`flowhost executor serve`) or
//! any Jina-compatible gateway, reached with the gRPC client.
//!
//! The far side is as untrusted as a guest: every call has a deadline (`timeout_send`), a
//! connection attempt has its own, replies are size-limited by the client, and the documents
//! that come back are validated like a guest's output before they go on.

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use flowhost_client::{Client, DEFAULT_CONNECT_TIMEOUT, RequestError};
use flowhost_docs::DocumentBatch;
use flowhost_router::ExternalExecutor;
use flowhost_runtime::{CallError, CallFailure, Fault};
use flowhost_wire::Request;

/// An `external: true` executor: a gateway elsewhere (flowhost's or Jina's) reached through
/// the gRPC client, answering as untrusted as a guest (deadline, reply size, validation).
#[derive(Debug)]
pub struct RemoteExecutor {
    name: String,
    address: String,
    client: Client,
    /// Jina's `timeout_send`: how long one call may take, connecting included. `None` waits
    /// for ever (`timeout_send: -1`).
    deadline: Option<Duration>,
}

impl RemoteExecutor {
    /// Reaches `host:port` over gRPC; with `tls`, trusts the system's certificate store (or
    /// `SSL_CERT_FILE` / `SSL_CERT_DIR`, the variables OpenSSL reads). Each call must finish
    /// within `deadline`.
    pub fn new(name: &str, host: &str, port: u16, tls: bool, deadline: Option<Duration>) -> Self {
        // The client's connect timeout, or less when `timeout_send` is shorter.
        let connect_timeout =
            deadline.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.min(DEFAULT_CONNECT_TIMEOUT));
        let mut client = Client::new(host, port)
            .request_size(usize::MAX)
            .connect_timeout(connect_timeout);
        if tls {
            client = client.tls_system_roots();
        }
        Self {
            name: name.to_owned(),
            address: format!("{host}:{port}"),
            client,
            deadline,
        }
    }

    fn unavailable(&self, docs: DocumentBatch, reason: String) -> CallFailure {
        CallFailure {
            error: CallError::Unavailable {
                executor: self.name.clone(),
                reason,
            },
            docs,
        }
    }

    fn failure(&self, endpoint: &str, docs: DocumentBatch, error: RequestError) -> CallFailure {
        let error = match error {
            RequestError::Executor(info) => CallError::Failed {
                executor: self.name.clone(),
                method: format!("{} (at {})", info.executor, self.address),
                endpoint: endpoint.to_owned(),
                fault: Fault::Raised(flowhost_docs::ExecutorError {
                    name: info.name,
                    message: info.args.join("; "),
                    details: (!info.stacks.is_empty()).then(|| info.stacks.join("\n")),
                }),
            },
            other => CallError::Unavailable {
                executor: self.name.clone(),
                reason: format!("{} at {}", other, self.address),
            },
        };
        CallFailure { error, docs }
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
            let sent = self.client.send(vec![request]);
            let outcome = match self.deadline {
                Some(deadline) => match tokio::time::timeout(deadline, sent).await {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        let reason = format!(
                            "no answer from {} within its timeout_send of {} ms",
                            self.address,
                            deadline.as_millis()
                        );
                        return Err(self.unavailable(docs, reason));
                    }
                },
                None => sent.await,
            };
            let response = match outcome {
                Ok(mut results) => match results.pop() {
                    Some(Ok(response)) => response,
                    Some(Err(error)) => return Err(self.failure(endpoint, docs, error)),
                    None => {
                        let error = RequestError::Lost("no reply".into());
                        return Err(self.failure(endpoint, docs, error));
                    }
                },
                Err(error) => return Err(self.unavailable(docs, error.to_string())),
            };
            match flowhost_docs::validate(&response.docs) {
                Ok(()) => Ok(response.docs),
                Err(error) => Err(CallFailure {
                    error: CallError::Failed {
                        executor: self.name.clone(),
                        method: format!("(at {})", self.address),
                        endpoint: endpoint.to_owned(),
                        fault: Fault::InvalidOutput(error.to_string()),
                    },
                    docs,
                }),
            }
        })
    }
}
