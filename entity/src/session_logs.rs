//! `session_logs`: the account security journal (logins, refreshes, logouts, ...).

use sea_orm::entity::prelude::*;

/// One security-relevant event.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Null when no account is known (a failed login for an unknown email).
    pub user_id: Option<Uuid>,
    /// `register`, `login`, `login_failed`, `refresh`, `refresh_reuse`, `logout`,
    /// `password_change`, `api_key_created`, `api_key_revoked`.
    pub kind: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
    pub at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
