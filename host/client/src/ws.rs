//! The client over WebSocket: the `bytes` subprotocol Jina's client uses, with a window of
//! `prefetch` requests.

use futures::{SinkExt as _, StreamExt as _};
use prost::Message as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::{Client, ClientError, ReplyBook, RequestResult, tls};
use flowhost_wire::Request;
use flowhost_wire::proto::jina::{DataRequestProto, StatusProto};
use flowhost_wire::protobuf as convert;

async fn open(
    client: &Client,
    path: &str,
) -> Result<tokio_tungstenite::WebSocketStream<Box<dyn Io>>, ClientError> {
    let address = client.address();
    let connect_error = |reason: String| ClientError::Connect {
        address: address.clone(),
        reason,
    };
    let scheme = if client.trust.is_some() { "wss" } else { "ws" };
    let mut request = format!("{scheme}://{address}{path}")
        .into_client_request()
        .map_err(|e| connect_error(e.to_string()))?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("bytes"));
    let stream = TcpStream::connect(&address)
        .await
        .map_err(|e| connect_error(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let io: Box<dyn Io> = match &client.trust {
        None => Box::new(stream),
        Some(trust) => {
            let connector = tls::connector(trust, &[b"http/1.1"])?;
            Box::new(tls::connect(&connector, &client.host, stream).await?)
        }
    };
    let (socket, _) = tokio_tungstenite::client_async(request, io)
        .await
        .map_err(|e| connect_error(e.to_string()))?;
    Ok(socket)
}

/// A byte stream the WebSocket runs on (plain TCP or TLS).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub async fn dry_run(client: &Client) -> Result<bool, ClientError> {
    let mut socket = open(client, "/dry_run").await?;
    let _ = socket.send(Message::Binary(Vec::new().into())).await;
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Binary(bytes)) => {
                let _ = socket.close(None).await;
                let status = StatusProto::decode(bytes.as_ref()).unwrap_or_default();
                return Ok(status.code == 0);
            }
            Ok(_) => continue,
            Err(e) => {
                return Err(ClientError::Transport {
                    address: client.address(),
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(false)
}

pub async fn send(
    client: &Client,
    requests: Vec<Request>,
) -> Result<Vec<RequestResult>, ClientError> {
    let socket = open(client, "/").await?;
    let (mut sink, mut stream) = socket.split();
    let mut book = ReplyBook::new(&requests);
    let mut pending = requests
        .into_iter()
        .map(|r| convert::request_to_proto(&r).encode_to_vec());
    let transport = |e: tokio_tungstenite::tungstenite::Error| ClientError::Transport {
        address: client.address(),
        reason: e.to_string(),
    };
    for bytes in pending.by_ref().take(client.prefetch) {
        sink.send(Message::Binary(bytes.into()))
            .await
            .map_err(transport)?;
    }
    while !book.complete() {
        let bytes = match stream.next().await {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Close(frame))) => {
                let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                book.lose_unanswered(&format!("closed: {reason}"));
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(transport(e)),
            None => break,
        };
        let reply = match DataRequestProto::decode(bytes.as_ref()) {
            Ok(reply) => reply,
            Err(e) => {
                return Err(ClientError::Transport {
                    address: client.address(),
                    reason: format!("unreadable reply: {e}"),
                });
            }
        };
        book.file(reply);
        if let Some(bytes) = pending.next() {
            sink.send(Message::Binary(bytes.into()))
                .await
                .map_err(transport)?;
        }
    }
    // bytes(True): the end of the stream, as Jina's client says it.
    let _ = sink.send(Message::Binary(vec![0u8].into())).await;
    let _ = sink.close().await;
    Ok(book.finish("the socket closed first"))
}
