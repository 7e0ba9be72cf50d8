//! `users` queries.

use chrono::{DateTime, Utc};
use common::Role;
use entity::users;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, SqlErr};
use uuid::Uuid;

use crate::{AuthError, domain::User};

/// A user with the password hash, for the login check only.
pub struct UserWithHash {
    /// The account.
    pub user: User,
    /// The argon2id PHC string.
    pub password_hash: String,
}

fn to_domain(m: users::Model) -> Result<UserWithHash, AuthError> {
    let role = Role::parse(&m.role).ok_or_else(|| {
        AuthError::Internal(anyhow::anyhow!("user {} has unknown role {}", m.id, m.role))
    })?;
    Ok(UserWithHash {
        user: User {
            id: m.id,
            email: m.email,
            display_name: m.display_name,
            role,
            created_at: m.created_at,
        },
        password_hash: m.password_hash,
    })
}

/// Inserts a user; an email already taken is [`AuthError::EmailTaken`].
pub async fn insert(
    db: &impl ConnectionTrait,
    email: &str,
    display_name: &str,
    password_hash: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<User, AuthError> {
    let model = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.to_string()),
        display_name: Set(display_name.to_string()),
        password_hash: Set(password_hash.to_string()),
        role: Set(role.as_str().to_string()),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    match users::Entity::insert(model).exec_with_returning(db).await {
        Ok(m) => Ok(to_domain(m)?.user),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(AuthError::EmailTaken)
        }
        Err(e) => Err(e.into()),
    }
}

/// A live (not deleted) user by normalised email, with the password hash.
pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<UserWithHash>, AuthError> {
    users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .filter(users::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(to_domain)
        .transpose()
}

/// A live user by id, with the password hash.
pub async fn find_with_hash(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<UserWithHash>, AuthError> {
    users::Entity::find_by_id(id)
        .filter(users::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(to_domain)
        .transpose()
}

/// Live users by id, in no particular order (for batched entity resolution).
pub async fn find_many(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<User>, AuthError> {
    let rows = users::Entity::find()
        .filter(users::Column::Id.is_in(ids.iter().copied()))
        .filter(users::Column::DeletedAt.is_null())
        .all(db)
        .await?;
    rows.into_iter()
        .map(|m| to_domain(m).map(|u| u.user))
        .collect()
}

/// Replaces a user's password hash.
pub async fn set_password_hash(
    db: &impl ConnectionTrait,
    id: Uuid,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, password_hash.into())
        .col_expr(users::Column::UpdatedAt, now.into())
        .filter(users::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Sets a user's role (the `admin create-user` command on an existing account).
pub async fn set_role(
    db: &impl ConnectionTrait,
    id: Uuid,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    users::Entity::update_many()
        .col_expr(users::Column::Role, role.as_str().into())
        .col_expr(users::Column::UpdatedAt, now.into())
        .filter(users::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
