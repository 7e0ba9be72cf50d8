//! The `rialto` command and its HTTP edge.
//!
//! - [`cli`]: the command line (clap), one subcommand per way to run;
//! - [`startup`]: builds the application from a typed config (tests use it on port 0);
//! - [`http`]: routes — GraphQL over HTTP and WebSocket, health, readiness, metrics, JWKS;
//! - [`db`]: connects to PostgreSQL or the embedded SQLite and migrates;
//! - [`telemetry`]: logging and the Prometheus recorder.
//!
//! The federated gateway arrives here in a later issue; for now `/graphql` serves the auth
//! subgraph directly.

pub mod cli;
pub mod compose;
pub mod db;
pub mod demo;
pub mod edge;
pub mod execute;
pub mod gateway;
pub mod http;
pub mod plan;
pub mod startup;
pub mod telemetry;
pub mod ws_proxy;
