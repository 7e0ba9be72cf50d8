//! The auth service's view of its objects, free of storage and GraphQL types.

use chrono::{DateTime, Utc};
use common::{Role, Scope};
use uuid::Uuid;

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable id, shared with other services (the JWT `sub`).
    pub id: Uuid,
    /// Normalised email.
    pub email: String,
    /// Name shown to others.
    pub display_name: String,
    /// Trader or admin.
    pub role: Role,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// An API key as its owner sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Key id.
    pub id: Uuid,
    /// The owner's label.
    pub name: String,
    /// Visible start of the key.
    pub prefix: String,
    /// What the key may do.
    pub scopes: Vec<Scope>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last authenticated a request (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Checks and trims a display name: 1–64 characters, no control characters.
pub fn normalize_display_name(raw: &str) -> Result<String, crate::AuthError> {
    let name = raw.trim();
    let len = name.chars().count();
    if len == 0 || len > 64 {
        return Err(crate::AuthError::invalid(
            "display name must be 1 to 64 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(crate::AuthError::invalid(
            "display name must not contain control characters",
        ));
    }
    Ok(name.to_string())
}

/// Checks and trims an API key name: 1–64 characters, no control characters.
pub fn normalize_key_name(raw: &str) -> Result<String, crate::AuthError> {
    let name = raw.trim();
    let len = name.chars().count();
    if len == 0 || len > 64 || name.chars().any(char::is_control) {
        return Err(crate::AuthError::invalid(
            "API key name must be 1 to 64 characters without control characters",
        ));
    }
    Ok(name.to_string())
}

/// Parses stored comma-separated scopes; unknown words are dropped (fail closed).
pub fn parse_scopes(stored: &str) -> Vec<Scope> {
    let mut scopes: Vec<Scope> = stored.split(',').filter_map(Scope::parse).collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

/// Formats scopes for storage.
pub fn format_scopes(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}
