//! The protocols Jina's gateway speaks and the gRPC compressions it accepts.
//!
//! One vocabulary for the flow file (`protocol:`, `compression:`), the gateway and the client.

use std::fmt;
use std::str::FromStr;

/// A gateway protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// Jina's gRPC services (`JinaRPC`, `JinaSingleDataRequestRPC`, ...).
    Grpc,
    /// `POST /post` and the rest of Jina's HTTP gateway, with OpenAPI.
    Http,
    /// Jina's WebSocket gateway: JSON or protobuf frames on one socket.
    Websocket,
}

impl Protocol {
    /// Every protocol, in the order Jina lists them.
    pub const ALL: [Protocol; 3] = [Protocol::Grpc, Protocol::Http, Protocol::Websocket];

    /// The lower-case spelling Jina uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::Http => "http",
            Protocol::Websocket => "websocket",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol name that is none of Jina's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol `{0}`: expected grpc, http or websocket")]
pub struct UnknownProtocol(pub String);

impl Protocol {
    /// Case-insensitive, as Jina accepts `GRPC` and `grpc` alike.
    pub fn parse(s: &str) -> Option<Protocol> {
        s.parse().ok()
    }
}

impl FromStr for Protocol {
    type Err = UnknownProtocol;

    /// Case-insensitive, as Jina accepts `GRPC` and `grpc` alike.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownProtocol(s.to_owned()))
    }
}

/// gRPC message compression, with Jina's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Messages go as they are.
    NoCompression,
    /// `grpc-encoding: gzip`.
    Gzip,
    /// `grpc-encoding: deflate`.
    Deflate,
}

impl Compression {
    /// Every compression, in Jina's order.
    pub const ALL: [Compression; 3] = [
        Compression::NoCompression,
        Compression::Gzip,
        Compression::Deflate,
    ];

    /// Jina's spelling (`Gzip`).
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::NoCompression => "NoCompression",
            Compression::Gzip => "Gzip",
            Compression::Deflate => "Deflate",
        }
    }

    /// Case-insensitive (Jina itself is case-sensitive; accepting `gzip` costs nothing).
    pub fn parse(s: &str) -> Option<Compression> {
        Compression::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The encoding tonic sends with, or `None` for no compression.
    #[cfg(feature = "grpc")]
    pub fn encoding(self) -> Option<tonic::codec::CompressionEncoding> {
        use tonic::codec::CompressionEncoding;
        match self {
            Compression::NoCompression => None,
            Compression::Gzip => Some(CompressionEncoding::Gzip),
            Compression::Deflate => Some(CompressionEncoding::Deflate),
        }
    }
}
