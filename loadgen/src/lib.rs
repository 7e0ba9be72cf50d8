//! Rialto's load generator.
//!
//! Benchmarks in `BENCHMARKS.md` are taken with this tool rather than with a generic HTTP
//! load tester because a Rialto load is GraphQL-shaped: a response is only a success when it
//! is HTTP 200 *and* carries no `errors`, and later loads (trading, issue #5) need sessions
//! and subscriptions that a URL-hammering tool cannot express.
//!
//! - [`graphql`]: a closed loop of N keep-alive HTTP/1.1 connections, each sending one
//!   operation after another as fast as the server answers, over [`http`]: a bare hyper
//!   connection per worker sending a body serialised once and judging the answer by a byte
//!   search, so the client's cost stays out of the latency it measures (the gateway's added
//!   latency is tens of microseconds). The operation is any text against any endpoint (a
//!   subgraph, a fixture), not a typed call.
//! - [`trading`]: several traders placing crossing orders through the API, timing each
//!   `placeOrder` to its fill event on a `myOrders` subscription (issue #5). It is a client
//!   of Rialto's API like any bot: every call goes through the typed [`client`] crate (one
//!   connection pool for the run) and its subscriptions through [`client::ws`].
//! - [`subscribers`]: many sockets subscribed at once, and what they cost the server's
//!   memory (issue 17; issue 19 grows it into the fan-out rehearsal).
//! - [`report`]: latency percentiles (HDR histogram, microseconds) and throughput.

pub mod graphql;
pub mod http;
pub mod report;
pub mod subscribers;
pub mod trading;
