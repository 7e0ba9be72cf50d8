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
    collections::{BTreeMap, BTreeSet, HashMap, VecDeque},
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
    QuerySelect, RuntimeErr, TransactionTrait, sea_query::Expr, sqlx,
};
use uuid::Uuid;

use common::{
    events::{Envelope, MarketEvent, WAKE_TOPIC},
    hot::{market_version_key, new_market_version},
};
use engine::{
    BookConfig, Side, TimeInForce,
    market::{
        BALANCE_LIMIT, Effects, Engine, EngineError, Input, MarketRules, OrderState,
        SETTLEMENT_REJECTED, Status, refusal,
    },
};

use crate::{
    leader::Leadership,
    settle::{self, MarketIds},
};

/// Why a step failed. Nothing acknowledged is lost because commands stay unprocessed until
/// their batch commits. A transient failure ([`MatcherError::is_transient`]) is retried as it
/// is; any other failure of a batch is the fault of one of its commands, which is found by
/// splitting the batch and refused alone (see [`Matcher::process_next_batch`]).
#[derive(Debug, thiserror::Error)]
pub enum MatcherError {
    /// The database refused or is unreachable.
    #[error("database: {0}")]
    Db(#[from] DbErr),
    /// Stored data the engine cannot use (a corrupt order or market row).
    #[error("inconsistent data: {0}")]
    Corrupt(String),
    /// Some of the batch's commands were processed by another matcher: this one lost the
    /// market's lock. The batch is rolled back and the market given up or rebuilt.
    #[error("{0}")]
    Fenced(String),
    /// A balance would no longer fit an amount (its available, held or total past
    /// `i64::MAX`): checked before anything is written (decision 0005, "Bounds").
    #[error("the balance of user {user} in asset {asset} would pass the largest amount")]
    BalanceLimit {
        /// Whose balance.
        user: Uuid,
        /// In which asset.
        asset: Uuid,
    },
    /// The engine could not compute these orders' money exactly ([`Effects::overflowed`]).
    #[error("the amounts of orders {0:?} do not fit an amount")]
    Overflow(Vec<u64>),
}

impl MatcherError {
    /// Whether the same batch may succeed later as it is: the database unreachable, busy,
    /// shutting down or out of resources, a serialization failure or deadlock, or this
    /// matcher no longer owning the market. Such a failure is retried and never refuses a
    /// command. Anything else (an amount that does not fit, a violated constraint, a row that
    /// cannot be read) is about the data: retrying would fail forever.
    pub fn is_transient(&self, backend: DbBackend) -> bool {
        match self {
            Self::Fenced(_) => true,
            Self::Db(e) => db_error_is_transient(e, backend),
            Self::Corrupt(_) | Self::BalanceLimit { .. } | Self::Overflow(_) => false,
        }
    }

    /// The reason an order refused for this failure shows.
    fn refusal_reason(&self) -> &'static str {
        match self {
            Self::BalanceLimit { .. } | Self::Overflow(_) => BALANCE_LIMIT,
            _ => SETTLEMENT_REJECTED,
        }
    }
}

/// Whether a database error is about the database's health rather than the data written.
fn db_error_is_transient(e: &DbErr, backend: DbBackend) -> bool {
    let error = match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match error.as_ref() {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            match backend {
                // SQLSTATE classes: connection exception, transaction rollback (serialization
                // failure, deadlock), insufficient resources, operator intervention (shutdown,
                // cancel), system error; and a lock not available.
                DbBackend::Postgres => {
                    ["08", "40", "53", "57", "58"]
                        .iter()
                        .any(|class| code.starts_with(class))
                        || code == "55P03"
                }
                // Primary result codes: NOMEM, BUSY, LOCKED, IOERR, FULL, CANTOPEN.
                _ => code
                    .parse::<i32>()
                    .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 7 | 10 | 13 | 14)),
            }
        }
        _ => false,
    }
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
    /// and publishes what it wrote. Returns how many commands it processed (settled or
    /// refused).
    ///
    /// A batch that fails for a transient reason ([`MatcherError::is_transient`]) is left for
    /// the next step. One that fails for its data is split, first by market, then in halves,
    /// and each part settled on its own, until the command at fault is alone; that command is
    /// refused (a place ends `REJECTED` with a reason and its hold is released; resting orders
    /// that cannot be paid out are cancelled instead) and everything else settles. A poisoned
    /// command costs about two failed attempts per halving and never blocks other commands or
    /// markets.
    ///
    /// # Errors
    /// A transient failure, or a failure to rebuild a market after a failed attempt. What
    /// committed before it stays committed and published; the touched markets are rebuilt
    /// from the database on the next step.
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

        let backend = self.db.get_database_backend();
        let mut parts = VecDeque::from([batch]);
        let mut processed = 0;
        while let Some(part) = parts.pop_front() {
            let (effects, result) = self.settle(&part, &placed).await;
            let Err(error) = result else {
                processed += part.len();
                continue;
            };
            metrics::counter!("rialto_matcher_batch_failures_total").increment(1);
            // The engines ran ahead of the database: rebuild them before anything else.
            self.rebuild(effects.keys().copied()).await?;
            if error.is_transient(backend) {
                return Err(error);
            }
            if let [command] = part.as_slice() {
                if self.refuse(command, &error, &effects, &placed).await? {
                    processed += 1;
                } else {
                    parts.push_front(part);
                }
                continue;
            }
            tracing::warn!(error = %error, commands = part.len(), "a batch could not be settled; splitting it to find the command at fault");
            metrics::counter!("rialto_matcher_batch_splits_total").increment(1);
            for piece in split(part).into_iter().rev() {
                parts.push_front(piece);
            }
        }
        Ok(processed)
    }

    /// Runs `part` through the engines and commits it in one transaction; on success
    /// publishes it. Returns the effects per market (what the engines now hold) and how it
    /// went; on failure the caller must rebuild those markets.
    async fn settle(
        &mut self,
        part: &[commands::Model],
        placed: &HashMap<i64, orders::Model>,
    ) -> (
        BTreeMap<Uuid, (Effects, Vec<i64>)>,
        Result<(), MatcherError>,
    ) {
        let now = Utc::now();
        let ts = u64::try_from(now.timestamp_nanos_opt().unwrap_or_default()).unwrap_or_default();
        let mut effects: BTreeMap<Uuid, (Effects, Vec<i64>)> = BTreeMap::new();
        for c in part {
            let Some(market) = self.markets.get_mut(&c.market_id) else {
                continue;
            };
            let owner = c.user_id.as_u128();
            let input = match (c.kind.as_str(), c.order_id) {
                ("place", Some(id)) => match placed.get(&id).map(order_state).transpose() {
                    Ok(state) => state.map(Input::Place),
                    Err(e) => return (effects, Err(e)),
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
        match self.commit(&effects, now).await {
            Ok(outbox) => {
                metrics::histogram!("rialto_matcher_batch_commit_seconds")
                    .record(started.elapsed().as_secs_f64());
                metrics::counter!("rialto_matcher_batches_total").increment(1);
                metrics::counter!("rialto_matcher_commands_total").increment(part.len() as u64);
                let trades: usize = effects.values().map(|(fx, _)| fx.trades.len()).sum();
                metrics::counter!("rialto_matcher_trades_total").increment(trades as u64);
                self.published(&effects, outbox).await;
                (effects, Ok(()))
            }
            Err(e) => (effects, Err(e)),
        }
    }

    /// After a commit: versions first, then events, so whoever hears of the batch reads it,
    /// not the cache.
    async fn published(
        &mut self,
        effects: &BTreeMap<Uuid, (Effects, Vec<i64>)>,
        outbox: Vec<(String, Uuid, market_events::Model)>,
    ) {
        self.unversioned.extend(effects.keys().copied());
        self.flush_versions().await;
        self.publish(outbox).await;
    }

    /// Rebuilds these markets' engines from the database, after an attempt that ran them
    /// ahead of it failed.
    ///
    /// # Errors
    /// A database failure; the markets are then dropped and claimed again on the next step.
    async fn rebuild(&mut self, ids: impl Iterator<Item = Uuid>) -> Result<(), MatcherError> {
        let ids: Vec<Uuid> = ids.collect();
        for id in &ids {
            self.markets.remove(id);
        }
        self.next_claim = None;
        let rows = markets::Entity::find()
            .filter(markets::Column::Id.is_in(ids))
            .all(&self.db)
            .await?;
        for m in rows {
            let state = self.load_market(&m).await?;
            self.markets.insert(m.id, state);
        }
        Ok(())
    }

    /// Settles a command that failed alone for a reason that is not transient, so that it
    /// stops blocking its market. Returns `true` when the command is done with (refused), and
    /// `false` when it should be tried again: its fault lay with resting orders, now
    /// cancelled.
    ///
    /// - A trade that would take a resting (maker) order's owner past the largest amount:
    ///   those resting orders are cancelled with [`BALANCE_LIMIT`] and the command is tried
    ///   again, so an order that cannot be paid out stops blocking everyone who trades with
    ///   it.
    /// - Otherwise a place is refused: its order ends `REJECTED` with [`BALANCE_LIMIT`] or
    ///   [`SETTLEMENT_REJECTED`], its hold is released, and its owner hears of it like any
    ///   other order update. A cancel is marked processed and changes nothing.
    /// - If even that cannot be written (the order's row is unreadable), the command is
    ///   marked processed alone, and the order is left for the audit to report.
    ///
    /// # Errors
    /// A database failure while writing the refusal (the command is then retried later).
    async fn refuse(
        &mut self,
        command: &commands::Model,
        error: &MatcherError,
        effects: &BTreeMap<Uuid, (Effects, Vec<i64>)>,
        placed: &HashMap<i64, orders::Model>,
    ) -> Result<bool, MatcherError> {
        let backend = self.db.get_database_backend();
        let market = command.market_id;
        if let MatcherError::BalanceLimit { user, .. } = error
            && *user != command.user_id
        {
            let makers: Vec<u64> = effects
                .get(&market)
                .map(|(fx, _)| {
                    fx.orders
                        .values()
                        .filter(|o| o.owner == user.as_u128())
                        .filter(|o| {
                            self.markets
                                .get(&market)
                                .is_some_and(|m| m.engine.order(o.id).is_some())
                        })
                        .map(|o| o.id)
                        .collect()
                })
                .unwrap_or_default();
            if !makers.is_empty() {
                tracing::warn!(market = %market, %user, orders = ?makers, "resting orders would take their owner past the largest amount; cancelling them");
                match self.cancel_makers(market, *user, &makers).await {
                    Ok(0) => {}
                    Ok(_) => return Ok(false),
                    Err(e) if e.is_transient(backend) => return Err(e),
                    Err(_) => {}
                }
            }
        }

        let reason = error.refusal_reason();
        let order = match (command.kind.as_str(), command.order_id) {
            ("place", Some(id)) => placed.get(&id).and_then(|row| order_state(row).ok()),
            _ => None,
        };
        tracing::error!(seq = command.seq, market = %market, kind = %command.kind, error = %error, reason, "a command cannot be settled; refusing it alone");
        metrics::counter!("rialto_matcher_commands_refused_total", "reason" => reason).increment(1);
        let refused = order
            .filter(|o| o.status == Status::Accepted)
            .map(|o| refusal(o, reason))
            .unwrap_or_default();
        let written = self.write_alone(market, refused, &[command.seq]).await;
        let Err(e) = written else {
            return Ok(true);
        };
        if e.is_transient(backend) {
            return Err(e);
        }
        // Even the refusal cannot be written: take the command out of the queue alone.
        tracing::error!(seq = command.seq, error = %e, "the refusal cannot be written either; marking the command processed");
        self.write_alone(market, Effects::default(), &[command.seq])
            .await
            .map(|()| true)
    }

    /// Cancels resting orders of `owner` in `market` with [`BALANCE_LIMIT`], in a batch of
    /// their own (no command is marked processed). Returns how many it cancelled.
    async fn cancel_makers(
        &mut self,
        market: Uuid,
        owner: Uuid,
        ids: &[u64],
    ) -> Result<usize, MatcherError> {
        let Some(state) = self.markets.get_mut(&market) else {
            return Err(MatcherError::Corrupt(format!(
                "market {market} is not owned"
            )));
        };
        let now = Utc::now();
        let ts = u64::try_from(now.timestamp_nanos_opt().unwrap_or_default()).unwrap_or_default();
        let mut fx = Effects::default();
        for &id in ids {
            state.engine.apply(
                Input::Cancel {
                    id,
                    owner: owner.as_u128(),
                },
                ts,
                &mut fx,
            );
        }
        let mut cancelled = 0;
        for o in fx.orders.values_mut() {
            if ids.contains(&o.id) && o.status == Status::Cancelled {
                o.reason = Some(BALANCE_LIMIT);
                cancelled += 1;
            }
        }
        if cancelled > 0 {
            self.write_alone(market, fx, &[]).await?;
        }
        Ok(cancelled)
    }

    /// Commits one market's effects alone (and publishes them), marking `processed` commands;
    /// on failure the market is rebuilt.
    async fn write_alone(
        &mut self,
        market: Uuid,
        fx: Effects,
        processed: &[i64],
    ) -> Result<(), MatcherError> {
        let effects = BTreeMap::from([(market, (fx, processed.to_vec()))]);
        match self.commit(&effects, Utc::now()).await {
            Ok(outbox) => {
                self.published(&effects, outbox).await;
                Ok(())
            }
            Err(e) => {
                self.rebuild([market].into_iter()).await?;
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

/// Splits a failed batch to find the command at fault: one part per market if it spans
/// several (a poisoned market then holds up no other), else two halves, in command order.
fn split(part: Vec<commands::Model>) -> Vec<Vec<commands::Model>> {
    let mut by_market: Vec<Vec<commands::Model>> = Vec::new();
    for c in part {
        match by_market.iter_mut().find(|p| p[0].market_id == c.market_id) {
            Some(p) => p.push(c),
            None => by_market.push(vec![c]),
        }
    }
    if by_market.len() > 1 {
        return by_market;
    }
    let mut first = by_market.pop().unwrap_or_default();
    let second = first.split_off(first.len() / 2);
    vec![first, second]
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn sqlx_error(e: sqlx::Error) -> MatcherError {
        MatcherError::Db(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e))))
    }

    #[test]
    fn a_lost_database_is_transient_and_bad_data_is_not() {
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            for transient in [
                MatcherError::Db(DbErr::Conn(RuntimeErr::Internal("refused".into()))),
                sqlx_error(sqlx::Error::Io(std::io::Error::other("connection reset"))),
                sqlx_error(sqlx::Error::PoolTimedOut),
                sqlx_error(sqlx::Error::PoolClosed),
                MatcherError::Fenced("another matcher".into()),
            ] {
                assert!(transient.is_transient(backend), "{transient}");
            }
            for poison in [
                MatcherError::BalanceLimit {
                    user: Uuid::nil(),
                    asset: Uuid::nil(),
                },
                MatcherError::Overflow(vec![1]),
                MatcherError::Corrupt("order 1: side".into()),
                MatcherError::Db(DbErr::RecordNotUpdated),
                MatcherError::Db(DbErr::Custom("2 of 3 orders to update were found".into())),
                sqlx_error(sqlx::Error::Decode("a REAL in a BIGINT column".into())),
            ] {
                assert!(!poison.is_transient(backend), "{poison}");
            }
        }
    }

    #[test]
    fn a_failed_batch_splits_by_market_then_in_halves() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let command = |seq, market_id| commands::Model {
            seq,
            market_id,
            kind: "place".into(),
            order_id: Some(seq),
            user_id: Uuid::nil(),
            created_at: Utc::now(),
            processed_at: None,
        };
        let seqs = |parts: Vec<Vec<commands::Model>>| -> Vec<Vec<i64>> {
            parts
                .into_iter()
                .map(|p| p.into_iter().map(|c| c.seq).collect())
                .collect()
        };
        let mixed = vec![command(1, a), command(2, b), command(3, a), command(4, b)];
        assert_eq!(seqs(split(mixed)), [vec![1, 3], vec![2, 4]]);
        let one_market = vec![command(1, a), command(2, a), command(3, a)];
        assert_eq!(seqs(split(one_market)), [vec![1], vec![2, 3]]);
    }
}
