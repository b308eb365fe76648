//! The generated protobuf messages and gRPC stubs of Jina's gateway protocol (`proto/`).
//!
//! Code generation happens in `host/wire/build.rs` with protox (no system `protoc`).

#![allow(clippy::all, clippy::pedantic, missing_docs, non_camel_case_types)]

/// docarray v1's document messages.
pub mod docarray {
    tonic::include_proto!("docarray");
}

/// Jina's request, reply and service definitions.
pub mod jina {
    tonic::include_proto!("jina");
}

/// The encoded `FileDescriptorSet` of `proto/`, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/jina_descriptor.bin"));
