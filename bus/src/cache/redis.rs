//! The cache of the distributed mode: Redis strings through a fred pool.

use std::sync::Arc;
use std::time::Duration;

use fred::prelude::{ClientLike, Expiration, KeysInterface, LuaInterface, Options, Pool};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::{Cache, Counter};

/// [`Cache::increment`] in one step, so no client sees a counter between its `INCR` and
/// its expiry: `KEYS[1]` the counter, `ARGV[1]` the window in milliseconds; returns the
/// count and the milliseconds left. A counter found without an expiry (written by `set`)
/// gets one rather than living for ever.
const INCREMENT: &str = r"
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if count == 1 or left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
";
use crate::{Error, RedisOptions};

/// [`Cache`] on Redis, every key named `{prefix}{key}`, with native expiry (`SET … PX`).
/// Calls fail at once while Redis is unreachable, so the caller goes to the database instead
/// of waiting. Clones share the pool.
#[derive(Clone)]
pub struct RedisCache {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    prefix: String,
    fail_fast: Options,
}

impl RedisCache {
    /// Connects a pool of `options.pool_size` connections to `url`; fails (within
    /// `options.connect_timeout`) if Redis cannot be reached.
    pub async fn connect(url: &str, options: &RedisOptions) -> Result<Self, Error> {
        let pool = options
            .builder(url, 32)?
            .build_pool(options.pool_size.max(1))
            .map_err(Error::fred)?;
        pool.init().await.map_err(Error::fred)?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                prefix: options.prefix.clone(),
                fail_fast: options.fail_fast(),
            }),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.inner.prefix)
    }
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

impl Cache for RedisCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, Error>> {
        async move {
            self.inner
                .pool
                .with_options(&self.inner.fail_fast)
                .get(self.key(key))
                .await
                .map_err(Error::fred)
        }
        .boxed()
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: String,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        async move {
            let expire = match ttl {
                Some(ttl) if ttl.is_zero() => return self.delete(key).await,
                // Whole milliseconds, rounded up so a sub-millisecond TTL still expires.
                Some(ttl) => Some(Expiration::PX(
                    i64::try_from(ttl.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX),
                )),
                None => None,
            };
            let () = self
                .inner
                .pool
                .with_options(&self.inner.fail_fast)
                .set(self.key(key), value, expire, None, false)
                .await
                .map_err(Error::fred)?;
            Ok(())
        }
        .boxed()
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        async move {
            let _removed: i64 = self
                .inner
                .pool
                .with_options(&self.inner.fail_fast)
                .del(self.key(key))
                .await
                .map_err(Error::fred)?;
            Ok(())
        }
        .boxed()
    }

    fn increment<'a>(
        &'a self,
        key: &'a str,
        window: Duration,
    ) -> BoxFuture<'a, Result<Counter, Error>> {
        async move {
            // Whole milliseconds, at least one (`PEXPIRE 0` would delete the counter).
            let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
            let (count, left): (i64, i64) = self
                .inner
                .pool
                .with_options(&self.inner.fail_fast)
                .eval(INCREMENT, vec![self.key(key)], vec![window_ms])
                .await
                .map_err(Error::fred)?;
            Ok(Counter {
                count: u64::try_from(count).unwrap_or(u64::MAX),
                resets_in: Duration::from_millis(u64::try_from(left).unwrap_or(0)),
            })
        }
        .boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), Error>> {
        async move {
            let () = self
                .inner
                .pool
                .with_options(&self.inner.fail_fast)
                .ping(None)
                .await
                .map_err(Error::fred)?;
            Ok(())
        }
        .boxed()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let pool = self.pool.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = pool.quit().await;
            });
        }
    }
}
