//! `admin_actions`: the audit of admin acts. Written in the same transaction as the act,
//! so an act without its audit row (or the reverse) cannot exist.

use chrono::{DateTime, Utc};
use entity::admin_actions;
use sea_orm::{ActiveValue::NotSet, ActiveValue::Set, ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::BrainError;

/// Records that `admin_id` did `action` to `target`; `detail` is stored as JSON text.
/// Returns the row's id.
pub async fn record(
    db: &impl ConnectionTrait,
    admin_id: Uuid,
    action: &str,
    target: &str,
    detail: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<i64, BrainError> {
    let row = admin_actions::ActiveModel {
        id: NotSet,
        admin_id: Set(admin_id),
        action: Set(action.to_owned()),
        target: Set(target.to_owned()),
        detail: Set(detail.to_string()),
        created_at: Set(now),
    };
    Ok(admin_actions::Entity::insert(row)
        .exec(db)
        .await?
        .last_insert_id)
}
