//! `market_events`: the outbox. Written in the matcher's transaction, published to the bus
//! afterwards; `seq` is the market sequence subscribers see.

use sea_orm::entity::prelude::*;

/// An event to publish.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "market_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub market_id: Uuid,
    /// Unique per market.
    pub seq: i64,
    pub kind: String,
    /// Set for events addressed to one user.
    pub user_id: Option<Uuid>,
    /// JSON.
    pub payload: String,
    pub created_at: DateTimeUtc,
    /// Null until published.
    pub published_at: Option<DateTimeUtc>,
}

/// No relations are navigated through SeaORM; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
