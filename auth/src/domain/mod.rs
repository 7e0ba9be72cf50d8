//! Pure rules of the auth service: no database, no GraphQL, no clock of its own.

pub mod email;
pub mod password;
pub mod secrets;
pub mod user;

pub use user::{ApiKey, User};
