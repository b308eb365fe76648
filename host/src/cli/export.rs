//! `flowhost export kubernetes | docker-compose | flowchart`: the flow off one machine.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use flowhost_export::{Export, ExportOptions};
use flowhost_flow::Flow;

#[derive(Debug, clap::Args)]
pub struct Target {
    /// The flow file.
    flow: PathBuf,
    /// The flowhost image every service runs.
    #[arg(long, default_value = concat!("flowhost:", env!("CARGO_PKG_VERSION")))]
    image: String,
    /// Where local component files are named (and, with --push, pushed): `HOST[:PORT]/PATH`.
    #[arg(long)]
    registry: Option<String>,
    /// Push the local components to --registry.
    #[arg(long, requires = "registry")]
    push: bool,
    #[command(flatten)]
    registry_flags: super::registry::RegistryFlags,
}

#[derive(Debug, clap::Args)]
pub struct KubernetesArgs {
    #[command(flatten)]
    target: Target,
    /// The folder to write the manifests to.
    out: PathBuf,
    /// The namespace (default: the flow's `name`, else `default`).
    #[arg(long = "k8s-namespace", alias = "namespace")]
    namespace: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ComposeArgs {
    #[command(flatten)]
    target: Target,
    /// The compose file to write; the flow files go to `flowhost/` beside it.
    #[arg(default_value = "docker-compose.yml")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct FlowchartArgs {
    /// The flow file.
    flow: PathBuf,
    /// Where to write it: `.svg` for a picture, anything else for Mermaid text (`-`: Mermaid
    /// on standard output).
    #[arg(default_value = "-")]
    out: PathBuf,
}

fn load(path: &Path) -> anyhow::Result<(Flow, PathBuf)> {
    let flow = super::flow_file::load(path, super::flow_file::KeyPolicy::Warn)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    Ok((flow, dir))
}

fn options(target: &Target) -> ExportOptions {
    let mut options = ExportOptions::new(target.image.clone());
    options.registry = target.registry.clone();
    options
}

pub async fn kubernetes(args: KubernetesArgs) -> anyhow::Result<()> {
    let (flow, dir) = load(&args.target.flow)?;
    let mut options = options(&args.target);
    options.namespace = args.namespace.clone();
    let export = flowhost_export::kubernetes(&flow, &dir, &options)
        .with_context(|| format!("cannot export {}", args.target.flow.display()))?;
    write(&export, &args.out)?;
    finish(&export, &args.target, &args.out).await
}

pub async fn compose(args: ComposeArgs) -> anyhow::Result<()> {
    let (flow, dir) = load(&args.target.flow)?;
    let file_name = (args.out.file_name())
        .and_then(|name| name.to_str())
        .context("the compose file needs a file name")?;
    let export = flowhost_export::docker_compose(&flow, &dir, &options(&args.target), file_name)
        .with_context(|| format!("cannot export {}", args.target.flow.display()))?;
    let out_dir = (args.out.parent())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    write(&export, out_dir)?;
    finish(&export, &args.target, &args.out).await
}

pub fn flowchart(args: FlowchartArgs) -> anyhow::Result<()> {
    let (flow, _) = load(&args.flow)?;
    let topology = flow.topology()?;
    let svg = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    let text = if svg {
        topology.to_svg()
    } else {
        topology.to_mermaid()
    };
    if args.out == Path::new("-") {
        print!("{text}");
        return Ok(());
    }
    std::fs::write(&args.out, text).with_context(|| format!("cannot write {}", args.out.display()))
}

fn write(export: &Export, out: &Path) -> anyhow::Result<()> {
    for file in &export.files {
        let path = out.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, &file.text)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Says what was written and pushes (or lists) the local components the export names.
async fn finish(export: &Export, target: &Target, out: &Path) -> anyhow::Result<()> {
    println!("wrote {} files to {}", export.files.len(), out.display());
    if export.components.is_empty() {
        return Ok(());
    }
    if target.push {
        let context = target.registry_flags.context()?;
        for component in &export.components {
            let pushed = flowhost_registry::push(
                &component.file,
                &component.reference,
                &context,
                &Default::default(),
            )
            .await
            .with_context(|| format!("cannot push {}", component.file.display()))?;
            println!("pushed {} ({})", pushed.reference, pushed.manifest_digest);
        }
    } else {
        println!("push these components before deploying (or export again with --push):");
        for component in &export.components {
            println!(
                "  flowhost push {} {}",
                component.file.display(),
                component.reference
            );
        }
    }
    Ok(())
}
