//! `candles`: OHLCV per market and interval, kept up to date by each matcher batch.

use sea_orm::entity::prelude::*;

/// One candle; prices in ticks, volume in lots.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "candles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub market_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub interval: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub open_time: DateTimeUtc,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
    pub volume_lots: i64,
    pub trade_count: i64,
}

/// No relations are navigated through SeaORM; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
