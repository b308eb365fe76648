//! The accept loop every port shares: optional TLS, HTTP/1.1 and HTTP/2 on one socket
//! (WebSocket upgrades included), and a graceful drain on shutdown.
//!
//! A misbehaving peer costs only its own connection: handshakes have a deadline, protocol
//! errors end that connection, and accept errors (such as running out of file descriptors)
//! pause the loop briefly instead of ending it.
//!
//! Draining waits for exchanges (a request until its response body has been handed to the
//! connection), not for connections: an idle keep-alive connection, or a peer that never
//! answers HTTP/2's goodbye, must not hold shutdown for the whole drain timeout.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;

use super::in_flight::Counted;
use super::limits::ServerLimits;
use super::self_wake::RepollSelfWakes;

/// HTTP/2 flow-control windows (see `serve`).
pub const STREAM_WINDOW: u32 = 2 << 20;
pub const CONNECTION_WINDOW: u32 = 8 << 20;
/// The largest HTTP/2 frame peers may send: a request of embeddings then arrives in a few
/// frames instead of one per 16 KiB.
pub const MAX_FRAME: u32 = 1 << 20;
/// The most header bytes one HTTP/2 request may send (gRPC metadata is small).
const MAX_HEADER_LIST: u32 = 256 << 10;

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Once no exchange is in flight, how long connections get to flush and say goodbye before
/// they are closed.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What every accept loop of one gateway shares.
#[derive(Clone)]
pub struct ServeOptions {
    pub limits: ServerLimits,
    /// Connections open at once, all ports together.
    pub connections: Arc<Semaphore>,
    pub drain_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown`. `repoll_self_wakes` is for ports whose
/// clients speak HTTP/1, where every request wakes its own connection (`self_wake.rs`).
/// gRPC's HTTP/2 connections are left to tokio: with many requests in flight on a stream,
/// letting the spawned requests run before the connection is polled again measured better
/// (stream1 0.96 with the repoll in three runs).
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: axum::Router,
    mut shutdown: watch::Receiver<bool>,
    options: ServeOptions,
    repoll_self_wakes: bool,
) {
    let exchanges = TaskTracker::new();
    // Connections close (gracefully) when this flips: after the drain.
    let (close, closing) = watch::channel(false);
    let mut connections = JoinSet::new();
    let limits = &options.limits;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.read_timeout);
    // Streams carry many requests each (Jina's client pipelines on one `Call`), and requests
    // of embeddings run to megabytes: HTTP/2's default 64 KiB windows would make every large
    // request wait for window updates. The windows only permit; admission charges every byte
    // that arrives to the memory budget.
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_streams_per_connection)
        .max_header_list_size(MAX_HEADER_LIST)
        .keep_alive_interval(limits.keepalive_interval)
        .keep_alive_timeout(limits.keepalive_timeout)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME);
    let mut refused_since_log = 0u64;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = options.connections.clone().try_acquire_owned() else {
                    // Closing at once tells the client; waiting would let idle connections
                    // starve everyone else.
                    refused_since_log += 1;
                    if refused_since_log == 1 || refused_since_log.is_power_of_two() {
                        tracing::warn!(
                            %peer,
                            max_connections = limits.max_connections,
                            refused = refused_since_log,
                            "connection refused: the gateway has max_connections open"
                        );
                    }
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let connection = Connection {
                    builder: builder.clone(),
                    app: app.clone(),
                    exchanges: exchanges.clone(),
                    closing: closing.clone(),
                    idle_timeout: limits.idle_timeout,
                    peer,
                };
                let tls = tls.clone();
                let serve_connection = async move {
                    let _slot = slot;
                    let stream = Watched::new(stream);
                    match tls {
                        None => connection.run(stream).await,
                        Some(tls) => {
                            match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                                Ok(Ok(stream)) => connection.run(stream).await,
                                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                            }
                        }
                    }
                };
                if repoll_self_wakes {
                    connections.spawn(RepollSelfWakes::new(serve_connection));
                } else {
                    connections.spawn(serve_connection);
                }
            }
            Some(_) = connections.join_next() => {}
            _ = super::stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    exchanges.close();
    let drained = tokio::time::timeout(options.drain_timeout, exchanges.wait()).await;
    if drained.is_err() {
        tracing::warn!(
            drain_timeout = ?options.drain_timeout,
            in_flight = exchanges.len(),
            "requests still in flight after the drain timeout; closing their connections"
        );
    }
    let _ = close.send(true);
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.shutdown().await;
}

/// One accepted connection and what it needs to serve itself.
struct Connection {
    builder: auto::Builder<TokioExecutor>,
    app: axum::Router,
    /// The gateway's count of exchanges in flight, which draining waits on.
    exchanges: TaskTracker,
    closing: watch::Receiver<bool>,
    idle_timeout: Option<Duration>,
    peer: std::net::SocketAddr,
}

impl Connection {
    /// Serves until the peer leaves, the gateway closes connections, or the connection has
    /// been idle (nothing in flight, no bytes either way) for the idle timeout.
    async fn run<IO>(mut self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + HasClock + 'static,
    {
        let own_exchanges = TaskTracker::new();
        let clock = io.clock();
        let service = TowerToHyperService::new(Counted::new(
            self.app,
            self.exchanges.clone(),
            own_exchanges.clone(),
        ));
        let mut conn = pin!(
            self.builder
                .serve_connection_with_upgrades(TokioIo::new(io), service)
                .into_owned()
        );
        let check_every = self.idle_timeout.map_or(Duration::from_secs(3600), |idle| {
            (idle / 4).max(Duration::from_millis(10))
        });
        let mut ticks = tokio::time::interval(check_every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut goodbye: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(peer = %self.peer, %error, "connection ended with an error");
                    }
                    return;
                }
                _ = self.closing.wait_for(|close| *close), if goodbye.is_none() => {
                    conn.as_mut().graceful_shutdown();
                    goodbye = Some(Box::pin(tokio::time::sleep(CLOSE_GRACE)));
                }
                _ = ticks.tick(), if goodbye.is_none() && self.idle_timeout.is_some() => {
                    let idle = self.idle_timeout.unwrap_or(Duration::MAX);
                    if own_exchanges.is_empty() && clock.idle_for() >= idle {
                        tracing::debug!(peer = %self.peer, ?idle, "closing an idle connection");
                        conn.as_mut().graceful_shutdown();
                        goodbye = Some(Box::pin(tokio::time::sleep(CLOSE_GRACE)));
                    }
                }
                _ = async { if let Some(sleep) = goodbye.as_mut() { sleep.await } }, if goodbye.is_some() => {
                    // A peer that never answers the goodbye does not keep its connection.
                    return;
                }
            }
        }
    }
}

/// When a connection last carried bytes, shared between its I/O and its watchdog.
#[derive(Clone)]
struct Clock {
    origin: Instant,
    /// Milliseconds since `origin` of the last read or write.
    last: Arc<AtomicU64>,
}

impl Clock {
    fn touch(&self) {
        let now = self.origin.elapsed().as_millis() as u64;
        self.last.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last)
    }
}

/// A TCP stream that records when it last carried bytes.
struct Watched {
    stream: tokio::net::TcpStream,
    clock: Clock,
}

impl Watched {
    fn new(stream: tokio::net::TcpStream) -> Self {
        Self {
            stream,
            clock: Clock {
                origin: Instant::now(),
                last: Arc::new(AtomicU64::new(0)),
            },
        }
    }
}

/// The clock of a (possibly TLS-wrapped) watched stream.
trait HasClock {
    fn clock(&self) -> Clock;
}

impl HasClock for Watched {
    fn clock(&self) -> Clock {
        self.clock.clone()
    }
}

impl HasClock for tokio_rustls::server::TlsStream<Watched> {
    fn clock(&self) -> Clock {
        self.get_ref().0.clock.clone()
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = std::pin::Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.clock.touch();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = std::pin::Pin::new(&mut self.stream).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = std::pin::Pin::new(&mut self.stream).poll_write_vectored(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
