//! `balances`: each user's available and held amount of an asset, kept equal to the sums
//! of their ledger entries. The database refuses a negative value in either column.

use sea_orm::entity::prelude::*;

/// One user's holding of one asset, in the asset's minor units.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "balances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub asset_id: Uuid,
    /// Free to spend or withdraw; `>= 0`.
    pub available: i64,
    /// Reserved by open orders; `>= 0`.
    pub held: i64,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
