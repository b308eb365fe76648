//! One persistent channel to an executor served elsewhere (`flowhost executor serve`, or
//! Jina's `jina executor`), called as Jina's gateway calls its executors: one unary
//! `JinaSingleDataRequestRPC/process_single_data` per request, multiplexed over one HTTP/2
//! connection that reconnects by itself after the peer restarts.

use std::collections::BTreeMap;
use std::time::Duration;

use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::link::Link;
use super::{Client, ClientError};
use flowhost_wire::proto::jina::jina_single_data_request_rpc_client::JinaSingleDataRequestRpcClient;
use flowhost_wire::protobuf as convert;
use flowhost_wire::{Request, Response};

/// Why a call to a peer did not come back with an answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PeerError {
    /// The call did not reach the executor or was not answered in time: another attempt, on
    /// this replica or another, may succeed.
    #[error("{address}: {reason}")]
    Unreachable {
        /// `host:port` of the peer.
        address: String,
        /// The transport's or the deadline's reason.
        reason: String,
    },
    /// No answer came within the attempt's deadline (Jina's `timeout_send`): another attempt
    /// may succeed.
    #[error("{address}: no answer within {} ms", deadline.as_millis())]
    TimedOut {
        /// `host:port` of the peer.
        address: String,
        /// The attempt's deadline.
        deadline: Duration,
    },
    /// The peer answered the call with a refusal (a gRPC status Jina does not retry, such as
    /// INVALID_ARGUMENT or RESOURCE_EXHAUSTED), or with a reply that is not a response.
    #[error("{address} refused the call: {reason}")]
    Refused {
        /// `host:port` of the peer.
        address: String,
        /// The peer's message.
        reason: String,
    },
}

impl PeerError {
    /// Whether another attempt may succeed (Jina's gateway retries these).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PeerError::Unreachable { .. } | PeerError::TimedOut { .. }
        )
    }
}

/// A persistent, multiplexed channel to one peer. Cheap to clone: clones share the
/// connection.
#[derive(Clone)]
pub struct Peer {
    address: String,
    rpc: JinaSingleDataRequestRpcClient<Link>,
    health: HealthClient<Link>,
    metadata: MetadataMap,
}

/// Only the address: `grpc_metadata` often carries credentials, which must not reach a log.
impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Peer {
    /// A channel to the gateway `client` names, with its TLS, compression, connect timeout and
    /// reply limit, sending `metadata` (Jina's `grpc_metadata`) with every call. Nothing is
    /// connected until the first call.
    pub fn new(client: &Client, metadata: &BTreeMap<String, String>) -> Result<Self, ClientError> {
        let address = client.address();
        let link = Link::new(client)?;
        let mut rpc = JinaSingleDataRequestRpcClient::with_origin(link.clone(), link.origin())
            .max_decoding_message_size(client.max_reply_size)
            .max_encoding_message_size(usize::MAX)
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Deflate);
        if let Some(encoding) = super::grpc::encoding(client.compression) {
            rpc = rpc.send_compressed(encoding);
        }
        Ok(Peer {
            address,
            rpc,
            health: HealthClient::with_origin(link.clone(), link.origin()),
            metadata: metadata_map(metadata).map_err(ClientError::Metadata)?,
        })
    }

    /// `host:port` of the peer.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Sends one request; `deadline` bounds the call, connecting included (`None`: no bound).
    /// An executor's error comes back as a response with an error status, not as an `Err`.
    /// `traceparent` (W3C) puts the call in the caller's trace.
    pub async fn process(
        &self,
        request: &Request,
        deadline: Option<Duration>,
        traceparent: Option<&str>,
    ) -> Result<Response, PeerError> {
        let mut call = tonic::Request::new(convert::request_to_proto(request));
        *call.metadata_mut() = self.metadata.clone();
        if let Some(value) = traceparent.and_then(|t| MetadataValue::try_from(t).ok()) {
            call.metadata_mut().insert("traceparent", value);
        }
        // `endpoint` is what Jina's gateway adds to the metadata of every call.
        if let Ok(endpoint) = MetadataValue::try_from(request.endpoint.as_str()) {
            call.metadata_mut().insert("endpoint", endpoint);
        }
        if let Some(deadline) = deadline {
            // Tells the peer too (`grpc-timeout`), so it can give up on its side.
            call.set_timeout(deadline);
        }
        let mut rpc = self.rpc.clone();
        let sent = rpc.process_single_data(call);
        let answered = match deadline {
            Some(deadline) => {
                tokio::time::timeout(deadline, sent)
                    .await
                    .map_err(|_| PeerError::TimedOut {
                        address: self.address.clone(),
                        deadline,
                    })?
            }
            None => sent.await,
        };
        let reply = answered.map_err(|status| self.status_error(&status))?;
        convert::response_from_proto(reply.into_inner()).map_err(|error| PeerError::Refused {
            address: self.address.clone(),
            reason: format!("unreadable reply: {error}"),
        })
    }

    /// Whether the peer answers the standard health check (`grpc.health.v1.Health/Check` for
    /// the whole server) with SERVING within `deadline`.
    pub async fn is_serving(&self, deadline: Duration) -> bool {
        let mut health = self.health.clone();
        let check = health.check(HealthCheckRequest {
            service: String::new(),
        });
        match tokio::time::timeout(deadline, check).await {
            Ok(Ok(reply)) => reply.into_inner().status == ServingStatus::Serving as i32,
            _ => false,
        }
    }

    /// Jina's gateway retries UNAVAILABLE, DEADLINE_EXCEEDED, NOT_FOUND, CANCELLED, UNKNOWN
    /// and INTERNAL (`jina/serve/networking/__init__.py`), and returns any other status.
    fn status_error(&self, status: &tonic::Status) -> PeerError {
        use tonic::Code;
        let reason = match status.message() {
            "" => format!("{:?}", status.code()),
            message => format!("{:?}: {message}", status.code()),
        };
        let address = self.address.clone();
        match status.code() {
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::NotFound
            | Code::Cancelled
            | Code::Unknown
            | Code::Internal => PeerError::Unreachable { address, reason },
            _ => PeerError::Refused { address, reason },
        }
    }
}

/// Headers HTTP/2 forbids (RFC 9113, 8.2.2): a call carrying one is malformed, so the peer
/// would refuse every call of the flow. `te` may only say `trailers`, which gRPC sends itself.
const CONNECTION_HEADERS: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
];

/// `grpc_metadata` as gRPC metadata: keys are lower-case ASCII, values printable ASCII.
fn metadata_map(pairs: &BTreeMap<String, String>) -> Result<MetadataMap, String> {
    let mut map = MetadataMap::new();
    for (key, value) in pairs {
        let lower = key.to_ascii_lowercase();
        if CONNECTION_HEADERS.contains(&lower.as_str()) {
            return Err(format!(
                "`{key}` is a connection header, which HTTP/2 does not carry"
            ));
        }
        let name = MetadataKey::from_bytes(lower.as_bytes())
            .map_err(|_| format!("`{key}` is not a valid gRPC metadata key"))?;
        let value = MetadataValue::try_from(value.as_str())
            .map_err(|_| format!("the value of `{key}` is not printable ASCII"))?;
        map.insert(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_metadata_stay_out_of_debug_output() {
        let client = Client::new("127.0.0.1", 1);
        let secret = BTreeMap::from([("authorization".to_owned(), "Bearer s3cret".to_owned())]);
        let peer = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { Peer::new(&client, &secret).unwrap() });
        let shown = format!("{peer:?}");
        assert!(
            shown.contains("127.0.0.1:1") && !shown.contains("s3cret"),
            "{shown}"
        );
    }

    #[test]
    fn metadata_keys_are_checked() {
        let ok = BTreeMap::from([("Authorization".to_owned(), "Bearer x".to_owned())]);
        let map = metadata_map(&ok).unwrap();
        assert_eq!(map.get("authorization").unwrap(), "Bearer x");
        let bad = BTreeMap::from([("a b".to_owned(), "x".to_owned())]);
        assert!(metadata_map(&bad).unwrap_err().contains("`a b`"));
        let bad = BTreeMap::from([("k".to_owned(), "line\nbreak".to_owned())]);
        assert!(metadata_map(&bad).unwrap_err().contains("`k`"));
        let bad = BTreeMap::from([("Connection".to_owned(), "close".to_owned())]);
        assert!(
            metadata_map(&bad)
                .unwrap_err()
                .contains("`Connection` is a connection header")
        );
    }
}
