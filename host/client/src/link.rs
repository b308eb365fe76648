//! One HTTP/2 connection to a peer, made when the first call needs it and made again when a
//! call finds it closed, used as the transport under tonic's generated clients.
//!
//! A remote executor's call is a hop every request of a flow pays, so it goes through as few
//! tasks as HTTP/2 allows: the caller's task writes the call into the connection's shared
//! state (the `h2` crate's), the connection's task does the I/O, and the caller's task reads
//! the answer. tonic's `Channel` adds a `tower::Buffer` task in front of the connection, and
//! `hyper`'s client spawns a task for each call's request body and another for its response;
//! on loopback those hops cost a sequential call about 20 µs of 120 (BENCHMARKS.md).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use http_body::Frame;
use http_body_util::BodyExt as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tonic::body::Body;
use tonic::codegen::http;

use super::{Client, ClientError, Trust, tls};

/// How often a connection is pinged, and how long a ping may go unanswered before the
/// connection counts as dead (Jina's executor channels ping every 10 s, 5 s timeout).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The windows the gateway's own client asks for: a call's documents are rarely held back
/// by flow control.
const STREAM_WINDOW: u32 = 2 << 20;
const CONNECTION_WINDOW: u32 = 8 << 20;

/// The most header bytes an answer may carry, as `hyper` and tonic's channel allow (`h2`
/// alone would take 16 MiB from a peer).
const MAX_HEADER_LIST: u32 = 16 << 10;
/// Request bytes queued per stream ahead of the peer's window, and the streams opened
/// before the peer's settings say how many it takes: `hyper`'s values.
const MAX_SEND_BUFFER: usize = 1 << 20;
const INITIAL_MAX_SEND_STREAMS: usize = 100;

/// A peer's connection, shared by every clone; see the module's doc.
///
/// For calls whose request is one message (unary and server-streaming RPCs, which is every
/// call a `Peer` makes): a call writes its whole request before it waits for the answer, so
/// a bidirectional stream whose requests wait on its answers would never get them.
#[derive(Clone)]
pub(crate) struct Link(Arc<Shared>);

struct Shared {
    host: String,
    address: String,
    origin: http::Uri,
    trust: Option<Trust>,
    connect_timeout: Duration,
    keepalive: Keepalive,
    /// The connection calls are sent on, if one is open.
    open: Mutex<Option<Connection>>,
    /// Held while connecting, so calls that find the connection closed at once make one new
    /// connection between them, not one each.
    connecting: tokio::sync::Mutex<()>,
}

/// How often a connection is pinged, and how long a ping may go unanswered.
#[derive(Debug, Clone, Copy)]
struct Keepalive {
    interval: Duration,
    timeout: Duration,
}

/// An open connection: its sender, and whether it has been found closed.
#[derive(Clone)]
struct Connection {
    sender: SendRequest<Bytes>,
    /// Set by the connection's task when it ends, and by a call that could not open a
    /// stream on it (the peer sent GOAWAY, or the connection broke).
    closed: Arc<AtomicBool>,
}

impl Connection {
    fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}

/// Why a call did not get through the link.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    /// The connection could not be made: TCP, TLS or the HTTP/2 handshake.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The connection or the call's stream broke, or the peer reset the stream.
    #[error("{0}")]
    Stream(#[source] h2::Error),
    /// The call's own request body could not be written (tonic's encoder failed).
    #[error("{0}")]
    Request(#[source] tonic::Status),
    /// The peer stopped taking the call's request body.
    #[error("the peer closed the call's stream while it was being sent")]
    StreamClosed,
}

impl Link {
    /// The link to the gateway or executor `client` names; nothing is connected yet. Fails
    /// when its host and port do not make a URI's authority.
    pub(crate) fn new(client: &Client) -> Result<Self, ClientError> {
        Self::with_keepalive(
            client,
            Keepalive {
                interval: KEEPALIVE_INTERVAL,
                timeout: KEEPALIVE_TIMEOUT,
            },
        )
    }

    fn with_keepalive(client: &Client, keepalive: Keepalive) -> Result<Self, ClientError> {
        let address = client.address();
        let origin =
            http::Uri::try_from(client.http2_origin()).map_err(|e| ClientError::Connect {
                address: address.clone(),
                reason: format!("not a host and port: {e}"),
            })?;
        Ok(Self(Arc::new(Shared {
            host: client.host.clone(),
            address,
            origin,
            trust: client.trust.clone(),
            connect_timeout: client.connect_timeout,
            keepalive,
            open: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
        })))
    }

    /// The URI the link's calls are addressed to (their `:scheme` and `:authority`).
    pub(crate) fn origin(&self) -> http::Uri {
        self.0.origin.clone()
    }

    /// The open connection, connecting first if there is none or it has closed.
    async fn connection(&self) -> Result<Connection, LinkError> {
        if let Some(open) = self.open_connection() {
            return Ok(open);
        }
        let _connecting = self.0.connecting.lock().await;
        // Another call may have connected while this one waited.
        if let Some(open) = self.open_connection() {
            return Ok(open);
        }
        let connection = self.connect().await?;
        *self.lock_open() = Some(connection.clone());
        Ok(connection)
    }

    fn open_connection(&self) -> Option<Connection> {
        self.lock_open()
            .as_ref()
            .filter(|open| !open.closed.load(Ordering::Relaxed))
            .cloned()
    }

    fn lock_open(&self) -> std::sync::MutexGuard<'_, Option<Connection>> {
        // A connection is whole or absent; a panic elsewhere cannot leave it half-written.
        self.0.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn connect(&self) -> Result<Connection, LinkError> {
        let shared = &self.0;
        let connecting = async {
            let stream = TcpStream::connect(&shared.address)
                .await
                .map_err(|e| LinkError::Connect(e.to_string()))?;
            let _ = stream.set_nodelay(true);
            let tls_error = |e: ClientError| LinkError::Connect(e.to_string());
            match &shared.trust {
                None => handshake(stream, shared.keepalive).await,
                Some(trust) => {
                    // Read when connecting, not before: a store that cannot be read fails
                    // the calls that need it, naming the executor, as a refused connection does.
                    let connector = tls::connector(trust, &[b"h2"]).map_err(tls_error)?;
                    let stream = tls::connect(&connector, &shared.host, stream)
                        .await
                        .map_err(tls_error)?;
                    handshake(stream, shared.keepalive).await
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

/// The HTTP/2 handshake. The connection is then driven by a task of its own, which pings
/// the peer every `keepalive.interval` and drops the connection when a ping goes unanswered
/// for `keepalive.timeout`: a peer that went silent fails its calls instead of holding them.
async fn handshake<T>(io: T, keepalive: Keepalive) -> Result<Connection, h2::Error>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, mut connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_header_list_size(MAX_HEADER_LIST)
        .max_send_buffer_size(MAX_SEND_BUFFER)
        .initial_max_send_streams(INITIAL_MAX_SEND_STREAMS)
        // Nothing here reads pushed streams, so a peer may not start them.
        .enable_push(false)
        .handshake(io)
        .await?;
    let closed = Arc::new(AtomicBool::new(false));
    let pings = connection.ping_pong();
    tokio::spawn({
        let closed = closed.clone();
        async move {
            let keepalive = async {
                let Some(mut pings) = pings else {
                    return std::future::pending().await;
                };
                loop {
                    tokio::time::sleep(keepalive.interval).await;
                    let pong =
                        tokio::time::timeout(keepalive.timeout, pings.ping(h2::Ping::opaque()));
                    if !matches!(pong.await, Ok(Ok(_))) {
                        return;
                    }
                }
            };
            tokio::select! {
                ended = &mut connection => if let Err(error) = ended {
                    tracing::debug!(%error, "a peer's connection closed");
                },
                () = keepalive => tracing::debug!("a peer did not answer a ping: its connection is dropped"),
            }
            closed.store(true, Ordering::Relaxed);
        }
    });
    Ok(Connection { sender, closed })
}

/// A call: opens a stream on the connection, writes the request's head and body from the
/// caller's task, and answers with the response whose body the caller's task reads.
async fn call(link: Link, request: http::Request<Body>) -> Result<Answer, LinkError> {
    let connection = link.connection().await?;
    let (head, mut body) = request.into_parts();
    let opened = async {
        let mut sender = connection.sender.clone().ready().await?;
        sender.send_request(http::Request::from_parts(head, ()), false)
    };
    let (answer, mut stream) = opened.await.map_err(|error| {
        // The connection broke or is going away: the next call makes a new one, rather than
        // waiting for this one's task to notice.
        if error.is_io() || error.is_go_away() {
            connection.close();
        }
        LinkError::Stream(error)
    })?;
    while let Some(frame) = body.frame().await {
        let Ok(mut data) = frame.map_err(LinkError::Request)?.into_data() else {
            // A request has no trailers in gRPC.
            continue;
        };
        while !data.is_empty() {
            stream.reserve_capacity(data.len());
            let granted = std::future::poll_fn(|cx| stream.poll_capacity(cx))
                .await
                .ok_or(LinkError::StreamClosed)?
                .map_err(LinkError::Stream)?;
            let chunk = data.split_to(granted.min(data.len()));
            stream.send_data(chunk, false).map_err(LinkError::Stream)?;
        }
    }
    stream
        .send_data(Bytes::new(), true)
        .map_err(LinkError::Stream)?;
    let answer = answer.await.map_err(LinkError::Stream)?;
    Ok(answer.map(|body| AnswerBody {
        body,
        data_ended: false,
    }))
}

type Answer = http::Response<AnswerBody>;

/// A response's body as it arrives: its data frames, then its trailers (gRPC's status).
pub(crate) struct AnswerBody {
    body: h2::RecvStream,
    data_ended: bool,
}

impl http_body::Body for AnswerBody {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        if !self.data_ended {
            match self.body.poll_data(cx) {
                Poll::Ready(Some(Ok(data))) => {
                    // Read: the peer may send as much again.
                    let _ = self.body.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => self.data_ended = true,
                Poll::Pending => return Poll::Pending,
            }
        }
        self.body
            .poll_trailers(cx)
            .map(|trailers| trailers.transpose().map(|t| t.map(Frame::trailers)))
    }

    fn is_end_stream(&self) -> bool {
        self.data_ended && self.body.is_end_stream()
    }
}

impl tonic::codegen::Service<http::Request<Body>> for Link {
    type Response = Answer;
    type Error = LinkError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, LinkError>> + Send>>;

    /// Always ready: a call waits for the connection, and for room on it, in its own future.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), LinkError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        Box::pin(call(self.clone(), request))
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
        let link = Link::new(&Client::new("127.0.0.1", port)).unwrap();
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
        let link = Link::new(&Client::new("127.0.0.1", closed)).unwrap();
        let mut health = HealthClient::with_origin(link.clone(), link.origin());
        let status = health
            .check(HealthCheckRequest::default())
            .await
            .expect_err("nothing listens");
        assert!(status.message().contains("cannot connect"), "{status:?}");
    }

    #[test]
    fn a_host_that_makes_no_uri_is_refused_when_the_link_is_made() {
        let Err(error) = Link::new(&Client::new("bad host", 50051)) else {
            panic!("a space cannot be in a host");
        };
        let shown = error.to_string();
        assert!(
            shown.contains("bad host:50051") && shown.contains("not a host and port"),
            "{shown}"
        );
    }

    /// A peer that takes the connection and then says nothing: the unanswered ping drops the
    /// connection, which fails the call on it, and the next call connects again.
    #[tokio::test]
    async fn a_silent_peer_loses_its_connection_at_the_ping_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        tokio::spawn({
            let accepted = accepted.clone();
            async move {
                let mut held = Vec::new();
                while let Ok((stream, _)) = listener.accept().await {
                    accepted.fetch_add(1, Ordering::SeqCst);
                    held.push(stream);
                }
            }
        });
        let keepalive = Keepalive {
            interval: Duration::from_millis(50),
            timeout: Duration::from_millis(50),
        };
        let link = Link::with_keepalive(&Client::new("127.0.0.1", port), keepalive).unwrap();
        let mut health = HealthClient::with_origin(link.clone(), link.origin());
        let call = health.check(HealthCheckRequest::default());
        let status = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("the dropped connection ends the call")
            .expect_err("nothing answers");
        assert!(!status.message().is_empty(), "{status:?}");
        let mut health = HealthClient::with_origin(link.clone(), link.origin());
        let again = tokio::time::timeout(
            Duration::from_secs(10),
            health.check(HealthCheckRequest::default()),
        );
        assert!(again.await.expect("ended again").is_err());
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "the second call connected again"
        );
    }
}
