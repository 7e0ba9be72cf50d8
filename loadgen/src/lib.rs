//! Rialto's load generator.
//!
//! Benchmarks in `BENCHMARKS.md` are taken with this tool rather than with a generic HTTP
//! load tester because a Rialto load is GraphQL-shaped: a response is only a success when it
//! is HTTP 200 *and* carries no `errors`, and later loads (trading, issue #5) need sessions
//! and subscriptions that a URL-hammering tool cannot express.
//!
//! - [`graphql`]: a closed loop of N keep-alive HTTP/1.1 connections, each sending one
//!   operation after another as fast as the server answers.
//! - [`trading`]: several traders placing crossing orders through the API, timing each
//!   `placeOrder` to its fill event on a `myOrders` subscription (issue #5).
//! - [`report`]: latency percentiles (HDR histogram, microseconds) and throughput.
//! - [`http`], [`ws`]: the bare HTTP/1.1 client and the `graphql-transport-ws` client they
//!   share.

pub mod graphql;
pub mod http;
pub mod report;
pub mod trading;
pub mod ws;
