//! The `uses` grammar: what an executor's `uses:` may say, parsed into [`Uses`].
//!
//! ```text
//! uses      := path | executor-yaml | oci | hub | docker
//! path      := any path to a component file (./seg.wasm, /abs/x.wasm, file:///abs/x.wasm)
//! yaml      := a path ending in .yml or .yaml
//! oci       := oci://REGISTRY/REPO[:TAG][@sha256:DIGEST]
//! hub       := hub://NAME[:TAG][@sha256:DIGEST]        (NAME may hold slashes)
//! docker    := docker://IMAGE[:TAG][@sha256:DIGEST]     (Docker's naming rules)
//! ```
//!
//! Parsing is pure: no file system, no network. Resolution lives in `resolve.rs`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::docker_name;
use crate::error::{Error, Result};

/// The default tag when a reference names none.
pub const DEFAULT_TAG: &str = "latest";

/// A parsed `uses` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uses {
    /// A component file, relative (to the flow file, then the search paths) or absolute.
    Path(PathBuf),
    /// An executor YAML file that names the component and default `with` arguments.
    ExecutorYaml(PathBuf),
    /// `oci://`: an image in an OCI registry, CNCF Wasm artifact or Wasm image.
    Oci(ImageRef),
    /// `hub://`: a name in the configured hub registry and namespace.
    Hub(HubRef),
    /// `docker://`: a Docker image name, normalised with Docker's rules.
    Docker(ImageRef),
}

impl Uses {
    /// Parse a `uses` value.
    pub fn parse(uses: &str) -> Result<Uses> {
        let trimmed = uses.trim();
        if trimmed.is_empty() {
            return Err(invalid(uses, "empty reference"));
        }
        if let Some((scheme, rest)) = trimmed.split_once("://") {
            return match scheme {
                "oci" => ImageRef::parse_oci(rest)
                    .map(Uses::Oci)
                    .map_err(|reason| invalid(uses, reason)),
                "hub" => HubRef::parse(rest)
                    .map(Uses::Hub)
                    .map_err(|reason| invalid(uses, reason)),
                "docker" => docker_name::normalize(rest)
                    .map(Uses::Docker)
                    .map_err(|reason| invalid(uses, reason)),
                "file" => {
                    if rest.is_empty() {
                        Err(invalid(uses, "empty file path"))
                    } else {
                        Ok(Uses::local(PathBuf::from(rest)))
                    }
                }
                other => Err(Error::UnsupportedScheme {
                    reference: uses.to_string(),
                    scheme: other.to_string(),
                }),
            };
        }
        Ok(Uses::local(PathBuf::from(trimmed)))
    }

    fn local(path: PathBuf) -> Uses {
        let is_yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
        if is_yaml {
            Uses::ExecutorYaml(path)
        } else {
            Uses::Path(path)
        }
    }

    /// True for the forms that need a registry (and so the cache and the pull policy).
    pub fn is_remote(&self) -> bool {
        matches!(self, Uses::Oci(_) | Uses::Hub(_) | Uses::Docker(_))
    }
}

impl FromStr for Uses {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Uses::parse(s)
    }
}

impl fmt::Display for Uses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uses::Path(p) | Uses::ExecutorYaml(p) => write!(f, "{}", p.display()),
            Uses::Oci(r) => write!(f, "oci://{r}"),
            Uses::Hub(h) => write!(f, "hub://{h}"),
            Uses::Docker(r) => write!(f, "docker://{r}"),
        }
    }
}

/// An image in a registry: `REGISTRY/REPOSITORY[:TAG][@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// Host and optional port, e.g. `127.0.0.1:5000`, `ghcr.io`.
    pub registry: String,
    /// Slash-separated path, lowercase, e.g. `acme/encoder`.
    pub repository: String,
    /// The tag, if given. `None` with no digest means `latest`.
    pub tag: Option<String>,
    /// `sha256:<64 hex>`, if given; it pins the pull and wins over the tag.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parse `REGISTRY/REPO[:TAG][@sha256:DIGEST]` where the first component is always the
    /// registry (no Docker defaults: that is what `docker://` is for).
    pub fn parse_oci(s: &str) -> std::result::Result<ImageRef, String> {
        let (name, tag, digest) = split_name_tag_digest(s)?;
        let Some((registry, repository)) = name.split_once('/') else {
            return Err(
                "expected REGISTRY/REPOSITORY (e.g. oci://localhost:5000/acme/encoder:1.0)".into(),
            );
        };
        validate_registry(registry)?;
        validate_repository(repository)?;
        Ok(ImageRef {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// The tag to ask for when there is no digest.
    pub fn tag_or_default(&self) -> &str {
        self.tag.as_deref().unwrap_or(DEFAULT_TAG)
    }

    /// The reference oci-client wants. A digest wins over a tag.
    pub(crate) fn to_client_ref(&self) -> oci_client::Reference {
        match &self.digest {
            Some(d) => oci_client::Reference::with_digest(
                self.registry.clone(),
                self.repository.clone(),
                d.clone(),
            ),
            None => oci_client::Reference::with_tag(
                self.registry.clone(),
                self.repository.clone(),
                self.tag_or_default().to_string(),
            ),
        }
    }

    /// The same image at another digest (an index entry, a pinned pull).
    pub(crate) fn with_digest(&self, digest: &str) -> ImageRef {
        ImageRef {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: Some(digest.to_string()),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        if self.tag.is_none() && self.digest.is_none() {
            write!(f, ":{DEFAULT_TAG}")?;
        }
        Ok(())
    }
}

/// `hub://NAME[:TAG][@DIGEST]`, before the hub registry and namespace are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRef {
    /// The executor's name, possibly with slashes (`encoders/clip`).
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl HubRef {
    fn parse(s: &str) -> std::result::Result<HubRef, String> {
        let (name, tag, digest) = split_name_tag_digest(s)?;
        validate_repository(&name)?;
        Ok(HubRef { name, tag, digest })
    }

    /// Place the name in a hub: `REGISTRY/NAMESPACE/NAME`.
    pub fn in_hub(&self, registry: &str, namespace: &str) -> ImageRef {
        let namespace = namespace.trim_matches('/');
        let repository = if namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{namespace}/{}", self.name)
        };
        ImageRef {
            registry: registry.to_string(),
            repository,
            tag: self.tag.clone(),
            digest: self.digest.clone(),
        }
    }
}

impl fmt::Display for HubRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn invalid(reference: &str, reason: impl Into<String>) -> Error {
    Error::InvalidReference {
        reference: reference.to_string(),
        reason: reason.into(),
    }
}

/// Split `NAME[:TAG][@DIGEST]`. The tag's colon is the last one after the last slash, so a
/// registry port (`host:5000/repo`) is never taken for a tag.
pub(crate) fn split_name_tag_digest(
    s: &str,
) -> std::result::Result<(String, Option<String>, Option<String>), String> {
    if s.is_empty() {
        return Err("empty image name".into());
    }
    let (rest, digest) = match s.split_once('@') {
        Some((rest, digest)) => {
            validate_digest(digest)?;
            (rest, Some(digest.to_string()))
        }
        None => (s, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => {
            let at = last_slash + i;
            let tag = &rest[at + 1..];
            validate_tag(tag)?;
            (&rest[..at], Some(tag.to_string()))
        }
        None => (rest, None),
    };
    if name.is_empty() {
        return Err("empty image name".into());
    }
    Ok((name.to_string(), tag, digest))
}

/// `sha256:` and 64 lowercase hex digits: the only algorithm the cache stores.
pub(crate) fn validate_digest(d: &str) -> std::result::Result<(), String> {
    let Some(hex) = d.strip_prefix("sha256:") else {
        return Err(format!(
            "unsupported digest `{d}` (expected sha256:<64 hex digits>)"
        ));
    };
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!(
            "malformed digest `{d}` (expected sha256:<64 lowercase hex digits>)"
        ));
    }
    Ok(())
}

/// Distribution's tag grammar: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub(crate) fn validate_tag(tag: &str) -> std::result::Result<(), String> {
    let mut bytes = tag.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !first_ok
        || tag.len() > 128
        || !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(format!(
            "invalid tag `{tag}` (letters, digits, `_`, `.`, `-`; at most 128; not starting with `.` or `-`)"
        ));
    }
    Ok(())
}

/// Distribution's repository grammar: lowercase components `[a-z0-9]+([._-][a-z0-9]+)*`
/// (with `__` and runs of `-` allowed as separators) joined by `/`.
pub(crate) fn validate_repository(repo: &str) -> std::result::Result<(), String> {
    if repo.is_empty() {
        return Err("empty repository".into());
    }
    if repo.len() > 255 {
        return Err(format!("repository `{repo}` is longer than 255 characters"));
    }
    for component in repo.split('/') {
        if !valid_path_component(component) {
            return Err(format!(
                "invalid repository `{repo}`: component `{component}` must be lowercase letters and \
                 digits, separated by `.`, `_`, `__` or `-`"
            ));
        }
    }
    Ok(())
}

fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum_lower(b[0]) || !is_alnum_lower(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: `.`, `_`, `__` or one or more `-`.
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= b.len() || !is_alnum_lower(b[i]) {
            return false;
        }
    }
    true
}

fn is_alnum_lower(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// A host name or IP, optional `:port`; `[v6]:port` for IPv6.
pub(crate) fn validate_registry(registry: &str) -> std::result::Result<(), String> {
    let bad = || format!("invalid registry `{registry}` (expected HOST[:PORT])");
    if registry.is_empty() {
        return Err(bad());
    }
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or_else(bad)?;
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad());
        }
        match after {
            "" => ("v6", None),
            p => ("v6", Some(p.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match registry.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (registry, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !host.starts_with(['-', '.'])
        && !host.ends_with('-');
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn local_paths_and_yaml() {
        assert_eq!(
            Uses::parse("./seg.wasm").unwrap(),
            Uses::Path("./seg.wasm".into())
        );
        assert_eq!(
            Uses::parse("/abs/x.wasm").unwrap(),
            Uses::Path("/abs/x.wasm".into())
        );
        assert_eq!(
            Uses::parse("seg.yml").unwrap(),
            Uses::ExecutorYaml("seg.yml".into())
        );
        assert_eq!(
            Uses::parse("a/seg.YAML").unwrap(),
            Uses::ExecutorYaml("a/seg.YAML".into())
        );
        assert_eq!(
            Uses::parse("file:///x/y.wasm").unwrap(),
            Uses::Path("/x/y.wasm".into())
        );
    }

    #[test]
    fn oci_forms() {
        let Uses::Oci(r) = Uses::parse("oci://127.0.0.1:5000/acme/foo:1.0").unwrap() else {
            panic!()
        };
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "acme/foo");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert_eq!(r.digest, None);

        let Uses::Oci(r) = Uses::parse(&format!("oci://localhost:5000/foo@{D}")).unwrap() else {
            panic!()
        };
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.to_string(), format!("localhost:5000/foo@{D}"));

        let Uses::Oci(r) = Uses::parse(&format!("oci://ghcr.io/a/b/c:v2@{D}")).unwrap() else {
            panic!()
        };
        assert_eq!(
            (r.repository.as_str(), r.tag.as_deref()),
            ("a/b/c", Some("v2"))
        );

        let Uses::Oci(r) = Uses::parse("oci://localhost:5000/foo").unwrap() else {
            panic!()
        };
        assert_eq!(r.tag_or_default(), "latest");
        assert_eq!(r.to_string(), "localhost:5000/foo:latest");
    }

    #[test]
    fn oci_errors_name_the_reference() {
        for bad in [
            "oci://foo",
            "oci://reg/Upper",
            "oci://reg/foo:",
            "oci://reg/foo:-x",
            "oci://reg/foo@sha256:abc",
            "oci://reg/foo@md5:0123",
            "oci://reg:99999/foo",
            "oci://reg/foo//bar",
            "oci://reg/foo-",
        ] {
            let err = Uses::parse(bad).unwrap_err();
            assert!(
                matches!(err, Error::InvalidReference { .. }),
                "{bad}: {err}"
            );
            assert!(err.to_string().starts_with(bad), "{err}");
        }
        let err = Uses::parse("ftp://x/y").unwrap_err();
        assert!(
            err.to_string().contains("unsupported scheme `ftp://`"),
            "{err}"
        );
    }

    #[test]
    fn repository_components() {
        for ok in ["a", "a/b", "a.b", "a_b", "a__b", "a---b", "a0/b-1.c_d"] {
            assert!(validate_repository(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "a/", "/a", "a..b", "a___b", "_a", "a.", "a b"] {
            assert!(validate_repository(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registries() {
        for ok in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "my-reg.example.com",
            "[::1]:5000",
        ] {
            assert!(validate_registry(ok).is_ok(), "{ok}");
        }
        for bad in ["", ":5000", "a:b", "a:0", "[::1", "-a", "a b"] {
            assert!(validate_registry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hub_forms() {
        let Uses::Hub(h) = Uses::parse("hub://encoder:1.2").unwrap() else {
            panic!()
        };
        assert_eq!(h.name, "encoder");
        let r = h.in_hub("127.0.0.1:5000", "acme");
        assert_eq!(r.to_string(), "127.0.0.1:5000/acme/encoder:1.2");
        let Uses::Hub(h) = Uses::parse("hub://enc/clip").unwrap() else {
            panic!()
        };
        assert_eq!(h.in_hub("reg", "").to_string(), "reg/enc/clip:latest");
        assert!(Uses::parse("hub://").is_err());
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "oci://127.0.0.1:5000/acme/foo:1.0",
            "hub://encoder:1.2",
            "docker://registry-1.docker.io/library/alpine:latest",
        ] {
            assert_eq!(Uses::parse(s).unwrap().to_string(), s);
        }
    }
}
