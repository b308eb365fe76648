//! `external: true` executors: another flowhost (`flowhost executor serve`) or
//! any Jina-compatible gateway, reached with the gRPC client.

use std::path::PathBuf;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::client::{Client, RequestError};
use crate::docs::DocumentBatch;
use crate::router::{ExternalExecutor, Request};
use crate::runtime::{CallError, CallFailure, Fault};

/// The system's CA bundle, trusted for `tls: true` unless `SSL_CERT_FILE` names another.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[derive(Debug)]
pub struct RemoteExecutor {
    name: String,
    address: String,
    client: Client,
}

impl RemoteExecutor {
    /// Reaches `host:port` over gRPC; with `tls`, trusts `SSL_CERT_FILE` (the
    /// variable OpenSSL reads) or the system bundle.
    pub fn new(name: &str, host: &str, port: u16, tls: bool) -> Self {
        let mut client = Client::new(host, port).request_size(usize::MAX);
        if tls {
            let ca = std::env::var_os("SSL_CERT_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(SYSTEM_CA_BUNDLE));
            client = client.tls_ca(ca);
        }
        Self {
            name: name.to_owned(),
            address: format!("{host}:{port}"),
            client,
        }
    }

    fn failure(&self, endpoint: &str, docs: DocumentBatch, error: RequestError) -> CallFailure {
        let error = match error {
            RequestError::Executor(info) => CallError::Failed {
                executor: self.name.clone(),
                method: format!("{} (at {})", info.executor, self.address),
                endpoint: endpoint.to_owned(),
                fault: Fault::Raised(crate::runtime::bindings::ExecutorError {
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
            match self.client.send(vec![request]).await {
                Ok(mut results) => match results.pop() {
                    Some(Ok(response)) => Ok(response.docs),
                    Some(Err(error)) => Err(self.failure(endpoint, docs, error)),
                    None => {
                        Err(self.failure(endpoint, docs, RequestError::Lost("no reply".into())))
                    }
                },
                Err(error) => Err(CallFailure {
                    error: CallError::Unavailable {
                        executor: self.name.clone(),
                        reason: error.to_string(),
                    },
                    docs,
                }),
            }
        })
    }
}
