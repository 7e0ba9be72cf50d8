//! Password policy and hashing: argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1),
//! 8–128 characters, and no guessable password (zxcvbn, which knows the common-password
//! lists, scores it at least 3 of 4).

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::error::AuthError;

/// Shortest password accepted, in characters.
pub const MIN_LEN: usize = 8;
/// Longest password accepted, in characters (bounds the hashing cost of hostile input).
pub const MAX_LEN: usize = 128;
/// Lowest zxcvbn score accepted (3 = "safely unguessable: moderate protection from
/// offline slow-hash scenario").
pub const MIN_SCORE: u8 = 3;

/// Checks a new password against the policy. `context` holds the user's own words (email,
/// display name), which make a password weaker when it contains them.
pub fn check_policy(password: &str, context: &[&str]) -> Result<(), AuthError> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(AuthError::invalid(format!(
            "password must be at least {MIN_LEN} characters"
        )));
    }
    if chars > MAX_LEN {
        return Err(AuthError::invalid(format!(
            "password must be at most {MAX_LEN} characters"
        )));
    }
    let score = zxcvbn::zxcvbn(password, context).score();
    if u8::from(score) < MIN_SCORE {
        return Err(AuthError::invalid(
            "password is too common or too easy to guess; use a longer phrase of unrelated words",
        ));
    }
    Ok(())
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(
        Params::DEFAULT_M_COST, // 19 MiB
        Params::DEFAULT_T_COST, // 2
        Params::DEFAULT_P_COST, // 1
        None,
    )
    .unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string. CPU-heavy: call from a blocking task.
pub fn hash(password: &str) -> Result<String, AuthError> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Internal(anyhow::anyhow!("argon2 hash: {e}")))
}

/// Whether `password` matches the PHC string `hash`. A malformed hash never matches.
/// CPU-heavy: call from a blocking task.
pub fn verify(password: &str, hash: &str) -> bool {
    hasher().verify_password(password.as_bytes(), hash).is_ok()
}

/// A valid hash of a random password, verified against when the email is unknown so that
/// a failed login costs the same time whether or not the account exists.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let random: [u8; 16] = rand::random();
        hash(&hex::encode(random)).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_passphrases_pass() {
        assert!(check_policy("correct horse battery staple", &[]).is_ok());
        assert!(check_policy("Tr4ding-at-dawn-on-Rialto!", &[]).is_ok());
    }

    #[test]
    fn short_long_and_common_passwords_fail() {
        assert!(check_policy("Ab1!", &[]).is_err());
        assert!(check_policy(&"x7Kq!".repeat(26), &[]).is_err()); // 130 chars
        for common in [
            "password",
            "password123",
            "12345678",
            "qwertyuiop",
            "iloveyou1",
            "letmein!",
        ] {
            assert!(
                check_policy(common, &[]).is_err(),
                "{common} should be refused"
            );
        }
    }

    #[test]
    fn the_users_own_words_make_a_password_weak() {
        assert!(check_policy("annabelle2026", &["annabelle"]).is_err());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 128 distinct three-byte characters: 384 bytes, yet within the limit.
        let cjk: String = (0..128u32)
            .filter_map(|i| char::from_u32(0x4E00 + i * 37))
            .collect();
        assert_eq!(cjk.chars().count(), 128);
        assert!(cjk.len() > MAX_LEN);
        assert!(check_policy(&cjk, &[]).is_ok());
        let too_long: String = (0..129u32)
            .filter_map(|i| char::from_u32(0x4E00 + i * 37))
            .collect();
        assert!(check_policy(&too_long, &[]).is_err());
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let h = hash("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery staple", &h));
        assert!(!verify("correct horse battery stapler", &h));
        assert!(!verify("anything", "not a hash"));
        assert!(!verify("anything", dummy_hash()));
    }
}
