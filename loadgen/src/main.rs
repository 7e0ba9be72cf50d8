//! `rialto-loadgen`: load for Rialto's benchmarks. See `BENCHMARKS.md` for the runs.
//!
//! ```text
//! rialto-loadgen graphql --url http://127.0.0.1:4000/graphql \
//!     --query '{ topProduct { upc name } }' --connections 32 --duration-secs 10
//! rialto-loadgen trading --url http://127.0.0.1:8080/graphql \
//!     --admin-email admin@example.com --admin-password '…' --rate 1000 --duration-secs 20
//! ```

use std::{io::Write as _, time::Duration};

use anyhow::Context as _;
use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use http::{HeaderName, HeaderValue};

/// A lean allocator: the load generator shares the CPU with the servers it measures.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Drives a Rialto endpoint and prints latency percentiles and throughput.
#[derive(Debug, Parser)]
#[command(name = "rialto-loadgen", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Closed-loop GraphQL over HTTP: each connection sends the same operation again as soon
    /// as the previous answer arrives.
    Graphql(GraphqlArgs),
    /// Trading through the GraphQL API: authenticated traders place crossing orders; reports
    /// placeOrder → fill event latency (myOrders subscription), answer latency and settled
    /// orders per second. Open loop at --rate orders/s, or closed loop with --rate 0.
    Trading(TradingArgs),
    /// Many live screens: opens --sockets graphql-transport-ws connections, each subscribed
    /// to one market's trades, holds them and reports the server's resident memory per
    /// socket (with --server-pid) and the events they received.
    Subscribers(SubscribersArgs),
}

#[derive(Debug, Args)]
struct SubscribersArgs {
    /// GraphQL endpoint, `http://host:port/graphql` (the WebSocket is the same URL, ws://).
    #[arg(long)]
    url: String,
    /// Sockets to open.
    #[arg(long, default_value_t = 1000)]
    sockets: usize,
    /// Sockets being opened at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Market whose trades each socket subscribes to.
    #[arg(long, default_value = "ACME-USD")]
    market: String,
    /// Seconds the sockets are held once open.
    #[arg(long, default_value_t = 5.0)]
    hold_secs: f64,
    /// The server's process id, to read its resident memory (Linux).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Name printed with the results.
    #[arg(long, default_value = "subscribers")]
    label: String,
}

#[derive(Debug, Args)]
struct TradingArgs {
    /// GraphQL endpoint, `http://host:port/graphql` (the WebSocket is the same URL, ws://).
    #[arg(long)]
    url: http::Uri,
    /// Traders signed up for the run: half place asks, half take them.
    #[arg(long, default_value_t = 8)]
    traders: usize,
    /// Orders per second, sent on a schedule (open loop); 0 sends as fast as the
    /// connections are answered (closed loop, maximum throughput).
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// HTTP connections sending orders, one request in flight on each.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 3.0)]
    warmup_secs: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 20.0)]
    duration_secs: f64,
    /// Longest wait after the window for the last answers and events, in seconds; what is
    /// still missing then is reported as lost.
    #[arg(long, default_value_t = 5.0)]
    grace_secs: f64,
    /// Market `BASE-QUOTE`; listed (with its assets) when absent.
    #[arg(long, default_value = "BENCH-USD")]
    market: String,
    /// An admin's email (lists the market, credits the traders).
    #[arg(long, env = "RIALTO_LOADGEN_ADMIN_EMAIL")]
    admin_email: String,
    /// The admin's password.
    #[arg(long, env = "RIALTO_LOADGEN_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: String,
    /// Centre of the ask prices (decimal); default the market's last price, else 100.
    #[arg(long)]
    mid: Option<String>,
    /// Asks are spread over mid ± this many ticks; takers bid mid + twice this.
    #[arg(long, default_value_t = 50)]
    spread_ticks: u64,
    /// Asks rested before the run so every taker finds one; default max(64, 2 × connections).
    #[arg(long)]
    seed_orders: Option<u64>,
    /// Amount of each asset credited to each trader.
    #[arg(long, default_value = "1000000000")]
    fund: String,
    /// A local server process to sample the CPU time of over the window (Linux).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clock_ticks: u32,
    /// Name printed with the results.
    #[arg(long, default_value = "trading")]
    label: String,
    /// Print the report as one JSON object on stdout (the human summary goes to stderr).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct GraphqlArgs {
    /// GraphQL endpoint, `http://host:port/path`.
    #[arg(long)]
    url: http::Uri,
    /// The operation text.
    #[arg(long)]
    query: String,
    /// Variables as a JSON object.
    #[arg(long)]
    variables: Option<String>,
    /// Extra header `name: value`; repeatable.
    #[arg(long = "header")]
    headers: Vec<String>,
    /// Concurrent connections (one request in flight on each).
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 3.0)]
    warmup_secs: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    duration_secs: f64,
    /// Name printed with the results.
    #[arg(long, default_value = "graphql")]
    label: String,
    /// Print the report as one JSON object on stdout (the human summary goes to stderr).
    #[arg(long)]
    json: bool,
    /// Print the first response body on stderr before the run.
    #[arg(long)]
    show_response: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Graphql(args) => graphql(args).await,
        Command::Trading(args) => trading(args).await,
        Command::Subscribers(args) => subscribers(args).await,
    }
}

async fn subscribers(args: SubscribersArgs) -> anyhow::Result<()> {
    let report = loadgen::subscribers::run(loadgen::subscribers::Config {
        label: args.label,
        url: args.url,
        sockets: args.sockets,
        concurrency: args.concurrency,
        market: args.market,
        hold: secs(args.hold_secs, "hold-secs")?,
        server_pid: args.server_pid,
    })
    .await?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &report)?;
    writeln!(out)?;
    Ok(())
}

fn secs(value: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value).with_context(|| format!("--{flag}"))
}

async fn trading(args: TradingArgs) -> anyhow::Result<()> {
    let config = loadgen::trading::Config {
        label: args.label,
        url: args.url,
        traders: args.traders,
        rate: args.rate,
        connections: args.connections,
        warmup: secs(args.warmup_secs, "warmup-secs")?,
        duration: secs(args.duration_secs, "duration-secs")?,
        grace: secs(args.grace_secs, "grace-secs")?,
        market: args.market,
        admin_email: args.admin_email,
        admin_password: args.admin_password,
        mid: args.mid,
        spread_ticks: args.spread_ticks,
        seed_orders: args.seed_orders,
        fund: args.fund,
        server_pid: args.server_pid.map(|pid| (pid, args.clock_ticks)),
    };
    let report = loadgen::trading::run(config).await?;
    writeln!(std::io::stderr().lock(), "{report}")?;
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    }
    Ok(())
}

async fn graphql(args: GraphqlArgs) -> anyhow::Result<()> {
    let body = build_body(&args.query, args.variables.as_deref())?;
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let load = loadgen::graphql::Load {
        label: args.label,
        url: args.url,
        body,
        headers,
        connections: args.connections,
        warmup: secs(args.warmup_secs, "warmup-secs")?,
        duration: secs(args.duration_secs, "duration-secs")?,
    };
    let (report, first) = loadgen::graphql::run(load).await?;
    let mut err = std::io::stderr().lock();
    if args.show_response {
        writeln!(err, "first response: {}", String::from_utf8_lossy(&first))?;
    }
    writeln!(err, "{report}")?;
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    }
    Ok(())
}

/// `{"query": …, "variables": …}` once, reused for every request.
fn build_body(query: &str, variables: Option<&str>) -> anyhow::Result<Bytes> {
    let mut body = serde_json::json!({ "query": query });
    if let Some(variables) = variables {
        let parsed: serde_json::Value =
            serde_json::from_str(variables).context("--variables is not JSON")?;
        body["variables"] = parsed;
    }
    Ok(Bytes::from(serde_json::to_vec(&body)?))
}

fn parse_header(raw: &str) -> anyhow::Result<(HeaderName, HeaderValue)> {
    let (name, value) = raw
        .split_once(':')
        .with_context(|| format!("header {raw:?} is not `name: value`"))?;
    Ok((
        HeaderName::from_bytes(name.trim().as_bytes())?,
        HeaderValue::from_str(value.trim())?,
    ))
}
