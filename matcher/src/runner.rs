//! The matcher process: claims markets, rebuilds their books, and turns unprocessed commands
//! into settled effects, one batch and one transaction at a time; then publishes the outbox.
//!
//! Tests drive it step by step with [`Matcher::process_next_batch`]; production calls
//! [`Matcher::run`], which loops until shutdown, woken by the bus (brain publishes on
//! [`WAKE_TOPIC`] after storing a command) and by a slow timer as a safety net (and to let a
//! standby notice that a leader died).
//!
//! With a cache ([`Matcher::with_cache`]) it also writes, after each committed batch and
//! before publishing it, a fresh version of every market the batch touched
//! ([`crate::hot`]), so brain's cached hot reads of those markets are never served again. A
//! failed write is retried (the market stays in a to-do set) at most once per idle poll, and
//! each write waits at most [`CACHE_WRITE_TIMEOUT`]: a Redis outage costs trading little
//! time, and a blip cannot leave an old version standing.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

use bus::{BusItem, Cache, EventBus};
use bytes::Bytes;
use chrono::Utc;
use entity::{commands, market_events, markets, orders, trades};
use futures_util::StreamExt;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    BookConfig, Side, TimeInForce,
    engine::{Effects, Engine, EngineError, Input, MarketRules, OrderState, Status},
    events::{Envelope, MarketEvent, WAKE_TOPIC},
    hot::{market_version_key, new_market_version},
    leader::Leadership,
    settle::{self, MarketIds},
};

/// Why a step failed. The runner logs it and retries; nothing acknowledged is lost because
/// commands stay unprocessed until their batch commits.
#[derive(Debug, thiserror::Error)]
pub enum MatcherError {
    /// The database refused or is unreachable.
    #[error("database: {0}")]
    Db(#[from] DbErr),
    /// Stored data the engine cannot use (a corrupt order or market row).
    #[error("inconsistent data: {0}")]
    Corrupt(String),
}

impl From<EngineError> for MatcherError {
    fn from(e: EngineError) -> Self {
        Self::Corrupt(format!("{e:?}"))
    }
}

/// How the runner paces itself.
#[derive(Debug, Clone, Copy)]
pub struct MatcherConfig {
    /// Most commands in one batch (one transaction).
    pub batch_size: u64,
    /// Longest sleep without a wake-up: how soon a standby notices a dead leader.
    pub idle_poll: Duration,
}

impl Default for MatcherConfig {
    fn default() -> Self {
        Self {
            batch_size: 1_000,
            idle_poll: Duration::from_millis(200),
        }
    }
}

/// The longest the matcher waits for one cache write of a market version before it gives
/// up and retries on a later poll: a healthy cache answers in well under a millisecond, and an
/// unreachable one must not hold up settlement.
pub const CACHE_WRITE_TIMEOUT: Duration = Duration::from_millis(100);

struct MarketState {
    ids: MarketIds,
    engine: Engine,
    next_seq: i64,
}

/// One matcher: the markets it owns, in memory.
pub struct Matcher {
    db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
    leadership: Leadership,
    markets: HashMap<Uuid, MarketState>,
    config: MatcherConfig,
    /// When to look for markets to claim (and check held locks) next; `None`: now.
    next_claim: Option<Instant>,
    /// Where market versions are written for brain's hot reads; `None`: nowhere.
    cache: Option<Arc<dyn Cache>>,
    /// Owned markets whose current version is not in the cache yet (just claimed, just
    /// batched, or their write failed).
    unversioned: BTreeSet<Uuid>,
    /// After a failed version write: not before then (one retry per idle poll).
    version_retry_at: Option<Instant>,
}

impl Matcher {
    /// A matcher over `db`, publishing to `bus`. It owns nothing until its first step.
    pub fn new(db: DatabaseConnection, bus: Arc<dyn EventBus>, config: MatcherConfig) -> Self {
        let leadership = match db.get_database_backend() {
            DbBackend::Postgres => Leadership::postgres(),
            _ => Leadership::Embedded,
        };
        Self {
            db,
            bus,
            leadership,
            markets: HashMap::new(),
            config,
            next_claim: None,
            cache: None,
            unversioned: BTreeSet::new(),
            version_retry_at: None,
        }
    }

    /// The same matcher, keeping `cache` current for brain's hot reads: after every committed
    /// batch (and on claiming a market) it writes the market's version there. Give it the
    /// cache brain reads from (the deployment's Redis, or the process's one in-process
    /// cache); without one, brain's market data is read from the database every time.
    pub fn with_cache(self, cache: Arc<dyn Cache>) -> Self {
        Self {
            cache: Some(cache),
            ..self
        }
    }

    /// The markets this matcher owns now.
    pub fn owned(&self) -> Vec<Uuid> {
        self.markets.keys().copied().collect()
    }

    /// Claims what markets it can, then processes one batch of their unprocessed commands
    /// and publishes what it wrote. Returns how many commands it processed.
    ///
    /// # Errors
    /// A database failure or corrupt data. The batch is rolled back and the touched
    /// markets are rebuilt from the database on the next step.
    pub async fn process_next_batch(&mut self) -> Result<usize, MatcherError> {
        self.flush_versions().await;
        self.claim_markets().await?;
        self.flush_versions().await;
        if self.markets.is_empty() {
            return Ok(0);
        }
        let owned: Vec<Uuid> = self.markets.keys().copied().collect();
        let batch = commands::Entity::find()
            .filter(commands::Column::ProcessedAt.is_null())
            .filter(commands::Column::MarketId.is_in(owned))
            .order_by_asc(commands::Column::Seq)
            .limit(self.config.batch_size)
            .all(&self.db)
            .await?;
        if batch.is_empty() {
            return Ok(0);
        }
        let order_ids: Vec<i64> = batch
            .iter()
            .filter(|c| c.kind == "place")
            .filter_map(|c| c.order_id)
            .collect();
        let mut placed: HashMap<i64, orders::Model> = HashMap::new();
        for chunk in order_ids.chunks(500) {
            for o in orders::Entity::find()
                .filter(orders::Column::Id.is_in(chunk.iter().copied()))
                .all(&self.db)
                .await?
            {
                placed.insert(o.id, o);
            }
        }

        let now = Utc::now();
        let ts = u64::try_from(now.timestamp_nanos_opt().unwrap_or_default()).unwrap_or_default();
        let mut effects: BTreeMap<Uuid, (Effects, Vec<i64>)> = BTreeMap::new();
        for c in &batch {
            let Some(market) = self.markets.get_mut(&c.market_id) else {
                continue;
            };
            let owner = c.user_id.as_u128();
            let input = match (c.kind.as_str(), c.order_id) {
                ("place", Some(id)) => match placed.get(&id) {
                    Some(row) => Some(Input::Place(order_state(row)?)),
                    None => None,
                },
                ("cancel", Some(id)) => Some(Input::Cancel {
                    id: u64::try_from(id).unwrap_or_default(),
                    owner,
                }),
                ("cancel_all", _) => Some(Input::CancelAll { owner }),
                _ => None,
            };
            let (fx, seqs) = effects.entry(c.market_id).or_default();
            if let Some(input) = input {
                market.engine.apply(input, ts, fx);
            }
            seqs.push(c.seq);
        }

        let started = Instant::now();
        let result = self.commit(&effects, now).await;
        match result {
            Ok(outbox) => {
                metrics::histogram!("rialto_matcher_batch_commit_seconds")
                    .record(started.elapsed().as_secs_f64());
                metrics::counter!("rialto_matcher_batches_total").increment(1);
                metrics::counter!("rialto_matcher_commands_total").increment(batch.len() as u64);
                let trades: usize = effects.values().map(|(fx, _)| fx.trades.len()).sum();
                metrics::counter!("rialto_matcher_trades_total").increment(trades as u64);
                // Versions before events: whoever hears of the batch reads it, not the cache.
                self.unversioned.extend(effects.keys().copied());
                self.flush_versions().await;
                self.publish(outbox).await;
                Ok(batch.len())
            }
            Err(e) => {
                metrics::counter!("rialto_matcher_batch_failures_total").increment(1);
                // The engines ran ahead of the database: rebuild them on the next step.
                for market in effects.keys() {
                    self.markets.remove(market);
                }
                self.next_claim = None;
                Err(e)
            }
        }
    }

    async fn commit(
        &mut self,
        effects: &BTreeMap<Uuid, (Effects, Vec<i64>)>,
        now: chrono::DateTime<Utc>,
    ) -> Result<Vec<(String, Uuid, market_events::Model)>, MatcherError> {
        let tx = self.db.begin().await?;
        let mut outbox = Vec::new();
        let mut next: Vec<(Uuid, i64)> = Vec::new();
        for (market_id, (fx, seqs)) in effects {
            let Some(market) = self.markets.get(market_id) else {
                continue;
            };
            let mut seq = market.next_seq;
            let rows = settle::write_batch(&tx, &market.ids, fx, seqs, &mut seq, now).await?;
            next.push((*market_id, seq));
            outbox.extend(
                rows.into_iter()
                    .map(|r| (market.ids.symbol.clone(), *market_id, r)),
            );
        }
        tx.commit().await?;
        for (market_id, seq) in next {
            if let Some(m) = self.markets.get_mut(&market_id) {
                m.next_seq = seq;
            }
        }
        Ok(outbox)
    }

    /// Writes a fresh version of every owned market in `unversioned` to the cache (all at
    /// once, each bounded by [`CACHE_WRITE_TIMEOUT`]), unless a write failed less than an idle
    /// poll ago. A failed market stays for the next try; a market no longer owned is
    /// dropped, its new owner writes it on claiming it.
    async fn flush_versions(&mut self) {
        let Some(cache) = self.cache.clone() else {
            self.unversioned.clear();
            return;
        };
        if self.unversioned.is_empty() {
            return;
        }
        let now = Instant::now();
        if self.version_retry_at.is_some_and(|at| now < at) {
            return;
        }
        let writes: Vec<(Uuid, String, String)> = std::mem::take(&mut self.unversioned)
            .into_iter()
            .filter_map(|id| {
                let market = self.markets.get(&id)?;
                Some((
                    id,
                    market_version_key(id),
                    new_market_version(market.next_seq - 1),
                ))
            })
            .collect();
        let results =
            futures_util::future::join_all(writes.into_iter().map(|(id, key, version)| {
                let cache = cache.clone();
                async move {
                    let set = cache.set(&key, version, None);
                    match tokio::time::timeout(CACHE_WRITE_TIMEOUT, set).await {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some((id, e.to_string())),
                        Err(_) => Some((id, format!("no answer within {CACHE_WRITE_TIMEOUT:?}"))),
                    }
                }
            }))
            .await;
        let was_failing = self.version_retry_at.is_some();
        let mut failed = 0_u64;
        for (id, error) in results.into_iter().flatten() {
            if failed == 0 && !was_failing {
                tracing::warn!(market = %id, error, "writing the market version failed; will retry");
            } else {
                tracing::debug!(market = %id, error, "writing the market version failed");
            }
            failed += 1;
            self.unversioned.insert(id);
        }
        if failed > 0 {
            metrics::counter!("rialto_matcher_cache_version_failures_total").increment(failed);
            self.version_retry_at = Some(now + self.config.idle_poll);
        } else {
            if was_failing {
                tracing::info!("market versions written again");
            }
            self.version_retry_at = None;
        }
    }

    /// Publishes committed outbox rows, all at once ([`EventBus::publish_many`]), and marks
    /// the published ones. A failure leaves the rest for [`Matcher::publish_pending`].
    async fn publish(&self, rows: Vec<(String, Uuid, market_events::Model)>) {
        let mut ids = Vec::with_capacity(rows.len());
        let mut items = Vec::with_capacity(rows.len());
        for (symbol, market, row) in rows {
            let Ok(event) = serde_json::from_str::<MarketEvent>(&row.payload) else {
                tracing::error!(id = row.id, "unreadable outbox payload");
                continue;
            };
            let topic = event.topic(&symbol);
            let envelope = Envelope {
                market,
                symbol,
                event,
            };
            let Ok(payload) = serde_json::to_vec(&envelope) else {
                continue;
            };
            ids.push(row.id);
            items.push((topic, Bytes::from(payload)));
        }
        if items.is_empty() {
            return;
        }
        let total = items.len();
        let published = match self.bus.publish_many(items).await {
            Ok(n) => {
                if n < total {
                    tracing::warn!(
                        published = n,
                        total,
                        "publishing the outbox stopped part-way; will retry"
                    );
                }
                n
            }
            Err(e) => {
                tracing::warn!(error = %e, "publishing the outbox failed; will retry");
                return;
            }
        };
        ids.truncate(published);
        if ids.is_empty() {
            return;
        }
        let marked = market_events::Entity::update_many()
            .col_expr(market_events::Column::PublishedAt, Expr::value(Utc::now()))
            .filter(market_events::Column::Id.is_in(ids))
            .exec(&self.db)
            .await;
        if let Err(e) = marked {
            tracing::warn!(error = %e, "marking the outbox published failed; events may repeat");
        }
    }

    /// Publishes outbox rows of owned markets that a crash or a bus outage left unpublished,
    /// in sequence order. Returns how many were found.
    ///
    /// # Errors
    /// A database failure.
    pub async fn publish_pending(&mut self) -> Result<usize, MatcherError> {
        let owned: Vec<Uuid> = self.markets.keys().copied().collect();
        if owned.is_empty() {
            return Ok(0);
        }
        let rows = market_events::Entity::find()
            .filter(market_events::Column::PublishedAt.is_null())
            .filter(market_events::Column::MarketId.is_in(owned))
            .order_by_asc(market_events::Column::MarketId)
            .order_by_asc(market_events::Column::Seq)
            .limit(self.config.batch_size * 4)
            .all(&self.db)
            .await?;
        let n = rows.len();
        let rows = rows
            .into_iter()
            .filter_map(|r| {
                let symbol = self.markets.get(&r.market_id)?.ids.symbol.clone();
                Some((symbol, r.market_id, r))
            })
            .collect();
        self.publish(rows).await;
        Ok(n)
    }

    /// Loops until `shutdown` resolves: batches while there is work, then waits for a wake-up
    /// on the bus or the idle timer.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut wake = match self.bus.subscribe(WAKE_TOPIC).await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "cannot subscribe to wake-ups; polling only");
                None
            }
        };
        loop {
            let busy = match self.process_next_batch().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::error!(error = %e, "matcher batch failed; retrying");
                    tokio::time::sleep(self.config.idle_poll).await;
                    false
                }
            };
            if let Err(e) = self.publish_pending().await {
                tracing::warn!(error = %e, "republishing the outbox failed");
            }
            if busy {
                continue;
            }
            let woken = async {
                match &mut wake {
                    Some(s) => {
                        if let Some(BusItem::Message(_) | BusItem::Lagged) = s.next().await {
                        } else {
                            std::future::pending::<()>().await;
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = &mut shutdown => break,
                () = woken => {}
                () = tokio::time::sleep(self.config.idle_poll) => {}
            }
        }
        self.leadership.release().await;
    }

    /// Takes the markets whose lock this matcher can get, rebuilding each one's book from the
    /// database (recovery), and drops those whose lock it lost.
    ///
    /// Done at most once per idle poll (and at once after a failed batch), not before every
    /// batch: under load that would add two round trips to each one. The batch's own fence
    /// (see [`settle::write_batch`]) is what keeps a matcher that lost its lock from
    /// settling twice.
    async fn claim_markets(&mut self) -> Result<(), MatcherError> {
        let now = Instant::now();
        if self.next_claim.is_some_and(|at| now < at) {
            return Ok(());
        }
        self.next_claim = Some(now + self.config.idle_poll);
        let all = markets::Entity::find().all(&self.db).await?;
        let lost = self.leadership.check().await;
        for id in lost {
            self.markets.remove(&id);
            self.unversioned.remove(&id);
        }
        metrics::gauge!("rialto_matcher_markets_owned").set(self.markets.len() as f64);
        for m in all {
            if self.markets.contains_key(&m.id) {
                continue;
            }
            if !self.leadership.try_claim(&self.db, m.id).await {
                continue;
            }
            match self.load_market(&m).await {
                Ok(state) => {
                    tracing::info!(market = %m.symbol, orders = state.engine.book().len(), "market claimed");
                    self.markets.insert(m.id, state);
                    self.unversioned.insert(m.id);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn load_market(&self, m: &markets::Model) -> Result<MarketState, MatcherError> {
        let rules = market_rules(m)?;
        let live = orders::Entity::find()
            .filter(orders::Column::MarketId.eq(m.id))
            .filter(orders::Column::Status.is_in(["open", "partially_filled"]))
            .all(&self.db)
            .await?;
        // Time priority is the order of the place commands.
        let mut priority: HashMap<i64, i64> = HashMap::new();
        let ids: Vec<i64> = live.iter().map(|o| o.id).collect();
        for chunk in ids.chunks(500) {
            for c in commands::Entity::find()
                .filter(commands::Column::Kind.eq("place"))
                .filter(commands::Column::OrderId.is_in(chunk.iter().copied()))
                .all(&self.db)
                .await?
            {
                if let Some(o) = c.order_id {
                    priority.insert(o, c.seq);
                }
            }
        }
        let mut live: Vec<(i64, OrderState)> = live
            .iter()
            .map(|o| {
                Ok((
                    priority.get(&o.id).copied().unwrap_or(i64::MAX),
                    order_state(o)?,
                ))
            })
            .collect::<Result<_, MatcherError>>()?;
        live.sort_by_key(|(p, o)| (*p, o.id));
        let trade_seq = trades::Entity::find()
            .filter(trades::Column::MarketId.eq(m.id))
            .order_by_desc(trades::Column::Seq)
            .one(&self.db)
            .await?
            .map_or(0, |t| t.seq);
        let last_event = market_events::Entity::find()
            .filter(market_events::Column::MarketId.eq(m.id))
            .order_by_desc(market_events::Column::Seq)
            .one(&self.db)
            .await?
            .map_or(0, |e| e.seq);
        let engine = Engine::restore(
            rules,
            u64::try_from(trade_seq).unwrap_or_default(),
            live.into_iter().map(|(_, o)| o).collect(),
        )?;
        Ok(MarketState {
            ids: MarketIds {
                id: m.id,
                symbol: m.symbol.clone(),
                base: m.base_asset_id,
                quote: m.quote_asset_id,
            },
            engine,
            next_seq: last_event + 1,
        })
    }
}

/// A market row's rules in the engine's integers.
///
/// # Errors
/// [`MatcherError::Corrupt`] for sizes or fees the engine cannot use.
pub fn market_rules(m: &markets::Model) -> Result<MarketRules, MatcherError> {
    let corrupt = || MatcherError::Corrupt(format!("market {} has unusable sizes", m.symbol));
    Ok(MarketRules {
        book: BookConfig {
            quote_per_tick_lot: u64::try_from(m.quote_per_tick_lot).map_err(|_| corrupt())?,
            maker_fee_bps: u32::try_from(m.maker_fee_bps).map_err(|_| corrupt())?,
            taker_fee_bps: u32::try_from(m.taker_fee_bps).map_err(|_| corrupt())?,
        },
        lot_size: u64::try_from(m.lot_size).map_err(|_| corrupt())?,
    })
}

/// An order row as the engine tracks it.
///
/// # Errors
/// [`MatcherError::Corrupt`] for a row with an unknown side, status or negative amounts.
pub fn order_state(o: &orders::Model) -> Result<OrderState, MatcherError> {
    let corrupt = |what: &str| MatcherError::Corrupt(format!("order {}: {what}", o.id));
    let u = |v: i64, what: &str| u64::try_from(v).map_err(|_| corrupt(what));
    Ok(OrderState {
        id: u(o.id, "id")?,
        owner: o.user_id.as_u128(),
        side: match o.side.as_str() {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            _ => return Err(corrupt("side")),
        },
        price: o.price_ticks.map(|p| u(p, "price")).transpose()?,
        quote_budget: o.quote_budget.map(|b| u(b, "budget")).transpose()?,
        tif: match o.time_in_force.as_str() {
            "gtc" => TimeInForce::Gtc,
            "ioc" => TimeInForce::Ioc,
            "fok" => TimeInForce::Fok,
            _ => return Err(corrupt("time in force")),
        },
        post_only: o.post_only,
        qty: u(o.qty_lots, "quantity")?,
        filled: u(o.filled_lots, "filled")?,
        filled_value: u(o.filled_value, "filled value")?,
        fees_paid: u(o.fees_paid, "fees")?,
        held: u(o.held_remaining, "hold")?,
        status: match o.status.as_str() {
            "accepted" => Status::Accepted,
            "open" => Status::Open,
            "partially_filled" => Status::PartiallyFilled,
            "filled" => Status::Filled,
            "cancelled" => Status::Cancelled,
            "rejected" => Status::Rejected,
            _ => return Err(corrupt("status")),
        },
        reason: None,
    })
}
