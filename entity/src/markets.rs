//! `markets`: a base asset quoted in a quote asset, with the tick, lot and fee rules the
//! matcher applies.

use sea_orm::entity::prelude::*;

/// A market (`BASE-QUOTE`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "markets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `BASE-QUOTE`.
    #[sea_orm(unique)]
    pub symbol: String,
    pub base_asset_id: Uuid,
    pub quote_asset_id: Uuid,
    /// Quote minor units per whole base unit.
    pub tick_size: i64,
    /// Base minor units.
    pub lot_size: i64,
    /// Base minor units.
    pub min_qty: i64,
    /// `tick_size * lot_size / 10^base_decimals`: quote minor units of one lot at one tick.
    pub quote_per_tick_lot: i64,
    pub price_band_bps: i32,
    pub maker_fee_bps: i32,
    pub taker_fee_bps: i32,
    /// `open` or `halted`.
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
