//! The core's journal and its leader row (decision 0008). `journal` holds one row per command
//! the venue core accepted, in sequence, with the epoch of the leader that appended it and
//! the batch's time in nanoseconds (an integer, so both backends store it exactly);
//! `core_leader` is the single row that fences appends (`epoch`), says who leads
//! (`leader_address`), where the journal ends (`journal_head`) and how far the tables have
//! been projected from it (`applied_seq`).

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let bytes = match manager.get_database_backend() {
            DbBackend::Postgres => "BYTEA",
            _ => "BLOB",
        };
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE TABLE IF NOT EXISTS journal (\
               seq BIGINT PRIMARY KEY, \
               epoch BIGINT NOT NULL, \
               at_ns BIGINT NOT NULL, \
               body {bytes} NOT NULL)"
        ))
        .await?;
        db.execute_unprepared(
            "CREATE TABLE IF NOT EXISTS core_leader (\
               id SMALLINT PRIMARY KEY CHECK (id = 1), \
               epoch BIGINT NOT NULL, \
               leader_address TEXT, \
               journal_head BIGINT NOT NULL CHECK (journal_head >= 0), \
               applied_seq BIGINT NOT NULL CHECK (applied_seq >= 0 AND applied_seq <= journal_head))",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO core_leader (id, epoch, leader_address, journal_head, applied_seq) \
             VALUES (1, 0, NULL, 0, 0) ON CONFLICT (id) DO NOTHING",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE IF EXISTS core_leader")
            .await?;
        db.execute_unprepared("DROP TABLE IF EXISTS journal")
            .await?;
        Ok(())
    }
}
