//! The brain service's tables: assets, markets, balances, orders, the matcher's command queue,
//! trades, the double-entry ledger, candles, the market-event outbox and the admin audit
//! (decision record 0005, "Tables"); the core's journal and leader row (decision 0008).

use sea_orm_migration::prelude::*;

mod m20261202_000001_create_brain_tables;
mod m20261206_000001_index_issuance;
mod m20261206_000002_journal;

/// Applies the brain tables; its history lives in `seaql_migrations_brain`, apart from auth's,
/// so the two services can share a database or live in separate ones.
pub struct BrainMigrator;

#[async_trait::async_trait]
impl MigratorTrait for BrainMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261202_000001_create_brain_tables::Migration),
            Box::new(m20261206_000001_index_issuance::Migration),
            Box::new(m20261206_000002_journal::Migration),
        ]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("seaql_migrations_brain").into_iden()
    }
}
