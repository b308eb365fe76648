//! `flowhost ping HOST:PORT`: is the flow there and ready? Exit code 0 when it is.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use flowhost_client::Client;
use flowhost_wire::Protocol;

#[derive(Debug, clap::Args)]
pub struct PingArgs {
    /// The gateway, e.g. `localhost:12345`.
    address: String,
    /// grpc, http or websocket.
    #[arg(long, default_value = "grpc", value_parser = super::parse_protocol)]
    protocol: Protocol,
    /// Use TLS, trusting the certificates in this PEM file.
    #[arg(long)]
    tls_ca: Option<PathBuf>,
    /// Give up after this many milliseconds.
    #[arg(long, default_value_t = 3000)]
    timeout_ms: u64,
}

pub async fn run(args: PingArgs) -> anyhow::Result<()> {
    let (host, port) = super::split_address(&args.address)?;
    let mut client = Client::new(host, port).protocol(args.protocol);
    if let Some(ca) = &args.tls_ca {
        client = client.tls_ca(ca);
    }
    let ready = tokio::time::timeout(Duration::from_millis(args.timeout_ms), client.dry_run())
        .await
        .with_context(|| {
            format!(
                "no answer from {} within {} ms",
                args.address, args.timeout_ms
            )
        })??;
    anyhow::ensure!(
        ready,
        "the flow at {} answers but is not ready",
        args.address
    );
    println!("{} is ready", args.address);
    Ok(())
}
