//! flowhost's own settings for registries: the hub, insecure registries, extra CA
//! certificates and the cache directory.
//!
//! Sources, later ones winning: the config file (`$FLOWHOST_CONFIG`, else
//! `<config dir>/config.yml`), then environment variables, then whatever the caller (the CLI's
//! flags) sets on the returned [`Settings`].
//!
//! ```yaml
//! # ~/.config/flowhost/config.yml
//! hub: { registry: registry.example.com, namespace: acme }
//! insecure_registries: [ "build-box:5000" ]   # plain HTTP allowed (loopback always is)
//! ca_certs: [ /etc/ssl/my-registry-ca.pem ]   # extra roots for registry TLS
//! cache_dir: /var/cache/flowhost
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::reference::{validate_registry, validate_repository};

/// Environment variable: `REGISTRY/NAMESPACE` of the hub.
pub const ENV_HUB: &str = "FLOWHOST_HUB";
/// Environment variable: the hub's registry (with [`ENV_HUB_NAMESPACE`]).
pub const ENV_HUB_REGISTRY: &str = "FLOWHOST_HUB_REGISTRY";
/// Environment variable: the hub's namespace (with [`ENV_HUB_REGISTRY`]).
pub const ENV_HUB_NAMESPACE: &str = "FLOWHOST_HUB_NAMESPACE";
/// Environment variable: comma-separated registries that may be reached over plain HTTP.
pub const ENV_INSECURE_REGISTRIES: &str = "FLOWHOST_INSECURE_REGISTRIES";
/// Environment variable: the cache directory.
pub const ENV_CACHE_DIR: &str = "FLOWHOST_CACHE_DIR";
/// Environment variable: the config file.
pub const ENV_CONFIG: &str = "FLOWHOST_CONFIG";
/// Environment variable: the directory of flowhost's config and credentials files.
pub const ENV_CONFIG_DIR: &str = "FLOWHOST_CONFIG_DIR";

/// Where `hub://NAME` points: `REGISTRY/NAMESPACE/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfig {
    /// The registry host, e.g. `ghcr.io`.
    pub registry: String,
    /// May be empty: then `hub://NAME` is `REGISTRY/NAME`.
    pub namespace: String,
}

impl FromStr for HubConfig {
    type Err = String;

    /// `REGISTRY[/NAMESPACE]`, as given to `--hub` or `FLOWHOST_HUB`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim().trim_end_matches('/');
        let (registry, namespace) = s.split_once('/').unwrap_or((s, ""));
        HubConfig::new(registry, namespace)
    }
}

impl HubConfig {
    /// A validated hub.
    pub fn new(registry: &str, namespace: &str) -> std::result::Result<Self, String> {
        validate_registry(registry).map_err(|e| e.to_string())?;
        let namespace = namespace.trim_matches('/');
        if !namespace.is_empty() {
            validate_repository(namespace).map_err(|e| format!("hub namespace: {e}"))?;
        }
        Ok(HubConfig {
            registry: registry.to_string(),
            namespace: namespace.to_string(),
        })
    }
}

impl fmt::Display for HubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}", self.registry)
        } else {
            write!(f, "{}/{}", self.registry, self.namespace)
        }
    }
}

/// The settings the resolver and the registry client use.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where `hub://` points; `None` when no hub is configured.
    pub hub: Option<HubConfig>,
    /// Registries reached over plain HTTP. Loopback registries need not be listed: for them
    /// HTTPS is tried first and plain HTTP is the fallback, as Docker does.
    pub insecure_registries: Vec<String>,
    /// PEM files with extra root certificates trusted for registry TLS.
    pub ca_certs: Vec<PathBuf>,
    /// The content-addressed cache (see `cache.rs`).
    pub cache_dir: PathBuf,
    /// The config file these settings were read from (whether or not it exists); named in
    /// errors that tell the user how to configure something.
    pub config_path: PathBuf,
    /// flowhost's credentials file, written by `flowhost login`.
    pub auth_path: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    hub: Option<HubFile>,
    #[serde(default)]
    insecure_registries: Vec<String>,
    #[serde(default)]
    ca_certs: Vec<PathBuf>,
    cache_dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HubFile {
    registry: String,
    #[serde(default)]
    namespace: String,
}

impl Settings {
    /// Read the config file and the process environment.
    pub fn load() -> Result<Settings> {
        Settings::load_with(&|k| std::env::var(k).ok())
    }

    /// Like [`Settings::load`], with the environment given as a function (for tests).
    pub fn load_with(env: &dyn Fn(&str) -> Option<String>) -> Result<Settings> {
        let config_dir = config_dir(env);
        let config_path = env(ENV_CONFIG)
            .map(PathBuf::from)
            .unwrap_or_else(|| config_dir.join("config.yml"));
        let file = read_config_file(&config_path)?;

        let mut hub =
            match file.hub {
                Some(h) => Some(HubConfig::new(&h.registry, &h.namespace).map_err(|reason| {
                    Error::Config {
                        origin: config_path.display().to_string(),
                        reason,
                    }
                })?),
                None => None,
            };
        if let Some(registry) = env(ENV_HUB_REGISTRY).filter(|s| !s.is_empty()) {
            let namespace = env(ENV_HUB_NAMESPACE).unwrap_or_default();
            hub = Some(
                HubConfig::new(&registry, &namespace).map_err(|reason| Error::Config {
                    origin: ENV_HUB_REGISTRY.into(),
                    reason,
                })?,
            );
        }
        if let Some(v) = env(ENV_HUB).filter(|s| !s.is_empty()) {
            hub = Some(v.parse().map_err(|reason| Error::Config {
                origin: ENV_HUB.into(),
                reason,
            })?);
        }

        let mut insecure_registries = file.insecure_registries;
        if let Some(v) = env(ENV_INSECURE_REGISTRIES) {
            insecure_registries.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        }

        let cache_dir = env(ENV_CACHE_DIR)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .or(file.cache_dir)
            .unwrap_or_else(|| default_cache_dir(env));

        Ok(Settings {
            hub,
            insecure_registries,
            ca_certs: file.ca_certs,
            cache_dir,
            auth_path: config_dir.join("auth.json"),
            config_path,
        })
    }

    /// Settings that read no file and no environment: everything under `root`
    /// (`root/cache`, `root/config.yml`, `root/auth.json`). Handy for tests and embedding.
    pub fn isolated(root: &Path) -> Settings {
        Settings {
            hub: None,
            insecure_registries: Vec::new(),
            ca_certs: Vec::new(),
            cache_dir: root.join("cache"),
            config_path: root.join("config.yml"),
            auth_path: root.join("auth.json"),
        }
    }
}

fn read_config_file(path: &Path) -> Result<ConfigFile> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(ConfigFile::default()),
        Ok(text) => serde_norway::from_str(&text).map_err(|e| Error::Config {
            origin: path.display().to_string(),
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(Error::io(path, "cannot read the config file", e)),
    }
}

fn home_dir(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    env("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `$FLOWHOST_CONFIG_DIR`, else `$XDG_CONFIG_HOME/flowhost`, else `~/.config/flowhost`.
pub(crate) fn config_dir(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(d) = env(ENV_CONFIG_DIR).filter(|s| !s.is_empty()) {
        return PathBuf::from(d);
    }
    match env("XDG_CONFIG_HOME").filter(|s| !s.is_empty()) {
        Some(x) => PathBuf::from(x).join("flowhost"),
        None => home_dir(env).join(".config").join("flowhost"),
    }
}

/// `$XDG_CACHE_HOME/flowhost`, else `~/.cache/flowhost`.
fn default_cache_dir(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    match env("XDG_CACHE_HOME").filter(|s| !s.is_empty()) {
        Some(x) => PathBuf::from(x).join("flowhost"),
        None => home_dir(env).join(".cache").join("flowhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn hub_from_flag_syntax() {
        let h: HubConfig = "127.0.0.1:5000/acme".parse().unwrap();
        assert_eq!(
            (h.registry.as_str(), h.namespace.as_str()),
            ("127.0.0.1:5000", "acme")
        );
        let h: HubConfig = "reg.example.com".parse().unwrap();
        assert_eq!(h.namespace, "");
        assert!("bad host/x".parse::<HubConfig>().is_err());
    }

    #[test]
    fn file_then_env() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.yml"),
            "hub: { registry: file.example, namespace: team }\ninsecure_registries: [a:5000]\n",
        )
        .unwrap();
        let d = dir.path().to_str().unwrap();
        let s =
            Settings::load_with(&env_of(&[(ENV_CONFIG_DIR, d), ("HOME", "/nonexistent")])).unwrap();
        assert_eq!(s.hub.as_ref().unwrap().to_string(), "file.example/team");
        assert_eq!(s.insecure_registries, vec!["a:5000"]);
        assert_eq!(s.cache_dir, PathBuf::from("/nonexistent/.cache/flowhost"));
        assert_eq!(s.auth_path, dir.path().join("auth.json"));

        let s = Settings::load_with(&env_of(&[
            (ENV_CONFIG_DIR, d),
            (ENV_HUB, "env.example:5000/ns"),
            (ENV_CACHE_DIR, "/c"),
            (ENV_INSECURE_REGISTRIES, "b:1, c:2"),
        ]))
        .unwrap();
        assert_eq!(s.hub.unwrap().to_string(), "env.example:5000/ns");
        assert_eq!(s.cache_dir, PathBuf::from("/c"));
        assert_eq!(s.insecure_registries, vec!["a:5000", "b:1", "c:2"]);
    }

    #[test]
    fn bad_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yml");
        std::fs::write(&path, "hub: [oops]\n").unwrap();
        let err =
            Settings::load_with(&env_of(&[(ENV_CONFIG, path.to_str().unwrap())])).unwrap_err();
        assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
    }
}
