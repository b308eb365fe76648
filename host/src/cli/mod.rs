//! The `flowhost` command line: argument parsing, logging set-up and one
//! module per subcommand. Errors are reported here, once, with their causes.

mod build;
mod call;
mod export;
mod flow_file;
mod input;
mod new;
mod otlp;
mod otlp_metrics;
mod ping;
mod post;
mod reclaim;
mod registry;
mod run;
mod span_wire;
mod traces;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "flowhost",
    version,
    about = "Run document pipelines of sandboxed Wasm executors"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines are written to stderr: `text`, or `json` (one object per line, with
    /// the flow, executor, replica, shard and request id as fields).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// What is logged: a level (`error`, `warn`, `info`, `debug`, `trace`) or a filter such
    /// as `warn,executor=info`. Wins over `FLOWHOST_LOG` and `RUST_LOG`; `info` when none is set.
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
}

/// The shape of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a flow: every executor and the gateway; serve until Ctrl-C or SIGTERM.
    Run(run::RunArgs),
    /// Check that a flow's gateway is up and ready (exit code 0 when it is).
    Ping(ping::PingArgs),
    /// Send documents to a running flow and print the answers.
    Post(post::PostArgs),
    /// Work with one executor on its own.
    #[command(subcommand)]
    Executor(ExecutorCommand),
    /// Push a component to a registry as a CNCF Wasm OCI artifact; prints its digest.
    Push(registry::PushArgs),
    /// Pull a component into the local cache.
    Pull(registry::PullArgs),
    /// Show a component's digest, world, exports and imports.
    Inspect(registry::InspectArgs),
    /// Save credentials for a registry.
    Login(registry::LoginArgs),
    /// Forget the credentials saved for a registry.
    Logout(registry::LogoutArgs),
    /// Export a flow: Kubernetes manifests, a docker compose file, or a flowchart.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Start a new project.
    #[command(subcommand)]
    New(NewCommand),
    /// Build an executor project (Rust, Python, JavaScript, Go or C) into a component;
    /// prints its path.
    Build(build::BuildArgs),
}

#[derive(Debug, Subcommand)]
enum NewCommand {
    /// An executor in any language with an SDK, with a flow file that serves it and a test.
    Executor(new::NewExecutorArgs),
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// Kubernetes manifests: a namespace, the gateway, and every executor shard as its own
    /// Deployment (or StatefulSet) and Service.
    Kubernetes(export::KubernetesArgs),
    /// A docker compose file with the same topology.
    #[command(name = "docker-compose")]
    DockerCompose(export::ComposeArgs),
    /// The flow as a picture (SVG) or a Mermaid flowchart.
    Flowchart(export::FlowchartArgs),
}

#[derive(Debug, Subcommand)]
enum ExecutorCommand {
    /// Start one executor, send it one request and print the documents it returns.
    Call(call::CallArgs),
    /// Serve one executor over gRPC, for flows elsewhere to use as `external: true`.
    Serve(run::ServeArgs),
}

fn parse_protocol(text: &str) -> Result<flowhost_wire::Protocol, String> {
    text.parse()
        .map_err(|error: flowhost_wire::UnknownProtocol| error.to_string())
}

/// `host:port` (the host may be omitted: `:12345` means localhost).
fn split_address(address: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("`{address}` is not HOST:PORT"))?;
    let port = port
        .parse()
        .map_err(|_| anyhow::anyhow!("`{port}` in `{address}` is not a port number"))?;
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    Ok((host.trim_matches(['[', ']']).to_owned(), port))
}

/// Logs go to stderr; `--log-level`, else `FLOWHOST_LOG`, else `RUST_LOG` picks what is shown.
fn init_logging(format: LogFormat, level: Option<&str>) {
    let filter = level
        .map(str::to_owned)
        .or_else(|| std::env::var("FLOWHOST_LOG").ok())
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    let _ = match format {
        // Colours only on a terminal: piped into a file or another program, escape codes
        // are noise in every line.
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
    };
}

/// What the binary, which owns the process's allocator, asks of the async runtime
/// (`RuntimeHooks::default()` asks nothing).
#[derive(Default)]
pub struct RuntimeHooks {
    /// Hands the memory the calling thread has freed back to the OS. Called by each worker
    /// about once a second while the process works, as it goes to sleep (`reclaim.rs`).
    pub return_freed_memory: Option<fn()>,
}

/// Runs the `flowhost` command line, its runtime's workers calling `hooks`: parses the
/// arguments, sets up logging, reports errors.
pub fn main(hooks: RuntimeHooks) -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, cli.log_level.as_deref());
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    let rounds = hooks.return_freed_memory.map(|return_freed| {
        let rounds = Arc::new(reclaim::Rounds::default());
        let parked = rounds.clone();
        builder.on_thread_park(move || parked.before_sleep(return_freed));
        let woken = rounds.clone();
        builder.on_thread_unpark(move || woken.after_wake());
        rounds
    });
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        if let Some(rounds) = rounds {
            rounds.start();
        }
        match cli.command {
            Command::Executor(ExecutorCommand::Call(args)) => call::run(args).await,
            Command::Executor(ExecutorCommand::Serve(args)) => run::serve_executor(args).await,
            Command::Push(args) => registry::push(args).await,
            Command::Pull(args) => registry::pull(args).await,
            Command::Inspect(args) => registry::inspect(args).await,
            Command::Login(args) => registry::login(args).await,
            Command::Logout(args) => registry::logout(args).await,
            Command::Export(ExportCommand::Kubernetes(args)) => export::kubernetes(args).await,
            Command::Export(ExportCommand::DockerCompose(args)) => export::compose(args).await,
            Command::Export(ExportCommand::Flowchart(args)) => export::flowchart(args),
            Command::New(NewCommand::Executor(args)) => new::executor(args),
            Command::Build(args) => build::run(args),
            Command::Run(args) => run::run(args).await,
            Command::Ping(args) => ping::run(args).await,
            Command::Post(args) => post::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
