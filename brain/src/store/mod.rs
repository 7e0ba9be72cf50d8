//! SeaORM queries of the brain tables. Each function takes any connection (the pool or a
//! transaction the service opened) and returns domain types; no `Model` leaves this module.
//!
//! Errors a caller can act on are typed here, once: a duplicate symbol becomes
//! [`BrainError::Conflict`], a balance the database refuses to take below zero becomes
//! [`BrainError::InsufficientFunds`]. Everything else is [`BrainError::Internal`].

pub mod admin;
pub mod assets;
pub mod balances;
pub mod history;
pub mod ledger;
pub mod market_data;
pub mod markets;
pub mod orders;

use std::ops::Deref;

use sea_orm::{DbErr, RuntimeErr, SqlErr};

use crate::BrainError;

/// Rows per multi-row INSERT: well under SQLite's bound-parameter limit.
const CHUNK: usize = 256;

/// Whether the database refused a row for a duplicate unique key.
fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// The constraint message when the database refused a row for a CHECK constraint
/// (SeaORM's `SqlErr` only knows unique and foreign keys, so ask the driver).
fn check_violation(err: &DbErr) -> Option<String> {
    if let DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) = err
        && let sea_orm::sqlx::Error::Database(db) = e.deref()
        && db.is_check_violation()
    {
        return Some(db.message().to_owned());
    }
    None
}

/// A stored row that breaks an invariant the code relies on: a fault, never bad input.
fn corrupt(what: impl std::fmt::Display) -> BrainError {
    BrainError::Internal(anyhow::anyhow!("corrupt row: {what}"))
}
