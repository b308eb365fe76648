//! TLS for every gateway port, from the flow's `ssl_certfile` and `ssl_keyfile` (PEM).

use std::sync::Arc;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use super::GatewayError;
use crate::GatewayConfig;

/// `None` when the flow sets neither file; an error when it sets only one or they do not load.
pub fn acceptor(config: &GatewayConfig) -> Result<Option<TlsAcceptor>, GatewayError> {
    let (cert_file, key_file) = match (&config.ssl_certfile, &config.ssl_keyfile) {
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        _ => {
            return Err(GatewayError::Tls(
                "set both `ssl_certfile` and `ssl_keyfile`, or neither".into(),
            ));
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .and_then(|iter| iter.collect())
        .map_err(|e| {
            GatewayError::Tls(format!("cannot read certificates from {cert_file}: {e}"))
        })?;
    if certs.is_empty() {
        return Err(GatewayError::Tls(format!(
            "{cert_file} holds no certificate"
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
        GatewayError::Tls(format!("cannot read a private key from {key_file}: {e}"))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| GatewayError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| GatewayError::Tls(format!("{cert_file} and {key_file}: {e}")))?;
    // gRPC needs HTTP/2; HTTP and WebSocket clients speak HTTP/1.1.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}
