//! A closed-loop GraphQL-over-HTTP load: N connections, one request in flight on each.
//!
//! Closed loop (send, wait for the answer, send again) measures what the server sustains
//! at a given concurrency; with one connection it measures the latency of an otherwise
//! idle server, which is how the gateway's *added* latency is taken (gateway minus direct
//! subgraph, same query). The client is a bare hyper HTTP/1.1 connection per worker so the
//! load generator spends as little of the shared CPU as possible.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{HeaderName, HeaderValue, Uri};

use crate::{
    http::{Connection, Endpoint},
    report::{Failures, Report, new_histogram},
};

/// One load to run: where, what, how hard, how long.
#[derive(Debug, Clone)]
pub struct Load {
    /// Name printed with the results.
    pub label: String,
    /// `http://host:port/path` of the GraphQL endpoint (plain HTTP; the benchmarks run on
    /// loopback).
    pub url: Uri,
    /// The JSON request body, sent as is with every request.
    pub body: Bytes,
    /// Extra request headers (for example `authorization`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Concurrent connections.
    pub connections: usize,
    /// Time spent sending before measuring: fills pools, caches and JITs (Node's included).
    pub warmup: Duration,
    /// Measured window.
    pub duration: Duration,
}

/// What one worker saw inside the measured window.
struct WorkerResult {
    histogram: Histogram<u64>,
    failures: Failures,
}

/// Runs the load and returns its report.
///
/// # Errors
/// A URL that is not plain `http://`, a host that does not resolve, or a first request that
/// fails (the endpoint is down or refuses the operation: better to stop than to measure
/// errors).
pub async fn run(load: Load) -> anyhow::Result<(Report, Bytes)> {
    let target = Target::new(&load)?;
    // One request before anything else: it proves the endpoint answers this operation and
    // gives the caller a response to show (or to compare between servers).
    let mut probe = target.connect().await?;
    let first = target.send(&mut probe).await?;
    if let Some(problem) = judge(first.0, &first.1) {
        bail!(
            "{}: the first response was refused ({problem:?}): {}",
            load.label,
            String::from_utf8_lossy(&first.1)
        );
    }
    drop(probe);

    let start = Instant::now();
    let measure_from = start + load.warmup;
    let deadline = measure_from + load.duration;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..load.connections.max(1) {
        let target = target.clone();
        workers.spawn(async move { worker(target, measure_from, deadline).await });
    }
    let mut histogram = new_histogram()?;
    let mut failures = Failures::default();
    while let Some(done) = workers.join_next().await {
        let result = done.context("a load worker panicked")??;
        histogram.add(&result.histogram)?;
        failures.add(result.failures);
    }
    let report = Report::new(
        load.label,
        load.connections.max(1),
        load.duration,
        &histogram,
        failures,
    );
    Ok((report, first.1))
}

/// Why a response does not count as a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    Status,
    GraphqlErrors,
}

/// A success is HTTP 200 with no top-level `errors` key. The check is a byte search, not a
/// JSON parse, to keep the client cheap; the benchmark operations never return a string
/// containing `"errors"`.
fn judge(status: http::StatusCode, body: &[u8]) -> Option<Problem> {
    if status != http::StatusCode::OK {
        return Some(Problem::Status);
    }
    if body.windows(8).any(|w| w == b"\"errors\"") {
        return Some(Problem::GraphqlErrors);
    }
    None
}

/// Sends requests back to back until `deadline`, recording those that start after
/// `measure_from`.
async fn worker(
    target: Target,
    measure_from: Instant,
    deadline: Instant,
) -> anyhow::Result<WorkerResult> {
    let mut histogram = new_histogram()?;
    let mut failures = Failures::default();
    let mut connection: Option<Connection> = None;
    loop {
        let sent = Instant::now();
        if sent >= deadline {
            break;
        }
        let measured = sent >= measure_from;
        let sender = match &mut connection {
            Some(sender) => sender,
            None => match target.connect().await {
                Ok(sender) => connection.insert(sender),
                Err(_) => {
                    if measured {
                        failures.transport += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let outcome = target.send(sender).await;
        let finished = Instant::now();
        if finished > deadline {
            break;
        }
        match outcome {
            Ok((status, body)) => match judge(status, &body) {
                None if measured => {
                    let micros = u64::try_from(finished.duration_since(sent).as_micros())
                        .unwrap_or(u64::MAX)
                        .max(1);
                    histogram.saturating_record(micros);
                }
                None => {}
                Some(Problem::Status) if measured => failures.http_status += 1,
                Some(Problem::GraphqlErrors) if measured => failures.graphql += 1,
                Some(_) => {}
            },
            Err(_) => {
                connection = None;
                if measured {
                    failures.transport += 1;
                }
            }
        }
    }
    Ok(WorkerResult {
        histogram,
        failures,
    })
}

/// The parts of a request that every worker shares.
#[derive(Debug, Clone)]
struct Target {
    endpoint: Endpoint,
    body: Bytes,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Target {
    fn new(load: &Load) -> anyhow::Result<Self> {
        Ok(Self {
            endpoint: Endpoint::new(&load.url)?,
            body: load.body.clone(),
            headers: load.headers.clone(),
        })
    }

    async fn connect(&self) -> anyhow::Result<Connection> {
        self.endpoint.connect().await
    }

    async fn send(&self, sender: &mut Connection) -> anyhow::Result<(http::StatusCode, Bytes)> {
        self.endpoint
            .post_json(sender, self.body.clone(), &self.headers)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_is_200_without_errors() {
        assert_eq!(judge(http::StatusCode::OK, br#"{"data":{"a":1}}"#), None);
        assert_eq!(
            judge(http::StatusCode::OK, br#"{"data":null,"errors":[]}"#),
            Some(Problem::GraphqlErrors)
        );
        assert_eq!(
            judge(http::StatusCode::TOO_MANY_REQUESTS, b"{}"),
            Some(Problem::Status)
        );
    }
}
