//! Candle history written from outside the matcher: a demo (`rialto serve --demo`) back-fills
//! a few hours of candles so a fresh market's chart has a past. Only `candles` is written —
//! never `trades`, orders or the ledger — so the ledger audit is untouched; the ticker and
//! the recent trades (read from `trades`) show only what really traded.
//!
//! The past trades are folded into every interval the matcher keeps
//! ([`common::candles::INTERVALS`]) exactly as it folds a batch (bucket = the time truncated
//! to the width; open = first price, close = last, high, low, lots and count), so an M5
//! candle is the aggregate of its five M1s, and so on. A candle that already exists is never
//! overwritten (`ON CONFLICT DO NOTHING`): a race with the live matcher keeps the real one.

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, Utc};
use common::candles::INTERVALS;
use entity::candles;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, TryInsertResult};
use uuid::Uuid;

use crate::{BrainError, store::CHUNK};

/// One trade of a back-filled past: it shapes candles only and is not a row of `trades`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastTrade {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Price in ticks.
    pub price_ticks: u64,
    /// Quantity in lots.
    pub qty_lots: u64,
}

fn signed(v: u64, what: &str) -> Result<i64, BrainError> {
    i64::try_from(v).map_err(|_| BrainError::invalid(format!("{what} {v} is out of range")))
}

/// The candles of every interval that `trades` (oldest first) make, oldest first within
/// each interval, in the order of [`INTERVALS`].
///
/// # Errors
/// `InvalidInput` for trades out of time order, a zero or out-of-range price or quantity.
pub fn fold_candles(
    market_id: Uuid,
    trades: &[PastTrade],
) -> Result<Vec<candles::Model>, BrainError> {
    if trades.windows(2).any(|w| w[1].at < w[0].at) {
        return Err(BrainError::invalid("past trades are not in time order"));
    }
    let mut out = Vec::new();
    for (name, width) in INTERVALS {
        let mut buckets: BTreeMap<DateTime<Utc>, candles::Model> = BTreeMap::new();
        for t in trades {
            if t.price_ticks == 0 || t.qty_lots == 0 {
                return Err(BrainError::invalid("a past trade has no price or quantity"));
            }
            let price = signed(t.price_ticks, "price")?;
            let lots = signed(t.qty_lots, "quantity")?;
            let open_time =
                t.at.duration_trunc(width)
                    .map_err(|e| BrainError::invalid(format!("candle time: {e}")))?;
            let c = buckets.entry(open_time).or_insert(candles::Model {
                market_id,
                interval: name.to_owned(),
                open_time,
                open: price,
                high: price,
                low: price,
                close: price,
                volume_lots: 0,
                trade_count: 0,
            });
            c.high = c.high.max(price);
            c.low = c.low.min(price);
            c.close = price;
            c.volume_lots = c.volume_lots.saturating_add(lots);
            c.trade_count += 1;
        }
        out.extend(buckets.into_values());
    }
    Ok(out)
}

/// Writes the candles of every interval that `trades` (oldest first) make for one market,
/// skipping any candle that already exists; returns how many were written. Run it in a
/// transaction to write all or nothing.
///
/// # Errors
/// As [`fold_candles`], or a database fault.
pub async fn insert_candle_history(
    db: &impl ConnectionTrait,
    market_id: Uuid,
    trades: &[PastTrade],
) -> Result<u64, BrainError> {
    let rows = fold_candles(market_id, trades)?;
    let mut written = 0;
    for chunk in rows.chunks(CHUNK) {
        let models = chunk.iter().map(|c| candles::ActiveModel {
            market_id: Set(c.market_id),
            interval: Set(c.interval.clone()),
            open_time: Set(c.open_time),
            open: Set(c.open),
            high: Set(c.high),
            low: Set(c.low),
            close: Set(c.close),
            volume_lots: Set(c.volume_lots),
            trade_count: Set(c.trade_count),
        });
        match candles::Entity::insert_many(models)
            .on_conflict_do_nothing()
            .exec_without_returning(db)
            .await?
        {
            TryInsertResult::Inserted(n) => written += n,
            TryInsertResult::Conflicted | TryInsertResult::Empty => {}
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn at(minutes: i64, seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
            + TimeDelta::days(20_000)
            + TimeDelta::minutes(minutes)
            + TimeDelta::seconds(seconds)
    }

    fn trade(minutes: i64, seconds: i64, price_ticks: u64, qty_lots: u64) -> PastTrade {
        PastTrade {
            at: at(minutes, seconds),
            price_ticks,
            qty_lots,
        }
    }

    #[test]
    fn every_interval_aggregates_the_same_trades() {
        let trades = [
            trade(0, 10, 100, 2),
            trade(0, 40, 104, 1),
            trade(1, 0, 98, 3),
            trade(4, 59, 101, 1),
            trade(5, 0, 102, 5),
        ];
        let rows = fold_candles(Uuid::nil(), &trades).unwrap();
        let of = |name: &str| {
            rows.iter()
                .filter(|c| c.interval == name)
                .collect::<Vec<_>>()
        };
        let m1 = of("M1");
        assert_eq!(m1.len(), 4);
        assert_eq!(
            (
                m1[0].open,
                m1[0].high,
                m1[0].low,
                m1[0].close,
                m1[0].volume_lots
            ),
            (100, 104, 100, 104, 3)
        );
        let m5 = of("M5");
        assert_eq!(m5.len(), 2);
        assert_eq!(
            (
                m5[0].open,
                m5[0].high,
                m5[0].low,
                m5[0].close,
                m5[0].volume_lots
            ),
            (100, 104, 98, 101, 7)
        );
        assert_eq!(m5[0].trade_count, 4);
        for name in ["M15", "H1", "D1"] {
            let c = of(name);
            assert_eq!(c.len(), 1, "{name}");
            assert_eq!(
                (c[0].open, c[0].high, c[0].low, c[0].close),
                (100, 104, 98, 102)
            );
            assert_eq!((c[0].volume_lots, c[0].trade_count), (12, 5));
        }
        for c in &rows {
            assert!(c.low <= c.open.min(c.close) && c.open.max(c.close) <= c.high);
        }
    }

    #[test]
    fn out_of_order_or_empty_trades_are_refused() {
        assert!(fold_candles(Uuid::nil(), &[trade(1, 0, 1, 1), trade(0, 0, 1, 1)]).is_err());
        assert!(fold_candles(Uuid::nil(), &[trade(0, 0, 0, 1)]).is_err());
        assert!(fold_candles(Uuid::nil(), &[trade(0, 0, 1, 0)]).is_err());
    }
}
