//! Credentials checked against a remote auth service (`rialto gateway`).
//!
//! - Access tokens: verified here with the keys of the auth service's JWKS. A token whose
//!   `kid` is unknown triggers one refetch (at most every few seconds), so a key rotation
//!   is picked up without a restart and a flood of forged `kid`s cannot hammer the service.
//! - API keys: checked by the auth service (`POST /internal/identity`, authenticated with a
//!   signed context so only the gateway can ask), the answer — yes or no — remembered for
//!   [`KEY_CACHE_TTL`]: a revoked key stops working within that time.

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use auth::{AuthError, domain::secrets, keys::TokenVerifier, revocation::RevocationList};
use common::{
    Caller, ContextSigner, Identity, RequestMeta, SubgraphContext, context::CONTEXT_HEADER,
};
use sha2::{Digest, Sha256};

/// How long an API key's check is trusted.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);
/// Least time between two JWKS fetches caused by unknown key ids.
const JWKS_REFETCH_EVERY: Duration = Duration::from_secs(2);

/// The auth service as the gateway's edge sees it.
pub struct RemoteAuth {
    base_url: String,
    client: reqwest::Client,
    signer: ContextSigner,
    issuer: String,
    audience: String,
    verifier: RwLock<Arc<TokenVerifier>>,
    /// When an unknown `kid` last made us fetch; held while fetching, so a burst of tokens
    /// with a new key waits for one fetch instead of each failing or each fetching.
    last_refetch: tokio::sync::Mutex<Option<Instant>>,
    keys: quick_cache::sync::Cache<[u8; 32], (Instant, Identity)>,
    refused_keys: quick_cache::sync::Cache<[u8; 32], Instant>,
    /// Sessions and keys revoked before their time, as the bus announced them.
    revocations: Arc<RevocationList>,
}

impl RemoteAuth {
    /// An edge for the auth service at `base_url` (`http://host:port`, no path).
    pub fn new(
        base_url: &str,
        signer: ContextSigner,
        issuer: &str,
        audience: &str,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder().timeout(timeout).build()?,
            signer,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            verifier: RwLock::new(Arc::new(TokenVerifier::from_jwks(
                &serde_json::json!({ "keys": [] }),
                issuer,
                audience,
            ))),
            last_refetch: tokio::sync::Mutex::new(None),
            keys: quick_cache::sync::Cache::new(10_000),
            refused_keys: quick_cache::sync::Cache::new(1_000),
            revocations: Arc::new(RevocationList::new()),
        })
    }

    /// The revocations this edge knows of; [`auth::revocation::follow`] keeps them current
    /// from the bus.
    pub fn revocations(&self) -> &Arc<RevocationList> {
        &self.revocations
    }

    /// Fetches the JWKS now (at start-up, so the first request does not wait for it).
    pub async fn refresh_keys(&self) -> anyhow::Result<()> {
        let jwks: serde_json::Value = self
            .client
            .get(format!("{}/.well-known/jwks.json", self.base_url))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let verifier = TokenVerifier::from_jwks(&jwks, &self.issuer, &self.audience);
        if let Ok(mut v) = self.verifier.write() {
            *v = Arc::new(verifier);
        }
        Ok(())
    }

    fn current(&self) -> Arc<TokenVerifier> {
        match self.verifier.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Checks a bearer credential.
    pub async fn authenticate(&self, bearer: &str) -> Result<Identity, AuthError> {
        if secrets::is_api_key(bearer) {
            return self.api_key(bearer).await;
        }
        let kid = auth::keys::token_kid(bearer).ok_or(AuthError::InvalidCredential)?;
        if !self.current().knows(&kid) {
            let mut last = self.last_refetch.lock().await;
            let due = last.is_none_or(|t| t.elapsed() >= JWKS_REFETCH_EVERY);
            if due && !self.current().knows(&kid) {
                *last = Some(Instant::now());
                match self.refresh_keys().await {
                    Ok(()) => tracing::info!(kid, "fetched the JWKS for a new key id"),
                    Err(e) => tracing::warn!(error = %e, "fetching the JWKS failed"),
                }
            }
        }
        let identity = self.current().verify(bearer)?;
        if self.revocations.is_revoked(&identity) {
            return Err(AuthError::InvalidCredential);
        }
        Ok(identity)
    }

    /// Whether checking `bearer` would mean asking the auth service: a well-formed API key
    /// whose answer, yes or no, is not remembered.
    pub fn needs_lookup(&self, bearer: &str) -> bool {
        if !secrets::is_well_formed_api_key(bearer) {
            return false;
        }
        let digest: [u8; 32] = Sha256::digest(bearer.as_bytes()).into();
        let fresh = |at: Instant| at.elapsed() < KEY_CACHE_TTL;
        !(self.keys.get(&digest).is_some_and(|(at, _)| fresh(at))
            || self.refused_keys.get(&digest).is_some_and(fresh))
    }

    async fn api_key(&self, key: &str) -> Result<Identity, AuthError> {
        if !secrets::is_well_formed_api_key(key) {
            return Err(AuthError::InvalidCredential);
        }
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        if let Some((at, identity)) = self.keys.get(&digest)
            && at.elapsed() < KEY_CACHE_TTL
        {
            return Some(identity)
                .filter(|identity| !self.revocations.is_revoked(identity))
                .ok_or(AuthError::InvalidCredential);
        }
        if let Some(at) = self.refused_keys.get(&digest)
            && at.elapsed() < KEY_CACHE_TTL
        {
            return Err(AuthError::InvalidCredential);
        }
        metrics::counter!("rialto_gateway_api_key_checks_total").increment(1);
        let token = self
            .signer
            .sign(&SubgraphContext {
                caller: Caller::Anonymous,
                meta: RequestMeta::default(),
            })
            .map_err(|e| AuthError::Internal(anyhow::anyhow!("{e}")))?;
        let resp = self
            .client
            .post(format!("{}/internal/identity", self.base_url))
            .header(CONTEXT_HEADER, token)
            .json(&serde_json::json!({ "credential": key }))
            .send()
            .await
            .map_err(|e| {
                AuthError::Internal(anyhow::anyhow!("asking auth about an API key: {e}"))
            })?;
        if !resp.status().is_success() {
            return Err(AuthError::Internal(anyhow::anyhow!(
                "auth answered {} to an API key check",
                resp.status()
            )));
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            identity: Option<Identity>,
        }
        let answer: Answer = resp
            .json()
            .await
            .map_err(|e| AuthError::Internal(anyhow::anyhow!("auth's API key answer: {e}")))?;
        // Refused keys are remembered apart, so made-up keys cannot push real ones out.
        match answer.identity {
            Some(identity) => {
                self.keys.insert(digest, (Instant::now(), identity.clone()));
                Ok(identity)
            }
            None => {
                self.refused_keys.insert(digest, Instant::now());
                Err(AuthError::InvalidCredential)
            }
        }
    }
}
