//! Jina's wire: the only place a Jina shape is written.
//!
//! Owns the protobuf messages and gRPC stubs generated from `proto/` ([`proto`]), their codec
//! ([`codec`]), the protocol-neutral request and response every layer passes around
//! ([`Request`], [`Response`] and their parts), and both encodings of them: protobuf ([`protobuf`]) and JSON ([`json`]),
//! each in both directions, so the gateway, the client and remote executors read and write
//! exactly the same bytes. [`Protocol`] and [`Compression`] name what is spoken.
//!
//! Must not know how a request is served or routed (no sockets, no router, no runtime): it
//! turns bytes and messages into values and back, and says precisely what is wrong with a
//! message that does not fit.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "grpc")]
pub mod codec;
mod envelope;
pub mod json;
#[cfg(feature = "grpc")]
pub mod proto;
#[cfg(feature = "grpc")]
pub mod protobuf;
mod protocol;

pub use envelope::{
    DEFAULT_ENDPOINT, ExceptionInfo, Readiness, Refusal, Request, Response, RouteEntry, Status,
    new_request_id,
};
pub use protocol::{Compression, Protocol, UnknownProtocol};
