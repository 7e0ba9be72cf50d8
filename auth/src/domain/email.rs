//! Email addresses are identities here: stored trimmed and lower-cased so that
//! `Ann@Example.com ` and `ann@example.com` are one account.

use crate::error::AuthError;

/// The longest address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// Trims, lower-cases and validates an email address.
pub fn normalize(raw: &str) -> Result<String, AuthError> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err(AuthError::invalid("email is required"));
    }
    if email.len() > MAX_EMAIL_LEN {
        return Err(AuthError::invalid("email is too long"));
    }
    let parsed = email_address::EmailAddress::parse_with_options(
        &email,
        email_address::Options::default()
            .without_display_text()
            .without_domain_literal(),
    )
    .map_err(|_| AuthError::invalid("email is not a valid address"))?;
    // A deliverable address needs a dotted domain (`a@localhost` is not one).
    let domain = parsed.domain();
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err(AuthError::invalid("email is not a valid address"));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize("  Ann.Lee@Example.COM ").ok().as_deref(),
            Some("ann.lee@example.com")
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "   ",
            "ann",
            "ann@",
            "@example.com",
            "ann@localhost",
            "a b@example.com",
            "Ann <ann@example.com>",
            "ann@@example.com",
            "ann@[127.0.0.1]",
        ] {
            assert!(normalize(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(normalize(&long).is_err());
    }
}
