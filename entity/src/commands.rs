//! `commands`: the per-market queue of requests the matcher consumes in `seq` order.

use sea_orm::entity::prelude::*;

/// A command for a market's matcher.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commands")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub market_id: Uuid,
    /// `place`, `cancel` or `cancel_all`.
    pub kind: String,
    /// Null for `cancel_all`.
    pub order_id: Option<i64>,
    pub user_id: Uuid,
    pub created_at: DateTimeUtc,
    /// Null until the matcher has applied it.
    pub processed_at: Option<DateTimeUtc>,
}

/// No relations are navigated through SeaORM; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
