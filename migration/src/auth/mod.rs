//! The auth service's tables: users, refresh tokens, API keys and the session log.

use sea_orm_migration::prelude::*;

mod m20261126_000001_create_auth_tables;

/// Applies the auth tables; its history lives in `seaql_migrations_auth`.
pub struct AuthMigrator;

#[async_trait::async_trait]
impl MigratorTrait for AuthMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261126_000001_create_auth_tables::Migration)]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("seaql_migrations_auth").into_iden()
    }
}
