//! `trades`: every execution, numbered by a per-market sequence.

use sea_orm::entity::prelude::*;

/// One execution between a resting (maker) and an incoming (taker) order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trades")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub market_id: Uuid,
    /// Unique per market.
    pub seq: i64,
    pub price_ticks: i64,
    pub qty_lots: i64,
    /// Quote minor units.
    pub value: i64,
    pub maker_order_id: i64,
    pub taker_order_id: i64,
    pub buyer_id: Uuid,
    pub seller_id: Uuid,
    /// `buy` or `sell`.
    pub taker_side: String,
    /// Quote minor units.
    pub maker_fee: i64,
    /// Quote minor units.
    pub taker_fee: i64,
    pub executed_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
