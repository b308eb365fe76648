//! `flowhost push | pull | inspect | login | logout`: executors as OCI artifacts.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::Context as _;
use flowhost_registry::{ArtifactOptions, PullPolicy, ResolveContext};

#[derive(Debug, clap::Args)]
pub struct RegistryFlags {
    /// Reach this registry over plain HTTP (repeatable); loopback needs no flag.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    insecure: Vec<String>,
    /// Extra root certificate (PEM) trusted for registry TLS (repeatable).
    #[arg(long = "ca-cert", value_name = "FILE")]
    ca_certs: Vec<PathBuf>,
}

impl RegistryFlags {
    pub fn context(&self) -> anyhow::Result<ResolveContext> {
        let mut context = ResolveContext::from_env()?;
        context
            .settings
            .insecure_registries
            .extend(self.insecure.iter().cloned());
        context
            .settings
            .ca_certs
            .extend(self.ca_certs.iter().cloned());
        Ok(context)
    }
}

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The component to push.
    file: PathBuf,
    /// Where to: `oci://REGISTRY/REPO:TAG`, `hub://NAME:TAG` or `docker://IMAGE:TAG`.
    reference: String,
    /// The artifact's author.
    #[arg(long)]
    author: Option<String>,
    #[command(flatten)]
    registry: RegistryFlags,
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// `oci://…`, `hub://…` or `docker://…`, by tag or `@sha256:` digest.
    reference: String,
    #[command(flatten)]
    registry: RegistryFlags,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// A component file or a registry reference.
    uses: String,
    /// When to ask the registry: always, missing or never.
    #[arg(long, default_value = "missing")]
    pull: PullPolicy,
    #[command(flatten)]
    registry: RegistryFlags,
}

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The registry, e.g. `localhost:5000`.
    registry: String,
    #[arg(short, long)]
    username: String,
    /// The password (prefer --password-stdin: arguments show up in `ps`).
    #[arg(short, long, conflicts_with = "password_stdin")]
    password: Option<String>,
    /// Read the password from standard input.
    #[arg(long)]
    password_stdin: bool,
    #[command(flatten)]
    registry_flags: RegistryFlags,
}

#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    registry: String,
}

pub async fn push(args: PushArgs) -> anyhow::Result<()> {
    let context = args.registry.context()?;
    let options = ArtifactOptions {
        author: args.author,
        ..ArtifactOptions::default()
    };
    let pushed = flowhost_registry::push(&args.file, &args.reference, &context, &options).await?;
    println!("{}", pushed.reference);
    println!("digest: {}", pushed.manifest_digest);
    Ok(())
}

pub async fn pull(args: PullArgs) -> anyhow::Result<()> {
    let context = args.registry.context()?;
    let pulled = flowhost_registry::pull(&args.reference, &context).await?;
    println!("{}", pulled.reference);
    println!("component: {} ({})", pulled.path.display(), pulled.digest);
    Ok(())
}

pub async fn inspect(args: InspectArgs) -> anyhow::Result<()> {
    let context = args.registry.context()?.with_pull_policy(args.pull);
    let (resolved, info) = flowhost_registry::inspect(&args.uses, &context).await?;
    println!("reference: {}", resolved.reference);
    println!("{info}");
    Ok(())
}

pub async fn login(args: LoginArgs) -> anyhow::Result<()> {
    let password = match (args.password, args.password_stdin) {
        (Some(password), _) => password,
        (None, true) => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("cannot read the password from standard input")?;
            password.trim_end_matches(['\r', '\n']).to_owned()
        }
        (None, false) => anyhow::bail!("give --password or --password-stdin"),
    };
    let context = args.registry_flags.context()?;
    let saved =
        flowhost_registry::login(&args.registry, &args.username, &password, &context).await?;
    println!("Login succeeded; credentials saved in {}", saved.display());
    Ok(())
}

pub async fn logout(args: LogoutArgs) -> anyhow::Result<()> {
    let context = ResolveContext::from_env()?;
    if flowhost_registry::logout(&args.registry, &context)? {
        println!("Removed credentials for {}", args.registry);
    } else {
        println!("No credentials were saved for {}", args.registry);
    }
    Ok(())
}
