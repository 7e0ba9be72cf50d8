//! Who is calling, and from where: the bearer credential becomes a [`Caller`], the
//! connection a [`RequestMeta`].

use std::net::SocketAddr;

use auth::{AuthError, AuthService};
use axum::http::HeaderMap;
use common::{Caller, RequestMeta};

/// Longest `User-Agent` kept in the session log.
const MAX_USER_AGENT: usize = 256;

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
        request_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    }
}

/// Resolves an `Authorization` value (`Bearer <token or key>`). A malformed or refused
/// credential is [`Caller::Rejected`]; only a fault on our side is an error.
pub async fn authenticate(
    auth: &AuthService,
    authorization: Option<&str>,
) -> Result<Caller, AuthError> {
    let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(Caller::Anonymous);
    };
    let Some(token) = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
    else {
        return Ok(Caller::Rejected);
    };
    match auth.authenticate(token.trim()).await {
        Ok(identity) => Ok(Caller::Known(identity)),
        Err(AuthError::Internal(e)) => Err(AuthError::Internal(e)),
        Err(_) => Ok(Caller::Rejected),
    }
}
