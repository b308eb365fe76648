//! Talking to one registry: the oci-client `Client` for it, HTTPS or plain HTTP, the
//! credentials it gets, and the translation of oci-client's errors into ours.
//!
//! Plain HTTP is allowed only for loopback registries and those marked insecure; for those
//! HTTPS is tried first and HTTP is the fallback (Docker's rule), so a loopback registry
//! with TLS is still reached over TLS. Every other registry is HTTPS only.

use std::collections::HashMap;
use std::sync::{Arc, Once};
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use tokio::sync::Mutex;

use crate::auth::CredentialSources;
use crate::error::{Error, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// Registry access settings shared by every endpoint.
#[derive(Debug, Clone)]
pub(crate) struct TransportConfig {
    pub insecure_registries: Vec<String>,
    /// PEM bytes of extra trusted roots.
    pub extra_roots: Vec<Vec<u8>>,
    pub credentials: CredentialSources,
}

/// A registry we have decided how to talk to.
pub(crate) struct Endpoint {
    pub registry: String,
    pub client: oci_client::Client,
    pub auth: RegistryAuth,
    /// Whether `auth` carries credentials: a 401 then means they are wrong, not missing.
    pub has_credentials: bool,
}

/// One per resolver: endpoints are reused so tokens and connections are too.
pub(crate) struct Transport {
    config: TransportConfig,
    endpoints: Mutex<HashMap<String, Arc<Endpoint>>>,
}

impl Transport {
    pub(crate) fn new(config: TransportConfig) -> Transport {
        Transport {
            config,
            endpoints: Mutex::new(HashMap::new()),
        }
    }

    /// The endpoint for `registry`; `reference` only names the failure if there is one.
    pub(crate) async fn endpoint(&self, registry: &str, reference: &str) -> Result<Arc<Endpoint>> {
        let mut map = self.endpoints.lock().await;
        if let Some(e) = map.get(registry) {
            return Ok(e.clone());
        }
        install_crypto_provider();
        let plain_http_allowed = is_loopback(registry)
            || self
                .config
                .insecure_registries
                .iter()
                .any(|r| r == registry);
        let use_http = if plain_http_allowed {
            self.probe_needs_http(registry, reference).await?
        } else {
            false
        };
        if use_http && is_loopback(registry) {
            tracing::debug!(registry, "using plain HTTP (loopback)");
        } else if use_http {
            tracing::warn!(registry, "using plain HTTP (marked insecure)");
        }
        let protocol = if use_http {
            ClientProtocol::HttpsExcept(vec![registry.to_string()])
        } else {
            ClientProtocol::Https
        };
        let client_config = ClientConfig {
            protocol,
            extra_root_certificates: self.roots(),
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            user_agent: concat!("flowhost/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        let client = oci_client::Client::try_from(client_config).map_err(|e| Error::Registry {
            reference: reference.to_string(),
            registry: registry.to_string(),
            message: format!("cannot build an HTTP client: {e}"),
        })?;
        let creds = self.config.credentials.lookup(registry).await?;
        let (auth, has_credentials) = match creds {
            Some(c) => (RegistryAuth::Basic(c.username, c.password), true),
            None => (RegistryAuth::Anonymous, false),
        };
        let endpoint = Arc::new(Endpoint {
            registry: registry.to_string(),
            client,
            auth,
            has_credentials,
        });
        map.insert(registry.to_string(), endpoint.clone());
        Ok(endpoint)
    }

    fn roots(&self) -> Vec<Certificate> {
        self.config
            .extra_roots
            .iter()
            .map(|pem| Certificate {
                encoding: CertificateEncoding::Pem,
                data: pem.clone(),
            })
            .collect()
    }

    fn http_client(&self, registry: &str, reference: &str) -> Result<reqwest::Client> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(Duration::from_secs(30));
        for pem in &self.config.extra_roots {
            if let Ok(c) = reqwest::Certificate::from_pem(pem) {
                builder = builder.tls_certs_merge([c]);
            }
        }
        builder.build().map_err(|e| Error::Registry {
            reference: reference.to_string(),
            registry: registry.to_string(),
            message: format!("cannot build an HTTP client: {e}"),
        })
    }

    /// Try `https://R/v2/`; if TLS cannot be spoken there, try `http://R/v2/`. Only an answer
    /// that looks like a registry's makes us choose HTTP, so a TLS registry with a bad
    /// certificate reports the TLS error rather than a confusing plain-HTTP one.
    async fn probe_needs_http(&self, registry: &str, reference: &str) -> Result<bool> {
        let client = self.http_client(registry, reference)?;
        let https_err = match client.get(format!("https://{registry}/v2/")).send().await {
            Ok(_) => return Ok(false),
            Err(e) => e,
        };
        match client.get(format!("http://{registry}/v2/")).send().await {
            Ok(resp)
                if resp
                    .headers()
                    .contains_key("docker-distribution-api-version")
                    || resp.status() == reqwest::StatusCode::OK
                    || resp.status() == reqwest::StatusCode::UNAUTHORIZED =>
            {
                Ok(true)
            }
            _ => Err(Error::Unreachable {
                reference: reference.to_string(),
                registry: registry.to_string(),
                reason: error_chain(&https_err),
            }),
        }
    }

    /// `flowhost login`'s check, as `docker login` does it: `GET /v2/` with the credentials;
    /// on a Bearer challenge, ask the token service with them.
    pub(crate) async fn check_login(
        &self,
        registry: &str,
        username: &str,
        password: &str,
    ) -> Result<()> {
        let reference = registry;
        let http_allowed = is_loopback(registry)
            || self
                .config
                .insecure_registries
                .iter()
                .any(|r| r == registry);
        let scheme = if http_allowed && self.probe_needs_http(registry, reference).await? {
            "http"
        } else {
            "https"
        };
        let client = self.http_client(registry, reference)?;
        let send_err = |e: reqwest::Error| {
            if e.is_connect() || e.is_timeout() {
                Error::Unreachable {
                    reference: reference.to_string(),
                    registry: registry.to_string(),
                    reason: error_chain(&e),
                }
            } else {
                Error::Registry {
                    reference: reference.to_string(),
                    registry: registry.to_string(),
                    message: error_chain(&e),
                }
            }
        };
        let unauthorized = || Error::Unauthorized {
            reference: reference.to_string(),
            registry: registry.to_string(),
        };
        let resp = client
            .get(format!("{scheme}://{registry}/v2/"))
            .basic_auth(username, Some(password))
            .send()
            .await
            .map_err(send_err)?;
        if resp.status().is_success() {
            return Ok(());
        }
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Err(Error::Registry {
                reference: reference.to_string(),
                registry: registry.to_string(),
                message: format!("GET /v2/ answered {}", resp.status()),
            });
        }
        let challenge = resp
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let Some(params) = challenge.strip_prefix("Bearer ") else {
            // Basic auth (htpasswd): the 401 is the answer.
            return Err(unauthorized());
        };
        let param = |name: &str| {
            params.split(',').find_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                (k == name).then(|| v.trim_matches('"').to_string())
            })
        };
        let Some(realm) = param("realm") else {
            return Err(unauthorized());
        };
        let mut req = client.get(&realm).basic_auth(username, Some(password));
        if let Some(service) = param("service") {
            req = req.query(&[("service", service)]);
        }
        let token = req.send().await.map_err(send_err)?;
        if token.status().is_success() {
            Ok(())
        } else {
            Err(unauthorized())
        }
    }
}

/// True for `localhost`, `127.0.0.0/8` and `[::1]`, with or without a port.
pub(crate) fn is_loopback(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        registry.split(':').next().unwrap_or("")
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// reqwest is built without a bundled crypto provider (so one TLS stack serves the whole
/// workspace); install ring unless the embedding program installed one already.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}

/// An error and its sources on one line: reqwest's top-level message alone
/// ("error sending request") says nothing useful.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        let msg = inner.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        cur = inner.source();
    }
    s
}

/// What was being fetched, for `NotFound` messages.
pub(crate) struct Ctx<'a> {
    pub reference: &'a str,
    pub endpoint: &'a Endpoint,
    /// e.g. "tag 1.0", "manifest sha256:…", "blob sha256:…".
    pub what: &'a str,
}

/// Translate an oci-client error into ours, naming the reference.
pub(crate) fn map_err(ctx: &Ctx<'_>, e: OciDistributionError) -> Error {
    let reference = ctx.reference.to_string();
    let registry = ctx.endpoint.registry.clone();
    let unauthorized = || {
        if ctx.endpoint.has_credentials {
            Error::Unauthorized {
                reference: reference.clone(),
                registry: registry.clone(),
            }
        } else {
            Error::CredentialsRequired {
                reference: reference.clone(),
                registry: registry.clone(),
            }
        }
    };
    let not_found = || Error::NotFound {
        reference: reference.clone(),
        registry: registry.clone(),
        what: ctx.what.to_string(),
    };
    match e {
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => unauthorized(),
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                unauthorized()
            } else if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                not_found()
            } else {
                Error::Registry {
                    reference,
                    registry,
                    message: envelope.to_string(),
                }
            }
        }
        OciDistributionError::ServerError { code: 401, .. } => unauthorized(),
        OciDistributionError::ServerError { code: 404, .. }
        | OciDistributionError::ImageManifestNotFoundError(_) => not_found(),
        OciDistributionError::DigestError(oci_client::errors::DigestError::VerificationError {
            expected,
            actual,
        }) => Error::DigestMismatch {
            reference,
            what: ctx.what.to_string(),
            expected,
            actual,
        },
        // Some oci-client calls (blob_exists, uploads) surface HTTP statuses as reqwest errors.
        OciDistributionError::RequestError(re)
            if re.status() == Some(reqwest::StatusCode::UNAUTHORIZED)
                || re.status() == Some(reqwest::StatusCode::FORBIDDEN) =>
        {
            unauthorized()
        }
        OciDistributionError::RequestError(re)
            if re.status() == Some(reqwest::StatusCode::NOT_FOUND) =>
        {
            not_found()
        }
        OciDistributionError::RequestError(re) if re.is_connect() || re.is_timeout() => {
            Error::Unreachable {
                reference,
                registry,
                reason: error_chain(&re),
            }
        }
        other => Error::Registry {
            reference,
            registry,
            message: error_chain(&other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback() {
        for r in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
        ] {
            assert!(is_loopback(r), "{r}");
        }
        for r in [
            "10.0.0.1:5000",
            "example.com",
            "localhost.example.com:5000",
            "[::2]:1",
        ] {
            assert!(!is_loopback(r), "{r}");
        }
    }
}
