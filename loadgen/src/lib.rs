//! Rialto's load generator.
//!
//! Benchmarks in `BENCHMARKS.md` are taken with this tool rather than with a generic HTTP
//! load tester because a Rialto load is GraphQL-shaped: a response is only a success when it
//! is HTTP 200 *and* carries no `errors`, and later loads (trading, issue #5) need sessions
//! and subscriptions that a URL-hammering tool cannot express.
//!
//! - [`graphql`]: a closed loop of N keep-alive HTTP/1.1 connections, each sending one
//!   operation after another as fast as the server answers.
//! - [`report`]: latency percentiles (HDR histogram, microseconds) and throughput.

pub mod graphql;
pub mod report;
