//! The auth subgraph: accounts, passwords, access tokens (EdDSA JWTs), rotating refresh
//! tokens, API keys and the session log.
//!
//! Layers, outside in: [`schema`] (thin GraphQL resolvers) → [`service::AuthService`] (one
//! method per use case, owns transactions) → [`store`] (SeaORM queries) and [`domain`]
//! (pure rules: password policy, email normalisation, token formats). [`keys`] holds the
//! signing keys and is what other services use to verify access tokens.

pub mod config;
pub mod domain;
pub mod error;
pub mod keys;
pub mod limits;
pub mod revocation;
pub mod schema;
pub mod service;
pub mod store;

pub use config::AuthConfig;
pub use error::AuthError;
pub use keys::KeySet;
pub use schema::{AuthSchema, build_schema};
pub use service::AuthService;
