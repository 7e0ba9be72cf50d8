//! The in-process cache of the embedded mode: a bounded map with expiry times.

use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, ready};

use quick_cache::sync::{EntryAction, EntryResult};

use super::{Cache, Counter};
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

impl LocalCache {
    fn increment_now(&self, key: &str, window: Duration) -> Counter {
        let now = Instant::now();
        let fresh = || Entry {
            value: "1".to_owned(),
            expires_at: now.checked_add(window),
        };
        let counter = |entry: &Entry| Counter {
            count: entry.value.parse().unwrap_or(1),
            resets_in: entry
                .expires_at
                .map_or(window, |at| at.saturating_duration_since(now)),
        };
        // `entry` holds the shard's lock across the read and the write: concurrent
        // increments of one key each see the other's.
        match self.entries.entry(key, None, |_, entry| {
            match entry.value.parse::<u64>() {
                Ok(n) if entry.is_live(now) => entry.value = n.saturating_add(1).to_string(),
                // Expired, or a value that is no counter: a new window.
                _ => *entry = fresh(),
            }
            EntryAction::Retain(counter(entry))
        }) {
            EntryResult::Retained(now_counted) => now_counted,
            EntryResult::Vacant(guard) => {
                let entry = fresh();
                let first = counter(&entry);
                let _ = guard.insert(entry);
                first
            }
            // Not produced by `Retain` without a timeout; a fresh window is the safe answer.
            EntryResult::Removed(..) | EntryResult::Replaced(..) | EntryResult::Timeout => {
                counter(&fresh())
            }
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

    fn increment<'a>(
        &'a self,
        key: &'a str,
        window: Duration,
    ) -> BoxFuture<'a, Result<Counter, Error>> {
        ready(Ok(self.increment_now(key, window))).boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), Error>> {
        ready(Ok(())).boxed()
    }
}
