//! [`Cache`]: string values with an optional time to live, for hot reads (markets, L2 book,
//! ticker, recent trades, candles) that the matcher's batches keep current. The cache is never
//! the truth: a miss or an error falls back to the database (ADR 0005). It also keeps
//! counters with an expiry ([`Cache::increment`]), which every replica sharing the cache
//! shares: the auth service's login and sign-up limits count on them.

mod local;
mod redis;

use std::time::Duration;

use futures_util::future::BoxFuture;

pub use local::{DEFAULT_ENTRIES, LocalCache};
pub use redis::RedisCache;

use crate::Error;

/// A counter's value after [`Cache::increment`], and how long until it starts again from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// The count in the current window, this increment included (at least 1).
    pub count: u64,
    /// Time left in the current window.
    pub resets_in: Duration,
}

/// A key-value cache shared by the replicas of a service. Object-safe: `Arc<dyn Cache>`.
pub trait Cache: Send + Sync + 'static {
    /// The value of `key`, or `None` if absent or expired.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, Error>>;

    /// Stores `value` under `key`, replacing any previous value, for `ttl` (`None`: until
    /// deleted or evicted; a zero `ttl` removes the key).
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: String,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Removes `key`; removing an absent key is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>>;

    /// Adds one to the counter at `key` and returns it: a fixed window. An absent or expired
    /// counter starts at 1 and lives `window` from then; later increments keep its expiry.
    /// Atomic for every client of the same cache (on Redis, one Lua script), so replicas
    /// sharing a Redis share the count. The key space is the same as [`Cache::get`]'s.
    fn increment<'a>(
        &'a self,
        key: &'a str,
        window: Duration,
    ) -> BoxFuture<'a, Result<Counter, Error>>;

    /// Whether the cache answers now, for `/ready`.
    fn ping(&self) -> BoxFuture<'_, Result<(), Error>>;
}
