//! TLS for the client: trust the system's store or the certificates of one PEM file.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::{TlsConnector, rustls};

use super::{ClientError, Trust};

/// The certificates `trust` names, read now.
pub fn roots(trust: &Trust) -> Result<rustls::RootCertStore, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    match trust {
        Trust::System => {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                tracing::warn!(%error, "skipping part of the system's certificate store");
            }
            let (added, _unusable) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(ClientError::Tls(
                    "the system's certificate store has no usable certificates".into(),
                ));
            }
        }
        Trust::CaFile(ca_file) => {
            let certs = CertificateDer::pem_file_iter(ca_file)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|e| ClientError::Tls(format!("cannot read {}: {e}", ca_file.display())))?;
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| ClientError::Tls(format!("{}: {e}", ca_file.display())))?;
            }
        }
    }
    Ok(roots)
}

pub fn connector(trust: &Trust, alpn: &[&[u8]]) -> Result<TlsConnector, ClientError> {
    let roots = roots(trust)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(TlsConnector::from(Arc::new(config)))
}

pub async fn connect(
    connector: &TlsConnector,
    host: &str,
    stream: TcpStream,
) -> Result<TlsStream<TcpStream>, ClientError> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| ClientError::Tls(format!("`{host}` is not a valid server name: {e}")))?;
    connector
        .connect(name, stream)
        .await
        .map_err(|e| ClientError::Tls(format!("handshake with {host} failed: {e}")))
}
