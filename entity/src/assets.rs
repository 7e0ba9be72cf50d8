//! `assets`: what balances, amounts and markets are denominated in. An amount of an asset is
//! an `i64` of its minor units (`decimals` places).

use sea_orm::entity::prelude::*;

/// A tradable or depositable asset.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `[A-Z0-9]{1,12}`.
    #[sea_orm(unique)]
    pub symbol: String,
    pub name: String,
    pub kind: String,
    /// Minor-unit places, 0–18.
    pub decimals: i32,
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
