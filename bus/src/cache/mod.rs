//! [`Cache`]: string values with an optional time to live, for hot reads (markets, L2 book,
//! ticker, recent trades, candles) that the matcher's batches keep current. The cache is never
//! the truth: a miss or an error falls back to the database (ADR 0005).

mod local;
mod redis;

use std::time::Duration;

use futures_util::future::BoxFuture;

pub use local::{DEFAULT_ENTRIES, LocalCache};
pub use redis::RedisCache;

use crate::Error;

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

    /// Whether the cache answers now, for `/ready`.
    fn ping(&self) -> BoxFuture<'_, Result<(), Error>>;
}
