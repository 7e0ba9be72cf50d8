//! The app's HTTP client (ureq): short timeouts, statuses returned rather than raised (a
//! GraphQL error body is read, not dropped), TLS through the system's trust store.

use std::time::Duration;

use ureq::{
    Agent,
    tls::{RootCerts, TlsConfig},
};

/// An agent whose requests give up after `timeout` in all (connecting within 3 s).
pub fn agent(timeout: Duration) -> Agent {
    Agent::config_builder()
        .timeout_global(Some(timeout))
        .timeout_connect(Some(Duration::from_secs(3)))
        .http_status_as_error(false)
        .user_agent(concat!("rialto-desktop/", env!("CARGO_PKG_VERSION")))
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::PlatformVerifier)
                .build(),
        )
        .build()
        .into()
}
