//! `ledger_entries`: the double-entry journal; the entries of one `tx_id` sum to zero per
//! asset, and balances equal the sums of their accounts' entries.

use sea_orm::entity::prelude::*;

/// One leg of a ledger transaction.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tx_id: Uuid,
    /// `user:available`, `user:held`, `system:issuance` or `system:fees`.
    pub account: String,
    /// Set for `user:*` accounts.
    pub user_id: Option<Uuid>,
    pub asset_id: Uuid,
    /// Signed, in the asset's minor units.
    pub amount: i64,
    pub kind: String,
    pub order_id: Option<i64>,
    pub trade_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
