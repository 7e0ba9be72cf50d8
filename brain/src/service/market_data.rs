//! Public market data: the book, recent trades, candles and the ticker of a market. Anyone
//! may read them. Each use case is one store read behind the service's hot cache
//! ([`crate::hot`]), versioned by the market's version that the matcher writes after every
//! batch, so a cached answer is never older than the last batch the caller could know of.

use chrono::{DateTime, Utc};
use common::hot::market_version_key;

use super::BrainService;
use crate::{
    BrainError,
    domain::market::Market,
    hot::{DEFAULT_TTL, Kind, TICKER_TTL, keys},
    store::{
        self,
        market_data::{BookSnapshot, Candle, CandleRange, Interval, MarketTrade, Ticker},
    },
};

/// The deepest book a client may ask for, levels per side.
pub const MAX_BOOK_DEPTH: i32 = 100;
/// Levels per side when the client does not say how many.
pub const DEFAULT_BOOK_DEPTH: i32 = 20;
/// The most recent trades a client may ask for at once.
pub const MAX_TRADES: i32 = 500;
/// Trades returned when the client does not say how many.
pub const DEFAULT_TRADES: i32 = 50;
/// The most candles a client may ask for at once.
pub const MAX_CANDLES: i32 = 1_000;
/// Candles returned when the client does not say how many.
pub const DEFAULT_CANDLES: i32 = 500;

/// `value` within `1..=max`, as a row count; `BAD_USER_INPUT` naming `field` otherwise.
fn bounded(field: &str, value: i32, max: i32) -> Result<u64, BrainError> {
    if (1..=max).contains(&value) {
        u64::try_from(value).map_err(|_| BrainError::invalid(format!("{field} is out of range")))
    } else {
        Err(BrainError::invalid(format!(
            "{field} must be between 1 and {max}"
        )))
    }
}

impl BrainService {
    /// The L2 book of `market`, `depth` levels a side (1–[`MAX_BOOK_DEPTH`],
    /// [`DEFAULT_BOOK_DEPTH`] when absent), best first, with the market sequence it is as
    /// of. Public.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for a depth out of range; a database fault.
    pub async fn order_book(
        &self,
        market: &Market,
        depth: Option<i32>,
    ) -> Result<BookSnapshot, BrainError> {
        let depth = bounded("depth", depth.unwrap_or(DEFAULT_BOOK_DEPTH), MAX_BOOK_DEPTH)?;
        self.hot()
            .read(
                Kind::Book,
                &keys::book(market.id, depth),
                &market_version_key(market.id),
                DEFAULT_TTL,
                || store::market_data::order_book(self.db(), market.id, depth),
            )
            .await
    }

    /// Every level of `market`'s book with its sequence: the starting state of a live book
    /// view, which must know the levels below what its client sees.
    ///
    /// # Errors
    /// A database fault.
    pub async fn full_book(&self, market: &Market) -> Result<BookSnapshot, BrainError> {
        self.hot()
            .read(
                Kind::Book,
                &keys::full_book(market.id),
                &market_version_key(market.id),
                DEFAULT_TTL,
                || store::market_data::order_book(self.db(), market.id, u64::from(u32::MAX)),
            )
            .await
    }

    /// The last `limit` trades of `market` (1–[`MAX_TRADES`], [`DEFAULT_TRADES`] when
    /// absent), newest first. Public.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for a limit out of range; a database fault.
    pub async fn recent_trades(
        &self,
        market: &Market,
        limit: Option<i32>,
    ) -> Result<Vec<MarketTrade>, BrainError> {
        let limit = bounded("limit", limit.unwrap_or(DEFAULT_TRADES), MAX_TRADES)?;
        self.hot()
            .read(
                Kind::Trades,
                &keys::trades(market.id, limit),
                &market_version_key(market.id),
                DEFAULT_TTL,
                || store::market_data::recent_trades(self.db(), market.id, limit),
            )
            .await
    }

    /// Candles of `market`, oldest first: with `from`, the first `limit` opening in
    /// `[from, to]`; without, the latest `limit` (up to `to`). `limit` is 1–[`MAX_CANDLES`],
    /// [`DEFAULT_CANDLES`] when absent. Public.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` for a limit out of range or `from` after `to`; a database fault.
    pub async fn candles(
        &self,
        market: &Market,
        interval: Interval,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        limit: Option<i32>,
    ) -> Result<Vec<Candle>, BrainError> {
        let limit = bounded("limit", limit.unwrap_or(DEFAULT_CANDLES), MAX_CANDLES)?;
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(BrainError::invalid("from must not be after to"));
        }
        let range = CandleRange {
            interval,
            from,
            to,
            limit,
        };
        self.hot()
            .read(
                Kind::Candles,
                &keys::candles(market.id, &range),
                &market_version_key(market.id),
                DEFAULT_TTL,
                || store::market_data::candles(self.db(), market.id, &range),
            )
            .await
    }

    /// The ticker of `market` now: last price, best bid and ask, and the last 24 hours'
    /// open, high, low and volume. Public.
    ///
    /// # Errors
    /// A database fault.
    pub async fn ticker(&self, market: &Market) -> Result<Ticker, BrainError> {
        // Cached for a second only: the 24 h window moves with the clock, not with batches.
        self.hot()
            .read(
                Kind::Ticker,
                &keys::ticker(market.id),
                &market_version_key(market.id),
                TICKER_TTL,
                || store::market_data::ticker(self.db(), market.id, Self::now()),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_must_be_within_their_bounds() {
        assert_eq!(bounded("depth", 1, MAX_BOOK_DEPTH).ok(), Some(1));
        assert_eq!(bounded("depth", 100, MAX_BOOK_DEPTH).ok(), Some(100));
        for bad in [0, -1, 101, i32::MIN, i32::MAX] {
            let err = bounded("depth", bad, MAX_BOOK_DEPTH);
            assert!(matches!(err, Err(BrainError::InvalidInput(_))), "{bad}");
        }
    }
}
