//! Who is calling, and from where: the bearer credential becomes a [`Caller`], the
//! connection a [`RequestMeta`].
//!
//! In `rialto serve` the auth service is in the same process and checks credentials itself.
//! In `rialto gateway` ([`remote::RemoteAuth`]) access tokens are verified locally with the
//! auth service's published keys (fetched again when a token names an unknown `kid`), and
//! API keys are checked with the auth service and remembered for a few seconds, so a
//! revoked key stops working within that time.

pub mod remote;

use std::net::SocketAddr;

use auth::{AuthError, AuthService};
use axum::http::HeaderMap;
use common::{Caller, RequestMeta};

/// Longest `User-Agent` kept in the session log.
const MAX_USER_AGENT: usize = 256;
/// Longest request id or `traceparent` accepted from a client.
const MAX_ID_LEN: usize = 128;

/// Request metadata from headers and the peer address.
pub fn request_meta(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trust_forwarded_for: bool,
) -> RequestMeta {
    let forwarded = trust_forwarded_for
        .then(|| {
            headers
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .split(',')
                .next()
                .map(|s| s.trim().to_string())
        })
        .flatten()
        .filter(|s| !s.is_empty());
    RequestMeta {
        ip: forwarded.or_else(|| peer.map(|p| p.ip().to_string())),
        user_agent: headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(MAX_USER_AGENT).collect()),
        request_id: header_str(headers, "x-request-id"),
    }
}

/// A short, printable header value.
pub fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= MAX_ID_LEN)
        .map(str::to_string)
}

/// A W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`) to forward; anything else is dropped.
pub fn traceparent(headers: &HeaderMap) -> Option<String> {
    let v = header_str(headers, "traceparent")?;
    let parts: Vec<&str> = v.split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_hexdigit());
    (parts.len() == 4
        && hex(parts[0], 2)
        && hex(parts[1], 32)
        && hex(parts[2], 16)
        && hex(parts[3], 2))
    .then_some(v)
}

/// How the edge checks credentials.
pub enum Authenticator {
    /// The auth service in this process.
    Local(AuthService),
    /// The auth service over the network.
    Remote(Box<remote::RemoteAuth>),
    /// No auth service: any credential presented is refused.
    None,
}

impl Authenticator {
    /// Resolves an `Authorization` value (`Bearer <token or key>`). A malformed or refused
    /// credential is [`Caller::Rejected`]; only a fault on our side is an error.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, AuthError> {
        let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Caller::Anonymous);
        };
        let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
        else {
            return Ok(Caller::Rejected);
        };
        let result = match self {
            Self::Local(auth) => auth.authenticate(token).await,
            Self::Remote(remote) => remote.authenticate(token).await,
            Self::None => Err(AuthError::InvalidCredential),
        };
        match result {
            Ok(identity) => Ok(Caller::Known(identity)),
            Err(AuthError::Internal(e)) => Err(AuthError::Internal(e)),
            Err(_) => Ok(Caller::Rejected),
        }
    }

    /// The sessions and keys revoked before their time that this edge knows of (sockets
    /// watch them), if it checks credentials at all.
    pub fn revocations(&self) -> Option<&std::sync::Arc<auth::revocation::RevocationList>> {
        match self {
            Self::Local(auth) => Some(auth.revocations()),
            Self::Remote(remote) => Some(remote.revocations()),
            Self::None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_well_formed_traceparents_are_forwarded() {
        let mut h = HeaderMap::new();
        h.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        assert!(traceparent(&h).is_some());
        h.insert("traceparent", "00-xyz-00f067aa0ba902b7-01".parse().unwrap());
        assert!(traceparent(&h).is_none());
    }
}
