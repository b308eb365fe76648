//! `flowhost executor call`: one executor, one request, the answer as JSON.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use flowhost_runtime::{Executor, InstanceConfig, InstanceLimits, Runtime, RuntimeConfig};

#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// The executor component (.wasm).
    #[arg(long)]
    uses: PathBuf,
    /// The endpoint to call.
    #[arg(long, default_value = "/")]
    endpoint: String,
    /// A document with this text (repeat for several).
    #[arg(long)]
    text: Vec<String>,
    /// Documents as Jina JSON: a list, or one object per line.
    #[arg(long, conflicts_with = "text")]
    docs: Option<PathBuf>,
    /// Constructor arguments as a JSON object (Jina's `uses_with`).
    #[arg(long, default_value = "{}")]
    uses_with: String,
    /// Request parameters as a JSON object.
    #[arg(long, default_value = "{}")]
    parameters: String,
    /// Call deadline in milliseconds.
    #[arg(long, default_value_t = InstanceLimits::DEFAULT_TIMEOUT.as_millis() as u64)]
    timeout_ms: u64,
}

fn json_object(flag: &str, text: &str) -> anyhow::Result<serde_json::Value> {
    let value: serde_json::Value =
        serde_json::from_str(text).with_context(|| format!("--{flag} is not valid JSON"))?;
    anyhow::ensure!(
        value.is_object(),
        "--{flag} must be a JSON object, got {value}"
    );
    Ok(value)
}

pub async fn run(args: CallArgs) -> anyhow::Result<()> {
    let uses_with = json_object("uses-with", &args.uses_with)?;
    json_object("parameters", &args.parameters)?;
    let batch = super::input::read_docs(&args.text, args.docs.as_deref())?;

    let runtime = Arc::new(Runtime::new(RuntimeConfig::default())?);
    let component = runtime.load_async(&args.uses).await?;
    let name = args
        .uses
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("executor")
        .to_owned();
    let mut config = InstanceConfig::new(name);
    config.uses_with = uses_with;
    config.limits.timeout = Duration::from_millis(args.timeout_ms);
    let executor = Executor::start(component, config).await?;
    let description = executor.description();
    let method = description
        .methods
        .iter()
        .find(|m| m.endpoints.contains(&args.endpoint))
        .map(|m| m.name.clone())
        .or_else(|| description.catch_all.clone())
        .with_context(|| {
            format!(
                "executor `{}` has no method bound to {} and no catch-all",
                executor.name(),
                args.endpoint
            )
        })?;
    let out = executor
        .call(&method, &args.endpoint, batch, &args.parameters)
        .await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&flowhost_wire::json::documents::batch_to_json(&out))?
    );
    Ok(())
}
