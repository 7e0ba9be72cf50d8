//! The in-process cache of the embedded mode: a bounded map with expiry times.

use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, ready};

use super::Cache;
use crate::Error;

/// Entries kept by [`LocalCache::new`]: plenty for the hot reads of a few hundred markets.
pub const DEFAULT_ENTRIES: usize = 10_000;

#[derive(Clone)]
struct Entry {
    value: String,
    expires_at: Option<Instant>,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// [`Cache`] within one process, bounded to a number of entries (the least useful are evicted
/// first, `quick_cache`'s policy); an expired entry is dropped when next read or evicted.
pub struct LocalCache {
    entries: quick_cache::sync::Cache<String, Entry>,
}

impl LocalCache {
    /// A cache of up to [`DEFAULT_ENTRIES`] entries.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_ENTRIES)
    }

    /// A cache of up to `entries` (at least 1) entries.
    pub fn with_capacity(entries: usize) -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(entries.max(1)),
        }
    }

    fn get_now(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        match self.entries.get(key) {
            Some(entry) if entry.is_live(now) => Some(entry.value),
            Some(_) => {
                // Only if still expired: a concurrent `set` may have replaced it.
                self.entries.remove_if(key, |entry| !entry.is_live(now));
                None
            }
            None => None,
        }
    }
}

impl Default for LocalCache {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LocalCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCache")
            .field("entries", &self.entries.len())
            .field("capacity", &self.entries.capacity())
            .finish()
    }
}

impl Cache for LocalCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, Error>> {
        ready(Ok(self.get_now(key))).boxed()
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: String,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        match ttl {
            Some(ttl) if ttl.is_zero() => {
                self.entries.remove(key);
            }
            _ => {
                let expires_at = ttl.and_then(|ttl| Instant::now().checked_add(ttl));
                self.entries
                    .insert(key.to_owned(), Entry { value, expires_at });
            }
        }
        ready(Ok(())).boxed()
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        self.entries.remove(key);
        ready(Ok(())).boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), Error>> {
        ready(Ok(())).boxed()
    }
}
