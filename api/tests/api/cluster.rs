//! The replicated deployment (`scripts/cluster`: auth ×2, brain ×2, matcher leader + standby,
//! gateway ×2 behind Debian's nginx, on PostgreSQL and Redis) survives a rolling restart of
//! every replica while two traders keep trading and watch their subscriptions.
//!
//! Needs `DATABASE_URL`, `REDIS_URL` and nginx (`.ci/run` installs it); skipped on the
//! embedded run.

use std::{
    collections::HashMap,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use client::{Client, NewOrder};
use futures_util::{SinkExt, StreamExt};
use sea_orm::{Database, EntityTrait};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::helpers::fresh_database;

/// The cluster of one test, stopped (`scripts/cluster down`) when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
    url: String,
}

impl Cluster {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/cluster")
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("bash")
            .arg(Self::script())
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .expect("run scripts/cluster")
    }

    /// `scripts/cluster up` on a fresh database. nginx and a restarted replica need ports
    /// fixed beforehand, so the cluster's ten are taken below the range the system hands
    /// out for port 0 (where every other server under test gets its port); a run that
    /// another program holds one of anyway fails `up` at once, and another run is tried.
    fn up(database_url: &str, redis_url: &str) -> Self {
        let mut failures = Vec::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let base = fixed_port_run(10);
            let env = vec![
                ("RIALTO_BIN", env!("CARGO_BIN_EXE_rialto").to_string()),
                ("RIALTO_CLUSTER_DIR", dir.path().display().to_string()),
                ("RIALTO_CLUSTER_PORT", base.to_string()),
                ("DATABASE_URL", database_url.to_string()),
                ("REDIS_URL", redis_url.to_string()),
                (
                    "RIALTO_REDIS_PREFIX",
                    format!("rialto-test-{}:", uuid::Uuid::new_v4().simple()),
                ),
            ];
            let cluster = Self {
                dir,
                env,
                url: format!("http://127.0.0.1:{base}/graphql"),
            };
            let out = cluster.run(&["up"]);
            let said = String::from_utf8_lossy(&out.stderr).to_string();
            if !out.status.success() && said.contains("in use") {
                failures.push(said);
                continue;
            }
            cluster.check("up", &out);
            return cluster;
        }
        panic!("three runs of ports were taken: {failures:?}");
    }

    fn check(&self, what: &str, out: &std::process::Output) {
        if !out.status.success() {
            let logs = self.dir.path().join("logs");
            let mut tails = String::new();
            for entry in std::fs::read_dir(&logs).into_iter().flatten().flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                tails.push_str(&format!(
                    "\n--- {}\n{}",
                    entry.path().display(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                ));
            }
            panic!(
                "scripts/cluster {what} failed: {}\n{}{tails}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run(&["down"]);
        // A failed story keeps its processes' and nginx's logs, which a 502 needs to explain.
        if std::thread::panicking() {
            let kept = std::env::temp_dir().join(format!(
                "rialto-cluster-logs-{}",
                self.dir
                    .path()
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
            ));
            let copied = Command::new("cp")
                .arg("-r")
                .arg(self.dir.path().join("logs"))
                .arg(&kept)
                .status();
            eprintln!("cluster logs kept in {} ({copied:?})", kept.display());
        }
    }
}

/// The first of `n` consecutive TCP ports that are free now, chosen at random below the
/// system's range for port 0 (`/proc/sys/net/ipv4/ip_local_port_range`), so that no server
/// a test starts on port 0 can be given one of them meanwhile.
fn fixed_port_run(n: u16) -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (low, high) = (10_000, ephemeral_low.saturating_sub(n));
    assert!(
        high > low,
        "no room below the ephemeral range ({ephemeral_low})"
    );
    for _ in 0..200 {
        let start = rand::random_range(low..high);
        let all_free = (start..start + n).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            return start;
        }
    }
    panic!("no run of {n} free ports in {low}..{high}");
}

/// What one subscription saw: its events (with when), and how many times it connected.
#[derive(Default)]
struct Seen {
    events: Mutex<Vec<(Instant, Value)>>,
    connects: AtomicUsize,
}

/// Holds one subscription as a careful client does: when the socket closes (a gateway
/// drains with 1012) or the subscription ends with `error` (a subgraph went away), it
/// reconnects and subscribes again.
async fn watch(
    url: String,
    token: Option<String>,
    query: String,
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
) {
    let ws_url = url.replacen("http://", "ws://", 1);
    while !stop.load(Ordering::Relaxed) {
        let mut request = ws_url.as_str().into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let init = match &token {
            Some(t) => {
                json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {t}")}})
            }
            None => json!({"type": "connection_init", "payload": {}}),
        };
        if socket.send(Message::text(init.to_string())).await.is_err() {
            continue;
        }
        let mut subscribed = false;
        loop {
            let msg = tokio::select! {
                m = socket.next() => m,
                () = tokio::time::sleep(Duration::from_millis(200)) => {
                    if stop.load(Ordering::Relaxed) { return; }
                    continue;
                }
            };
            let Some(Ok(msg)) = msg else { break };
            let Message::Text(text) = msg else {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
                continue;
            };
            let v: Value = serde_json::from_str(&text).unwrap();
            match v["type"].as_str() {
                Some("connection_ack") if !subscribed => {
                    subscribed = true;
                    seen.connects.fetch_add(1, Ordering::Relaxed);
                    let sub = json!({"id": "1", "type": "subscribe", "payload": {"query": query}});
                    if socket.send(Message::text(sub.to_string())).await.is_err() {
                        break;
                    }
                }
                Some("next") => seen
                    .events
                    .lock()
                    .unwrap()
                    .push((Instant::now(), v["payload"].clone())),
                Some("ping") => {
                    let _ = socket
                        .send(Message::text(json!({"type": "pong"}).to_string()))
                        .await;
                }
                Some("error" | "complete") => break,
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What one trader's loop did: every acknowledged order (id → status), and every failure.
#[derive(Default)]
struct Ledger {
    acknowledged: Mutex<HashMap<String, String>>,
    failures: Mutex<Vec<String>>,
}

/// Places one order every 40 ms (under the per-account rate limit) until told to stop.
async fn trade(trader: Client, side: &'static str, ledger: Arc<Ledger>, stop: Arc<AtomicBool>) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let order = NewOrder {
            market: "ACME-USD",
            side,
            kind: "LIMIT",
            price: Some("10".into()),
            quantity: "1".into(),
            // The buyer crosses what the seller rests.
            time_in_force: Some(if side == "BUY" { "IOC" } else { "GTC" }),
            post_only: false,
            client_order_id: Some(format!("{side}-{n}")),
        };
        match trader.place_order(&order).await {
            Ok(o) => {
                ledger.acknowledged.lock().unwrap().insert(o.id, o.status);
            }
            Err(e) => ledger
                .failures
                .lock()
                .unwrap()
                .push(format!("{side} #{n}: {e}")),
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

const SETUP: &[&str] = &[
    r#"mutation { createAsset(input: { symbol: "USD", name: "US Dollar", kind: "cash", decimals: 2 }) { id } }"#,
    r#"mutation { createAsset(input: { symbol: "ACME", name: "Acme", kind: "equity", decimals: 0 }) { id } }"#,
    r#"mutation { createMarket(input: { base: "ACME", quote: "USD", tickSize: "0.01", lotSize: "1", minQuantity: "1", makerFeeBps: 10, takerFeeBps: 20 }) { symbol } }"#,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_of_every_replica_under_trading_fails_no_request_and_loses_nothing() {
    let (Some(database_url), Some(redis_url)) = (
        fresh_database().await,
        std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()),
    ) else {
        eprintln!("needs DATABASE_URL and REDIS_URL: skipped");
        return;
    };
    assert!(
        Command::new("nginx").arg("-v").output().is_ok(),
        "nginx is needed (apt-get install nginx; .ci/run installs it)"
    );
    let cluster = Cluster::up(&database_url, &redis_url);

    // An admin lists ACME-USD and funds two traders, all through nginx.
    let created = Command::new(env!("CARGO_BIN_EXE_rialto"))
        .args(["admin", "create-user", "--database-url", &database_url])
        .args([
            "--email",
            "admin@example.com",
            "--password",
            "an admin's long passphrase",
        ])
        .args(["--role", "admin"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let (admin, _) = Client::new(&cluster.url)
        .login("admin@example.com", "an admin's long passphrase")
        .await
        .unwrap();
    for m in SETUP {
        admin.execute::<Value>(m, json!({})).await.unwrap();
    }
    let (seller, seller_session, seller_id) = Client::new(&cluster.url)
        .register(
            "seller@example.com",
            "the seller's long passphrase",
            "Seller",
        )
        .await
        .unwrap();
    let (buyer, _, buyer_id) = Client::new(&cluster.url)
        .register("buyer@example.com", "the buyer's long passphrase", "Buyer")
        .await
        .unwrap();
    let credit = "mutation($u: ID!, $a: String!, $x: Decimal!) { creditBalance(userId: $u, asset: $a, amount: $x) { available } }";
    admin
        .execute::<Value>(credit, json!({"u": seller_id, "a": "ACME", "x": "100000"}))
        .await
        .unwrap();
    admin
        .execute::<Value>(credit, json!({"u": buyer_id, "a": "USD", "x": "10000000"}))
        .await
        .unwrap();

    // They watch the tape and the seller's own orders, and trade continuously.
    let stop = Arc::new(AtomicBool::new(false));
    let tape = Arc::new(Seen::default());
    let mine = Arc::new(Seen::default());
    let watchers = [
        tokio::spawn(watch(
            cluster.url.clone(),
            None,
            r#"subscription { trades(market: "ACME-USD") { id price quantity } }"#.into(),
            tape.clone(),
            stop.clone(),
        )),
        tokio::spawn(watch(
            cluster.url.clone(),
            Some(seller_session.access_token.clone()),
            "subscription { myOrders { id status } }".into(),
            mine.clone(),
            stop.clone(),
        )),
    ];
    let ledger = Arc::new(Ledger::default());
    let traders = [
        tokio::spawn(trade(seller, "SELL", ledger.clone(), stop.clone())),
        tokio::spawn(trade(buyer, "BUY", ledger.clone(), stop.clone())),
    ];
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !tape.events.lock().unwrap().is_empty(),
        "trades flow before the restart"
    );

    // Every replica in turn: auth, brain, the matchers (the standby takes over), gateways.
    let restart = {
        let env = cluster.env.clone();
        tokio::task::spawn_blocking(move || {
            Command::new("bash")
                .arg(Cluster::script())
                .arg("rolling-restart")
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    cluster.check("rolling-restart", &restart);
    let restarted = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for t in traders {
        t.await.unwrap();
    }
    for w in watchers {
        w.await.unwrap();
    }

    // No request failed.
    let failures = ledger.failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "requests failed: {failures:#?}");
    let acknowledged = ledger.acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 100,
        "only {} orders",
        acknowledged.len()
    );

    // Subscriptions came back after the gateways went away, and still deliver.
    for (name, seen) in [("trades", &tape), ("myOrders", &mine)] {
        assert!(
            seen.connects.load(Ordering::Relaxed) >= 2,
            "{name} never had to reconnect"
        );
        let after = seen
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, _)| *at > restarted)
            .count();
        assert!(after > 0, "{name} saw nothing after the restart");
    }

    // Every acknowledged order is stored, and none is left unprocessed.
    let db = Database::connect(&database_url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stored: HashMap<String, String> = entity::orders::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|o| (o.id.to_string(), o.status))
            .collect();
        let lost: Vec<&String> = acknowledged
            .keys()
            .filter(|id| !stored.contains_key(*id))
            .collect();
        assert!(lost.is_empty(), "acknowledged orders lost: {lost:?}");
        let pending = stored.values().filter(|s| s.as_str() == "accepted").count();
        if pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} orders never processed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // And the ledger balances.
    let audit = Command::new(env!("CARGO_BIN_EXE_rialto"))
        .args(["audit", "--database-url", &database_url])
        .output()
        .unwrap();
    assert!(
        audit.status.success(),
        "audit: {}{}",
        String::from_utf8_lossy(&audit.stdout),
        String::from_utf8_lossy(&audit.stderr)
    );
}
