//! The outbound HTTP client tools, connectors and embedders share.

use std::time::Duration;

/// A pooled, keep-alive HTTP client. Installs the TLS crypto provider (ring) the
/// first time, since the build selects none by default.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with default settings")
}
