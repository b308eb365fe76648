//! Registry credentials: where they are read from, and `flowhost login` / `logout`.
//!
//! Lookup order for a registry (first hit wins):
//! 1. `FLOWHOST_REGISTRY_USERNAME` + `FLOWHOST_REGISTRY_PASSWORD` (for every registry, or only
//!    for `FLOWHOST_REGISTRY_AUTH_HOST` when that is set), for CI;
//! 2. flowhost's own credentials file (`<config dir>/auth.json`), written by `flowhost login`;
//! 3. `$REGISTRY_AUTH_FILE` (podman / skopeo);
//! 4. Docker's `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`): `credHelpers`,
//!    then `auths`, then `credsStore`.
//!
//! [`login`] checks the credentials against the registry, then writes flowhost's own file,
//! in Docker's `config.json` format (mode 0600), rather than Docker's: it must not rewrite
//! a user's Docker config (which may route everything through a credential helper), while
//! every tool that reads Docker-format auth files can still be pointed at it
//! (`REGISTRY_AUTH_FILE`, `skopeo --authfile`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::resolve::ResolveContext;

/// Environment variable: a username used for registries (see the module doc).
pub const ENV_USERNAME: &str = "FLOWHOST_REGISTRY_USERNAME";
/// Environment variable: the password that goes with [`ENV_USERNAME`].
pub const ENV_PASSWORD: &str = "FLOWHOST_REGISTRY_PASSWORD";
/// Environment variable: restrict [`ENV_USERNAME`] to this registry.
pub const ENV_AUTH_HOST: &str = "FLOWHOST_REGISTRY_AUTH_HOST";

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name to log in with.
    pub username: String,
    /// The password or token (the secret).
    pub password: String,
    /// Where they came from, for logs (never the secret).
    pub origin: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Docker's `config.json` (the parts we read and write). Unknown keys are kept on rewrite.
#[derive(Debug, Default, Serialize, Deserialize)]
struct DockerConfig {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(
        rename = "credHelpers",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    cred_helpers: BTreeMap<String, String>,
    #[serde(
        rename = "credsStore",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    creds_store: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AuthEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

/// Where credentials are looked up.
#[derive(Debug, Clone)]
pub struct CredentialSources {
    /// `FLOWHOST_REGISTRY_USERNAME`/`PASSWORD` (and the optional host restriction).
    pub env: Option<(Option<String>, Credentials)>,
    /// flowhost's file, then `REGISTRY_AUTH_FILE`, then Docker's.
    pub files: Vec<PathBuf>,
}

impl CredentialSources {
    /// The usual sources, with flowhost's own file at `flowhost_auth`.
    pub fn standard(flowhost_auth: &Path) -> CredentialSources {
        CredentialSources::standard_with(flowhost_auth, &|k| std::env::var(k).ok())
    }

    /// Like [`standard`](Self::standard), with the environment given as a function.
    pub fn standard_with(
        flowhost_auth: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> CredentialSources {
        let env_creds = match (env(ENV_USERNAME), env(ENV_PASSWORD)) {
            (Some(u), Some(p)) if !u.is_empty() => Some((
                env(ENV_AUTH_HOST).filter(|h| !h.is_empty()),
                Credentials {
                    username: u,
                    password: p,
                    origin: ENV_USERNAME.to_string(),
                },
            )),
            _ => None,
        };
        let mut files = vec![flowhost_auth.to_path_buf()];
        if let Some(f) = env("REGISTRY_AUTH_FILE").filter(|s| !s.is_empty()) {
            files.push(PathBuf::from(f));
        }
        let docker_dir = env("DOCKER_CONFIG")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".docker")));
        if let Some(d) = docker_dir {
            files.push(d.join("config.json"));
        }
        CredentialSources {
            env: env_creds,
            files,
        }
    }

    /// No credentials at all.
    pub fn none() -> CredentialSources {
        CredentialSources {
            env: None,
            files: Vec::new(),
        }
    }

    /// Credentials for `registry` (`host[:port]`), if any source has them.
    pub async fn lookup(&self, registry: &str) -> Result<Option<Credentials>> {
        if let Some((host, creds)) = &self.env
            && host.as_deref().is_none_or(|h| h == registry)
        {
            return Ok(Some(creds.clone()));
        }
        for file in &self.files {
            let Some(config) = read_docker_config(file)? else {
                continue;
            };
            if let Some(creds) = lookup_in(&config, file, registry).await? {
                tracing::debug!(registry, origin = %creds.origin, "using registry credentials");
                return Ok(Some(creds));
            }
        }
        Ok(None)
    }
}

/// The keys a registry may be stored under: Docker writes Docker Hub as its v1 URL, and
/// older tools wrote `https://` prefixes.
fn candidate_keys(registry: &str) -> Vec<String> {
    let mut hosts = vec![registry.to_string()];
    if crate::docker_name::DOCKER_HUB_REGISTRY == registry
        || registry == "docker.io"
        || registry == "index.docker.io"
    {
        hosts = vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
            "registry-1.docker.io".into(),
        ];
    }
    let mut keys = Vec::new();
    for h in hosts {
        keys.push(h.clone());
        if !h.contains("://") {
            keys.push(format!("https://{h}"));
            keys.push(format!("http://{h}"));
            keys.push(format!("https://{h}/v1/"));
            keys.push(format!("https://{h}/v2/"));
        }
    }
    keys
}

async fn lookup_in(
    config: &DockerConfig,
    file: &Path,
    registry: &str,
) -> Result<Option<Credentials>> {
    let keys = candidate_keys(registry);
    for key in &keys {
        if let Some(helper) = config.cred_helpers.get(key) {
            return run_helper(helper, key).await;
        }
    }
    for key in &keys {
        if let Some(entry) = config.auths.get(key)
            && let Some(creds) = decode_entry(entry, file)?
        {
            return Ok(Some(creds));
        }
    }
    if let Some(store) = &config.creds_store {
        // A store answers for any registry it knows; ask with Docker's key form.
        for key in keys.iter().take(2) {
            if let Some(c) = run_helper(store, key).await? {
                return Ok(Some(c));
            }
        }
    }
    Ok(None)
}

fn decode_entry(entry: &AuthEntry, file: &Path) -> Result<Option<Credentials>> {
    let origin = file.display().to_string();
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|e| Error::Credentials {
                origin: origin.clone(),
                reason: format!("an `auth` entry is not base64: {e}"),
            })?;
        let text = String::from_utf8(raw).map_err(|_| Error::Credentials {
            origin: origin.clone(),
            reason: "an `auth` entry is not UTF-8".into(),
        })?;
        let Some((u, p)) = text.split_once(':') else {
            return Err(Error::Credentials {
                origin,
                reason: "an `auth` entry is not `username:password`".into(),
            });
        };
        return Ok(Some(Credentials {
            username: u.to_string(),
            password: p.to_string(),
            origin,
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) => Ok(Some(Credentials {
            username: u.clone(),
            password: p.clone(),
            origin,
        })),
        _ => Ok(None),
    }
}

/// `docker-credential-<helper> get`, the protocol Docker uses: server URL on stdin, JSON out.
async fn run_helper(helper: &str, server: &str) -> Result<Option<Credentials>> {
    use tokio::io::AsyncWriteExt;
    let program = format!("docker-credential-{helper}");
    let origin = program.clone();
    let mut child = match tokio::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(%program, error = %e, "credential helper not available; trying other sources");
            return Ok(None);
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes()).await;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| Error::Credentials {
            origin: origin.clone(),
            reason: e.to_string(),
        })?;
    if !out.status.success() {
        // "credentials not found in native keychain" is a plain miss.
        return Ok(None);
    }
    #[derive(Deserialize)]
    struct HelperOut {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: String,
    }
    let parsed: HelperOut =
        serde_json::from_slice(&out.stdout).map_err(|e| Error::Credentials {
            origin: origin.clone(),
            reason: format!("unreadable answer: {e}"),
        })?;
    Ok(Some(Credentials {
        username: parsed.username,
        password: parsed.secret,
        origin,
    }))
}

fn read_docker_config(path: &Path) -> Result<Option<DockerConfig>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Some(DockerConfig::default())),
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Credentials {
                origin: path.display().to_string(),
                reason: format!("not a Docker-format auth file: {e}"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, "cannot read the credentials file", e)),
    }
}

/// Store credentials for `registry` in the Docker-format file at `path` (created with mode
/// 0600 if missing; other entries and keys kept).
pub fn store_credentials(
    path: &Path,
    registry: &str,
    username: &str,
    password: &str,
) -> Result<()> {
    let mut config = read_docker_config(path)?.unwrap_or_default();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    config.auths.insert(
        registry.to_string(),
        AuthEntry {
            auth: Some(auth),
            ..AuthEntry::default()
        },
    );
    write_config(path, &config)
}

/// Forget the credentials for `registry` in the file at `path`. Returns whether there were any.
pub fn remove_credentials(path: &Path, registry: &str) -> Result<bool> {
    let Some(mut config) = read_docker_config(path)? else {
        return Ok(false);
    };
    let removed = config.auths.remove(registry).is_some();
    if removed {
        write_config(path, &config)?;
    }
    Ok(removed)
}

fn write_config(path: &Path, config: &DockerConfig) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create the directory", e))?;
    let text = serde_json::to_vec_pretty(config).map_err(|e| Error::Credentials {
        origin: path.display().to_string(),
        reason: e.to_string(),
    })?;
    // Written beside the target and renamed: a crash never leaves half a file; 0600 before
    // any secret is written.
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Error::io(dir, "cannot create the credentials file", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    tmp.write_all(&text)
        .map_err(|e| Error::io(path, "cannot write the credentials file", e))?;
    tmp.persist(path)
        .map_err(|e| Error::io(path, "cannot write the credentials file", e.error))?;
    Ok(())
}

/// `flowhost login REGISTRY`: check the credentials against the registry, then store them in
/// flowhost's credentials file (`ctx.settings.auth_path`; see `auth.rs` for why not Docker's).
/// Returns the file written.
pub async fn login(
    registry: &str,
    username: &str,
    password: &str,
    ctx: &ResolveContext,
) -> Result<PathBuf> {
    crate::reference::validate_registry(registry).map_err(|reason| Error::InvalidReference {
        reference: registry.to_string(),
        reason,
    })?;
    ctx.transport()
        .await?
        .check_login(registry, username, password)
        .await?;
    let path = ctx.settings.auth_path.clone();
    store_credentials(&path, registry, username, password)?;
    Ok(path)
}

/// `flowhost logout REGISTRY`: forget stored credentials. Returns whether there were any.
pub fn logout(registry: &str, ctx: &ResolveContext) -> Result<bool> {
    remove_credentials(&ctx.settings.auth_path, registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn store_lookup_remove() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth.json");
        store_credentials(&file, "127.0.0.1:5000", "alice", "s3:cret").unwrap();
        let sources = CredentialSources {
            env: None,
            files: vec![file.clone()],
        };
        let c = sources.lookup("127.0.0.1:5000").await.unwrap().unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("alice", "s3:cret")
        );
        assert!(sources.lookup("other:5000").await.unwrap().is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(format!("{c:?}").find("s3:cret").is_none());
        assert!(remove_credentials(&file, "127.0.0.1:5000").unwrap());
        assert!(sources.lookup("127.0.0.1:5000").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn docker_config_forms() {
        let dir = tempfile::tempdir().unwrap();
        let docker = dir.path().join("config.json");
        std::fs::write(
            &docker,
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"Ym9iOmh1Yg=="},
                "https://reg.example":{"username":"u","password":"p"}},
                "HttpHeaders":{"X":"y"}}"#,
        )
        .unwrap();
        let env = |k: &str| match k {
            "DOCKER_CONFIG" => Some(dir.path().to_str().unwrap().to_string()),
            _ => None,
        };
        let sources = CredentialSources::standard_with(&dir.path().join("none.json"), &env);
        let hub = sources
            .lookup("registry-1.docker.io")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (hub.username.as_str(), hub.password.as_str()),
            ("bob", "hub")
        );
        let r = sources.lookup("reg.example").await.unwrap().unwrap();
        assert_eq!(r.username, "u");

        // Rewriting keeps keys we do not know.
        store_credentials(&docker, "x:1", "a", "b").unwrap();
        let text = std::fs::read_to_string(&docker).unwrap();
        assert!(text.contains("HttpHeaders"), "{text}");
    }

    #[tokio::test]
    async fn env_credentials_can_be_scoped() {
        let env = |k: &str| match k {
            ENV_USERNAME => Some("ci".to_string()),
            ENV_PASSWORD => Some("pw".to_string()),
            ENV_AUTH_HOST => Some("only:5000".to_string()),
            _ => None,
        };
        let s = CredentialSources::standard_with(Path::new("/nonexistent/auth.json"), &env);
        assert!(s.lookup("only:5000").await.unwrap().is_some());
        assert!(s.lookup("else:5000").await.unwrap().is_none());
    }

    #[test]
    fn bad_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("auth.json");
        std::fs::write(&f, "{nope").unwrap();
        let err = store_credentials(&f, "r", "u", "p").unwrap_err();
        assert!(err.to_string().contains(f.to_str().unwrap()), "{err}");
    }
}
