//! One HTTP/2 connection to a peer, made when the first call needs it and made again when a
//! call finds it closed, used as the transport under tonic's generated clients.
//!
//! tonic's own `Channel` puts a `tower::Buffer` in front of its connection: every call is
//! handed to the buffer's task, which hands it on to the connection. That task hop cost a
//! sequential remote call 5–8 µs of its 110–120 µs on loopback here (BENCHMARKS.md). A call
//! through a [`Link`] goes from the caller's task straight into the HTTP/2 connection's
//! shared state, as a bare `hyper` client does.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tonic::body::Body;
use tonic::codegen::http;

use super::{Client, ClientError, Trust, tls};

/// How often an idle connection is pinged, and how long a ping may go unanswered before the
/// connection counts as dead (Jina's executor channels ping every 10 s, 5 s timeout).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A peer's connection, shared by every clone; see the module's doc.
#[derive(Clone)]
pub(crate) struct Link(Arc<Shared>);

struct Shared {
    host: String,
    address: String,
    trust: Option<Trust>,
    connect_timeout: Duration,
    /// The open connection's sender, if there is one.
    open: Mutex<Option<SendRequest<Body>>>,
    /// Held while connecting, so calls that find the connection closed at once make one new
    /// connection between them, not one each.
    connecting: tokio::sync::Mutex<()>,
}

/// Why a call did not get through the link.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    /// The connection could not be made: TCP, TLS or the HTTP/2 handshake.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The connection broke, or refused the call.
    #[error("{0}")]
    Http(#[source] hyper::Error),
}

impl Link {
    /// The link to the gateway or executor `client` names; nothing is connected yet.
    pub(crate) fn new(client: &Client) -> Self {
        Self(Arc::new(Shared {
            host: client.host.clone(),
            address: client.address(),
            trust: client.trust.clone(),
            connect_timeout: client.connect_timeout,
            open: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
        }))
    }

    /// The URI the link's calls are addressed to (their `:scheme` and `:authority`).
    pub(crate) fn origin(&self) -> http::Uri {
        let scheme = if self.0.trust.is_some() {
            "https"
        } else {
            "http"
        };
        // `address` is a host and a port, which always make an authority.
        http::Uri::try_from(format!("{scheme}://{}", self.0.address)).unwrap_or_default()
    }

    /// The open connection's sender, connecting first if there is none or it has closed.
    async fn sender(&self) -> Result<SendRequest<Body>, LinkError> {
        if let Some(open) = self.open_sender() {
            return Ok(open);
        }
        let _connecting = self.0.connecting.lock().await;
        // Another call may have connected while this one waited.
        if let Some(open) = self.open_sender() {
            return Ok(open);
        }
        let sender = self.connect().await?;
        *self.lock_open() = Some(sender.clone());
        Ok(sender)
    }

    fn open_sender(&self) -> Option<SendRequest<Body>> {
        self.lock_open()
            .as_ref()
            .filter(|sender| !sender.is_closed())
            .cloned()
    }

    fn lock_open(&self) -> std::sync::MutexGuard<'_, Option<SendRequest<Body>>> {
        // A sender is whole or absent; a panic elsewhere cannot leave it half-written.
        self.0.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn connect(&self) -> Result<SendRequest<Body>, LinkError> {
        let shared = &self.0;
        let connecting = async {
            let stream = TcpStream::connect(&shared.address)
                .await
                .map_err(|e| LinkError::Connect(e.to_string()))?;
            let _ = stream.set_nodelay(true);
            let tls_error = |e: ClientError| LinkError::Connect(e.to_string());
            match &shared.trust {
                None => handshake(TokioIo::new(stream)).await,
                Some(trust) => {
                    // Read when connecting, not before: a store that cannot be read fails
                    // the calls that need it, naming the executor, as a refused connection does.
                    let connector = tls::connector(trust, &[b"h2"]).map_err(tls_error)?;
                    let stream = tls::connect(&connector, &shared.host, stream)
                        .await
                        .map_err(tls_error)?;
                    handshake(TokioIo::new(stream)).await
                }
            }
            .map_err(|e| LinkError::Connect(e.to_string()))
        };
        tokio::time::timeout(shared.connect_timeout, connecting)
            .await
            .map_err(|_| {
                LinkError::Connect(format!(
                    "not connected within {} ms",
                    shared.connect_timeout.as_millis()
                ))
            })?
    }
}

/// The HTTP/2 handshake, with the windows and keep-alive the gateway's client uses; the
/// connection is driven by a task of its own until either side closes it.
async fn handshake<T>(io: T) -> Result<SendRequest<Body>, hyper::Error>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .initial_stream_window_size(2 << 20)
        .initial_connection_window_size(8 << 20)
        .keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true)
        .handshake(io)
        .await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "a peer's connection closed");
        }
    });
    Ok(sender)
}

type Answer = http::Response<hyper::body::Incoming>;

impl tonic::codegen::Service<http::Request<Body>> for Link {
    type Response = Answer;
    type Error = LinkError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, LinkError>> + Send>>;

    /// Always ready: a call waits for the connection, and for room on it, in its own future.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), LinkError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let link = self.clone();
        Box::pin(async move {
            let mut sender = link.sender().await?;
            sender.ready().await.map_err(LinkError::Http)?;
            sender.send_request(request).await.map_err(LinkError::Http)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::StreamExt as _;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    use super::*;

    /// A health server on loopback that counts the connections it accepts.
    async fn counting_server() -> (u16, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = {
            let accepted = accepted.clone();
            tokio_stream::wrappers::TcpListenerStream::new(listener).inspect(move |_| {
                accepted.fetch_add(1, Ordering::SeqCst);
            })
        };
        let (_, health) = tonic_health::server::health_reporter();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(health)
                .serve_with_incoming(counted),
        );
        (port, accepted)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_that_find_no_connection_make_one_between_them() {
        let (port, accepted) = counting_server().await;
        let link = Link::new(&Client::new("127.0.0.1", port));
        let calls = (0..32).map(|_| {
            let mut health = HealthClient::with_origin(link.clone(), link.origin());
            tokio::spawn(async move { health.check(HealthCheckRequest::default()).await })
        });
        for call in futures::future::join_all(calls).await {
            call.unwrap().expect("the server answers");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_closed_port_fails_the_call_naming_the_connection() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let link = Link::new(&Client::new("127.0.0.1", closed));
        let mut health = HealthClient::with_origin(link.clone(), link.origin());
        let status = health
            .check(HealthCheckRequest::default())
            .await
            .expect_err("nothing listens");
        assert!(status.message().contains("cannot connect"), "{status:?}");
    }
}
