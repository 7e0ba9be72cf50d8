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
            latency_us: Percentiles::of(histogram),
        }
    }
}

impl Percentiles {
    /// The percentiles of a histogram of microseconds.
    pub fn of(histogram: &Histogram<u64>) -> Self {
        Self {
            mean: histogram.mean(),
            p50: histogram.value_at_quantile(0.50),
            p90: histogram.value_at_quantile(0.90),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
        }
    }
}

impl fmt::Display for Percentiles {
    /// `mean … p50 … p90 … p99 … p99.9 … max …` in milliseconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[allow(clippy::cast_precision_loss)]
        let ms = |us: u64| us as f64 / 1000.0;
        write!(
            f,
            "mean {:.3}  p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
            self.mean / 1000.0,
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.p999),
            ms(self.max),
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
        write!(f, "  latency ms: {}", self.latency_us)
    }
}

/// What a trading run measured (`rialto-loadgen trading`), warm-up excluded unless said.
#[derive(Debug, Clone, Serialize)]
pub struct TradingReport {
    /// A label given on the command line.
    pub label: String,
    /// `open` (orders sent on a schedule at `target_rate`) or `closed` (each connection
    /// sends its next order when the previous one is answered).
    pub mode: &'static str,
    /// Orders per second asked for (0 in closed loop).
    pub target_rate: f64,
    /// HTTP connections sending orders.
    pub connections: usize,
    /// Traders (half place the asks, half take them).
    pub traders: usize,
    /// The market traded.
    pub market: String,
    /// Length of the measured window in seconds.
    pub seconds: f64,
    /// `placeOrder` requests sent inside the window.
    pub sent: u64,
    /// Of which takers, whose fills are timed.
    pub takers_sent: u64,
    /// `sent / seconds`.
    pub send_rate: f64,
    /// Orders the matcher processed inside the window (an answer other than `ACCEPTED` or a
    /// `myOrders` event).
    pub settled: u64,
    /// `settled / seconds`: the sustained throughput.
    pub settled_per_sec: f64,
    /// Events of the market's `trades` subscription that arrived inside the window.
    pub trades: u64,
    /// `trades / seconds`.
    pub trades_per_sec: f64,
    /// `placeOrder` (taker) to its first `myOrders` event with a fill, from the instant it
    /// was due (open loop) or sent (closed loop); microseconds.
    pub fill_latency_us: Percentiles,
    /// How many fill latencies were recorded.
    pub fill_samples: u64,
    /// `placeOrder` answer time, from the instant it was due or sent; microseconds.
    pub place_latency_us: Percentiles,
    /// How late the load generator sent orders against their schedule (0 in closed loop):
    /// large values mean the client, not the server, fell behind; microseconds.
    pub send_lag_us: Percentiles,
    /// Failed `placeOrder` requests over the whole run, warm-up included.
    pub failures: Failures,
    /// The first failure's message, to tell what went wrong.
    pub first_failure: Option<String>,
    /// Open loop: orders due in the window still unsent at its end plus the grace (the
    /// server, or the connections, could not keep up with the rate; not in the latencies).
    pub unsent: u64,
    /// Orders never settled by the end of the grace period (whole run). An honest run: 0.
    pub unsettled: u64,
    /// Takers answered as filled whose `myOrders` fill event never came. An honest run: 0.
    pub fill_events_missing: u64,
    /// Takers that found no ask and ended unfilled. An honest run: 0.
    pub takers_unfilled: u64,
    /// Subscription errors (`error` messages, `next` with errors such as falling behind,
    /// closed sockets).
    pub subscription_errors: u64,
    /// CPU cores the server process used on average over the window (`--server-pid`).
    pub server_cpu_cores: Option<f64>,
    /// The server process's CPU time per order settled in the window, microseconds.
    pub server_cpu_us_per_order: Option<f64>,
}

impl fmt::Display for TradingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.mode == "open" {
            format!("open loop at {:.0} orders/s", self.target_rate)
        } else {
            "closed loop (max throughput)".to_owned()
        };
        writeln!(
            f,
            "{}: {mode}, {} connections, {} traders, {}, {:.1} s measured",
            self.label, self.connections, self.traders, self.market, self.seconds
        )?;
        writeln!(
            f,
            "  sent {} orders ({:.0}/s); settled {} ({:.0} orders/s); trades {} ({:.0}/s)",
            self.sent,
            self.send_rate,
            self.settled,
            self.settled_per_sec,
            self.trades,
            self.trades_per_sec
        )?;
        if self.fill_samples == 0 {
            writeln!(
                f,
                "  placeOrder -> fill event: no samples (no taker due in the window was \
                 answered: the run fell that far behind its schedule)"
            )?;
        } else {
            writeln!(
                f,
                "  placeOrder -> fill event ms ({} samples): {}",
                self.fill_samples, self.fill_latency_us
            )?;
            writeln!(f, "  placeOrder answer ms:  {}", self.place_latency_us)?;
        }
        if let (Some(cores), Some(per_order)) =
            (self.server_cpu_cores, self.server_cpu_us_per_order)
        {
            writeln!(
                f,
                "  server CPU: {cores:.2} cores, {per_order:.0} µs per settled order"
            )?;
        }
        if self.mode == "open" && self.fill_samples > 0 {
            writeln!(f, "  client send lag ms:    {}", self.send_lag_us)?;
        }
        write!(
            f,
            "  failures {} (transport {}, http {}, graphql {}); unsent {}; unsettled {}; \
             fill events missing {}; takers unfilled {}; subscription errors {}",
            self.failures.total(),
            self.failures.transport,
            self.failures.http_status,
            self.failures.graphql,
            self.unsent,
            self.unsettled,
            self.fill_events_missing,
            self.takers_unfilled,
            self.subscription_errors,
        )?;
        if self.mode == "open" && (self.unsent > 0 || self.send_lag_us.p99 > 10_000) {
            write!(
                f,
                "\n  BEHIND SCHEDULE: at times all {} connections were busy and orders due at \
                 {:.0}/s waited in the client (see send lag{}); the latencies, measured from \
                 the due instants, include that wait",
                self.connections,
                self.target_rate,
                if self.unsent > 0 { " and unsent" } else { "" }
            )?;
        }
        if let Some(first) = &self.first_failure {
            write!(f, "\n  first failure: {first}")?;
        }
        Ok(())
    }
}
