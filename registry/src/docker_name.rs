//! Docker's image naming rules, for `docker://IMAGE[:TAG][@DIGEST]`.
//!
//! The rules are those of `distribution/reference`'s `ParseNormalizedNamed`:
//! the first path component is a registry only if it holds a `.` or a `:`, or is
//! `localhost` (or is not lowercase); otherwise the registry is Docker Hub. On Docker Hub a
//! one-component name lives under `library/`. `index.docker.io` is Docker Hub's old name.
//! Docker Hub's API answers at `registry-1.docker.io`, so that is the registry we record.

use crate::reference::{ImageRef, split_name_tag_digest, validate_registry, validate_repository};

/// Docker Hub's name in image references.
pub const DOCKER_HUB_DOMAIN: &str = "docker.io";
/// Docker Hub's old name, still accepted.
pub const LEGACY_DOCKER_HUB_DOMAIN: &str = "index.docker.io";
/// Where Docker Hub's registry API answers.
pub const DOCKER_HUB_REGISTRY: &str = "registry-1.docker.io";

/// Normalise a Docker image name: `alpine` becomes `registry-1.docker.io/library/alpine:latest`.
pub fn normalize(name: &str) -> Result<ImageRef, String> {
    let (name, tag, digest) = split_name_tag_digest(name)?;
    let (domain, remainder) = split_docker_domain(&name);
    if remainder.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!("repository name `{remainder}` must be lowercase"));
    }
    validate_repository(&remainder)?;
    let registry = if domain == DOCKER_HUB_DOMAIN {
        DOCKER_HUB_REGISTRY.to_string()
    } else {
        validate_registry(&domain)?;
        domain
    };
    // Without a tag or digest Docker pulls `latest`; record it so the reference prints as Docker's.
    let tag = if tag.is_none() && digest.is_none() {
        Some(crate::reference::DEFAULT_TAG.to_string())
    } else {
        tag
    };
    Ok(ImageRef {
        registry,
        repository: remainder,
        tag,
        digest,
    })
}

/// `distribution/reference`'s `splitDockerDomain`.
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DOCKER_HUB_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DOCKER_HUB_DOMAIN {
        domain = DOCKER_HUB_DOMAIN.to_string();
    }
    if domain == DOCKER_HUB_DOMAIN && !remainder.contains('/') {
        remainder = format!("library/{remainder}");
    }
    (domain, remainder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s).unwrap().to_string()
    }

    #[test]
    fn docker_hub_defaults() {
        assert_eq!(n("alpine"), "registry-1.docker.io/library/alpine:latest");
        assert_eq!(n("alpine:3.20"), "registry-1.docker.io/library/alpine:3.20");
        assert_eq!(
            n("bitnami/redis"),
            "registry-1.docker.io/bitnami/redis:latest"
        );
        assert_eq!(
            n("docker.io/alpine"),
            "registry-1.docker.io/library/alpine:latest"
        );
        assert_eq!(
            n("index.docker.io/alpine"),
            "registry-1.docker.io/library/alpine:latest"
        );
        assert_eq!(
            n("docker.io/library/alpine:edge"),
            "registry-1.docker.io/library/alpine:edge"
        );
        assert_eq!(n("a/b/c"), "registry-1.docker.io/a/b/c:latest");
    }

    #[test]
    fn explicit_registries() {
        assert_eq!(n("localhost/foo"), "localhost/foo:latest");
        assert_eq!(n("localhost:5000/foo:1"), "localhost:5000/foo:1");
        assert_eq!(n("127.0.0.1:5000/ns/img:tag"), "127.0.0.1:5000/ns/img:tag");
        assert_eq!(n("ghcr.io/acme/app"), "ghcr.io/acme/app:latest");
        // A first component with a dot is a registry even without a port.
        assert_eq!(n("example.com/app"), "example.com/app:latest");
        // `localhostx` is not `localhost`: it is a Docker Hub user.
        assert_eq!(
            n("localhostx/app"),
            "registry-1.docker.io/localhostx/app:latest"
        );
    }

    #[test]
    fn digests() {
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let r = normalize(&format!("alpine@{d}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some(d));
        assert_eq!(r.repository, "library/alpine");
    }

    #[test]
    fn rejects_bad_names() {
        assert!(normalize("Alpine").unwrap_err().contains("lowercase"));
        assert!(normalize("").is_err());
        assert!(normalize("alpine:").is_err());
        assert!(normalize("a//b").is_err());
    }
}
