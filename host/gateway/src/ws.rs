//! WebSocket: Jina's WebSocket gateway.
//!
//! `/` takes requests and answers each as it finishes. With the `bytes` subprotocol (what
//! Jina's client asks for) messages are serialised `DataRequestProto`s and a single zero byte
//! ends the stream; with `json` (the default) they are `/post`-shaped JSON objects and `{}`
//! ends the stream. `/dry_run` answers one `StatusProto`. The port also serves `GET /` and
//! `GET /status` like the HTTP gateway.
//!
//! A message larger than `max_request_size` ends the session (the WebSocket library refuses
//! it); each request holds its size from the memory budget until answered, and one that
//! finds the budget spent gets an error reply of its own. When shutdown begins the session
//! stops taking requests, answers those it took, and closes with 1001 ("going away").

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use futures::{SinkExt as _, StreamExt as _};
use prost::Message as _;
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};

use super::Shared;
use super::limits::Charge;
use super::observe::Observed;
use flowhost_telemetry::{Front, Refused};
use flowhost_wire::Refusal;
use flowhost_wire::json::{request_from_slice, response_to_string};
use flowhost_wire::protobuf as convert;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subprotocol {
    Bytes,
    Json,
}

fn subprotocol(headers: &HeaderMap) -> Subprotocol {
    let asked = headers
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if asked.split(',').any(|p| p.trim() == "bytes") {
        Subprotocol::Bytes
    } else {
        Subprotocol::Json
    }
}

pub fn router(shared: Arc<Shared>) -> axum::Router {
    let dry_shared = shared.clone();
    axum::Router::new()
        .route(
            "/",
            get(
                move |upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
                      headers: HeaderMap| async move {
                    match upgrade {
                        Ok(upgrade) => {
                            let protocol = subprotocol(&headers);
                            let traceparent: Option<Arc<str>> =
                                super::observe::traceparent(&headers).map(Into::into);
                            upgrade
                                .protocols(["bytes", "json"])
                                .max_message_size(shared.config.limits.max_request_size)
                                .max_frame_size(shared.config.limits.max_request_size)
                                .on_upgrade(move |socket| {
                                    let sessions = shared.sessions.clone();
                                    sessions.track_future(serve(
                                        socket,
                                        shared,
                                        protocol,
                                        traceparent,
                                    ))
                                })
                        }
                        // A plain GET is the health check.
                        Err(_) => axum::Json(json!({})).into_response(),
                    }
                },
            ),
        )
        .route(
            "/dry_run",
            get(
                move |upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
                      headers: HeaderMap| async move {
                    let readiness = super::http::readiness(&dry_shared).await;
                    match upgrade {
                        Ok(upgrade) => {
                            let protocol = subprotocol(&headers);
                            upgrade
                                .protocols(["bytes", "json"])
                                .on_upgrade(move |socket| dry_run(socket, readiness, protocol))
                        }
                        Err(_) => axum::Json(flowhost_wire::json::readiness_to_json(&readiness))
                            .into_response(),
                    }
                },
            ),
        )
        .route(
            "/status",
            get(|| async {
                let (jina, envs) = super::http::info();
                axum::Json(json!({ "jina": jina, "envs": envs }))
            }),
        )
}

async fn dry_run(
    mut socket: WebSocket,
    readiness: flowhost_wire::Readiness,
    protocol: Subprotocol,
) {
    let message = match protocol {
        Subprotocol::Bytes => Message::Binary(
            convert::readiness_to_proto(&readiness)
                .encode_to_vec()
                .into(),
        ),
        Subprotocol::Json => Message::Text(
            flowhost_wire::json::readiness_to_json(&readiness)
                .to_string()
                .into(),
        ),
    };
    if socket.send(message).await.is_err() {
        return;
    }
    // Wait (briefly) for the client to close, reading whatever it sends meanwhile.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(Ok(message)) = socket.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// What one incoming message asks for.
enum Incoming {
    Request(flowhost_wire::Request),
    /// Unreadable: answer a `BadRequest` error carrying this request id and message.
    Bad(String, String),
    /// Not taken (the memory budget is spent): a `ResourceExhausted` error likewise.
    Refused(String, String),
    End,
    Skip,
}

/// What a message holds from the budget: its size, and JSON's expansion for text.
fn message_size(message: &Message) -> usize {
    match message {
        Message::Binary(bytes) => bytes.len(),
        Message::Text(text) => text.len().saturating_mul(super::limits::JSON_EXPANSION),
        _ => 0,
    }
}

fn read(message: Message, protocol: Subprotocol) -> Incoming {
    match (message, protocol) {
        (Message::Close(_), _) => Incoming::End,
        (Message::Ping(_) | Message::Pong(_), _) => Incoming::Skip,
        (Message::Binary(bytes), _) if bytes.as_ref() == [0u8] => Incoming::End,
        (Message::Binary(bytes), _) if bytes.is_empty() => Incoming::Skip,
        (Message::Binary(bytes), _) => {
            match flowhost_wire::proto::jina::DataRequestProto::decode(bytes.as_ref()) {
                Ok(message) => {
                    let id = message
                        .header
                        .as_ref()
                        .map(|h| h.request_id.clone())
                        .unwrap_or_default();
                    match convert::request_from_proto(message) {
                        Ok(request) => Incoming::Request(request),
                        Err(error) => Incoming::Bad(id, error.to_string()),
                    }
                }
                Err(error) => Incoming::Bad(
                    String::new(),
                    format!("not a serialised DataRequestProto: {error}"),
                ),
            }
        }
        (Message::Text(text), _) if is_empty_object(text.as_str()) => Incoming::End,
        (Message::Text(text), _) => match request_from_slice(text.as_bytes(), None) {
            Ok(request) => Incoming::Request(request),
            Err(error) => Incoming::Bad(
                flowhost_wire::json::request_id_of(text.as_bytes()),
                error.message,
            ),
        },
    }
}

/// `{}`: a JSON client's end of stream.
fn is_empty_object(text: &str) -> bool {
    (text.trim().strip_prefix('{'))
        .and_then(|inner| inner.strip_suffix('}'))
        .is_some_and(|inner| inner.trim().is_empty())
}

async fn serve(
    socket: WebSocket,
    shared: Arc<Shared>,
    protocol: Subprotocol,
    traceparent: Option<Arc<str>>,
) {
    let (mut sink, mut stream) = socket.split();
    let prefetch = shared.config.prefetch();
    let (replies, mut outbox) = mpsc::channel::<Message>(prefetch.clamp(1, 1024));
    let (going_away, mut closing) = tokio::sync::oneshot::channel::<()>();
    let writer = tokio::spawn(async move {
        while let Some(message) = outbox.recv().await {
            if sink.send(message).await.is_err() {
                // The client went away; keep draining so senders never block.
                while outbox.recv().await.is_some() {}
                return;
            }
        }
        if closing.try_recv().is_ok() {
            let frame = axum::extract::ws::CloseFrame {
                code: axum::extract::ws::close_code::AWAY,
                reason: super::admission::SHUTTING_DOWN.into(),
            };
            let _ = sink.send(Message::Close(Some(frame))).await;
        }
        let _ = sink.close().await;
    });
    let permits = Arc::new(Semaphore::new(prefetch.min(Semaphore::MAX_PERMITS)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut shutdown = shared.shutdown.clone();
    let mut stopping = false;
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit,
            _ = super::stopped(&mut shutdown) => { stopping = true; break }
        };
        let Ok(permit) = permit else {
            break;
        };
        let next = tokio::select! {
            next = stream.next() => next,
            _ = super::stopped(&mut shutdown) => { stopping = true; break }
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(error)) => {
                tracing::debug!(%error, "WebSocket read failed");
                break;
            }
            None => break,
        };
        let shared = shared.clone();
        let replies = replies.clone();
        let size = message_size(&message);
        let received = match &message {
            Message::Binary(bytes) => bytes.len(),
            Message::Text(text) => text.len(),
            _ => 0,
        };
        let (incoming, charge) = match read(message, protocol) {
            Incoming::Request(request) => match shared.budget.charge(size) {
                Ok(charge) => (Incoming::Request(request), charge),
                Err(spent) => (
                    Incoming::Refused(request.request_id, spent.to_string()),
                    Charge::default(),
                ),
            },
            other => (other, Charge::default()),
        };
        match incoming {
            Incoming::End => break,
            Incoming::Skip => continue,
            Incoming::Bad(id, error) => {
                tracing::debug!(%error, "unreadable WebSocket request");
                shared.count_refusal(Front::WebSocket, Refused::Unreadable);
                let _ = replies
                    .send(error_reply(protocol, id, Refusal::BadRequest, &error))
                    .await;
            }
            Incoming::Refused(id, error) => {
                tracing::debug!(%error, "WebSocket request not taken");
                shared.count_refusal(Front::WebSocket, Refused::Overloaded);
                let _ = replies
                    .send(error_reply(
                        protocol,
                        id,
                        Refusal::ResourceExhausted,
                        &error,
                    ))
                    .await;
            }
            Incoming::Request(request) => {
                let traceparent = traceparent.clone();
                tasks.spawn(async move {
                    let observed = Observed::begin(
                        &shared,
                        Front::WebSocket,
                        &request,
                        received,
                        traceparent.as_deref(),
                    );
                    let response = observed.process(&shared, request).await;
                    let failure = observed.failure(&response);
                    let reply = match protocol {
                        Subprotocol::Bytes => Message::Binary(
                            convert::response_to_proto(response).encode_to_vec().into(),
                        ),
                        Subprotocol::Json => Message::Text(response_to_string(&response).into()),
                    };
                    observed.answered(failure, || match &reply {
                        Message::Binary(bytes) => bytes.len(),
                        Message::Text(text) => text.len(),
                        _ => 0,
                    });
                    let _ = replies.send(reply).await;
                    drop((permit, charge));
                });
                while tasks.try_join_next().is_some() {}
            }
        }
    }
    while tasks.join_next().await.is_some() {}
    if stopping {
        let _ = going_away.send(());
    }
    drop(replies);
    let _ = writer.await;
}

/// An error reply for a request the gateway did not take, in the session's subprotocol.
fn error_reply(protocol: Subprotocol, id: String, refusal: Refusal, error: &str) -> Message {
    match protocol {
        Subprotocol::Bytes => Message::Binary(
            convert::refusal_reply(id, refusal, error)
                .encode_to_vec()
                .into(),
        ),
        Subprotocol::Json => Message::Text(
            flowhost_wire::json::refusal_to_json(&id, refusal, error)
                .to_string()
                .into(),
        ),
    }
}
