//! A partial index on the `system:issuance` entries of each asset (decision record 0005,
//! "Bounds"): `creditBalance` reads an asset's supply, the sum of those entries, before it
//! issues more, and without the index that would scan every fee entry of the asset too (one
//! per trade). Only issuance entries are indexed, so trading's ledger writes pay nothing.
//! PostgreSQL and SQLite share the syntax.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_ledger_entries_issuance \
                 ON ledger_entries (asset_id, amount) WHERE account = 'system:issuance'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_ledger_entries_issuance")
            .await?;
        Ok(())
    }
}
