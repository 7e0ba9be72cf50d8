//! Many live screens at once: opens `sockets` graphql-transport-ws connections, each
//! subscribed to one market's `trades`, holds them, and reports what they cost the server
//! (its resident memory before and while they are held, when its process id is given) and
//! what they received. `rialto-loadgen subscribers`; `scripts/bench-sockets` runs it against
//! a release `rialto serve`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use client::ws::{self, Kind, ServerMessage};
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;

/// What to open.
#[derive(Debug, Clone)]
pub struct Config {
    /// Name printed with the results.
    pub label: String,
    /// GraphQL endpoint, `http://host:port/graphql`.
    pub url: String,
    /// Sockets to open.
    pub sockets: usize,
    /// Sockets being opened at once.
    pub concurrency: usize,
    /// Market whose trades each socket subscribes to.
    pub market: String,
    /// How long the sockets are held once all are open.
    pub hold: Duration,
    /// The server's process, to read its resident memory (Linux).
    pub server_pid: Option<u32>,
}

/// What it measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The run's name.
    pub label: String,
    /// Sockets open and subscribed.
    pub opened: usize,
    /// Sockets that failed to open or subscribe.
    pub failed: usize,
    /// The server's resident memory before the sockets, in KiB.
    pub server_rss_before_kib: Option<u64>,
    /// And while they were held.
    pub server_rss_held_kib: Option<u64>,
    /// The difference per open socket, in bytes.
    pub bytes_per_socket: Option<u64>,
    /// Events received over all sockets while held.
    pub events: u64,
}

/// The resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Opens the sockets, holds them, and reports.
///
/// # Errors
/// A URL that is not `http(s)://`.
pub async fn run(config: Config) -> anyhow::Result<Report> {
    let url = ws::ws_url(&config.url).context("--url must be http:// or https://")?;
    let before = config.server_pid.and_then(rss_kib);
    let events = Arc::new(AtomicU64::new(0));
    let query = "subscription($m: String!) { trades(market: $m) { id price quantity } }";
    let variables = serde_json::json!({ "m": config.market });
    let opened: Vec<Option<tokio::task::JoinHandle<()>>> =
        futures_util::stream::iter(0..config.sockets)
            .map(|_| {
                let url = url.clone();
                let variables = variables.clone();
                let events = events.clone();
                async move {
                    let mut socket = ws::connect(&url, None).await.ok()?;
                    socket
                        .send(Message::text(ws::subscribe("t", query, &variables)))
                        .await
                        .ok()?;
                    // The reader answers pings and counts events, as a screen would.
                    Some(tokio::spawn(async move {
                        while let Some(Ok(frame)) = socket.next().await {
                            let Message::Text(text) = frame else { continue };
                            let Ok(message) = ServerMessage::decode(text.as_str()) else {
                                continue;
                            };
                            match message.kind {
                                Kind::Ping => {
                                    let _ = socket.send(Message::text(ws::pong())).await;
                                }
                                Kind::Next => {
                                    events.fetch_add(1, Ordering::Relaxed);
                                }
                                _ => {}
                            }
                        }
                    }))
                }
            })
            .buffer_unordered(config.concurrency.max(1))
            .collect()
            .await;
    let failed = opened.iter().filter(|s| s.is_none()).count();
    let readers: Vec<_> = opened.into_iter().flatten().collect();
    // Let the server settle (every subscription reaches the bus) before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = config.server_pid.and_then(rss_kib);
    tokio::time::sleep(config.hold).await;
    let received = events.load(Ordering::Relaxed);
    for reader in &readers {
        reader.abort();
    }
    let count = readers.len();
    Ok(Report {
        label: config.label,
        opened: count,
        failed,
        server_rss_before_kib: before,
        server_rss_held_kib: held,
        bytes_per_socket: before
            .zip(held)
            .filter(|_| count > 0)
            .map(|(b, h)| h.saturating_sub(b) * 1024 / count as u64),
        events: received,
    })
}
