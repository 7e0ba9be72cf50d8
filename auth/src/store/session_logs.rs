//! `session_logs` inserts.

use chrono::{DateTime, Utc};
use common::RequestMeta;
use entity::session_logs;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::AuthError;

/// The kinds of security event recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// An account was created.
    Register,
    /// A successful login.
    Login,
    /// A failed login (wrong password or unknown email).
    LoginFailed,
    /// A refresh token was rotated.
    Refresh,
    /// A used refresh token was presented again; its family was revoked.
    RefreshReuse,
    /// A session was ended.
    Logout,
    /// The password was changed and every session revoked.
    PasswordChange,
    /// An API key was created.
    ApiKeyCreated,
    /// An API key was revoked.
    ApiKeyRevoked,
}

impl SessionEvent {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Login => "login",
            Self::LoginFailed => "login_failed",
            Self::Refresh => "refresh",
            Self::RefreshReuse => "refresh_reuse",
            Self::Logout => "logout",
            Self::PasswordChange => "password_change",
            Self::ApiKeyCreated => "api_key_created",
            Self::ApiKeyRevoked => "api_key_revoked",
        }
    }
}

/// Appends one event.
pub async fn record(
    db: &impl ConnectionTrait,
    user_id: Option<Uuid>,
    event: SessionEvent,
    meta: &RequestMeta,
    detail: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    session_logs::Entity::insert(session_logs::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        kind: Set(event.as_str().to_string()),
        ip: Set(meta.ip.clone()),
        user_agent: Set(meta.user_agent.clone()),
        detail: Set(detail),
        at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}
