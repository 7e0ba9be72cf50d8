//! Integration tests: the real `rialto` application on a random port, a fresh database per
//! test (SQLite in a temp dir, or a new PostgreSQL database when `DATABASE_URL` is set),
//! driven over HTTP and WebSocket like a client would.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod admin;
mod api_keys;
mod cli;
mod client_address;
mod cluster;
mod crash;
mod demo;
mod federation;
mod helpers;
mod integrators;
mod overflow;
mod request_costs;
mod robustness;
mod sessions;
mod sign_up_and_in;
mod socket_lifetime;
mod socket_limits;
mod throttling;
mod tokens;
mod trading;
mod websocket;
