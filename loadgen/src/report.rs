//! What a load run measured, in a form both people and scripts read.

use std::{fmt, time::Duration};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies are recorded in microseconds from 1 µs to one minute with three significant
/// digits: enough to tell 0.1 ms apart at the low end without unbounded memory.
///
/// # Errors
/// Never with these constant bounds; the type says what hdrhistogram could refuse.
pub fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
}

/// Counts of failed requests by kind; any of these makes a run suspect.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Failures {
    /// Connect, write or read failures (the connection is re-established).
    pub transport: u64,
    /// Responses whose HTTP status was not 200.
    pub http_status: u64,
    /// HTTP 200 responses that carried a GraphQL `errors` entry.
    pub graphql: u64,
}

impl Failures {
    /// Adds another worker's counts.
    pub fn add(&mut self, other: Failures) {
        self.transport += other.transport;
        self.http_status += other.http_status;
        self.graphql += other.graphql;
    }

    /// All failures together.
    pub fn total(&self) -> u64 {
        self.transport + self.http_status + self.graphql
    }
}

/// The outcome of one measured run (warm-up excluded).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// A label given on the command line, so several runs can be told apart in one log.
    pub label: String,
    /// Concurrent connections, each with one request in flight.
    pub connections: usize,
    /// Length of the measured window in seconds.
    pub seconds: f64,
    /// Successful responses completed inside the window.
    pub ok: u64,
    /// Failed requests inside the window.
    pub failures: Failures,
    /// Successful responses per second.
    pub throughput: f64,
    /// Latency of successful requests, microseconds.
    pub latency_us: Percentiles,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Percentiles {
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Slowest request.
    pub max: u64,
}

impl Report {
    /// Summarises a merged histogram over a window of `elapsed`.
    pub fn new(
        label: String,
        connections: usize,
        elapsed: Duration,
        histogram: &Histogram<u64>,
        failures: Failures,
    ) -> Self {
        let seconds = elapsed.as_secs_f64();
        let ok = histogram.len();
        Self {
            label,
            connections,
            seconds,
            ok,
            failures,
            #[allow(clippy::cast_precision_loss)]
            throughput: if seconds > 0.0 {
                ok as f64 / seconds
            } else {
                0.0
            },
            latency_us: Percentiles {
                mean: histogram.mean(),
                p50: histogram.value_at_quantile(0.50),
                p90: histogram.value_at_quantile(0.90),
                p99: histogram.value_at_quantile(0.99),
                p999: histogram.value_at_quantile(0.999),
                max: histogram.max(),
            },
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.latency_us;
        let ms = |us: u64| us as f64 / 1000.0;
        writeln!(
            f,
            "{}: {} connections, {:.1} s: {} ok, {} failed (transport {}, http {}, graphql {})",
            self.label,
            self.connections,
            self.seconds,
            self.ok,
            self.failures.total(),
            self.failures.transport,
            self.failures.http_status,
            self.failures.graphql,
        )?;
        writeln!(f, "  throughput {:.0} req/s", self.throughput)?;
        write!(
            f,
            "  latency ms: mean {:.3}  p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
            l.mean / 1000.0,
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p999),
            ms(l.max),
        )
    }
}
