//! `admin_actions`: the audit of admin acts (credits, market changes, halts).

use sea_orm::entity::prelude::*;

/// One act of an admin.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_actions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub admin_id: Uuid,
    pub action: String,
    pub target: String,
    /// JSON.
    pub detail: String,
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
