//! `flowhost run flow.yml`: start every executor and the gateway, print the ready banner,
//! serve until SIGINT or SIGTERM, then drain and exit.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use serde_json::json;

use super::flow_file::KeyPolicy;
use crate::deploy::watch::{self, Reloader, WatchAll};
use crate::deploy::{
    DeployOptions, LiveFlow, RegistryResolver, RunningFlow, ShardOf, gateway_config, monitoring,
    runtime_config_for,
};
use flowhost_flow::Flow;
use flowhost_gateway::{FlowService, Gateway};
use flowhost_runtime::Runtime;
use flowhost_wire::Protocol;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The flow file (Jina's Flow YAML).
    flow: PathBuf,
    /// When to ask a registry for `oci://`, `hub://` and `docker://` executors:
    /// always, missing (use the cache when it has the tag) or never (offline).
    #[arg(long, default_value = "missing")]
    pull: flowhost_registry::PullPolicy,
    /// Refuse a flow that uses Jina keys flowhost ignores (by default each is a warning
    /// with its file and line).
    #[arg(long)]
    strict: bool,
    /// A folder of secrets, one `SECRET/KEY` file per key (a Kubernetes secret mount), read
    /// for `env_from_secret`; variables not found there come from flowhost's environment.
    #[arg(long, value_name = "DIR")]
    secrets_dir: Option<PathBuf>,
    /// Reload when the flow file or a component or executor config file changes: changed
    /// executors are started beside the running ones and swapped in, without dropping a
    /// request in flight (Jina's `reload`, for the whole flow).
    #[arg(long)]
    watch: bool,
    /// Serve shard N (from 0) of the flow's executors, whose other shards run elsewhere
    /// (what exported Kubernetes and compose files pass each shard, as Jina's `--shard-id`).
    #[arg(long, value_name = "N", requires = "shards")]
    shard_id: Option<u32>,
    /// How many shards there are, with `--shard-id`.
    #[arg(long, value_name = "COUNT", requires = "shard_id")]
    shards: Option<u32>,
    #[command(flatten)]
    registry: super::registry::RegistryFlags,
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let policy = if args.strict {
        KeyPolicy::Strict
    } else {
        KeyPolicy::Warn
    };
    let flow = super::flow_file::load(&args.flow, policy)?;
    let flow_dir = args
        .flow
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let resolve = args
        .registry
        .context()?
        .with_flow_file(&args.flow)
        .with_pull_policy(args.pull);
    let label = args.flow.display().to_string();
    let shard_of = match (args.shard_id, args.shards) {
        (Some(id), Some(count)) => {
            anyhow::ensure!(
                id < count,
                "--shard-id {id} is not one of {count} shards (they count from 0)"
            );
            Some(ShardOf { id, count })
        }
        _ => None,
    };
    let place = Place {
        flow_dir: &flow_dir,
        secrets_dir: args.secrets_dir.as_deref(),
        shard_of,
    };
    let all = if args.watch {
        WatchAll::Yes
    } else {
        WatchAll::No
    };
    let watch = watch::wants_watch(&flow, all).then(|| Watch {
        flow_file: args.flow.clone(),
        policy,
        all,
    });
    serve(flow, place, resolve, &label, started, watch).await
}

/// `flowhost executor serve`: one executor behind a gRPC gateway, for flows
/// elsewhere to use as `external: true` (or for a Kubernetes pod).
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The executor: a component file, an executor YAML or a registry reference.
    #[arg(long)]
    uses: String,
    /// The gRPC port (a free one when not given; the banner says which).
    #[arg(long)]
    port: Option<u16>,
    /// The executor's name (in logs, errors and routes).
    #[arg(long, default_value = "executor")]
    name: String,
    /// Constructor arguments as a JSON object (Jina's `uses_with`).
    #[arg(long, default_value = "{}")]
    uses_with: String,
    #[arg(long, default_value = "missing")]
    pull: flowhost_registry::PullPolicy,
    #[command(flatten)]
    registry: super::registry::RegistryFlags,
    /// Serve Prometheus metrics (Jina's `--monitoring`), at `/metrics` on `--port-monitoring`.
    #[arg(long)]
    monitoring: bool,
    /// The port of `/metrics` (a free one when not given).
    #[arg(long)]
    port_monitoring: Option<u16>,
    /// Export spans over OTLP/gRPC (Jina's `--tracing`), to `--traces-exporter-host`.
    #[arg(long)]
    tracing: bool,
    /// Where spans are sent (an OpenTelemetry collector).
    #[arg(long)]
    traces_exporter_host: Option<String>,
    /// The collector's OTLP/gRPC port (4317 when not given).
    #[arg(long)]
    traces_exporter_port: Option<u16>,
}

pub async fn serve_executor(args: ServeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let uses_with: serde_json::Value =
        serde_json::from_str(&args.uses_with).context("--uses-with is not valid JSON")?;
    anyhow::ensure!(uses_with.is_object(), "--uses-with must be a JSON object");
    let mut flow = Flow::new().with_protocol(Protocol::Grpc);
    if let Some(port) = args.port {
        flow = flow.with_port(port);
    }
    let mut flow = flow.add(
        flowhost_flow::ExecutorSpec::new(args.name.clone())
            .uses(args.uses.clone())
            .uses_with(uses_with),
    );
    flow.with.name = Some(args.name.clone());
    let observe = [
        ("monitoring", args.monitoring.then_some(json!(true))),
        ("port_monitoring", args.port_monitoring.map(|p| json!(p))),
        ("tracing", args.tracing.then_some(json!(true))),
        (
            "traces_exporter_host",
            args.traces_exporter_host.map(|h| json!(h)),
        ),
        (
            "traces_exporter_port",
            args.traces_exporter_port.map(|p| json!(p)),
        ),
    ];
    for (key, value) in observe {
        if let Some(value) = value {
            flow.with.extra.insert(key.to_owned(), value);
        }
    }
    let cwd = std::env::current_dir().context("cannot read the working folder")?;
    let resolve = args.registry.context()?.with_pull_policy(args.pull);
    let label = format!("executor `{}` ({})", args.name, args.uses);
    let place = Place {
        flow_dir: &cwd,
        secrets_dir: None,
        shard_of: None,
    };
    serve(flow, place, resolve, &label, started, None).await
}

/// Where a flow's files are: its own folder (relative `uses`), and its secrets.
struct Place<'a> {
    flow_dir: &'a Path,
    secrets_dir: Option<&'a Path>,
    shard_of: Option<ShardOf>,
}

/// What `--watch` (or a `reload: true` in the flow) asks to be watched.
struct Watch {
    flow_file: PathBuf,
    policy: KeyPolicy,
    all: WatchAll,
}

/// The flow being served: as started, or reloaded whenever its files change.
enum Serving<L> {
    Plain(Box<RunningFlow>),
    Watched(Box<Reloader<L>>),
}

/// Deploys `flow`, serves its gateway until SIGINT/SIGTERM, then drains.
async fn serve(
    flow: Flow,
    Place {
        flow_dir,
        secrets_dir,
        shard_of,
    }: Place<'_>,
    resolve: flowhost_registry::ResolveContext,
    label: &str,
    started: Instant,
    watch: Option<Watch>,
) -> anyhow::Result<()> {
    // Watched before anything is announced: a SIGTERM right after the ready banner must drain,
    // not kill the process with the default action.
    let mut shutdown = ShutdownSignal::watch()?;
    let service_name = flow.with.name.clone().unwrap_or_else(|| "flowhost".into());
    let traces = super::traces::start(&flow, &service_name)?;
    let pushed_metrics = super::otlp_metrics::settings(&flow);
    let mut gateway_config = gateway_config(&flow.gateway_args(), flow_dir);
    gateway_config.monitoring = monitoring(&flow, pushed_metrics.is_some());
    let metrics_export = match (pushed_metrics, &gateway_config.monitoring) {
        (Some(settings), Some(monitoring)) => Some(super::otlp_metrics::start(
            settings,
            monitoring.metrics.clone(),
            &service_name,
        )?),
        _ => None,
    };
    let mut runtime_config = runtime_config_for(&flow);
    if watch.is_some() && std::env::var_os("FLOWHOST_MAX_INSTANCES").is_none() {
        // A reload starts the changed executors beside the running ones before the swap:
        // room for every instance twice (address space reserved, not memory used).
        runtime_config.max_instances = runtime_config.max_instances.saturating_mul(2);
    }
    let runtime = Arc::new(Runtime::new(runtime_config)?);
    let mut options = DeployOptions::new(flow_dir, runtime);
    options.remote = Some(Arc::new(RegistryResolver::new(resolve)));
    options.secrets_dir = secrets_dir.map(Path::to_path_buf);
    options.shard_of = shard_of;
    options.metrics =
        (gateway_config.monitoring.as_ref()).map(|monitoring| monitoring.metrics.clone());
    let running = RunningFlow::start(flow, options.clone())
        .await
        .with_context(|| format!("cannot start {label}"))?;
    // Only a flow that may be reloaded pays for a swappable router.
    let live = watch
        .as_ref()
        .map(|_| Arc::new(LiveFlow::new(running.router().clone())));
    let service: Arc<dyn FlowService> = match &live {
        Some(live) => live.clone(),
        None => running.router().clone(),
    };
    let gateway = match Gateway::start(gateway_config, service).await {
        Ok(gateway) => gateway,
        Err(error) => {
            running.close().await;
            return Err(error).with_context(|| format!("cannot start {label}"));
        }
    };
    // The watch starts before the banner: a file saved once the flow is announced reloads it.
    let serving = match (watch, live) {
        (
            Some(Watch {
                flow_file,
                policy,
                all,
            }),
            Some(live),
        ) => {
            let file = flow_file.clone();
            let load = move || super::flow_file::load(&file, policy);
            Serving::Watched(Box::new(Reloader::new(
                live, running, flow_file, load, options, all,
            )?))
        }
        _ => Serving::Plain(Box::new(running)),
    };
    print_banner(&gateway, started);

    let running = match serving {
        Serving::Watched(reloader) => reloader.run(shutdown.received()).await,
        Serving::Plain(running) => {
            shutdown.received().await;
            *running
        }
    };
    tracing::info!("shutting down: draining requests in flight");
    gateway.shutdown().await;
    running.close().await;
    if let Some(traces) = traces {
        traces.shutdown().await;
    }
    if let Some(metrics_export) = metrics_export {
        metrics_export.shutdown().await;
    }
    tracing::info!("flow closed");
    Ok(())
}

/// SIGINT and SIGTERM, with their handlers installed when this is made (tokio's `ctrl_c()`
/// installs its own only when first polled).
struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    fn watch() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn received(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The machine's address on its private network: the source address the kernel would pick
/// for an outside destination (a UDP `connect` sends nothing).
fn private_ip() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("10.255.255.255:1").ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

fn print_banner(gateway: &Gateway, started: Instant) {
    let (listening, tls) = (gateway.listening(), gateway.tls());
    use std::io::Write as _;
    let private = private_ip();
    let mut out = String::new();
    out.push_str(&format!(
        "🎉 Flow is ready to use! (in {} ms)\n",
        started.elapsed().as_millis()
    ));
    for l in listening {
        let port = l.address.port();
        let local: SocketAddr = if l.address.ip().is_unspecified() {
            SocketAddr::from(([0, 0, 0, 0], port))
        } else {
            l.address
        };
        out.push_str(&format!(
            "\t🔗 Protocol: \t\t{}\n",
            l.protocol.as_str().to_ascii_uppercase()
        ));
        out.push_str(&format!("\t🏠 Local access:\t\t{local}\n"));
        if let Some(ip) = private.filter(|_| l.address.ip().is_unspecified()) {
            out.push_str(&format!("\t🔒 Private network:\t{ip}:{port}\n"));
        }
        if l.protocol == Protocol::Http {
            let scheme = if tls { "https" } else { "http" };
            out.push_str(&format!(
                "\t💬 Swagger UI:\t\t{scheme}://localhost:{port}/docs\n"
            ));
            out.push_str(&format!(
                "\t📚 Redoc:\t\t{scheme}://localhost:{port}/redoc\n"
            ));
        }
    }
    if let Some(address) = gateway.metrics_address() {
        // Jina's banner names the monitoring port the same way.
        out.push_str(&format!(
            "\t💎 Prometheus:\t\thttp://localhost:{}/metrics\n",
            address.port()
        ));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}
