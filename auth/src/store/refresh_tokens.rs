//! `refresh_tokens` queries, and the lock that keeps rotation and revocation of one user's
//! tokens from interleaving.
//!
//! Without it a revocation could miss a member that a concurrent refresh inserts (its
//! `UPDATE` reads before the refresh commits) and that member would live on. So every
//! transaction that decides on a user's refresh tokens takes the user's lock before it
//! reads: on PostgreSQL a transaction-scoped advisory lock ([`lock_user`], taken by the
//! refresh and, inside [`revoke_family`] and [`revoke_user`], by every revocation); on SQLite
//! the database's one write lock, which [`begin`] takes at once (`BEGIN IMMEDIATE`) and which
//! a revocation's `UPDATE` takes as its first statement. One lock per user rather than per
//! family also covers a password change, which revokes every family at once.

use chrono::{DateTime, Utc};
use entity::refresh_tokens;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, QueryFilter, QuerySelect, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};
use uuid::Uuid;

use crate::AuthError;

/// The first key of the refresh lock (`pg_advisory_xact_lock(int4, int4)`), so it never
/// meets another of Rialto's advisory locks (the matcher's first key is `RIAL`).
const LOCK_CLASS: i32 = 0x5246_5348; // "RFSH"

/// Starts a transaction that will change refresh tokens. On SQLite it takes the write lock
/// at once (`BEGIN IMMEDIATE`), so no other writer slips in between its reads and its
/// writes; on PostgreSQL it is a plain `BEGIN` and [`lock_user`] does that job.
pub async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, AuthError> {
    Ok(db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await?)
}

/// Holds the lock on `user_id`'s refresh tokens until the transaction ends; take it before
/// reading what decides. On PostgreSQL a transaction-scoped advisory lock (so it must run
/// inside a transaction); on SQLite nothing, the write lock serialises instead (see the
/// module's documentation).
pub async fn lock_user(db: &impl ConnectionTrait, user_id: Uuid) -> Result<(), AuthError> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    // The user id folded to 32 bits: two users sharing a key only wait for each other.
    let words = user_id.as_u128();
    // (Truncating, then reinterpreting the bits as PostgreSQL's signed int4, is the point.)
    let key = (words ^ (words >> 32) ^ (words >> 64) ^ (words >> 96)) as u32 as i32;
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1, $2)",
        [LOCK_CLASS.into(), key.into()],
    ))
    .await?;
    Ok(())
}

/// A stored refresh token (its hash, never the token).
#[derive(Debug, Clone)]
pub struct StoredRefreshToken {
    /// Row id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Tokens rotated from one login share a family.
    pub family_id: Uuid,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Set once exchanged.
    pub used_at: Option<DateTime<Utc>>,
    /// Set once revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Stores a new token's hash.
pub async fn insert(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    family_id: Uuid,
    token_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), AuthError> {
    refresh_tokens::Entity::insert(refresh_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        family_id: Set(family_id),
        token_hash: Set(token_hash.to_string()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A token by hash.
pub async fn find_by_hash(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<StoredRefreshToken>, AuthError> {
    Ok(refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(token_hash))
        .one(db)
        .await?
        .map(|m| StoredRefreshToken {
            id: m.id,
            user_id: m.user_id,
            family_id: m.family_id,
            expires_at: m.expires_at,
            used_at: m.used_at,
            revoked_at: m.revoked_at,
        }))
}

/// Marks a token used if it is still live; false when another request got there first.
pub async fn mark_used(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, AuthError> {
    let res = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::UsedAt, now.into())
        .filter(refresh_tokens::Column::Id.eq(id))
        .filter(refresh_tokens::Column::UsedAt.is_null())
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Revokes every live token of a family; returns how many. Takes the owner's lock first
/// (in a transaction), so a member a concurrent refresh inserts is revoked too.
pub async fn revoke_family(
    db: &impl ConnectionTrait,
    family_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, AuthError> {
    if db.get_database_backend() == DbBackend::Postgres {
        let owner: Option<Uuid> = refresh_tokens::Entity::find()
            .select_only()
            .column(refresh_tokens::Column::UserId)
            .filter(refresh_tokens::Column::FamilyId.eq(family_id))
            .into_tuple()
            .one(db)
            .await?;
        if let Some(owner) = owner {
            lock_user(db, owner).await?;
        }
    }
    let res = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, now.into())
        .filter(refresh_tokens::Column::FamilyId.eq(family_id))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Revokes every live token of a user; returns how many. Takes the user's lock first (in a
/// transaction), so a member a concurrent refresh inserts is revoked too.
pub async fn revoke_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, AuthError> {
    lock_user(db, user_id).await?;
    let res = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, now.into())
        .filter(refresh_tokens::Column::UserId.eq(user_id))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// The sessions (families) of a user that still have an unrevoked token: what a password
/// change ends.
pub async fn live_families(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<Uuid>, AuthError> {
    let mut families: Vec<Uuid> = refresh_tokens::Entity::find()
        .select_only()
        .column(refresh_tokens::Column::FamilyId)
        .filter(refresh_tokens::Column::UserId.eq(user_id))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    families.sort();
    families.dedup();
    Ok(families)
}

/// For a retry within the grace window: revokes the tokens of `family_id` issued since
/// `since` (when the presented token was exchanged), if every one of them is still unused
/// and unrevoked, and returns how many. `None` when there are none or one was used or
/// revoked: the client did receive its new token (or a retry already happened), so the
/// presented token is replayed, not retried.
pub async fn revoke_unused_successors(
    db: &impl ConnectionTrait,
    family_id: Uuid,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<u64>, AuthError> {
    let successors = refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::FamilyId.eq(family_id))
        .filter(refresh_tokens::Column::CreatedAt.gte(since))
        .all(db)
        .await?;
    if successors.is_empty()
        || successors
            .iter()
            .any(|t| t.used_at.is_some() || t.revoked_at.is_some())
    {
        return Ok(None);
    }
    let res = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, now.into())
        .filter(refresh_tokens::Column::Id.is_in(successors.iter().map(|t| t.id)))
        .exec(db)
        .await?;
    Ok(Some(res.rows_affected))
}

/// Whether the family still has a live (unused, unrevoked, unexpired) token.
pub async fn family_is_live(db: &impl ConnectionTrait, family_id: Uuid) -> Result<bool, AuthError> {
    Ok(refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::FamilyId.eq(family_id))
        .filter(refresh_tokens::Column::UsedAt.is_null())
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .filter(refresh_tokens::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?
        .is_some())
}
