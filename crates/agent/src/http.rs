//! The outbound HTTP client tools, connectors and embedders share.

use std::time::Duration;

/// A pooled, keep-alive HTTP client. Installs the TLS crypto provider (ring) the
/// first time, since the build selects none by default.
///
/// Fails when the system offers nothing to verify servers with (a container image
/// without CA certificates): the message says what to install.
pub fn try_client() -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            let mut reason = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                reason = format!("{reason}: {cause}");
                source = cause.source();
            }
            format!(
                "cannot set up outbound HTTPS ({reason}). Install the system's CA certificates \
                 (Debian: the ca-certificates package) or point SSL_CERT_FILE at a PEM bundle"
            )
        })
}

/// [`try_client`] for tests and tools that cannot go on without one.
///
/// # Panics
/// When the system has no CA certificates; the server itself uses [`try_client`]
/// and stops with a clear message instead.
pub fn client() -> reqwest::Client {
    match try_client() {
        Ok(client) => client,
        Err(e) => panic!("{e}"),
    }
}
