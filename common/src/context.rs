//! The request context a gateway hands to a subgraph: who is calling (as the edge verified
//! it) and from where. Over HTTP and WebSocket it travels as a short-lived HS256 JWT signed
//! with the deployment's internal secret, so a subgraph trusts it only when the gateway made
//! it; a header a client forges fails verification and is ignored. In-process (`rialto
//! serve`) the same values are handed over as request data and never serialised.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{Caller, RequestMeta};

/// The HTTP header that carries a signed context from the gateway to a subgraph.
pub const CONTEXT_HEADER: &str = "x-rialto-context";
/// The `connection_init` payload key that carries it on a subgraph WebSocket.
pub const CONTEXT_INIT_KEY: &str = "rialtoContext";

/// Shortest internal secret accepted, in bytes (HS256 wants at least the hash size).
pub const MIN_SECRET_LEN: usize = 32;

const ISSUER: &str = "rialto-gateway";
const AUDIENCE: &str = "rialto-subgraph";
/// Lifetime of a context token. It only needs to outlive one subgraph call (or one socket's
/// `connection_init`), so a stolen one is worthless quickly; the gateway signs a fresh one
/// for each call and each upstream connect.
pub const TTL_SECS: i64 = 60;

/// What the gateway tells a subgraph about a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubgraphContext {
    /// The caller, as the gateway's edge established it.
    pub caller: Caller,
    /// Client address, user agent and request id.
    pub meta: RequestMeta,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    ctx: SubgraphContext,
}

/// Why a context token was refused.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The secret is too short to sign with.
    #[error("the internal secret must be at least {MIN_SECRET_LEN} bytes")]
    WeakSecret,
    /// Bad signature, another algorithm, wrong issuer or audience, or expired.
    #[error("invalid context token")]
    Invalid,
}

/// Signs and verifies context tokens with the internal secret shared by the gateway and
/// its subgraphs.
#[derive(Clone)]
pub struct ContextSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_secs: i64,
}

impl std::fmt::Debug for ContextSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContextSigner(..)")
    }
}

impl ContextSigner {
    /// A signer for `secret` (at least [`MIN_SECRET_LEN`] bytes).
    pub fn new(secret: &[u8]) -> Result<Self, ContextError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(ContextError::WeakSecret);
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_secs: TTL_SECS,
        })
    }

    /// The same signer, making tokens that live `ttl` (at least a second) instead of
    /// [`TTL_SECS`]: tests use a short one to show that long-lived sockets re-sign.
    #[must_use]
    pub fn with_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(TTL_SECS).max(1);
        self
    }

    /// How long a token this signer makes is valid.
    pub fn ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::try_from(self.ttl_secs).unwrap_or(0))
    }

    /// A signed token for one subgraph call.
    pub fn sign(&self, ctx: &SubgraphContext) -> Result<String, ContextError> {
        let now = now();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + self.ttl_secs,
            ctx: ctx.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| ContextError::Invalid)
    }

    /// The context in a token, if the gateway signed it and it has not expired. The
    /// algorithm is pinned to HS256.
    pub fn verify(&self, token: &str) -> Result<SubgraphContext, ContextError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims.ctx)
            .map_err(|_| ContextError::Invalid)
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Credential, Identity, Role, Scope};

    fn ctx() -> SubgraphContext {
        SubgraphContext {
            caller: Caller::Known(Identity {
                user_id: uuid::Uuid::nil(),
                role: Role::Trader,
                scopes: vec![Scope::Read],
                credential: Credential::AccessToken {
                    jti: "j".into(),
                    session: Some(uuid::Uuid::nil()),
                    issued_at: 1,
                },
                expires_at: Some(2),
            }),
            meta: RequestMeta {
                ip: Some("10.1.2.3".into()),
                user_agent: Some("test".into()),
                request_id: Some("req-1".into()),
            },
        }
    }

    #[test]
    fn a_signed_context_round_trips() {
        let signer = ContextSigner::new(&[7u8; 32]).unwrap();
        let token = signer.sign(&ctx()).unwrap();
        assert_eq!(signer.verify(&token).unwrap(), ctx());
    }

    #[test]
    fn another_secret_or_a_tampered_token_is_refused() {
        let signer = ContextSigner::new(&[7u8; 32]).unwrap();
        let other = ContextSigner::new(&[8u8; 32]).unwrap();
        let token = other.sign(&ctx()).unwrap();
        assert!(signer.verify(&token).is_err());
        assert!(signer.verify("not.a.token").is_err());
        let mut forged = signer.sign(&ctx()).unwrap();
        forged.push('x');
        assert!(signer.verify(&forged).is_err());
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        let signer = ContextSigner::new(&[7u8; 32]).unwrap();
        // alg "none" with the right claims
        let header = base64url(r#"{"alg":"none","typ":"JWT"}"#);
        let body = base64url(
            r#"{"iss":"rialto-gateway","aud":"rialto-subgraph","iat":0,"exp":9999999999,"ctx":{"caller":"Anonymous","meta":{}}}"#,
        );
        assert!(signer.verify(&format!("{header}.{body}.")).is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(ContextSigner::new(b"short").is_err());
    }

    fn base64url(s: &str) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let b = s.as_bytes();
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk.len();
            let v = (u32::from(chunk[0]) << 16)
                | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
                | u32::from(*chunk.get(2).unwrap_or(&0));
            for i in 0..=n {
                out.push(T[((v >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
