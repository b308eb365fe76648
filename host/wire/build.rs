//! Generates the wire crate's protobuf and gRPC code from `proto/` (Jina's wire protocol).
//!
//! protox compiles the .proto files in Rust, so a fresh machine needs no system `protoc`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("CARGO_FEATURE_GRPC").is_none() {
        return Ok(());
    }
    let proto_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = [
        proto_dir.join("jina.proto"),
        proto_dir.join("docarray.proto"),
    ];
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let descriptors = protox::compile(&files, [&proto_dir])?;
    // The encoded descriptors, for gRPC server reflection (Jina's gateway lists an executor's
    // services through it before calling them).
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    std::fs::write(
        out_dir.join("jina_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Callers bring their own `Channel`: no `connect` helper, so this crate needs no transport.
        .build_transport(false)
        // prost's codec, but an undecodable message is UNKNOWN (as Jina answers), not INTERNAL.
        .codec_path("crate::codec::JinaCodec")
        .compile_fds(descriptors)?;
    Ok(())
}
