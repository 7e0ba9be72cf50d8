//! SeaORM entities, one module per table. Data shapes only: the services' `store` modules
//! turn these into domain types, so nothing outside a store ever sees a `Model`.

// The derive macros generate public items (Column, Entity, ActiveModel) that cannot carry docs.
#![allow(missing_docs)]
pub mod api_keys;
pub mod refresh_tokens;
pub mod session_logs;
pub mod users;
