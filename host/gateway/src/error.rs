//! Why a gateway could not start.

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("cannot listen for {protocol} on {address}: {source}")]
    Bind {
        protocol: &'static str,
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
}
