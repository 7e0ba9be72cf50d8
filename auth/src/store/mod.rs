//! SeaORM queries of the auth tables. Each function takes any connection (pool or
//! transaction) and returns domain types; no `Model` leaves this module.

pub mod api_keys;
pub mod refresh_tokens;
pub mod session_logs;
pub mod users;
