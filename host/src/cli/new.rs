//! `flowhost new executor NAME --lang LANG`: a new executor project.

use std::path::PathBuf;

use crate::authoring::{Home, Language, template};

#[derive(Debug, clap::Args)]
pub struct NewExecutorArgs {
    /// The project's name; its folder is ./NAME (lower-case letters, digits and `-`).
    name: String,
    /// The language: rust, python, js, go or c.
    #[arg(long, default_value = "rust")]
    lang: String,
    /// Where to create the project folder.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

pub fn executor(args: NewExecutorArgs) -> anyhow::Result<()> {
    let language = Language::from_key(&args.lang)?;
    let home = Home::locate()?;
    let dir = template::scaffold(&home, language, &args.name, &args.dir)?;
    println!("created {} ({language} executor)", dir.display());
    println!("  cd {}", dir.display());
    println!("  flowhost build .        # -> build/{}.wasm", args.name);
    println!("  flowhost run flow.yml   # serves it on http://localhost:12345");
    println!("  bash test.sh            # builds, calls it once, checks the answer");
    let missing: Vec<_> = language
        .required_tools(&home)
        .into_iter()
        .filter(|tool| !tool.exists())
        .collect();
    if !missing.is_empty() {
        println!(
            "first install the {language} toolchain: bash {}/scripts/install-toolchains.sh {}",
            home.root().display(),
            language.key()
        );
    }
    Ok(())
}
