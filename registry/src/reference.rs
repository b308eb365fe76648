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
//! This module is flowhost's part only: the schemes, local paths, which component is the
//! registry, and what the cache can pin (sha256). The image reference grammar itself (names,
//! tags, digests, registry hosts and ports) is Docker's, as [`oci_client::Reference`] parses it;
//! Docker Hub's defaults for `docker://` are in [`crate::docker_name`].
//!
//! Parsing is pure: no file system, no network. Resolution lives in `resolve.rs`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use oci_client::{ParseError, Reference};

use crate::docker_name;
use crate::error::{Error, Result};

/// The default tag when a reference names none.
pub const DEFAULT_TAG: &str = "latest";

/// Stands in for a registry given apart (`oci://`'s first component, the hub's) while the
/// library parses the rest: a name it always takes for a registry and never rewrites.
const STAND_IN_REGISTRY: &str = "localhost";

/// Why a reference is not one flowhost can use. [`Error::InvalidReference`] prints it after
/// the reference as written.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The `uses` value is empty.
    #[error("empty reference")]
    Empty,
    /// A `file://` reference with no path.
    #[error("empty file path")]
    EmptyPath,
    /// A remote reference with no image name.
    #[error("empty image name")]
    EmptyName,
    /// No `REGISTRY/` before the repository where one is required.
    #[error("expected REGISTRY/REPOSITORY (e.g. oci://localhost:5000/acme/encoder:1.0)")]
    NoRegistry,
    /// Outside Docker's reference grammar (the library's verdict).
    #[error("{source}{}", grammar_hint(.source))]
    Grammar {
        /// The library's parse error.
        #[source]
        source: ParseError,
    },
    /// The registry is not a valid host and port.
    #[error(
        "invalid registry `{registry}` (expected HOST[:PORT] or [IPv6]:PORT, PORT from 1 to 65535)"
    )]
    Registry {
        /// The registry as written.
        registry: String,
    },
    /// The tag has characters a tag may not hold.
    #[error("invalid tag `{tag}` (ASCII letters, digits, `_`, `.`, `-`)")]
    Tag {
        /// The tag as written.
        tag: String,
    },
    /// The digest is not a `sha256:` digest of 64 lowercase hex digits.
    #[error("unsupported digest `{digest}` (expected sha256:<64 lowercase hex digits>)")]
    Digest {
        /// The digest as written.
        digest: String,
    },
    /// A remote-only operation was given a local reference.
    #[error("{operation} needs an oci://, hub:// or docker:// reference")]
    NotRemote {
        /// The operation that needs a remote reference (`push`, `pull`).
        operation: &'static str,
    },
    /// A push target carries a digest.
    #[error("push to a tag, not a digest (the digest is computed from what is pushed)")]
    PushToDigest,
}

/// The library's "invalid reference format" says nothing of the format: say it.
fn grammar_hint(source: &ParseError) -> &'static str {
    match source {
        ParseError::ReferenceInvalidFormat => {
            " (expected [REGISTRY[:PORT]/]NAME[:TAG][@sha256:DIGEST], NAME in lowercase)"
        }
        _ => "",
    }
}

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
            return Err(invalid(uses, ReferenceError::Empty));
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
                        Err(invalid(uses, ReferenceError::EmptyPath))
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
    pub fn parse_oci(s: &str) -> std::result::Result<ImageRef, ReferenceError> {
        if s.is_empty() {
            return Err(ReferenceError::EmptyName);
        }
        let (registry, path) = s.split_once('/').ok_or(ReferenceError::NoRegistry)?;
        ImageRef::in_registry(registry, path)
    }

    /// `REPO[:TAG][@DIGEST]` in `registry`, taken as written.
    pub(crate) fn in_registry(
        registry: &str,
        path: &str,
    ) -> std::result::Result<ImageRef, ReferenceError> {
        validate_registry(registry)?;
        let parsed = parse_path(path)?;
        let (tag, digest) = tag_and_digest(&parsed, path)?;
        Ok(ImageRef {
            registry: registry.to_string(),
            repository: parsed.repository().to_string(),
            tag,
            digest,
        })
    }

    /// The tag to ask for when there is no digest.
    pub fn tag_or_default(&self) -> &str {
        self.tag.as_deref().unwrap_or(DEFAULT_TAG)
    }

    /// The reference oci-client wants. A digest wins over a tag.
    pub(crate) fn to_client_ref(&self) -> Reference {
        match &self.digest {
            Some(d) => {
                Reference::with_digest(self.registry.clone(), self.repository.clone(), d.clone())
            }
            None => Reference::with_tag(
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
    /// The tag, if one was written.
    pub tag: Option<String>,
    /// The `sha256:` digest, if one was written.
    pub digest: Option<String>,
}

impl HubRef {
    fn parse(s: &str) -> std::result::Result<HubRef, ReferenceError> {
        let parsed = parse_path(s)?;
        let (tag, digest) = tag_and_digest(&parsed, s)?;
        Ok(HubRef {
            name: parsed.repository().to_string(),
            tag,
            digest,
        })
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

fn invalid(reference: &str, reason: ReferenceError) -> Error {
    Error::InvalidReference {
        reference: reference.to_string(),
        reason,
    }
}

/// An image reference in Docker's grammar, by the library. A name wrong only by its capitals
/// is reported as such (the library calls that a bad format, as it does any other fault).
pub(crate) fn parse_reference(text: &str) -> std::result::Result<Reference, ReferenceError> {
    Reference::try_from(text).map_err(|source| {
        // Capitals are fine in a registry, a tag or a digest; so if lowercasing mends the
        // reference, the fault was capitals in the repository name.
        let source = if source == ParseError::ReferenceInvalidFormat
            && Reference::try_from(text.to_ascii_lowercase().as_str()).is_ok()
        {
            ParseError::NameContainsUppercase
        } else {
            source
        };
        ReferenceError::Grammar { source }
    })
}

/// `REPO[:TAG][@DIGEST]` whose registry is given apart.
fn parse_path(path: &str) -> std::result::Result<Reference, ReferenceError> {
    if path.is_empty() {
        return Err(ReferenceError::EmptyName);
    }
    parse_reference(&format!("{STAND_IN_REGISTRY}/{path}"))
}

/// The tag as written (the library writes in `latest` when a reference names neither tag nor
/// digest) and the digest, both checked for what flowhost can use.
pub(crate) fn tag_and_digest(
    parsed: &Reference,
    text: &str,
) -> std::result::Result<(Option<String>, Option<String>), ReferenceError> {
    let digest = match parsed.digest() {
        Some(d) => {
            validate_digest(d)?;
            Some(d.to_string())
        }
        None => None,
    };
    let tag = match parsed.tag() {
        Some(DEFAULT_TAG) if digest.is_none() && !text.ends_with(":latest") => None,
        // The library's `\w` is Unicode; Docker's (Go's) is ASCII.
        Some(tag) if !tag.is_ascii() => {
            return Err(ReferenceError::Tag {
                tag: tag.to_string(),
            });
        }
        tag => tag.map(str::to_string),
    };
    Ok((tag, digest))
}

/// `sha256:` and 64 lowercase hex digits: the only algorithm the cache stores.
pub(crate) fn validate_digest(d: &str) -> std::result::Result<(), ReferenceError> {
    let hex_ok = d.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    if hex_ok {
        Ok(())
    } else {
        Err(ReferenceError::Digest {
            digest: d.to_string(),
        })
    }
}

/// A repository path alone (no tag, no digest), in Docker's grammar.
pub(crate) fn validate_repository(repo: &str) -> std::result::Result<(), ReferenceError> {
    let parsed = parse_path(repo)?;
    if parsed.repository() == repo {
        Ok(())
    } else {
        Err(ReferenceError::Grammar {
            source: ParseError::ReferenceInvalidFormat,
        })
    }
}

/// `HOST[:PORT]` or `[IPv6][:PORT]`: a host in Docker's grammar and a TCP port.
pub(crate) fn validate_registry(registry: &str) -> std::result::Result<(), ReferenceError> {
    let bad = || ReferenceError::Registry {
        registry: registry.to_string(),
    };
    let (host_ok, port) = if let Some(rest) = registry.strip_prefix('[') {
        // Docker's grammar has IPv6 registries; the library's does not. Docker takes hex digits
        // and colons only (no zone, no IPv4-mapped form).
        let (v6, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(bad)?),
        };
        let v6_ok = v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
            && v6.parse::<std::net::Ipv6Addr>().is_ok();
        (v6_ok, port)
    } else {
        let (host, port) = match registry.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (registry, None),
        };
        // The library takes a first component for a registry only if it holds a `.` or a `:`
        // (or is `localhost`): a port, a stand-in one if none, makes sure it does.
        let probe = format!("{host}:{}", port.unwrap_or("1"));
        let host_ok =
            Reference::try_from(format!("{probe}/x").as_str()).is_ok_and(|r| r.registry() == probe);
        (host_ok, port)
    };
    // Docker's grammar takes any digits; a TCP port is 1 to 65535.
    let port_ok = port.is_none_or(|p| {
        p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok_and(|n| n > 0)
    });
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
    fn oci_takes_the_first_component_as_written() {
        // No Docker defaults: a dotless host is the registry, docker.io is not rewritten.
        for (text, registry, repository) in [
            ("reg/foo", "reg", "foo"),
            ("docker.io/alpine", "docker.io", "alpine"),
            ("index.docker.io/a/b", "index.docker.io", "a/b"),
            ("[::1]:5000/acme/foo", "[::1]:5000", "acme/foo"),
        ] {
            let r = ImageRef::parse_oci(text).unwrap();
            assert_eq!(
                (r.registry.as_str(), r.repository.as_str()),
                (registry, repository)
            );
        }
        // The tag as written: none, or `latest` spelt out.
        assert_eq!(ImageRef::parse_oci("reg/foo").unwrap().tag, None);
        assert_eq!(
            ImageRef::parse_oci("reg/foo:latest")
                .unwrap()
                .tag
                .as_deref(),
            Some("latest")
        );
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
    fn what_the_library_lets_through_and_flowhost_does_not() {
        let sha512 = format!("sha512:{}", "0".repeat(128));
        for (bad, says) in [
            // Go's `\w` (Docker's) is ASCII; the library's regex is Unicode.
            ("oci://reg/foo:é", "invalid tag `é`"),
            ("hub://foo:v\u{0663}", "invalid tag"),
            ("docker://alpine:ñ", "invalid tag"),
            // The cache pins sha256 only, lowercase as go-digest requires.
            (&format!("oci://reg/foo@{sha512}"), "unsupported digest"),
            (
                &format!("docker://alpine@{}", D.to_uppercase().replace("SHA", "sha")),
                "unsupported digest",
            ),
            // Any digits make a port in Docker's grammar; TCP stops at 65535 and starts at 1.
            (
                "docker://localhost:65536/foo",
                "invalid registry `localhost:65536`",
            ),
            ("oci://reg:0/foo", "invalid registry `reg:0`"),
        ] {
            let err = Uses::parse(bad).unwrap_err();
            assert!(
                matches!(err, Error::InvalidReference { .. }),
                "{bad}: {err}"
            );
            let msg = err.to_string();
            assert!(msg.starts_with(bad) && msg.contains(says), "{bad}: {msg}");
        }
    }

    #[test]
    fn grammar_errors_keep_the_library_error_as_their_source() {
        let err = Uses::parse("oci://reg/foo:-x").unwrap_err();
        let reason = std::error::Error::source(&err).unwrap();
        let cause = reason.source().unwrap();
        assert_eq!(
            cause.downcast_ref::<ParseError>(),
            Some(&ParseError::ReferenceInvalidFormat)
        );
        assert!(
            err.to_string().contains("expected [REGISTRY[:PORT]/]NAME"),
            "{err}"
        );
        // Capitals in the name say so rather than "invalid format".
        let err = Uses::parse("oci://reg/Upper:TAG").unwrap_err();
        assert!(
            err.to_string()
                .ends_with("repository name must be lowercase"),
            "{err}"
        );
    }

    #[test]
    fn repository_components() {
        for ok in ["a", "a/b", "a.b", "a_b", "a__b", "a---b", "a0/b-1.c_d"] {
            assert!(validate_repository(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "A", "a/", "/a", "a..b", "a___b", "_a", "a.", "a b", "a:1", "a@b",
        ] {
            assert!(validate_repository(bad).is_err(), "{bad}");
        }
        assert!(validate_repository(&"a".repeat(256)).is_err());
    }

    #[test]
    fn registries() {
        for ok in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "my-reg.example.com",
            "[::1]:5000",
            "reg",
            "Reg.Example.COM:443",
        ] {
            assert!(validate_registry(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ":5000",
            "a:b",
            "a:0",
            "[::1",
            "-a",
            "a b",
            "a:+5",
            "a..b",
            "a-.b",
            "a_b",
            "a/b",
            "[::ffff:1.2.3.4]:5000",
            "[::1]5000",
        ] {
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
        assert!(Uses::parse("hub://host:5000/enc").is_err());
        let Uses::Hub(h) = Uses::parse(&format!("hub://enc@{D}")).unwrap() else {
            panic!()
        };
        assert_eq!((h.tag, h.digest.as_deref()), (None, Some(D)));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "oci://127.0.0.1:5000/acme/foo:1.0",
            "hub://encoder:1.2",
            "docker://registry-1.docker.io/library/alpine:latest",
            "docker://[::1]:5000/acme/foo:1.0",
            "oci://[::1]:5000/acme/foo:1.0",
        ] {
            assert_eq!(Uses::parse(s).unwrap().to_string(), s);
        }
    }
}
