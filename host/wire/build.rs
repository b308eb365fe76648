//! Generates the gateway's protobuf and gRPC code from `proto/` (Jina's wire protocol).
//!
//! protox compiles the .proto files in Rust, so a fresh machine needs no system `protoc`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let files = [
        proto_dir.join("jina.proto"),
        proto_dir.join("docarray.proto"),
    ];
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let descriptors = protox::compile(&files, [&proto_dir])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // prost's codec, but an undecodable message is UNKNOWN (as Jina answers), not INTERNAL.
        .codec_path("crate::gateway::codec::JinaCodec")
        .compile_fds(descriptors)?;
    Ok(())
}
