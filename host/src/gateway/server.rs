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

use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;

/// HTTP/2 flow-control windows (see `serve`).
pub const STREAM_WINDOW: u32 = 2 << 20;
pub const CONNECTION_WINDOW: u32 = 8 << 20;
/// The largest HTTP/2 frame peers may send: a request of embeddings then arrives in a few
/// frames instead of one per 16 KiB.
pub const MAX_FRAME: u32 = 1 << 20;

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Once no exchange is in flight, how long connections get to flush and say goodbye before
/// they are closed.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: axum::Router,
    mut shutdown: watch::Receiver<bool>,
    drain_timeout: Duration,
) {
    let graceful = GracefulShutdown::new();
    let exchanges = TaskTracker::new();
    let app = super::in_flight::track(app, exchanges.clone());
    let mut connections = JoinSet::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Streams carry many requests each (Jina's client pipelines on one `Call`), and requests
    // of embeddings run to megabytes: HTTP/2's default 64 KiB windows would make every large
    // request wait for window updates. The windows only permit; memory is used only when a
    // handler does not read.
    builder
        .http2()
        .max_concurrent_streams(None)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME);
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
                let _ = stream.set_nodelay(true);
                let watcher = graceful.watcher();
                let builder = builder.clone();
                let app = app.clone();
                let tls = tls.clone();
                connections.spawn(async move {
                    let service = TowerToHyperService::new(app);
                    match tls {
                        None => {
                            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                            finish(watcher.watch(conn.into_owned()).await, peer);
                        }
                        Some(tls) => {
                            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                                Ok(Ok(stream)) => stream,
                                Ok(Err(error)) => {
                                    tracing::debug!(%peer, %error, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "TLS handshake timed out");
                                    return;
                                }
                            };
                            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                            finish(watcher.watch(conn.into_owned()).await, peer);
                        }
                    }
                });
            }
            Some(_) = connections.join_next() => {}
            _ = super::stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    exchanges.close();
    let drained = tokio::time::timeout(drain_timeout, exchanges.wait()).await;
    if drained.is_err() {
        tracing::warn!(
            ?drain_timeout,
            in_flight = exchanges.len(),
            "requests still in flight after the drain timeout; closing their connections"
        );
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, graceful.shutdown()).await;
    connections.shutdown().await;
}

fn finish(
    result: Result<(), Box<dyn std::error::Error + Send + Sync>>,
    peer: std::net::SocketAddr,
) {
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}
