//! `resolve(uses, &ctx)`: from a `uses` value to a component file on the local disk.
//!
//! Local paths are tried relative to the flow file's directory, then each extra search path;
//! an executor YAML names the component (and default `with` arguments) and is followed; the
//! registry forms go through the cache under the pull policy.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use serde::Deserialize;
use tokio::sync::OnceCell;

use crate::auth::CredentialSources;
use crate::cache::{Cache, file_digest};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::inspect::{WasmKind, wasm_kind};
use crate::reference::{ImageRef, ReferenceError, Uses};
use crate::transport::{Transport, TransportConfig};

/// When to contact the registry (`--pull`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Always ask the registry what a tag points to; if it cannot be reached, run the cached
    /// copy with a warning. (A `@sha256:` reference already in the cache is not re-asked.)
    Always,
    /// Use the cache when it has the reference; pull otherwise. The default.
    #[default]
    Missing,
    /// Never contact a registry: the cache or an error.
    Never,
}

impl FromStr for PullPolicy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "always" => Ok(PullPolicy::Always),
            "missing" => Ok(PullPolicy::Missing),
            "never" => Ok(PullPolicy::Never),
            other => Err(format!(
                "unknown pull policy `{other}` (expected always, missing or never)"
            )),
        }
    }
}

impl fmt::Display for PullPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PullPolicy::Always => "always",
            PullPolicy::Missing => "missing",
            PullPolicy::Never => "never",
        })
    }
}

/// Everything resolution needs. Cheap to clone; clones share registry connections, so
/// build one per flow (or per process) and resolve every executor through it.
///
/// Set the fields before the first registry access: the connection settings are read then.
#[derive(Clone)]
pub struct ResolveContext {
    /// The flow file's directory: relative paths are tried here first.
    pub base_dir: Option<PathBuf>,
    /// Then here, in order.
    pub extra_search_paths: Vec<PathBuf>,
    /// When to contact the registry (`--pull`).
    pub pull_policy: PullPolicy,
    /// Hub, registry connection and cache settings.
    pub settings: Settings,
    /// Where registry credentials are looked up, in order.
    pub credentials: CredentialSources,
    /// Progress bars on stderr (drawn only when stderr is a terminal).
    pub progress: bool,
    transport: Arc<OnceCell<Arc<Transport>>>,
}

impl fmt::Debug for ResolveContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolveContext")
            .field("base_dir", &self.base_dir)
            .field("extra_search_paths", &self.extra_search_paths)
            .field("pull_policy", &self.pull_policy)
            .field("settings", &self.settings)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

impl ResolveContext {
    /// A context over `settings`, with the standard credential sources.
    pub fn new(settings: Settings) -> ResolveContext {
        let credentials = CredentialSources::standard(&settings.auth_path);
        ResolveContext {
            base_dir: None,
            extra_search_paths: Vec::new(),
            pull_policy: PullPolicy::default(),
            settings,
            credentials,
            progress: true,
            transport: Arc::new(OnceCell::new()),
        }
    }

    /// [`Settings::load`] (config file and environment), then [`ResolveContext::new`].
    pub fn from_env() -> Result<ResolveContext> {
        Ok(ResolveContext::new(Settings::load()?))
    }

    /// Relative paths resolve against the directory of this flow file first.
    pub fn with_flow_file(mut self, flow_file: &Path) -> ResolveContext {
        self.base_dir = flow_file.parent().map(Path::to_path_buf);
        self
    }

    /// Contact the registry according to `policy` (`--pull`).
    pub fn with_pull_policy(mut self, policy: PullPolicy) -> ResolveContext {
        self.pull_policy = policy;
        self
    }

    /// The cache this context reads and fills.
    pub fn cache(&self) -> Cache {
        Cache::new(&self.settings.cache_dir)
    }

    pub(crate) async fn transport(&self) -> Result<Arc<Transport>> {
        self.transport
            .get_or_try_init(|| async {
                let mut extra_roots = Vec::new();
                for path in &self.settings.ca_certs {
                    let pem = std::fs::read(path)
                        .map_err(|e| Error::io(path, "cannot read the CA certificate", e))?;
                    extra_roots.push(pem);
                }
                Ok(Arc::new(Transport::new(TransportConfig {
                    insecure_registries: self.settings.insecure_registries.clone(),
                    extra_roots,
                    credentials: self.credentials.clone(),
                })))
            })
            .await
            .cloned()
    }

    /// `hub://` → `oci://`, or the error that says how to configure a hub.
    pub fn hub_image(&self, hub: &crate::reference::HubRef, display: &str) -> Result<ImageRef> {
        match &self.settings.hub {
            Some(h) => Ok(hub.in_hub(&h.registry, &h.namespace)),
            None => Err(Error::HubNotConfigured {
                reference: display.to_string(),
                config_path: self.settings.config_path.clone(),
            }),
        }
    }
}

/// Where a resolved component came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on disk (`uses: ./x.wasm`, or named by an executor YAML).
    Local,
    /// A registry image, with the manifest (or index) digest it resolved to.
    Registry {
        /// The image the reference named.
        image: ImageRef,
        /// The `sha256:` digest of the manifest (or index) it resolved to.
        manifest_digest: String,
        /// True when the registry was not contacted (cache hit).
        from_cache: bool,
    },
}

/// A `uses` value resolved to a component file.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedComponent {
    /// The component file. For registry images, a verified blob in the cache.
    pub path: PathBuf,
    /// `sha256:` of the component's bytes (the compile-cache key).
    pub digest: String,
    /// The reference, canonical: an absolute path, or `oci://REGISTRY/REPO:TAG@sha256:…`
    /// (the manifest digest pins it), whatever form the user wrote.
    pub reference: String,
    /// Where the component came from: disk or a registry.
    pub source: Source,
    /// Whether the file is a component or a core module.
    pub kind: WasmKind,
    /// Default `with` arguments from executor YAML files (outermost wins); the flow's
    /// `uses_with` should be merged over them.
    pub with: Option<serde_json::Map<String, serde_json::Value>>,
}

/// How deep executor YAML files may point to each other.
const MAX_YAML_DEPTH: usize = 8;

/// Resolve a `uses` value under `ctx` and its pull policy.
pub async fn resolve(uses: &str, ctx: &ResolveContext) -> Result<ResolvedComponent> {
    resolve_with_policy(uses, ctx, ctx.pull_policy).await
}

/// `flowhost pull`: like [`resolve`] with `--pull always`, for registry references only.
pub async fn pull(reference: &str, ctx: &ResolveContext) -> Result<ResolvedComponent> {
    let parsed = Uses::parse(reference)?;
    if !parsed.is_remote() {
        return Err(Error::InvalidReference {
            reference: reference.to_string(),
            reason: ReferenceError::NotRemote { operation: "pull" },
        });
    }
    resolve_with_policy(reference, ctx, PullPolicy::Always).await
}

async fn resolve_with_policy(
    uses: &str,
    ctx: &ResolveContext,
    policy: PullPolicy,
) -> Result<ResolvedComponent> {
    let mut base = ctx.base_dir.clone();
    let mut current = uses.to_string();
    let mut with: Option<serde_json::Map<String, serde_json::Value>> = None;
    let mut seen: Vec<PathBuf> = Vec::new();
    loop {
        let parsed = Uses::parse(&current)?;
        let mut resolved = match parsed {
            Uses::ExecutorYaml(path) => {
                let file = find_local(&current, &path, base.as_deref(), &ctx.extra_search_paths)?;
                if seen.contains(&file) || seen.len() >= MAX_YAML_DEPTH {
                    return Err(Error::ExecutorYaml {
                        path: file,
                        reason: format!(
                            "executor YAML files refer to each other more than {MAX_YAML_DEPTH} deep, or in a cycle"
                        ),
                    });
                }
                let yaml = read_executor_yaml(&file)?;
                // Outer files win: only fill keys not set yet.
                if let Some(w) = yaml.with {
                    let merged = with.get_or_insert_with(Default::default);
                    for (k, v) in w {
                        merged.entry(k).or_insert(v);
                    }
                }
                base = file.parent().map(Path::to_path_buf);
                seen.push(file);
                current = yaml.uses;
                continue;
            }
            Uses::Path(path) => {
                let file = find_local(&current, &path, base.as_deref(), &ctx.extra_search_paths)?;
                local_component(file)?
            }
            Uses::Oci(image) | Uses::Docker(image) => remote(ctx, &image, &current, policy).await?,
            Uses::Hub(hub) => {
                let image = ctx.hub_image(&hub, &current)?;
                remote(ctx, &image, &current, policy).await?
            }
        };
        resolved.with = with;
        return Ok(resolved);
    }
}

async fn remote(
    ctx: &ResolveContext,
    image: &ImageRef,
    display: &str,
    policy: PullPolicy,
) -> Result<ResolvedComponent> {
    let f = crate::pull::fetch(ctx, image, display, policy).await?;
    let pinned = ImageRef {
        digest: Some(f.manifest_digest.clone()),
        tag: image.tag.clone(),
        ..image.clone()
    };
    Ok(ResolvedComponent {
        path: f.path,
        digest: f.component_digest,
        reference: format!("oci://{pinned}"),
        source: Source::Registry {
            image: image.clone(),
            manifest_digest: f.manifest_digest,
            from_cache: f.from_cache,
        },
        kind: f.kind,
        with: None,
    })
}

fn local_component(file: PathBuf) -> Result<ResolvedComponent> {
    let mut head = [0u8; 8];
    let n = {
        use std::io::Read;
        std::fs::File::open(&file)
            .and_then(|mut f| f.read(&mut head))
            .map_err(|e| Error::io(&file, "cannot read the component", e))?
    };
    let kind = wasm_kind(&head[..n]).ok_or_else(|| Error::NotWasm {
        origin: file.display().to_string(),
    })?;
    Ok(ResolvedComponent {
        digest: file_digest(&file)?,
        reference: file.display().to_string(),
        path: file,
        source: Source::Local,
        kind,
        with: None,
    })
}

/// Absolute paths as they are; relative ones against `base`, then each search path.
fn find_local(
    reference: &str,
    path: &Path,
    base: Option<&Path>,
    extra: &[PathBuf],
) -> Result<PathBuf> {
    let candidates: Vec<PathBuf> = if path.is_absolute() {
        vec![path.to_path_buf()]
    } else {
        let mut c = Vec::new();
        match base {
            Some(b) => c.push(b.join(path)),
            None => c.push(path.to_path_buf()),
        }
        c.extend(extra.iter().map(|d| d.join(path)));
        c
    };
    for c in &candidates {
        if c.is_file() {
            // Absolute, so the reference we report does not depend on the working directory.
            return Ok(std::path::absolute(c).unwrap_or_else(|_| c.clone()));
        }
    }
    Err(Error::LocalNotFound {
        reference: reference.to_string(),
        tried: candidates,
    })
}

/// An executor YAML file, Jina's shape with flowhost's `uses`:
///
/// ```yaml
/// jtype: Segmenter            # optional, informational (Jina's class name)
/// uses: ./segmenter.wasm      # required: any `uses` form, relative to this file
/// with: { min_len: 3 }        # optional default arguments
/// metas: { name: segmenter }  # optional, ignored here
/// ```
#[derive(Debug, Deserialize)]
struct ExecutorYaml {
    uses: String,
    #[serde(default)]
    with: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, rename = "jtype")]
    _jtype: Option<String>,
    #[serde(default, rename = "metas")]
    _metas: Option<serde_json::Value>,
}

fn read_executor_yaml(path: &Path) -> Result<ExecutorYaml> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
    let value: serde_json::Value =
        serde_norway::from_str(&text).map_err(|e| Error::ExecutorYaml {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if value.get("uses").is_none() {
        return Err(Error::ExecutorYaml {
            path: path.to_path_buf(),
            reason: "missing `uses:` (the component: a .wasm path, oci://, hub:// or docker://)"
                .into(),
        });
    }
    serde_json::from_value(value).map_err(|e| Error::ExecutorYaml {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";

    fn ctx(root: &Path) -> ResolveContext {
        let mut c = ResolveContext::new(Settings::isolated(&root.join("state")));
        c.credentials = CredentialSources::none();
        c.progress = false;
        c
    }

    #[tokio::test]
    async fn local_search_order() {
        let dir = tempfile::tempdir().unwrap();
        let flow_dir = dir.path().join("flow");
        let lib = dir.path().join("lib");
        std::fs::create_dir_all(&flow_dir).unwrap();
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(lib.join("a.wasm"), COMPONENT).unwrap();
        let mut c = ctx(dir.path()).with_flow_file(&flow_dir.join("flow.yml"));
        let err = resolve("./a.wasm", &c).await.unwrap_err();
        assert!(
            err.to_string().starts_with("./a.wasm: file not found"),
            "{err}"
        );
        c.extra_search_paths.push(lib.clone());
        let r = resolve("./a.wasm", &c).await.unwrap();
        assert_eq!(r.path, lib.join("./a.wasm"));
        assert_eq!(r.kind, WasmKind::Component);
        assert_eq!(r.source, Source::Local);
        // The flow's directory wins.
        std::fs::write(flow_dir.join("a.wasm"), COMPONENT).unwrap();
        assert_eq!(
            resolve("a.wasm", &c).await.unwrap().path,
            flow_dir.join("a.wasm")
        );
    }

    #[tokio::test]
    async fn executor_yaml_chain() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("x.wasm"), COMPONENT).unwrap();
        std::fs::write(
            sub.join("inner.yml"),
            "jtype: X\nuses: x.wasm\nwith: {a: 1, b: 2}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("outer.yaml"),
            "uses: sub/inner.yml\nwith: {a: 10}\n",
        )
        .unwrap();
        let c = ctx(dir.path()).with_flow_file(&dir.path().join("flow.yml"));
        let r = resolve("outer.yaml", &c).await.unwrap();
        assert_eq!(r.path, sub.join("x.wasm"));
        let w = r.with.unwrap();
        assert_eq!((w["a"].as_i64(), w["b"].as_i64()), (Some(10), Some(2)));

        std::fs::write(dir.path().join("loop.yml"), "uses: loop.yml\n").unwrap();
        let err = resolve("loop.yml", &c).await.unwrap_err();
        assert!(err.to_string().contains("cycle"), "{err}");
        std::fs::write(dir.path().join("bad.yml"), "with: {}\n").unwrap();
        let err = resolve("bad.yml", &c).await.unwrap_err();
        assert!(
            err.to_string().contains("bad.yml") && err.to_string().contains("missing `uses:`"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn not_wasm_and_hub_unset() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.wasm"), b"text").unwrap();
        let c = ctx(dir.path()).with_flow_file(&dir.path().join("f.yml"));
        let err = resolve("t.wasm", &c).await.unwrap_err();
        assert!(
            err.to_string().contains("not a WebAssembly binary"),
            "{err}"
        );
        let err = resolve("hub://encoder:1", &c).await.unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("hub://encoder:1: no hub registry configured"),
            "{msg}"
        );
        assert!(
            msg.contains("--hub") && msg.contains("FLOWHOST_HUB"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn never_policy_needs_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let c = ctx(dir.path()).with_pull_policy(PullPolicy::Never);
        let err = resolve("oci://127.0.0.1:1/acme/foo:1.0", &c)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotCached { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("oci://127.0.0.1:1/acme/foo:1.0: not in the cache")
        );
    }

    #[test]
    fn context_and_futures_are_send() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: T) {}
        let dir = tempfile::tempdir().unwrap();
        let c = ctx(dir.path());
        send_sync(&c);
        // So the host can tokio::spawn a resolution per executor.
        send(resolve("oci://r/x:1", &c));
        send(crate::push::push(
            Path::new("x"),
            "oci://r/x:1",
            &c,
            &Default::default(),
        ));
        send(crate::auth::login("r", "u", "p", &c));
    }

    #[test]
    fn policies_parse() {
        assert_eq!("always".parse::<PullPolicy>().unwrap(), PullPolicy::Always);
        assert!("sometimes".parse::<PullPolicy>().is_err());
    }
}
