//! Opaque secrets: refresh tokens and API keys. Both carry 256 random bits and are stored
//! only as a SHA-256 hash (they are high-entropy, so a slow hash adds nothing), which also
//! lets a presented secret be found by an indexed lookup.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// Every API key starts with this, so that leaked keys are easy to spot and scan for.
pub const API_KEY_PREFIX: &str = "rlt_";

/// Hex SHA-256 of a secret, as stored.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    for b in buf.iter_mut() {
        *b = rand::random();
    }
    URL_SAFE_NO_PAD.encode(buf)
}

/// A new refresh token: 256 random bits, base64url.
pub fn new_refresh_token() -> String {
    random_b64(32)
}

/// A new API key, `rlt_<8 chars>_<43 chars>`, and its visible prefix `rlt_<8 chars>`.
pub fn new_api_key() -> (String, String) {
    let prefix = format!("{API_KEY_PREFIX}{}", &random_b64(6)[..8]);
    let key = format!("{prefix}_{}", random_b64(32));
    (key, prefix)
}

/// Whether a bearer value looks like an API key rather than a JWT.
pub fn is_api_key(bearer: &str) -> bool {
    bearer.starts_with(API_KEY_PREFIX)
}

/// Length of every key [`new_api_key`] makes: `rlt_`, 8 characters, `_`, 43 characters.
const API_KEY_LEN: usize = API_KEY_PREFIX.len() + 8 + 1 + 43;

/// Whether an API key has exactly the shape [`new_api_key`] gives every key. Anything else
/// is refused without a lookup, so made-up keys cost no database query and no cache place.
pub fn is_well_formed_api_key(bearer: &str) -> bool {
    let b = bearer.as_bytes();
    let b64url = |c: &u8| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_';
    b.len() == API_KEY_LEN
        && bearer.starts_with(API_KEY_PREFIX)
        && b[API_KEY_PREFIX.len() + 8] == b'_'
        && b[API_KEY_PREFIX.len()..].iter().all(b64url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_carry_256_bits() {
        let t = new_refresh_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&t).unwrap().len(), 32);
        assert_ne!(t, new_refresh_token());
    }

    #[test]
    fn api_keys_start_with_their_prefix_and_are_recognised() {
        let (key, prefix) = new_api_key();
        assert!(key.starts_with(&prefix));
        assert_eq!(prefix.len(), API_KEY_PREFIX.len() + 8);
        assert!(is_api_key(&key));
        assert!(is_well_formed_api_key(&key));
        assert!(!is_well_formed_api_key("rlt_short"));
        assert!(!is_well_formed_api_key(&format!("{key}x")));
        assert!(!is_well_formed_api_key(&key.replace('_', "~")));
        assert!(!is_api_key("eyJhbGciOiJFZERTQSJ9.e30.sig"));
        assert_eq!(hash(&key).len(), 64);
    }
}
