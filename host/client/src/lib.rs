//! The Rust client of a flow's gateway: Jina's client, in Rust.
//!
//! `Client::new(host, port)` speaks gRPC by default (`.protocol(..)` picks HTTP or
//! WebSocket), optionally over TLS (`.tls_ca(..)`) and with gzip/deflate (`.compression(..)`).
//! `post` splits documents into requests of `request_size` documents and keeps up to
//! `prefetch` of them in flight; every request gets its own result, so one failing request
//! does not hide the others.
//!
//! Must not know the server side: it shares only the wire (`flowhost_wire`) with the gateway,
//! so a client-side change cannot reach into how requests are served or routed.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod grpc;
mod http;
mod link;
mod peer;
mod tls;
mod ws;

pub use peer::{Peer, PeerError};

use std::path::PathBuf;

use serde_json::{Map, Value};

use flowhost_docs::DocumentBatch;
use flowhost_wire::protobuf as convert;
use flowhost_wire::{Compression, Protocol};
use flowhost_wire::{ExceptionInfo, Request, Response, Status};

/// Why a whole call failed (nothing was answered).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection (refused, timed out, unresolvable).
    #[error("cannot connect to the gateway at {address}: {reason}")]
    Connect {
        /// `host:port`.
        address: String,
        /// The transport's reason.
        reason: String,
    },
    /// The certificates could not be read, or the handshake failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// `grpc_metadata` that gRPC cannot carry.
    #[error("grpc_metadata: {0}")]
    Metadata(String),
    /// The connection broke before every request was sent.
    #[error("the gateway at {address} broke off: {reason}")]
    Transport {
        /// `host:port`.
        address: String,
        /// The transport's reason.
        reason: String,
    },
}

/// Why one request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// An executor raised; Jina's exception fields.
    #[error("{}", .0.description)]
    Executor(ExceptionInfo),
    /// The gateway refused the request (HTTP 400, gRPC INVALID_ARGUMENT, a BadRequest reply).
    #[error("the gateway refused the request: {0}")]
    Rejected(String),
    /// The request was sent but no answer came back.
    #[error("no answer: {0}")]
    Lost(String),
}

/// The outcome of one request.
pub type RequestResult = Result<Response, RequestError>;

/// A client of one gateway: where it is, how to speak to it, and how to split and pace
/// requests. Cheap to clone; each call opens its own connections.
#[derive(Debug, Clone)]
pub struct Client {
    host: String,
    port: u16,
    protocol: Protocol,
    trust: Option<Trust>,
    compression: Option<Compression>,
    request_size: usize,
    prefetch: usize,
    connect_timeout: std::time::Duration,
    max_reply_size: usize,
}

/// Which certificates the client trusts over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The operating system's store, through `rustls-native-certs` (which honours OpenSSL's
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR`).
    System,
    /// The certificates in one PEM file: a CA, or the server's own.
    CaFile(PathBuf),
}

/// The largest reply the client takes by default: the gateway's default request limit, since
/// a reply is a request's documents after the flow.
pub const DEFAULT_MAX_REPLY_SIZE: usize = 64 << 20;

/// How long connecting (TCP and TLS) may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Client {
    /// A gRPC client of the gateway at `host:port`, 100 documents a request, 100 requests
    /// in flight.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            protocol: Protocol::Grpc,
            trust: None,
            compression: None,
            request_size: 100,
            prefetch: 100,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_reply_size: DEFAULT_MAX_REPLY_SIZE,
        }
    }

    /// How long connecting (TCP and TLS) may take ([`DEFAULT_CONNECT_TIMEOUT`] by default).
    pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The largest reply taken, in bytes (decompressed); a larger one fails its request.
    pub fn max_reply_size(mut self, bytes: usize) -> Self {
        self.max_reply_size = bytes;
        self
    }

    /// Speak this protocol (gRPC by default).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Use TLS, trusting the certificates in this PEM file (a CA or the server's own).
    pub fn tls_ca(mut self, ca_file: impl Into<PathBuf>) -> Self {
        self.trust = Some(Trust::CaFile(ca_file.into()));
        self
    }

    /// Use TLS, trusting the operating system's certificate store (as a browser would).
    pub fn tls_system_roots(mut self) -> Self {
        self.trust = Some(Trust::System);
        self
    }

    /// gRPC compression of requests (replies are accepted gzip or deflate either way).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression).filter(|c| *c != Compression::NoCompression);
        self
    }

    /// Documents per request (at least 1).
    pub fn request_size(mut self, size: usize) -> Self {
        self.request_size = size.max(1);
        self
    }

    /// Requests in flight at once (at least 1).
    pub fn prefetch(mut self, prefetch: usize) -> Self {
        self.prefetch = prefetch.max(1);
        self
    }

    fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The origin its HTTP/2 calls go to: `http://host:port`, or `https://` over TLS.
    fn http2_origin(&self) -> String {
        let scheme = if self.trust.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.address())
    }

    /// Whether the flow is ready (Jina's `dry_run`).
    pub async fn dry_run(&self) -> Result<bool, ClientError> {
        match self.protocol {
            Protocol::Grpc => grpc::dry_run(self).await,
            Protocol::Http => http::dry_run(self).await,
            Protocol::Websocket => ws::dry_run(self).await,
        }
    }

    /// Sends `docs` to `endpoint` in requests of `request_size` documents; one result per
    /// request, in request order.
    pub async fn post(
        &self,
        endpoint: &str,
        docs: DocumentBatch,
        parameters: Map<String, Value>,
    ) -> Result<Vec<RequestResult>, ClientError> {
        let requests = split(endpoint, docs, &parameters, self.request_size);
        self.send(requests).await
    }

    /// Sends prepared requests, `prefetch` at a time; one result per request, in order.
    pub async fn send(&self, requests: Vec<Request>) -> Result<Vec<RequestResult>, ClientError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let results = match self.protocol {
            Protocol::Grpc => grpc::send(self, requests).await?,
            Protocol::Http => http::send(self, requests).await?,
            Protocol::Websocket => ws::send(self, requests).await?,
        };
        Ok(results)
    }
}

/// The results of a stream of requests, filled in as replies come back in any order
/// (matched by request id).
struct ReplyBook {
    index: std::collections::HashMap<String, usize>,
    results: Vec<Option<RequestResult>>,
    answered: usize,
}

impl ReplyBook {
    fn new(requests: &[Request]) -> ReplyBook {
        ReplyBook {
            index: requests
                .iter()
                .enumerate()
                .map(|(i, r)| (r.request_id.clone(), i))
                .collect(),
            results: (0..requests.len()).map(|_| None).collect(),
            answered: 0,
        }
    }

    /// Every request has its answer.
    fn complete(&self) -> bool {
        self.answered == self.results.len()
    }

    /// Files `reply` under the request it answers; a reply to an unknown or already
    /// answered request is dropped.
    fn file(&mut self, reply: flowhost_wire::proto::jina::DataRequestProto) {
        let id = reply
            .header
            .as_ref()
            .map(|h| h.request_id.clone())
            .unwrap_or_default();
        let result = match convert::response_from_proto(reply) {
            Ok(response) => judge(response),
            Err(error) => Err(RequestError::Lost(format!("unreadable reply: {error}"))),
        };
        if let Some(&i) = self.index.get(&id)
            && self.results[i].is_none()
        {
            self.results[i] = Some(result);
            self.answered += 1;
        }
    }

    /// Every request still unanswered is lost for `reason`.
    fn lose_unanswered(&mut self, reason: &str) {
        for slot in self.results.iter_mut().filter(|s| s.is_none()) {
            *slot = Some(Err(RequestError::Lost(reason.to_owned())));
        }
    }

    /// The results in request order; a request never answered is lost for `reason`.
    fn finish(mut self, reason: &str) -> Vec<RequestResult> {
        self.lose_unanswered(reason);
        self.results.into_iter().flatten().collect()
    }
}

/// An answer as a per-request result: an error status becomes [`RequestError`].
fn judge(response: Response) -> RequestResult {
    match &response.status {
        Status::Success => Ok(response),
        Status::Error(info) if info.as_refusal().is_some() => {
            Err(RequestError::Rejected(info.args.join("; ")))
        }
        Status::Error(info) => Err(RequestError::Executor(info.clone())),
    }
}

/// Splits documents into requests of `size` top-level documents (with their chunks and
/// matches). An empty batch is one empty request.
pub fn split(
    endpoint: &str,
    docs: DocumentBatch,
    parameters: &Map<String, Value>,
    size: usize,
) -> Vec<Request> {
    let trees = convert::batch_into_proto(docs);
    let mut requests = Vec::new();
    let mut trees = trees.into_iter().peekable();
    loop {
        let part: Vec<_> = trees.by_ref().take(size.max(1)).collect();
        if part.is_empty() && !requests.is_empty() {
            break;
        }
        let batch =
            convert::batch_from_proto(part).unwrap_or_else(|_| flowhost_docs::empty_batch());
        requests.push(Request::new(endpoint, batch).with_parameters(parameters.clone()));
        if trees.peek().is_none() {
            break;
        }
    }
    requests
}
