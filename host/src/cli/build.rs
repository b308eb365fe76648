//! `flowhost build [DIR] [-o OUT]`: an executor project into a component.

use std::path::PathBuf;
use std::time::Instant;

use crate::authoring::{Home, build};

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The executor project (its language is told from its files).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Where to write the component (default: DIR/build/<folder name>.wasm).
    #[arg(short, long)]
    out: Option<PathBuf>,
}

/// Prints the component's path on stdout (and nothing else there), so scripts can use it.
pub fn run(args: BuildArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let home = Home::locate()?;
    let built = build::build(&home, &args.dir, args.out.as_deref())?;
    let size = std::fs::metadata(&built.component)
        .map(|m| bytesize::ByteSize::b(m.len()).display().iec().to_string())
        .unwrap_or_default();
    eprintln!(
        "built {} ({}, {size}) in {:.1?}",
        built.component.display(),
        built.language,
        started.elapsed()
    );
    println!("{}", built.component.display());
    Ok(())
}
