//! Schema migrations. Each service owns its tables and its migrator, so auth and brain can
//! live in separate databases (`AUTH_DATABASE_URL`, `BRAIN_DATABASE_URL`) or share one; each
//! migrator keeps its own history table so they never step on each other.
//!
//! Every migration here runs on PostgreSQL and on SQLite (the embedded default): only column
//! types both understand (uuid, text, integers, timestamps with time zone) are used.

pub use sea_orm_migration::prelude::*;

mod auth;
mod brain;

pub use auth::AuthMigrator;
pub use brain::BrainMigrator;
