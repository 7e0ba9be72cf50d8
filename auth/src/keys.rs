//! Access-token signing keys and JWT issue/verify.
//!
//! Tokens are EdDSA (Ed25519) JWTs with a `kid` header. The `kid` is the key's RFC 7638 JWK
//! thumbprint, so it is derived, never configured, and the same key always has the same id.
//! Verification pins the algorithm to EdDSA, requires a known `kid`, and checks `iss`, `aud`
//! and `exp`. Retired keys stay in the set (verify-only, and published in the JWKS) so that
//! a rotation does not log anyone out before their tokens expire.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use common::{Credential, Identity, Role, Scope};
use ed25519_dalek::{
    SigningKey, VerifyingKey,
    pkcs8::{
        DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey,
        spki::der::pem::LineEnding,
    },
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::AuthError;

/// How long a retired key file is kept in the embedded key directory. Far longer than any
/// access token lives, so rotation never invalidates a token early.
const RETIRED_KEY_KEEP: chrono::Duration = chrono::Duration::days(1);

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// `trader` or `admin`.
    pub role: Role,
    /// What the token may do.
    pub scopes: Vec<Scope>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Unique token id.
    pub jti: String,
    /// The session (refresh-token family) the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
}

struct PublicKey {
    decoding: DecodingKey,
    x: String,
}

/// The signing key and every key whose tokens are still accepted.
pub struct KeySet {
    signing_kid: String,
    signing: EncodingKey,
    public: HashMap<String, PublicKey>,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("signing_kid", &self.signing_kid)
            .field("kids", &self.public.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// RFC 7638 thumbprint of an Ed25519 public key.
pub fn thumbprint(public: &VerifyingKey) -> String {
    let x = URL_SAFE_NO_PAD.encode(public.as_bytes());
    // Members in lexicographic order, no whitespace, as RFC 7638 requires.
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A fresh Ed25519 key.
pub fn generate_key() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

/// The PKCS#8 PEM of a private key (what `RIALTO_JWT_SIGNING_KEY` holds).
pub fn private_pem(key: &SigningKey) -> anyhow::Result<String> {
    Ok(key
        .to_pkcs8_pem(LineEnding::LF)
        .context("encode private key")?
        .to_string())
}

/// The SPKI PEM of a public key.
pub fn public_pem(key: &VerifyingKey) -> anyhow::Result<String> {
    key.to_public_key_pem(LineEnding::LF)
        .context("encode public key")
}

/// Splits concatenated PEM blocks.
fn pem_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line.starts_with("-----END") {
            blocks.push(std::mem::take(&mut current));
        }
    }
    blocks
}

impl KeySet {
    /// A key set from a signing key and the public keys of retired keys.
    pub fn new(
        signing: &SigningKey,
        retired: &[VerifyingKey],
        issuer: &str,
        audience: &str,
    ) -> anyhow::Result<Self> {
        let der = signing.to_pkcs8_der().context("encode signing key")?;
        let mut set = Self {
            signing_kid: thumbprint(&signing.verifying_key()),
            signing: EncodingKey::from_ed_der(der.as_bytes()),
            public: HashMap::new(),
            issuer: issuer.to_string(),
            audience: audience.to_string(),
        };
        for key in retired
            .iter()
            .chain(std::iter::once(&signing.verifying_key()))
        {
            set.public.insert(
                thumbprint(key),
                PublicKey {
                    decoding: DecodingKey::from_ed_der(key.as_bytes()),
                    x: URL_SAFE_NO_PAD.encode(key.as_bytes()),
                },
            );
        }
        Ok(set)
    }

    /// A key set from PEM text: a PKCS#8 private key, and concatenated SPKI public keys.
    pub fn from_pem(
        signing_pem: &str,
        retired_pems: Option<&str>,
        issuer: &str,
        audience: &str,
    ) -> anyhow::Result<Self> {
        let signing = SigningKey::from_pkcs8_pem(signing_pem.trim()).map_err(|e| {
            anyhow::anyhow!("the JWT signing key is not an Ed25519 PKCS#8 PEM: {e}")
        })?;
        let mut retired = Vec::new();
        for block in pem_blocks(retired_pems.unwrap_or_default()) {
            retired.push(VerifyingKey::from_public_key_pem(&block).map_err(|e| {
                anyhow::anyhow!("a retired JWT key is not an Ed25519 public PEM: {e}")
            })?);
        }
        Self::new(&signing, &retired, issuer, audience)
    }

    /// The embedded mode's keys: `dir/signing.pem`, created on first start, plus the retired
    /// public keys in `dir/retired/` that are younger than a day.
    pub fn load_or_create(dir: &Path, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let signing_path = dir.join("signing.pem");
        if !signing_path.exists() {
            private_dir(dir)?;
            write_private(&signing_path, &private_pem(&generate_key())?)?;
            tracing::info!(path = %signing_path.display(), "generated a new JWT signing key");
        }
        let signing_pem = std::fs::read_to_string(&signing_path)
            .with_context(|| format!("read {}", signing_path.display()))?;
        let mut retired = String::new();
        for path in retired_files(dir)? {
            retired.push_str(&std::fs::read_to_string(&path)?);
        }
        Self::from_pem(&signing_pem, Some(&retired), issuer, audience)
    }

    /// Rotates the embedded key directory: the current key becomes verify-only (kept a day),
    /// a new key signs from now on. Returns the new `kid`. Running services pick it up on
    /// restart.
    pub fn rotate_dir(dir: &Path) -> anyhow::Result<String> {
        let signing_path = dir.join("signing.pem");
        let old = std::fs::read_to_string(&signing_path)
            .with_context(|| format!("read {}", signing_path.display()))?;
        let old = SigningKey::from_pkcs8_pem(old.trim())
            .map_err(|e| anyhow::anyhow!("bad signing key: {e}"))?;
        let retired_dir = dir.join("retired");
        private_dir(dir)?;
        std::fs::create_dir_all(&retired_dir)?;
        let name = format!(
            "{}-{}.pem",
            Utc::now().timestamp(),
            thumbprint(&old.verifying_key())
        );
        std::fs::write(retired_dir.join(name), public_pem(&old.verifying_key())?)?;
        let new = generate_key();
        write_private(&signing_path, &private_pem(&new)?)?;
        Ok(thumbprint(&new.verifying_key()))
    }

    /// The `kid` new tokens are signed with.
    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    /// Issues an access token for `user_id`.
    pub fn issue(
        &self,
        user_id: Uuid,
        role: Role,
        scopes: &[Scope],
        session: Option<Uuid>,
        now: DateTime<Utc>,
        ttl_secs: u32,
    ) -> Result<(String, DateTime<Utc>), AuthError> {
        let expires_at = now + chrono::Duration::seconds(i64::from(ttl_secs));
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            scopes: scopes.to_vec(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: expires_at.timestamp(),
            iat: now.timestamp(),
            jti: Uuid::now_v7().to_string(),
            sid: session,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.signing)
            .map_err(|e| AuthError::Internal(anyhow::anyhow!("sign access token: {e}")))?;
        Ok((token, expires_at))
    }

    /// Verifies an access token and returns who it speaks for. Any defect — unknown or
    /// missing `kid`, another algorithm, bad signature, wrong `iss`/`aud`, expiry — is
    /// [`AuthError::InvalidCredential`].
    pub fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        verify_token(
            token,
            |kid| self.public.get(kid).map(|k| &k.decoding),
            &self.issuer,
            &self.audience,
        )
    }

    /// The public keys as a JWK Set (`/.well-known/jwks.json`).
    pub fn jwks(&self) -> serde_json::Value {
        let mut kids: Vec<&String> = self.public.keys().collect();
        kids.sort();
        let keys: Vec<serde_json::Value> = kids
            .into_iter()
            .map(|kid| {
                serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "alg": "EdDSA",
                    "use": "sig",
                    "kid": kid,
                    "x": self.public[kid].x,
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

/// The `kid` in a token's header, unverified (to pick the key, or notice a new one).
pub fn token_kid(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).ok()?.kid
}

/// Verifies access tokens with public keys only: what the gateway holds, from the auth
/// service's JWKS. Same checks as [`KeySet::verify`].
pub struct TokenVerifier {
    keys: HashMap<String, DecodingKey>,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// A verifier for the Ed25519 keys of a JWK Set (`/.well-known/jwks.json`); keys of
    /// other types are skipped.
    pub fn from_jwks(jwks: &serde_json::Value, issuer: &str, audience: &str) -> Self {
        let mut keys = HashMap::new();
        for k in jwks["keys"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if k["kty"] != "OKP" || k["crv"] != "Ed25519" {
                continue;
            }
            let (Some(kid), Some(x)) = (k["kid"].as_str(), k["x"].as_str()) else {
                continue;
            };
            if let Ok(decoding) = DecodingKey::from_ed_components(x) {
                keys.insert(kid.to_string(), decoding);
            }
        }
        Self {
            keys,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
        }
    }

    /// Whether the set holds this key id.
    pub fn knows(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// Verifies an access token: [`AuthError::InvalidCredential`] for any defect.
    pub fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        verify_token(
            token,
            |kid| self.keys.get(kid),
            &self.issuer,
            &self.audience,
        )
    }
}

/// Any defect — unknown or missing `kid`, another algorithm, bad signature, wrong
/// `iss`/`aud`, expiry — is [`AuthError::InvalidCredential`].
fn verify_token<'k>(
    token: &str,
    key_for: impl Fn(&str) -> Option<&'k DecodingKey>,
    issuer: &str,
    audience: &str,
) -> Result<Identity, AuthError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::InvalidCredential)?;
    if header.alg != Algorithm::EdDSA {
        return Err(AuthError::InvalidCredential);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(key_for)
        .ok_or(AuthError::InvalidCredential)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    // Clock skew between the issuer and a gateway replica; kept short, because an expired
    // token's WebSocket is closed at `exp` and must not be let back in for long after.
    validation.leeway = 5;
    let data = jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map_err(|_| AuthError::InvalidCredential)?;
    let claims = data.claims;
    let user_id = Uuid::parse_str(&claims.sub).map_err(|_| AuthError::InvalidCredential)?;
    let mut scopes = claims.scopes;
    scopes.sort();
    scopes.dedup();
    Ok(Identity {
        user_id,
        role: claims.role,
        scopes,
        credential: Credential::AccessToken {
            jti: claims.jti,
            session: claims.sid,
            issued_at: claims.iat,
        },
        expires_at: Some(claims.exp),
    })
}

/// Creates `dir` (and its parents) for private keys: mode 0700 on Unix, tightened if it
/// already exists, so no other local user can list or read the keys.
fn private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder
            .create(dir)
            .with_context(|| format!("create {}", dir.display()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restrict {}", dir.display()))?;
    }
    #[cfg(not(unix))]
    builder
        .create(dir)
        .with_context(|| format!("create {}", dir.display()))?;
    Ok(())
}

/// Writes a private key to `path`, replacing any file there. The key goes into a new file
/// created with mode 0600 (Unix), so it is never readable by others, not even for an
/// instant; it is flushed to disk, then renamed over `path`, so a crash leaves either the
/// old key or the new one, never half of one.
fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write;

    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("key.pem");
    let temporary = dir.join(format!(".{name}.{}.tmp", Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = (|| {
        let mut file = options
            .open(&temporary)
            .with_context(|| format!("create {}", temporary.display()))?;
        file.write_all(pem.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
            .with_context(|| format!("move the new key to {}", path.display()))?;
        // The rename itself survives a crash once the directory is flushed.
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        anyhow::Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.with_context(|| format!("write {}", path.display()))
}

/// Retired key files younger than [`RETIRED_KEY_KEEP`]; older ones are deleted.
fn retired_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let retired_dir = dir.join("retired");
    let Ok(entries) = std::fs::read_dir(&retired_dir) else {
        return Ok(Vec::new());
    };
    let cutoff = (Utc::now() - RETIRED_KEY_KEEP).timestamp();
    let mut keep = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let stamp = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split('-').next())
            .and_then(|s| s.parse::<i64>().ok());
        match stamp {
            Some(t) if t < cutoff => {
                let _ = std::fs::remove_file(&path);
            }
            Some(_) => keep.push(path),
            None => {}
        }
    }
    keep.sort();
    Ok(keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> (KeySet, SigningKey) {
        let key = generate_key();
        (KeySet::new(&key, &[], "rialto", "rialto-api").unwrap(), key)
    }

    #[test]
    fn issued_tokens_verify_and_carry_their_claims() {
        let (keys, _) = set();
        let user = Uuid::new_v4();
        let (token, _) = keys
            .issue(user, Role::Admin, &[Scope::Read], None, Utc::now(), 300)
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some(keys.signing_kid()));
        let id = keys.verify(&token).unwrap();
        assert_eq!(id.user_id, user);
        assert_eq!(id.role, Role::Admin);
        assert_eq!(id.scopes, vec![Scope::Read]);
    }

    #[test]
    fn expired_tokens_and_other_keys_are_refused() {
        let (keys, _) = set();
        let (other, _) = set();
        let old = Utc::now() - chrono::Duration::hours(1);
        let (expired, _) = keys
            .issue(Uuid::new_v4(), Role::Trader, &[], None, old, 300)
            .unwrap();
        assert!(matches!(
            keys.verify(&expired),
            Err(AuthError::InvalidCredential)
        ));
        let (foreign, _) = other
            .issue(Uuid::new_v4(), Role::Trader, &[], None, Utc::now(), 300)
            .unwrap();
        assert!(matches!(
            keys.verify(&foreign),
            Err(AuthError::InvalidCredential)
        ));
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_and_signs_with_the_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let before = KeySet::load_or_create(dir.path(), "rialto", "rialto-api").unwrap();
        let (old_token, _) = before
            .issue(
                Uuid::new_v4(),
                Role::Trader,
                &[Scope::Read],
                None,
                Utc::now(),
                300,
            )
            .unwrap();
        let new_kid = KeySet::rotate_dir(dir.path()).unwrap();
        let after = KeySet::load_or_create(dir.path(), "rialto", "rialto-api").unwrap();
        assert_eq!(after.signing_kid(), new_kid);
        assert_ne!(new_kid, before.signing_kid());
        assert!(
            after.verify(&old_token).is_ok(),
            "a retired key still verifies"
        );
        assert_eq!(after.jwks()["keys"].as_array().unwrap().len(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn the_generated_signing_key_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("keys");
        KeySet::load_or_create(&dir, "rialto", "rialto-api").unwrap();
        assert_eq!(mode(&dir.join("signing.pem")), 0o600);
        assert_eq!(mode(&dir), 0o700, "nobody else may list the key directory");

        // A directory left open by an older version is closed; a rotated key is 0600 too,
        // and no temporary file is left behind.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        KeySet::rotate_dir(&dir).unwrap();
        assert_eq!(mode(&dir.join("signing.pem")), 0o600);
        assert_eq!(mode(&dir), 0o700);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| n == "signing.pem" || n == "retired"),
            "{names:?}"
        );
    }

    #[test]
    fn keys_survive_a_pem_round_trip_with_the_same_kid() {
        let key = generate_key();
        let pem = private_pem(&key).unwrap();
        let set = KeySet::from_pem(&pem, None, "i", "a").unwrap();
        assert_eq!(set.signing_kid(), thumbprint(&key.verifying_key()));
        assert!(KeySet::from_pem("not a pem", None, "i", "a").is_err());
    }
}
