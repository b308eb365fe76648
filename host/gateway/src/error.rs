//! Why a gateway could not start.

/// Why [`Gateway::start`](crate::Gateway::start) failed; nothing is left listening.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A binding's port could not be listened on (taken, or not allowed).
    #[error("cannot listen for {protocol} on {address}: {source}")]
    Bind {
        /// The binding's protocol: `grpc`, `http` or `websocket`.
        protocol: &'static str,
        /// The `host:port` asked for (port 0 when the binding leaves it to the OS).
        address: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `ssl_certfile` and `ssl_keyfile` are not both set, do not load, or do not match;
    /// carries the explanation.
    #[error("TLS: {0}")]
    Tls(String),
}
