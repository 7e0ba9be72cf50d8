//! The two I/O seams of DESIGN.md §1: the [`EventBus`] that carries market and user events from
//! the matcher to every subscriber, and the [`Cache`] of hot reads. Each has an in-process
//! implementation (embedded mode) and a Redis one through fred (distributed mode); nothing
//! above this crate knows which one it holds. It lives apart from `common` so that crate stays
//! free of I/O. Decisions: `docs/decisions/0005-trading-data-model-and-units.md`, "Bus and cache".

use std::sync::Arc;

pub mod cache;
mod error;
pub mod event_bus;
mod redis;
#[cfg(feature = "testing")]
pub mod testing;

pub use cache::{Cache, Counter, LocalCache, RedisCache};
pub use error::Error;
pub use event_bus::{BusItem, EventBus, LocalBus, RedisBus, Subscription};
pub use redis::RedisOptions;

/// The embedded mode's bus and cache, both in process, with default sizes.
pub fn local() -> (Arc<dyn EventBus>, Arc<dyn Cache>) {
    (Arc::new(LocalBus::new()), Arc::new(LocalCache::new()))
}

/// The distributed mode's bus and cache on the Redis at `url` (`redis://host:port[/db]`), every
/// channel and key under `prefix` (`rialto:` in production); default timeouts and sizes.
///
/// Fails rather than waits when Redis cannot be reached within the connection timeout, so a
/// service started without its Redis says so at start-up.
pub async fn connect_redis(
    url: &str,
    prefix: &str,
) -> Result<(Arc<dyn EventBus>, Arc<dyn Cache>), Error> {
    connect_redis_with(url, &RedisOptions::new(prefix)).await
}

/// [`connect_redis`] with explicit options (buffer size, timeouts, reconnect delay, pool size).
pub async fn connect_redis_with(
    url: &str,
    options: &RedisOptions,
) -> Result<(Arc<dyn EventBus>, Arc<dyn Cache>), Error> {
    let bus = RedisBus::connect(url, options).await?;
    let cache = RedisCache::connect(url, options).await?;
    Ok((Arc::new(bus), Arc::new(cache)))
}
