//! `flowhost post ENDPOINT`: send documents to a running flow and print what comes back,
//! one JSON answer (Jina's shape) per request.

use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::{Map, Value};

use flowhost_client::{Client, RequestError};
use flowhost_wire::Protocol;
use flowhost_wire::json::response_to_string;

#[derive(Debug, clap::Args)]
pub struct PostArgs {
    /// The endpoint, e.g. `/index`.
    endpoint: String,
    /// The gateway's host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The gateway's port.
    #[arg(long)]
    port: u16,
    /// grpc, http or websocket.
    #[arg(long, default_value = "grpc", value_parser = super::parse_protocol)]
    protocol: Protocol,
    /// A document with this text (repeat for several).
    #[arg(long)]
    text: Vec<String>,
    /// Documents as JSON lines (one Jina JSON document per line), or a JSON list.
    #[arg(long, conflicts_with = "text")]
    docs: Option<PathBuf>,
    /// Request parameters as a JSON object.
    #[arg(long, default_value = "{}")]
    parameters: String,
    /// Documents per request.
    #[arg(long, default_value_t = 100)]
    request_size: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 100)]
    prefetch: usize,
    /// Use TLS, trusting the certificates in this PEM file.
    #[arg(long)]
    tls_ca: Option<PathBuf>,
}

pub async fn run(args: PostArgs) -> anyhow::Result<()> {
    let parameters: Map<String, Value> =
        match serde_json::from_str(&args.parameters).context("--parameters is not valid JSON")? {
            Value::Object(map) => map,
            other => anyhow::bail!("--parameters must be a JSON object, got {other}"),
        };
    let batch = super::input::read_docs(&args.text, args.docs.as_deref())?;
    let mut client = Client::new(&args.host, args.port)
        .protocol(args.protocol)
        .request_size(args.request_size)
        .prefetch(args.prefetch);
    if let Some(ca) = &args.tls_ca {
        client = client.tls_ca(ca);
    }
    let results = client.post(&args.endpoint, batch, parameters).await?;
    let mut failed = 0;
    for result in results {
        match result {
            Ok(response) => println!("{}", response_to_string(&response)),
            Err(RequestError::Executor(info)) => {
                failed += 1;
                eprintln!(
                    "error: executor `{}` raised {}: {}",
                    info.executor,
                    info.name,
                    info.args.join("; ")
                );
            }
            Err(error) => {
                failed += 1;
                eprintln!("error: {error}");
            }
        }
    }
    anyhow::ensure!(failed == 0, "{failed} request(s) failed");
    Ok(())
}
