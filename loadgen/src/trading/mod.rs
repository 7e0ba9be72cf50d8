//! The trading load (issue #5's benchmark): several authenticated traders place crossing
//! orders through the real GraphQL API while their `myOrders` subscriptions time each fill.
//!
//! A run, all as an API client:
//! 1. signs in as the admin (made beforehand with `rialto admin create-user --role admin`),
//!    lists the market and its assets if absent, signs up `traders` fresh accounts and
//!    credits each plenty of both assets (no order is refused for funds);
//! 2. opens one `myOrders` socket per trader and one `trades(market)` socket, and places a
//!    probe per trader until its socket delivers the probe's event (subscriptions go live
//!    asynchronously);
//! 3. seeds the book with asks (see [`plan`] for why);
//! 4. sends the order stream of [`plan`] over `connections` HTTP connections (workers with
//!    one `placeOrder` in flight each, through the [`client`] crate's one pool), either on a
//!    schedule at `rate` orders/s (open loop, every latency measured from the instant the
//!    order was due, so a stalled server cannot hide its stall by slowing the client) or as
//!    fast as answers come (closed loop, `rate` 0);
//! 5. waits up to `grace` for stragglers, reports, and cancels what is left of the seed.

pub mod plan;
pub mod setup;
pub mod sockets;
pub mod tracker;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use client::{Client, ClientError, NewOrder};
use hdrhistogram::Histogram;
use http::Uri;
use tokio::{sync::mpsc, task::JoinSet};

use self::{
    plan::{Ids, Pacer, Plan, PlannedOrder, Tag},
    setup::{MarketInfo, Session},
    sockets::{OrdersSink, Probes, SocketStats},
    tracker::{Seen, Tracker},
};
use crate::report::{Failures, Percentiles, TradingReport, new_histogram};

/// The longest one `placeOrder` may take before it counts as a transport failure.
pub const PLACE_TIMEOUT: Duration = Duration::from_secs(10);

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct Config {
    /// Name printed with the results.
    pub label: String,
    /// `http://host:port/graphql`; the WebSocket URL is the same with `ws://`.
    pub url: Uri,
    /// Traders (at least 2): the first half place the asks, the others take them.
    pub traders: usize,
    /// Orders per second (open loop); 0 for a closed loop at full speed.
    pub rate: f64,
    /// HTTP connections sending orders (each with one request in flight).
    pub connections: usize,
    /// Load before measuring.
    pub warmup: Duration,
    /// Measured window.
    pub duration: Duration,
    /// Longest wait after the window for the last events.
    pub grace: Duration,
    /// `BASE-QUOTE`, listed if absent.
    pub market: String,
    /// The admin's email.
    pub admin_email: String,
    /// The admin's password.
    pub admin_password: String,
    /// Centre of the maker prices (decimal); the market's last price, else 100.
    pub mid: Option<String>,
    /// Half-width of the maker prices, in ticks.
    pub spread_ticks: u64,
    /// Asks placed before the run; at least `2 × connections` by default.
    pub seed_orders: Option<u64>,
    /// What each trader is credited of each asset (decimal).
    pub fund: String,
    /// A local server process whose CPU time to sample over the window (Linux `/proc`), and
    /// its clock ticks per second (`getconf CLK_TCK`, 100 almost everywhere).
    pub server_pid: Option<(u32, u32)>,
}

impl Config {
    fn seeds(&self) -> u64 {
        self.seed_orders.unwrap_or_else(|| {
            u64::try_from(self.connections * 2)
                .unwrap_or(u64::MAX)
                .max(64)
        })
    }
}

/// What every order worker shares.
struct Shared {
    plan: Plan,
    ids: Ids,
    market: MarketInfo,
    quantity: String,
    sessions: Vec<Arc<Session>>,
    tracker: Arc<Tracker>,
}

impl Shared {
    /// Places one order as its trader; the answer's order, or why it failed.
    async fn place(&self, order: &PlannedOrder, client_order_id: &str) -> Result<Seen, Failure> {
        let new = NewOrder {
            market: &self.market.symbol,
            side: order.side.as_str(),
            kind: "LIMIT",
            price: Some(self.market.price(order.price_ticks)),
            quantity: self.quantity.clone(),
            time_in_force: Some(order.time_in_force),
            post_only: order.post_only,
            client_order_id: Some(client_order_id.to_owned()),
        };
        let placed = self.sessions[order.trader]
            .client()
            .with_timeout(PLACE_TIMEOUT)
            .place_order(&new)
            .await?;
        Ok(Seen::new(&placed.status, &placed.filled_quantity))
    }
}

enum Failure {
    Transport(anyhow::Error),
    Status(String),
    Graphql(String),
    Other(anyhow::Error),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Transport(e) => Self::Transport(e.into()),
            ClientError::Http { status, body } => Self::Status(format!("HTTP {status}: {body}")),
            ClientError::Graphql { code, message } => Self::Graphql(format!("{message} ({code})")),
            e @ (ClientError::Decode(_) | ClientError::WebSocket(_)) => Self::Other(e.into()),
        }
    }
}

impl Failure {
    fn count(&self, failures: &mut Failures) {
        match self {
            Self::Transport(_) | Self::Other(_) => failures.transport += 1,
            Self::Status(_) => failures.http_status += 1,
            Self::Graphql(_) => failures.graphql += 1,
        }
    }

    fn message(&self) -> String {
        let text = match self {
            Self::Transport(e) | Self::Other(e) => format!("{e:#}"),
            Self::Status(s) | Self::Graphql(s) => s.clone(),
        };
        text.chars().take(400).collect()
    }
}

/// Where the workers take order numbers from.
#[derive(Clone)]
enum Jobs {
    /// Open loop: numbers released by the pacer thread when due, sent until `stop` (the
    /// end of the window plus the grace: a server slower than the rate leaves a backlog,
    /// drained in that time, the rest dropped and counted).
    Open {
        queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<u64>>>,
        pacer: Pacer,
        stop: Instant,
        dropped: Arc<AtomicU64>,
    },
    /// Closed loop: the next number, until the deadline.
    Closed {
        next: Arc<AtomicU64>,
        deadline: Instant,
    },
}

impl Jobs {
    /// The next order and the instant it was due (open loop) or is sent (closed loop).
    async fn next(&self) -> Option<(u64, Instant)> {
        match self {
            Self::Open {
                queue,
                pacer,
                stop,
                dropped,
            } => {
                let mut queue = queue.lock().await;
                let k = queue.recv().await?;
                if Instant::now() >= *stop {
                    // Too late to send: count this one and what is still queued, once.
                    let mut n = 1;
                    while queue.try_recv().is_ok() {
                        n += 1;
                    }
                    queue.close();
                    dropped.fetch_add(n, Ordering::Relaxed);
                    return None;
                }
                Some((k, pacer.due(k)))
            }
            Self::Closed { next, deadline } => {
                let now = Instant::now();
                (now < *deadline).then(|| (next.fetch_add(1, Ordering::Relaxed), now))
            }
        }
    }
}

/// Releases order numbers at their due instants, from a thread of its own: a blocking sleep
/// is finer than the async timer's millisecond, and the pacing does not wait on the
/// runtime the workers keep busy.
fn spawn_pacer(pacer: Pacer, until: Instant, queue: mpsc::UnboundedSender<u64>) {
    std::thread::spawn(move || {
        let mut k = 0u64;
        loop {
            let due = pacer.due(k);
            if due >= until {
                return;
            }
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            let ready = pacer.due_by(Instant::now()).max(k + 1);
            while k < ready {
                if pacer.due(k) >= until || queue.send(k).is_err() {
                    return;
                }
                k += 1;
            }
        }
    });
}

/// What one worker measured.
struct WorkerResult {
    place: Histogram<u64>,
    lag: Histogram<u64>,
    sent: u64,
    takers_sent: u64,
    failures: Failures,
    first_failure: Option<String>,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

async fn worker(shared: Arc<Shared>, jobs: Jobs) -> anyhow::Result<WorkerResult> {
    let mut result = WorkerResult {
        place: new_histogram()?,
        lag: new_histogram()?,
        sent: 0,
        takers_sent: 0,
        failures: Failures::default(),
        first_failure: None,
    };
    let tracker = &shared.tracker;
    while let Some((k, due)) = jobs.next().await {
        let order = shared.plan.order(k);
        let client_order_id = shared.ids.id(Tag::Order(k));
        tracker.sent(k, due, order.taker);
        let sent = Instant::now();
        if tracker.in_window(sent) {
            result.sent += 1;
            result.takers_sent += u64::from(order.taker);
        }
        let measured = tracker.in_window(due);
        if measured && matches!(jobs, Jobs::Open { .. }) {
            result
                .lag
                .saturating_record(micros(sent.saturating_duration_since(due)));
        }
        let outcome = shared.place(&order, &client_order_id).await;
        let done = Instant::now();
        match outcome {
            Ok(seen) => {
                tracker.answered(k, done, seen);
                if measured {
                    result
                        .place
                        .saturating_record(micros(done.saturating_duration_since(due)));
                }
            }
            Err(failure) => {
                tracker.failed(k);
                failure.count(&mut result.failures);
                if result.first_failure.is_none() {
                    result.first_failure = Some(failure.message());
                }
                if matches!(failure, Failure::Transport(_)) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
    Ok(result)
}

/// A short id for this run's `clientOrderId`s and emails.
fn run_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    #[allow(clippy::cast_possible_truncation)]
    let mixed = plan::splitmix64(nanos as u64 ^ u64::from(std::process::id()).rotate_left(32));
    format!("{:08x}", mixed & 0xffff_ffff)
}

/// Runs the trading load and returns its report.
///
/// # Errors
/// Anything that stops the setup (the server is down, the admin cannot sign in or list, a
/// subscription never delivers, a seed order is refused). Failures during the measured run
/// are counted in the report instead.
#[allow(clippy::too_many_lines)]
pub async fn run(config: Config) -> anyhow::Result<TradingReport> {
    if config.traders < 2 {
        bail!("--traders must be at least 2 (makers and takers are different accounts)");
    }
    if !(config.rate >= 0.0 && config.rate.is_finite()) {
        bail!("--rate must be a number ≥ 0");
    }
    let connections = config.connections.max(1);
    let url = config.url.to_string();
    if config.url.scheme_str() != Some("http") {
        bail!("only http:// URLs are supported, not {url}");
    }
    let base = setup::base_client(&url)?;
    let ws_url =
        client::ws::ws_url(&url).with_context(|| format!("{url} is not an http:// URL"))?;
    let tag = run_tag();
    let ids = Ids::new(tag.clone());

    // 1. The admin, the market, the traders.
    let admin = Arc::new(setup::login(&base, &config.admin_email, &config.admin_password).await?);
    if admin.role != "ADMIN" {
        bail!(
            "{} is {}, not ADMIN: create it with `rialto admin create-user --role admin`",
            config.admin_email,
            admin.role
        );
    }
    let market = setup::ensure_market(&admin, &config.market).await?;
    let mid_ticks = match &config.mid {
        Some(mid) => market.ticks(mid).with_context(|| format!("--mid {mid}"))?,
        None => market
            .last_ticks
            .or_else(|| market.ticks("100"))
            .context("a mid price")?,
    };
    let plan = Plan {
        traders: config.traders,
        mid_ticks,
        spread_ticks: config.spread_ticks,
        seed: plan::splitmix64(u64::from_str_radix(&tag, 16).unwrap_or(1)),
    };
    if plan.probe_price() + plan.spread_ticks >= mid_ticks {
        bail!(
            "--spread-ticks {} is too wide for a mid of {}",
            plan.spread_ticks,
            market.price(mid_ticks)
        );
    }
    let sessions = sign_up_traders(&config, &base, &admin, &market, &tag).await?;
    let mut background = JoinSet::new();
    for session in &sessions {
        background.spawn(setup::keep_fresh(session.clone(), base.clone()));
    }

    // 2. The subscriptions, proven live.
    let tracker = Arc::new(Tracker::new()?);
    let stats = Arc::new(SocketStats::default());
    let probes = Arc::new(Probes::new(config.traders));
    let (stop_sockets, stop) = tokio::sync::watch::channel(false);
    let mut readers = JoinSet::new();
    let trades = sockets::subscribe_trades(&ws_url, &market.symbol).await?;
    readers.spawn(sockets::read_trades(
        trades,
        stats.clone(),
        tracker.clone(),
        stop.clone(),
    ));
    let sink = OrdersSink {
        ids: ids.clone(),
        tracker: tracker.clone(),
        probes: probes.clone(),
        stats: stats.clone(),
    };
    for session in &sessions {
        let socket = sockets::subscribe_orders(&ws_url, &session.token()).await?;
        readers.spawn(sockets::read_orders(socket, sink.clone(), stop.clone()));
    }
    let shared = Arc::new(Shared {
        plan,
        ids,
        quantity: market.min_quantity.clone(),
        market,
        sessions,
        tracker: tracker.clone(),
    });
    probe_subscriptions(&shared, &probes).await?;

    // 3. The seed.
    seed_book(&shared, config.seeds()).await?;

    // 4. The run.
    let start = Instant::now();
    let from = start + config.warmup;
    let to = from + config.duration;
    tracker.open(from, to);
    let server_cpu = config
        .server_pid
        .map(|(pid, hz)| tokio::spawn(sample_cpu(pid, hz, from, to)));
    let dropped = Arc::new(AtomicU64::new(0));
    let jobs = if config.rate > 0.0 {
        let (tx, rx) = mpsc::unbounded_channel();
        let pacer = Pacer::new(start, config.rate);
        spawn_pacer(pacer, to, tx);
        Jobs::Open {
            queue: Arc::new(tokio::sync::Mutex::new(rx)),
            pacer,
            stop: to + config.grace,
            dropped: dropped.clone(),
        }
    } else {
        Jobs::Closed {
            next: Arc::new(AtomicU64::new(0)),
            deadline: to,
        }
    };
    let mut workers = JoinSet::new();
    for _ in 0..connections {
        workers.spawn(worker(shared.clone(), jobs.clone()));
    }
    let mut place = new_histogram()?;
    let mut lag = new_histogram()?;
    let (mut sent, mut takers_sent) = (0, 0);
    let mut failures = Failures::default();
    let mut first_failure = None;
    while let Some(done) = workers.join_next().await {
        let r = done.context("an order worker panicked")??;
        place.add(&r.place)?;
        lag.add(&r.lag)?;
        sent += r.sent;
        takers_sent += r.takers_sent;
        failures.add(r.failures);
        first_failure = first_failure.or(r.first_failure);
    }

    // 5. Stragglers, the report, the clean-up.
    let grace_end = Instant::now() + config.grace;
    while tracker.pending() > 0 && Instant::now() < grace_end {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (outcome, fill) = tracker.finish();
    let server_cpu_seconds = match server_cpu {
        Some(task) => task.await.ok().flatten(),
        None => None,
    };
    let _ = stop_sockets.send(true);
    while readers.join_next().await.is_some() {}
    background.abort_all();
    clean_up(&shared).await;

    let seconds = config.duration.as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let per_sec = |n: u64| {
        if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        }
    };
    let trades_in_window = stats.trades_in_window.load(Ordering::Relaxed);
    Ok(TradingReport {
        label: config.label,
        mode: if config.rate > 0.0 { "open" } else { "closed" },
        target_rate: config.rate,
        connections,
        traders: config.traders,
        market: shared.market.symbol.clone(),
        seconds,
        sent,
        takers_sent,
        send_rate: per_sec(sent),
        settled: outcome.settled_in_window,
        settled_per_sec: per_sec(outcome.settled_in_window),
        trades: trades_in_window,
        trades_per_sec: per_sec(trades_in_window),
        fill_latency_us: Percentiles::of(&fill),
        fill_samples: outcome.fill_samples,
        place_latency_us: Percentiles::of(&place),
        send_lag_us: Percentiles::of(&lag),
        failures,
        first_failure,
        unsent: dropped.load(Ordering::Relaxed),
        unsettled: outcome.unsettled,
        fill_events_missing: outcome.fill_events_missing,
        takers_unfilled: outcome.takers_unfilled,
        subscription_errors: stats.errors.load(Ordering::Relaxed),
        server_cpu_cores: server_cpu_seconds.map(|s| s / seconds.max(f64::MIN_POSITIVE)),
        #[allow(clippy::cast_precision_loss)]
        server_cpu_us_per_order: server_cpu_seconds
            .filter(|_| outcome.settled_in_window > 0)
            .map(|s| s * 1e6 / outcome.settled_in_window as f64),
    })
}

/// CPU seconds (user + system, all threads) process `pid` used over `[from, to)`.
async fn sample_cpu(pid: u32, hz: u32, from: Instant, to: Instant) -> Option<f64> {
    fn ticks(pid: u32) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command, which is parenthesised and may hold spaces.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command.
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }
    tokio::time::sleep_until(from.into()).await;
    let before = ticks(pid)?;
    tokio::time::sleep_until(to.into()).await;
    let after = ticks(pid)?;
    #[allow(clippy::cast_precision_loss)]
    Some(after.saturating_sub(before) as f64 / f64::from(hz.max(1)))
}

/// Signs up and funds the traders, all at once.
async fn sign_up_traders(
    config: &Config,
    base: &Client,
    admin: &Arc<Session>,
    market: &MarketInfo,
    tag: &str,
) -> anyhow::Result<Vec<Arc<Session>>> {
    let mut tasks = JoinSet::new();
    for i in 0..config.traders {
        let (base, admin, fund) = (base.clone(), admin.clone(), config.fund.clone());
        let assets = [market.base.clone(), market.quote.clone()];
        let (email, password) = (
            format!("loadgen-{tag}-{i}@example.com"),
            format!("loadgen {tag} trader {i} correct horse battery staple"),
        );
        tasks.spawn(async move {
            let session =
                setup::register(&base, &email, &password, &format!("loadgen {i}")).await?;
            for asset in &assets {
                setup::credit(&admin, &session.user_id, asset, &fund).await?;
            }
            anyhow::Ok((i, Arc::new(session)))
        });
    }
    let mut sessions = Vec::with_capacity(config.traders);
    while let Some(done) = tasks.join_next().await {
        sessions.push(done.context("a sign-up task panicked")??);
    }
    sessions.sort_by_key(|(i, _)| *i);
    Ok(sessions.into_iter().map(|(_, s)| s).collect())
}

/// Places, for each trader, IOC bids that cannot trade until its `myOrders` socket shows
/// one: only then are its events sure to arrive.
async fn probe_subscriptions(shared: &Arc<Shared>, probes: &Arc<Probes>) -> anyhow::Result<()> {
    let mut tasks = JoinSet::new();
    for trader in 0..shared.sessions.len() {
        let (shared, probes) = (shared.clone(), probes.clone());
        tasks.spawn(async move {
            let order = PlannedOrder {
                trader,
                side: plan::Side::Buy,
                taker: false,
                price_ticks: shared.plan.probe_price(),
                time_in_force: "IOC",
                post_only: false,
            };
            for attempt in 0..40 {
                let id = shared.ids.id(Tag::Probe {
                    trader: trader as u64,
                    attempt,
                });
                if let Err(f) = shared.place(&order, &id).await {
                    bail!(
                        "a probe order of trader {trader} was refused: {}",
                        f.message()
                    );
                }
                let until = Instant::now() + Duration::from_millis(250);
                while Instant::now() < until {
                    if probes.seen(trader) {
                        return Ok(());
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            bail!("trader {trader}'s myOrders subscription delivered nothing in 10 s")
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a probe task panicked")??;
    }
    Ok(())
}

/// Rests `count` asks, shared among the makers.
async fn seed_book(shared: &Arc<Shared>, count: u64) -> anyhow::Result<()> {
    let makers = u64::try_from(shared.plan.makers()).unwrap_or(1);
    let mut tasks = JoinSet::new();
    for maker in 0..makers {
        let shared = shared.clone();
        tasks.spawn(async move {
            for i in (maker..count).step_by(usize::try_from(makers).unwrap_or(1)) {
                let order = shared.plan.seed_order(i);
                let id = shared.ids.id(Tag::Seed(i));
                match shared.place(&order, &id).await {
                    Ok(seen) if !seen.done => {}
                    Ok(_) => bail!("seed ask {i} did not rest (post-only refused?)"),
                    Err(f) => bail!("seed ask {i} was refused: {}", f.message()),
                }
            }
            Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a seeding task panicked")??;
    }
    Ok(())
}

/// Cancels the makers' resting asks so the next run starts from an empty book.
async fn clean_up(shared: &Shared) {
    for session in shared.sessions.iter().take(shared.plan.makers()) {
        if let Err(e) = setup::cancel_all(session, &shared.market.symbol).await {
            eprintln!("rialto-loadgen: could not cancel a maker's asks: {e:#}");
        }
    }
}
