//! `api_keys` queries.

use chrono::{DateTime, Utc};
use common::Scope;
use entity::api_keys;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use crate::{
    AuthError,
    domain::{
        ApiKey,
        user::{format_scopes, parse_scopes},
    },
};

/// A key found by its secret's hash, with its owner.
pub struct KeyOwner {
    /// The key.
    pub key: ApiKey,
    /// Its owner.
    pub user_id: Uuid,
}

fn to_domain(m: api_keys::Model) -> KeyOwner {
    KeyOwner {
        user_id: m.user_id,
        key: ApiKey {
            id: m.id,
            name: m.name,
            prefix: m.prefix,
            scopes: parse_scopes(&m.scopes),
            created_at: m.created_at,
            last_used_at: m.last_used_at,
            revoked_at: m.revoked_at,
        },
    }
}

/// Stores a new key.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    name: &str,
    prefix: &str,
    secret_hash: &str,
    scopes: &[Scope],
    now: DateTime<Utc>,
) -> Result<ApiKey, AuthError> {
    let m = api_keys::Entity::insert(api_keys::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        name: Set(name.to_string()),
        prefix: Set(prefix.to_string()),
        secret_hash: Set(secret_hash.to_string()),
        scopes: Set(format_scopes(scopes)),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
    })
    .exec_with_returning(db)
    .await?;
    Ok(to_domain(m).key)
}

/// A key by its secret's hash.
pub async fn find_by_hash(
    db: &impl ConnectionTrait,
    secret_hash: &str,
) -> Result<Option<KeyOwner>, AuthError> {
    Ok(api_keys::Entity::find()
        .filter(api_keys::Column::SecretHash.eq(secret_hash))
        .one(db)
        .await?
        .map(to_domain))
}

/// A user's key by id (another user's key is "not found").
pub async fn find_owned(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<ApiKey>, AuthError> {
    Ok(api_keys::Entity::find_by_id(id)
        .filter(api_keys::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .map(|m| to_domain(m).key))
}

/// A user's keys, newest first.
pub async fn list(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Vec<ApiKey>, AuthError> {
    Ok(api_keys::Entity::find()
        .filter(api_keys::Column::UserId.eq(user_id))
        .order_by_desc(api_keys::Column::CreatedAt)
        .order_by_desc(api_keys::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| to_domain(m).key)
        .collect())
}

/// How many unrevoked keys a user has.
pub async fn count_active(db: &impl ConnectionTrait, user_id: Uuid) -> Result<u64, AuthError> {
    Ok(api_keys::Entity::find()
        .filter(api_keys::Column::UserId.eq(user_id))
        .filter(api_keys::Column::RevokedAt.is_null())
        .count(db)
        .await?)
}

/// Revokes a key (no-op if already revoked).
pub async fn revoke(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    api_keys::Entity::update_many()
        .col_expr(api_keys::Column::RevokedAt, now.into())
        .filter(api_keys::Column::Id.eq(id))
        .filter(api_keys::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Records use of a key.
pub async fn touch(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    api_keys::Entity::update_many()
        .col_expr(api_keys::Column::LastUsedAt, now.into())
        .filter(api_keys::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
