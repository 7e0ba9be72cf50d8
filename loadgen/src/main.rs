//! `rialto-loadgen`: load for Rialto's benchmarks. See `BENCHMARKS.md` for the runs.
//!
//! ```text
//! rialto-loadgen graphql --url http://127.0.0.1:4000/graphql \
//!     --query '{ topProduct { upc name } }' --connections 32 --duration-secs 10
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
    let Command::Graphql(args) = Cli::parse().command;
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
        warmup: Duration::try_from_secs_f64(args.warmup_secs).context("--warmup-secs")?,
        duration: Duration::try_from_secs_f64(args.duration_secs).context("--duration-secs")?,
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
