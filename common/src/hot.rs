//! The cache keys that say how new the hot reads are (DESIGN.md §5, ADR 0005 "Bus and
//! cache"). Whoever changes data writes a fresh **version** under its version key once the
//! change is committed: the matcher one per market after each batch
//! ([`market_version_key`]), brain's catalog admin acts one for the whole catalog
//! ([`CATALOG_VERSION_KEY`]). Readers (brain's `hot` module) label every cached value with the
//! version they read *before* going to the database, and serve a value only while its label
//! is still the current version, so a committed change is never hidden by the cache.
//!
//! The names live in `common` because both the matcher (the writer) and brain (the reader)
//! need them.
//!
//! A version is unique per write ([`new_market_version`]), not just the sequence: any write
//! then only ever invalidates, whatever order writes land in. A matcher that lost a market
//! and retries an old write late, or one restarted on an older state, cannot bring back
//! values labelled with a version that was current before.

use uuid::Uuid;

/// The key of the catalog's version (assets, markets and their status).
pub const CATALOG_VERSION_KEY: &str = "cat:v";

/// The key of a market's version: its public data (book, trades, candles, ticker) changes
/// only in the matcher's batches, which write it after each commit.
pub fn market_version_key(market: Uuid) -> String {
    format!("mkt:{market}:v")
}

/// A fresh version for a market whose last event sequence is `seq`: the sequence (for
/// people reading the cache) and a unique suffix (so that the value is never written twice).
pub fn new_market_version(seq: i64) -> String {
    format!("{seq}.{}", Uuid::now_v7().simple())
}

/// A fresh catalog version: unique per write, like [`new_market_version`].
pub fn new_catalog_version() -> String {
    Uuid::now_v7().simple().to_string()
}

/// The event sequence a market version names, if it is one (for operators and tests).
pub fn market_version_seq(version: &str) -> Option<i64> {
    version.split_once('.')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_unique_per_write_and_name_their_sequence() {
        let (a, b) = (new_market_version(42), new_market_version(42));
        assert_ne!(a, b);
        assert_eq!(market_version_seq(&a), Some(42));
        assert_eq!(market_version_seq("junk"), None);
        assert_ne!(new_catalog_version(), new_catalog_version());
    }

    #[test]
    fn version_keys_are_per_market() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_ne!(market_version_key(a), market_version_key(b));
        assert_eq!(market_version_key(a), format!("mkt:{a}:v"));
        assert_ne!(market_version_key(a), CATALOG_VERSION_KEY);
    }
}
