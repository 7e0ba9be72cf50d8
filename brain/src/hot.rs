//! Hot reads through the cache (DESIGN.md §5, issue #5): the catalog (assets, markets), and
//! each market's L2 book, recent trades, candles and ticker, served from [`bus::Cache`] while
//! they are current, from the database otherwise. The cache is never the truth.
//!
//! **Versioned read-through.** Whoever changes data writes a fresh version once the change is
//! committed (`common::hot`): the matcher one per market after every batch, the catalog's
//! admin acts ([`HotCache::bump_catalog`]) one for the catalog. [`HotCache::read`] reads the
//! version `V` first, then the value; a value is served only if it is labelled `V`.
//! Otherwise the database answers and the answer is stored labelled `V`. Because `V` is read
//! *before* the database, a value labelled `V` is at least as new as the change that wrote
//! `V`, and the next change writes another version: a value that a committed change made old
//! is never served. Versions are unique per write, so writes landing late or out of order
//! only invalidate. With no version in the cache (never written, evicted, Redis restarted)
//! nothing is cached: the database answers.
//!
//! **Failure.** Any cache error, a call taking longer than [`OP_TIMEOUT`], or a value that
//! does not decode counts against the cache and the database answers: reads never fail
//! because of the cache. After an error the cache is bypassed for [`BYPASS_AFTER_ERROR`], so
//! an unreachable Redis costs one timeout per second, not one per read; that pause is longer
//! than the matcher's retry of a failed version write (its idle poll, 200 ms), so a blip
//! both sides saw cannot leave a stale value readable once the cache is back. A catalog
//! version that could not be written is retried in the background, and until it is, this
//! service reads the catalog from the database.
//!
//! **Metrics** (the `metrics` facade; exported by the gateway's `/metrics`):
//! - `rialto_cache_requests_total{kind, result}`: counter of hot reads; `kind` is one of
//!   [`Kind::as_str`] (`assets`, `markets`, `market`, `book`, `trades`, `candles`,
//!   `ticker`), `result` is `hit` (the cache answered), `miss` (the database answered and
//!   the value was stored, or no version was known) or `error` (the cache failed or was
//!   bypassed after a failure; the database answered);
//! - `rialto_cache_hit_ratio{kind}`: gauge, hits / all reads of that kind since start (an
//!   error counts as a read the cache did not answer), so an outage shows as a falling ratio.
//!
//! The same counts are readable in process through [`HotCache::counts`]
//! (`BrainService::cache_stats`).

use std::{
    future::Future,
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bus::Cache;
use chrono::{DateTime, SecondsFormat, Utc};
use common::hot::{CATALOG_VERSION_KEY, new_catalog_version};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::{BrainError, store::market_data::CandleRange};

/// How long a cached value lives at most. Versions decide freshness; this only bounds the
/// memory of values nobody reads any more (and staleness if a writer forgot its version).
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// How long a cached ticker lives: its 24 h window moves with the clock, not only with trades.
pub const TICKER_TTL: Duration = Duration::from_secs(1);
/// The longest one cache call may take before the database answers instead.
pub const OP_TIMEOUT: Duration = Duration::from_millis(100);
/// How long the cache is left alone after it failed.
pub const BYPASS_AFTER_ERROR: Duration = Duration::from_secs(1);
/// How often an unwritten catalog version is retried.
const CATALOG_RETRY: Duration = Duration::from_millis(200);
/// At most one warning per this long about a failing cache (the rest are debug).
const WARN_EVERY: Duration = Duration::from_secs(10);

/// What a hot read reads: the label of its metrics and of its counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The asset list.
    Assets,
    /// The market list.
    Markets,
    /// One market, by symbol or id.
    Market,
    /// A market's L2 book (any depth, or in full).
    Book,
    /// A market's recent trades.
    Trades,
    /// A market's candles.
    Candles,
    /// A market's ticker.
    Ticker,
}

impl Kind {
    /// Every kind, for reports.
    pub const ALL: [Kind; 7] = [
        Kind::Assets,
        Kind::Markets,
        Kind::Market,
        Kind::Book,
        Kind::Trades,
        Kind::Candles,
        Kind::Ticker,
    ];

    /// The `kind` label of the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assets => "assets",
            Self::Markets => "markets",
            Self::Market => "market",
            Self::Book => "book",
            Self::Trades => "trades",
            Self::Candles => "candles",
            Self::Ticker => "ticker",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Assets => 0,
            Self::Markets => 1,
            Self::Market => 2,
            Self::Book => 3,
            Self::Trades => 4,
            Self::Candles => 5,
            Self::Ticker => 6,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Hit,
    Miss,
    Error,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Error => "error",
        }
    }
}

/// How the reads of one [`Kind`] went since the service started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Answered by the cache.
    pub hits: u64,
    /// Answered by the database, the cache working.
    pub misses: u64,
    /// Answered by the database because the cache failed (or was left alone after failing).
    pub errors: u64,
}

impl Counts {
    /// Hits over all reads (0 before any read).
    pub fn hit_ratio(&self) -> f64 {
        let all = self.hits + self.misses + self.errors;
        if all == 0 {
            0.0
        } else {
            self.hits as f64 / all as f64
        }
    }
}

/// A cached value and the version it is as new as. `v` first: it is all a stale value is
/// read for.
#[derive(Deserialize)]
struct Entry<T> {
    v: String,
    data: T,
}

#[derive(Serialize)]
struct EntryRef<'a, T> {
    v: &'a str,
    data: &'a T,
}

/// The versioned read-through cache of the hot reads. Cheap to clone (clones share the
/// cache, the counts and the failure state).
#[derive(Clone)]
pub struct HotCache {
    inner: Arc<Inner>,
}

struct Inner {
    cache: Arc<dyn Cache>,
    /// Per kind: hits, misses, errors.
    counts: [[AtomicU64; 3]; 7],
    started: Instant,
    /// Milliseconds since `started` before which the cache is bypassed.
    bypass_until: AtomicU64,
    /// Milliseconds since `started` of the last warning, plus one (0: none yet).
    warned_at: AtomicU64,
    /// A catalog version is waiting to be written: read the catalog from the database.
    catalog_pending: AtomicBool,
}

impl std::fmt::Debug for HotCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotCache").finish_non_exhaustive()
    }
}

impl HotCache {
    /// Hot reads through `cache`.
    pub fn new(cache: Arc<dyn Cache>) -> Self {
        Self {
            inner: Arc::new(Inner {
                cache,
                counts: Default::default(),
                started: Instant::now(),
                bypass_until: AtomicU64::new(0),
                warned_at: AtomicU64::new(0),
                catalog_pending: AtomicBool::new(false),
            }),
        }
    }

    /// The cache underneath, for readiness checks.
    pub fn cache(&self) -> &Arc<dyn Cache> {
        &self.inner.cache
    }

    /// How the reads of `kind` went so far.
    pub fn counts(&self, kind: Kind) -> Counts {
        let [hits, misses, errors] = &self.inner.counts[kind.index()];
        Counts {
            hits: hits.load(Ordering::Relaxed),
            misses: misses.load(Ordering::Relaxed),
            errors: errors.load(Ordering::Relaxed),
        }
    }

    /// The value of `key` if the cache holds it labelled with the current version under
    /// `version_key`; otherwise `load()` (the database), stored labelled with that version
    /// for `ttl`. Without a current version, or with a failing cache, `load()` answers and
    /// nothing is stored.
    ///
    /// # Errors
    /// Only `load`'s: the cache's own failures are never the caller's.
    pub async fn read<T, F, Fut>(
        &self,
        kind: Kind,
        key: &str,
        version_key: &str,
        ttl: Duration,
        load: F,
    ) -> Result<T, BrainError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, BrainError>>,
    {
        let catalog_pending = version_key == CATALOG_VERSION_KEY
            && self.inner.catalog_pending.load(Ordering::Acquire);
        if catalog_pending || self.bypassed() {
            self.count(kind, Outcome::Error);
            return load().await;
        }
        let version = match self.call(self.inner.cache.get(version_key)).await {
            Ok(Some(v)) => v,
            Ok(None) => {
                self.count(kind, Outcome::Miss);
                return load().await;
            }
            Err(e) => {
                self.failed(kind, key, &e);
                return load().await;
            }
        };
        match self.call(self.inner.cache.get(key)).await {
            Ok(Some(raw)) => match serde_json::from_str::<Entry<T>>(&raw) {
                Ok(entry) if entry.v == version => {
                    self.count(kind, Outcome::Hit);
                    return Ok(entry.data);
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(key, error = %e, "undecodable cached value; reloading"),
            },
            Ok(None) => {}
            Err(e) => {
                self.failed(kind, key, &e);
                return load().await;
            }
        }
        self.count(kind, Outcome::Miss);
        let data = load().await?;
        match serde_json::to_string(&EntryRef {
            v: &version,
            data: &data,
        }) {
            Ok(raw) => {
                if let Err(e) = self.call(self.inner.cache.set(key, raw, Some(ttl))).await {
                    self.trip(key, &e);
                }
            }
            Err(e) => tracing::debug!(key, error = %e, "value not cacheable"),
        }
        Ok(data)
    }

    /// Writes a fresh catalog version: call it after a catalog change commits. If the cache
    /// refuses, the write is retried in the background and, until it lands, this service
    /// reads the catalog from the database.
    pub async fn bump_catalog(&self) {
        if self.write_catalog_version().await {
            self.inner.catalog_pending.store(false, Ordering::Release);
            return;
        }
        if self.inner.catalog_pending.swap(true, Ordering::AcqRel) {
            return; // a retry is already running
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // no runtime to retry on: the catalog stays uncached here
        };
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(CATALOG_RETRY).await;
                let Some(inner) = weak.upgrade() else { return };
                let this = HotCache { inner };
                if this.write_catalog_version().await {
                    this.inner.catalog_pending.store(false, Ordering::Release);
                    tracing::info!("catalog version written again");
                    return;
                }
            }
        });
    }

    async fn write_catalog_version(&self) -> bool {
        let set = self
            .inner
            .cache
            .set(CATALOG_VERSION_KEY, new_catalog_version(), None);
        match self.call(set).await {
            Ok(()) => true,
            Err(e) => {
                self.trip(CATALOG_VERSION_KEY, &e);
                false
            }
        }
    }

    /// One cache call, bounded by [`OP_TIMEOUT`].
    async fn call<R>(&self, op: BoxFuture<'_, Result<R, bus::Error>>) -> Result<R, String> {
        match tokio::time::timeout(OP_TIMEOUT, op).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {OP_TIMEOUT:?}")),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.inner.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn bypassed(&self) -> bool {
        self.now_ms() < self.inner.bypass_until.load(Ordering::Relaxed)
    }

    /// A read that the cache failed: counted, and the cache left alone for a while.
    fn failed(&self, kind: Kind, key: &str, error: &str) {
        self.count(kind, Outcome::Error);
        self.trip(key, error);
    }

    fn trip(&self, key: &str, error: &str) {
        let now = self.now_ms();
        let pause = u64::try_from(BYPASS_AFTER_ERROR.as_millis()).unwrap_or(u64::MAX);
        self.inner
            .bypass_until
            .store(now.saturating_add(pause), Ordering::Relaxed);
        let every = u64::try_from(WARN_EVERY.as_millis()).unwrap_or(u64::MAX);
        let last = self.inner.warned_at.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last - 1) >= every;
        if due
            && self
                .inner
                .warned_at
                .compare_exchange(last, now + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(key, error, "cache failed; reading from the database");
        } else {
            tracing::debug!(key, error, "cache failed; reading from the database");
        }
    }

    fn count(&self, kind: Kind, outcome: Outcome) {
        let slot = match outcome {
            Outcome::Hit => 0,
            Outcome::Miss => 1,
            Outcome::Error => 2,
        };
        self.inner.counts[kind.index()][slot].fetch_add(1, Ordering::Relaxed);
        metrics::counter!(
            "rialto_cache_requests_total",
            "kind" => kind.as_str(),
            "result" => outcome.as_str(),
        )
        .increment(1);
        metrics::gauge!("rialto_cache_hit_ratio", "kind" => kind.as_str())
            .set(self.counts(kind).hit_ratio());
    }
}

/// The keys of the cached values (each market's version key is `common::hot`'s).
pub mod keys {
    use super::{CandleRange, DateTime, SecondsFormat, Utc, Uuid};

    /// The longest market symbol (`BASE-QUOTE`, 12 characters each).
    const MAX_SYMBOL: usize = 25;

    /// The asset list.
    pub const ASSETS: &str = "cat:assets";
    /// The market list.
    pub const MARKETS: &str = "cat:markets";

    /// A market by symbol; `None` for text that cannot be a market symbol (it is looked up
    /// in the database, so arbitrary input cannot fill the cache).
    pub fn market_by_symbol(symbol: &str) -> Option<String> {
        let shaped = (3..=MAX_SYMBOL).contains(&symbol.len())
            && symbol
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        shaped.then(|| format!("cat:market:sym:{symbol}"))
    }

    /// A market by id.
    pub fn market_by_id(id: Uuid) -> String {
        format!("cat:market:id:{id}")
    }

    /// A market's book, `depth` levels a side.
    pub fn book(market: Uuid, depth: u64) -> String {
        format!("mkt:{market}:book:{depth}")
    }

    /// A market's whole book.
    pub fn full_book(market: Uuid) -> String {
        format!("mkt:{market}:book:all")
    }

    /// A market's last `limit` trades.
    pub fn trades(market: Uuid, limit: u64) -> String {
        format!("mkt:{market}:trades:{limit}")
    }

    /// A market's candles of one query.
    pub fn candles(market: Uuid, range: &CandleRange) -> String {
        let at = |t: Option<DateTime<Utc>>| {
            t.map_or_else(
                || "-".to_owned(),
                |t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            )
        };
        format!(
            "mkt:{market}:candles:{}:{}:{}:{}",
            range.interval.as_str(),
            at(range.from),
            at(range.to),
            range.limit
        )
    }

    /// A market's ticker.
    pub fn ticker(market: Uuid) -> String {
        format!("mkt:{market}:ticker")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use bus::testing::FlakyCache;

    use super::*;

    const VERSION: &str = "test:v";

    fn flaky() -> (Arc<FlakyCache>, HotCache) {
        let cache = Arc::new(FlakyCache::default());
        (cache.clone(), HotCache::new(cache))
    }

    /// Reads `key` with a loader that answers `value` and counts its calls.
    async fn read(hot: &HotCache, value: u32, loads: &AtomicUsize) -> u32 {
        hot.read(Kind::Book, "test:key", VERSION, DEFAULT_TTL, || async {
            loads.fetch_add(1, Ordering::Relaxed);
            Ok(value)
        })
        .await
        .expect("the loader does not fail")
    }

    async fn set(cache: &FlakyCache, key: &str, value: &str) {
        cache
            .inner
            .set(key, value.to_owned(), None)
            .await
            .expect("a local cache does not fail");
    }

    #[tokio::test]
    async fn without_a_version_the_database_answers_and_nothing_is_stored() {
        let (cache, hot) = flaky();
        let loads = AtomicUsize::new(0);
        assert_eq!(read(&hot, 1, &loads).await, 1);
        assert_eq!(read(&hot, 2, &loads).await, 2);
        assert_eq!(loads.load(Ordering::Relaxed), 2);
        assert_eq!(cache.inner.get("test:key").await, Ok(None));
        assert_eq!(hot.counts(Kind::Book).misses, 2);
    }

    #[tokio::test]
    async fn a_value_is_served_only_while_its_version_is_current() {
        let (cache, hot) = flaky();
        let loads = AtomicUsize::new(0);
        set(&cache, VERSION, "1.a").await;
        assert_eq!(read(&hot, 10, &loads).await, 10, "miss: loaded");
        assert_eq!(read(&hot, 11, &loads).await, 10, "hit: the cached value");
        assert_eq!(loads.load(Ordering::Relaxed), 1);

        set(&cache, VERSION, "2.b").await;
        assert_eq!(read(&hot, 20, &loads).await, 20, "a new version is a miss");
        assert_eq!(read(&hot, 21, &loads).await, 20);
        assert_eq!(
            hot.counts(Kind::Book),
            Counts {
                hits: 2,
                misses: 2,
                errors: 0
            }
        );
        assert!((hot.counts(Kind::Book).hit_ratio() - 0.5).abs() < 1e-9);
        assert_eq!(hot.counts(Kind::Ticker), Counts::default());
    }

    #[tokio::test]
    async fn an_undecodable_value_is_a_miss() {
        let (cache, hot) = flaky();
        let loads = AtomicUsize::new(0);
        set(&cache, VERSION, "1.a").await;
        set(&cache, "test:key", "{not json").await;
        assert_eq!(read(&hot, 5, &loads).await, 5);
        assert_eq!(read(&hot, 6, &loads).await, 5, "replaced by a good one");
    }

    #[tokio::test]
    async fn a_failing_cache_leaves_the_database_to_answer() {
        let (cache, hot) = flaky();
        let loads = AtomicUsize::new(0);
        set(&cache, VERSION, "1.a").await;
        assert_eq!(read(&hot, 1, &loads).await, 1);
        cache.set_down(true);
        assert_eq!(
            read(&hot, 2, &loads).await,
            2,
            "error: the database answers"
        );
        assert_eq!(read(&hot, 3, &loads).await, 3, "bypassed for a while");
        assert_eq!(hot.counts(Kind::Book).errors, 2);
        // Back, and after the pause the cache answers again.
        cache.set_down(false);
        tokio::time::sleep(BYPASS_AFTER_ERROR + Duration::from_millis(50)).await;
        assert_eq!(read(&hot, 4, &loads).await, 1, "the value labelled 1.a");
    }

    #[tokio::test]
    async fn a_catalog_version_that_cannot_be_written_is_retried_and_bypasses_meanwhile() {
        let (cache, hot) = flaky();
        let loads = AtomicUsize::new(0);
        let read_catalog = |value: u32| {
            let (hot, loads) = (&hot, &loads);
            async move {
                hot.read(
                    Kind::Markets,
                    keys::MARKETS,
                    CATALOG_VERSION_KEY,
                    DEFAULT_TTL,
                    || async {
                        loads.fetch_add(1, Ordering::Relaxed);
                        Ok(value)
                    },
                )
                .await
                .expect("the loader does not fail")
            }
        };
        hot.bump_catalog().await;
        assert_eq!(read_catalog(1).await, 1);
        assert_eq!(read_catalog(2).await, 1, "cached under the catalog version");

        cache.set_down(true);
        hot.bump_catalog().await;
        cache.set_down(false);
        // The old version still stands in the cache, but this service does not trust it.
        assert_eq!(read_catalog(3).await, 3);
        tokio::time::sleep(CATALOG_RETRY * 3).await;
        assert!(
            !hot.inner.catalog_pending.load(Ordering::Acquire),
            "retried"
        );
        tokio::time::sleep(BYPASS_AFTER_ERROR).await;
        assert_eq!(read_catalog(4).await, 4, "a new version: loaded again");
        assert_eq!(read_catalog(5).await, 4);
    }

    #[test]
    fn only_market_shaped_symbols_get_a_key() {
        assert!(keys::market_by_symbol("ACME-USD").is_some());
        assert!(keys::market_by_symbol("acme-usd").is_none());
        assert!(keys::market_by_symbol(&"A".repeat(26)).is_none());
        assert!(keys::market_by_symbol("A:B").is_none());
    }
}
