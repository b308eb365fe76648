//! The client over gRPC: `JinaRPC/Call` with a window of `prefetch` requests.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::CompressionEncoding;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use super::{Client, ClientError, ReplyBook, RequestResult, Trust};
use flowhost_wire::Compression;
use flowhost_wire::Request;
use flowhost_wire::proto::jina::jina_gateway_dry_run_rpc_client::JinaGatewayDryRunRpcClient;
use flowhost_wire::proto::jina::jina_rpc_client::JinaRpcClient;
use flowhost_wire::proto::jina::status_proto::StatusCode;
use flowhost_wire::protobuf as convert;

async fn channel(client: &Client) -> Result<Channel, ClientError> {
    let address = client.address();
    endpoint(client)?
        .connect()
        .await
        .map_err(|e| ClientError::Connect {
            address,
            reason: format!("{e:?}"),
        })
}

/// Where and how to reach the gateway (TLS, windows), without connecting yet.
fn endpoint(client: &Client) -> Result<Endpoint, ClientError> {
    let address = client.address();
    let connect_error = |reason: String| ClientError::Connect {
        address: address.clone(),
        reason,
    };
    let mut endpoint = Endpoint::from_shared(client.http2_origin())
        .map_err(|e| connect_error(e.to_string()))?
        .tcp_nodelay(true)
        .connect_timeout(client.connect_timeout)
        .initial_stream_window_size(2 << 20)
        .initial_connection_window_size(8 << 20);
    if let Some(trust) = &client.trust {
        let config = ClientTlsConfig::new().domain_name(client.host.clone());
        let config = match trust {
            Trust::System => config.with_native_roots(),
            Trust::CaFile(ca) => {
                let pem = std::fs::read(ca)
                    .map_err(|e| ClientError::Tls(format!("cannot read {}: {e}", ca.display())))?;
                config.ca_certificate(Certificate::from_pem(pem))
            }
        };
        endpoint = endpoint
            .tls_config(config)
            .map_err(|e| ClientError::Tls(e.to_string()))?;
    }
    Ok(endpoint)
}

pub(crate) fn encoding(compression: Option<Compression>) -> Option<CompressionEncoding> {
    match compression? {
        Compression::Gzip => Some(CompressionEncoding::Gzip),
        Compression::Deflate => Some(CompressionEncoding::Deflate),
        Compression::NoCompression => None,
    }
}

pub async fn dry_run(client: &Client) -> Result<bool, ClientError> {
    let channel = channel(client).await?;
    let status = JinaGatewayDryRunRpcClient::new(channel)
        .dry_run(())
        .await
        .map_err(|e| ClientError::Transport {
            address: client.address(),
            reason: e.message().to_owned(),
        })?;
    Ok(status.into_inner().code == StatusCode::Success as i32)
}

pub async fn send(
    client: &Client,
    requests: Vec<Request>,
) -> Result<Vec<RequestResult>, ClientError> {
    let channel = channel(client).await?;
    let mut rpc = JinaRpcClient::new(channel)
        .max_decoding_message_size(client.max_reply_size)
        .max_encoding_message_size(usize::MAX)
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Deflate);
    if let Some(encoding) = encoding(client.compression) {
        rpc = rpc.send_compressed(encoding);
    }
    let total = requests.len();
    let mut book = ReplyBook::new(&requests);
    let (outbox, inbox) = mpsc::channel(client.prefetch.min(1024));
    let mut pending = requests.into_iter().map(|r| convert::request_to_proto(&r));
    // Fill the window, then send one more for every reply.
    for message in pending.by_ref().take(client.prefetch) {
        let _ = outbox.send(message).await;
    }
    let mut outbox = Some(outbox);
    if total <= client.prefetch {
        outbox = None;
    }
    let address = client.address();
    let mut replies = rpc
        .call(ReceiverStream::new(inbox))
        .await
        .map_err(|e| ClientError::Transport {
            address: address.clone(),
            reason: e.message().to_owned(),
        })?
        .into_inner();
    while !book.complete() {
        let reply = match replies.message().await {
            Ok(Some(reply)) => reply,
            Ok(None) => break,
            Err(status) => return Ok(book.finish(status.message())),
        };
        book.file(reply);
        if let Some(sender) = &outbox {
            match pending.next() {
                Some(message) => {
                    let _ = sender.send(message).await;
                }
                None => outbox = None,
            }
        }
    }
    drop(outbox);
    Ok(book.finish("the stream ended first"))
}
