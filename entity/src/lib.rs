//! SeaORM entities, one module per table. Data shapes only: the services' `store` modules
//! turn these into domain types, so nothing outside a store ever sees a `Model`.

// The derive macros generate public items (Column, Entity, ActiveModel) that cannot carry docs.
#![allow(missing_docs)]
pub mod admin_actions;
pub mod api_keys;
pub mod assets;
pub mod balances;
pub mod candles;
pub mod commands;
pub mod ledger_entries;
pub mod market_events;
pub mod markets;
pub mod orders;
pub mod refresh_tokens;
pub mod session_logs;
pub mod trades;
pub mod users;
