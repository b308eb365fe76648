//! Docker's image naming rules, for `docker://IMAGE[:TAG][@DIGEST]`.
//!
//! The normalisation (`alpine` is `docker.io/library/alpine:latest`, a first component is a
//! registry only if it holds a `.` or a `:` or is `localhost`, `index.docker.io` is Docker
//! Hub's old name) is `oci_client::Reference`'s, a port of `distribution/reference`'s
//! `ParseNormalizedNamed`. What it leaves out of Docker's rules is here: IPv6 registries, and
//! a first component with capitals taken for a registry. Docker Hub's API answers at
//! `registry-1.docker.io`, so that is the registry we record.

use crate::reference::{
    DEFAULT_TAG, ImageRef, ReferenceError, parse_reference, tag_and_digest, validate_registry,
};

/// Docker Hub's name in image references.
pub const DOCKER_HUB_DOMAIN: &str = "docker.io";
/// Where Docker Hub's registry API answers.
pub const DOCKER_HUB_REGISTRY: &str = "registry-1.docker.io";

/// Normalise a Docker image name: `alpine` becomes `registry-1.docker.io/library/alpine:latest`.
pub fn normalize(name: &str) -> Result<ImageRef, ReferenceError> {
    if name.is_empty() {
        return Err(ReferenceError::EmptyName);
    }
    let mut image = if name.starts_with('[') {
        // `[v6]:port/…`: in Docker's grammar, not in the library's.
        let (registry, path) = name.split_once('/').ok_or(ReferenceError::NoRegistry)?;
        ImageRef::in_registry(registry, path)?
    } else {
        let parsed = parse_reference(name)?;
        let (tag, digest) = tag_and_digest(&parsed, name)?;
        let (mut registry, mut repository) = (parsed.registry(), parsed.repository());
        // Docker also takes a first component with capitals for a registry; the library files
        // it under Docker Hub, as a repository name no registry would accept.
        if registry == DOCKER_HUB_DOMAIN
            && let Some((first, rest)) = repository.split_once('/')
            && first.bytes().any(|b| b.is_ascii_uppercase())
        {
            (registry, repository) = (first, rest);
        }
        if registry == DOCKER_HUB_DOMAIN {
            registry = DOCKER_HUB_REGISTRY;
        } else {
            validate_registry(registry)?;
        }
        ImageRef {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        }
    };
    // Without a tag or digest Docker pulls `latest`; record it so the reference prints as Docker's.
    if image.tag.is_none() && image.digest.is_none() {
        image.tag = Some(DEFAULT_TAG.to_string());
    }
    Ok(image)
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
        // Docker's rules beyond the library's: capitals make a registry, and IPv6 hosts.
        assert_eq!(n("Reg/app"), "Reg/app:latest");
        assert_eq!(n("Localhost/a/b"), "Localhost/a/b:latest");
        assert_eq!(n("[::1]:5000/ns/img"), "[::1]:5000/ns/img:latest");
        assert_eq!(n("[fe80::1]/img:2"), "[fe80::1]/img:2");
    }

    #[test]
    fn digests() {
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let r = normalize(&format!("alpine@{d}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some(d));
        assert_eq!(r.repository, "library/alpine");
        let r = normalize(&format!("alpine:3@{d}")).unwrap();
        assert_eq!(
            (r.tag.as_deref(), r.digest.as_deref()),
            (Some("3"), Some(d))
        );
    }

    #[test]
    fn rejects_bad_names() {
        assert!(
            normalize("Alpine")
                .unwrap_err()
                .to_string()
                .contains("lowercase")
        );
        assert!(
            normalize("Reg/App")
                .unwrap_err()
                .to_string()
                .contains("lowercase")
        );
        assert!(normalize("").is_err());
        assert!(normalize("alpine:").is_err());
        assert!(normalize("a//b").is_err());
        assert!(normalize("[::1]:5000").is_err());
        assert!(normalize("[::ffff:1.2.3.4]/img").is_err());
    }
}
