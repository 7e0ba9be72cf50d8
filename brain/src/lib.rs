//! The brain subgraph: assets, markets, balances, orders, trades, the ledger and live market
//! data (DESIGN.md §3–§5, decision 0005).
//!
//! Layers, outermost last: `domain` (pure rules: what a valid order is, what it holds) →
//! `store` (SeaORM) → `service` (one function per use case, owning the transaction) →
//! `schema` (thin resolvers). This commit brings the domain; the rest follows.

pub mod audit;
pub mod domain;
pub mod error;
pub mod hot;
pub mod live;
pub mod schema;
pub mod service;
pub mod store;

pub use error::BrainError;
pub use schema::{BrainSchema, build_schema};
pub use service::BrainService;
