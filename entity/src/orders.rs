//! `orders`: every order placed, with its fill progress and what is still held for it. The
//! id is also the engine's `OrderId`.

use sea_orm::entity::prelude::*;

/// An order; prices in ticks, quantities in lots, values and fees in quote minor units.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: Uuid,
    pub market_id: Uuid,
    /// Unique per user when set.
    pub client_order_id: Option<String>,
    /// `buy` or `sell`.
    pub side: String,
    /// `limit` or `market`.
    pub order_type: String,
    /// `gtc`, `ioc` or `fok`.
    pub time_in_force: String,
    pub post_only: bool,
    /// Null for market orders.
    pub price_ticks: Option<i64>,
    pub qty_lots: i64,
    pub filled_lots: i64,
    /// The quote a market BUY may spend; null otherwise.
    pub quote_budget: Option<i64>,
    /// What is still held for the order.
    pub held_remaining: i64,
    /// Quote minor units traded, for the average price.
    pub filled_value: i64,
    pub fees_paid: i64,
    /// `accepted`, `open`, `partially_filled`, `filled`, `cancelled` or `rejected`.
    pub status: String,
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
