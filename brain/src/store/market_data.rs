//! Public market data read from the matcher's tables: the L2 book (from live orders), the
//! recent trades, the candles and the 24 h ticker. Each read is one function, and the service
//! puts the cache (`crate::hot`) in front of it; the types are serde so they can be cached.
//!
//! Prices stay in ticks and quantities in lots (integers) here; the schema formats them.

use chrono::{DateTime, TimeDelta, Utc};
use engine::Side;
use entity::{candles, market_events, orders, trades};
use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, EntityTrait, IsolationLevel, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::corrupt;
use crate::BrainError;

/// Statuses of the orders that rest in the book (an `accepted` order has not reached the
/// matcher yet, so it is not part of the book).
const IN_BOOK: [&str; 2] = ["open", "partially_filled"];

/// The window of the ticker's open, high, low and volume.
pub const TICKER_WINDOW: TimeDelta = TimeDelta::hours(24);

/// One aggregated price level of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// Price in ticks.
    pub price_ticks: u64,
    /// Open lots at this price (the sum of every live order's unfilled quantity).
    pub qty_lots: u64,
    /// Live orders at this price.
    pub orders: u32,
}

/// A consistent L2 view of one market: both sides and the market sequence they are as of,
/// so a subscriber can apply the deltas that follow it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BookSnapshot {
    /// The market's highest event sequence when the book was read (0 before any event).
    pub sequence: i64,
    /// Bids, best (highest) first.
    pub bids: Vec<Level>,
    /// Asks, best (lowest) first.
    pub asks: Vec<Level>,
}

/// A trade as the public sees it: no parties, no fees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketTrade {
    /// The trades table's id.
    pub id: i64,
    /// The market's trade sequence (1, 2, ...).
    pub seq: i64,
    /// Price in ticks.
    pub price_ticks: u64,
    /// Quantity in lots.
    pub qty_lots: u64,
    /// The incoming order's side.
    #[serde(with = "side_serde")]
    pub taker_side: Side,
    /// When it executed.
    pub executed_at: DateTime<Utc>,
}

/// The engine's [`Side`] in a cached value, spelled as on the bus (`buy`, `sell`): the engine
/// stays free of serde.
mod side_serde {
    use common::events::WireSide;
    use engine::Side;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(side: &Side, s: S) -> Result<S::Ok, S::Error> {
        WireSide::from(*side).serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Side, D::Error> {
        Ok(match WireSide::deserialize(d)? {
            WireSide::Buy => Side::Buy,
            WireSide::Sell => Side::Sell,
        })
    }
}

/// A candle width, with the spelling the matcher stores (`common::candles::INTERVALS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// One minute.
    M1,
    /// Five minutes.
    M5,
    /// Fifteen minutes.
    M15,
    /// One hour.
    H1,
    /// One day.
    D1,
}

impl Interval {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::M1 => "M1",
            Self::M5 => "M5",
            Self::M15 => "M15",
            Self::H1 => "H1",
            Self::D1 => "D1",
        }
    }
}

/// OHLCV of one interval; prices in ticks, volume in lots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candle {
    /// Start of the interval.
    pub open_time: DateTime<Utc>,
    /// First trade's price.
    pub open: u64,
    /// Highest price.
    pub high: u64,
    /// Lowest price.
    pub low: u64,
    /// Last trade's price.
    pub close: u64,
    /// Lots traded.
    pub volume_lots: u64,
    /// Trades in it.
    pub trade_count: u64,
}

/// Which candles to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandleRange {
    /// Their width.
    pub interval: Interval,
    /// Only candles opening at or after this time; when set, the first `limit` of the range
    /// are returned (so a client pages forward by moving `from`).
    pub from: Option<DateTime<Utc>>,
    /// Only candles opening at or before this time.
    pub to: Option<DateTime<Utc>>,
    /// At most this many.
    pub limit: u64,
}

/// A market's ticker as of one moment; prices in ticks, volume in lots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ticker {
    /// The last trade's price (at any time); `None` before the first trade.
    pub last: Option<u64>,
    /// The highest live bid.
    pub best_bid: Option<u64>,
    /// The lowest live ask.
    pub best_ask: Option<u64>,
    /// The first trade's price within the window.
    pub open_24h: Option<u64>,
    /// The highest price within the window.
    pub high_24h: Option<u64>,
    /// The lowest price within the window.
    pub low_24h: Option<u64>,
    /// Lots traded within the window (0 when none).
    pub volume_24h: u64,
}

/// A read-only transaction whose reads all see one state of the database: `REPEATABLE READ`
/// on PostgreSQL (its default `READ COMMITTED` would let the matcher commit between two
/// reads); on SQLite a transaction is already a snapshot and isolation cannot be set.
///
/// # Errors
/// A database fault.
pub async fn snapshot(db: &DatabaseConnection) -> Result<DatabaseTransaction, BrainError> {
    let tx = if db.get_database_backend() == DatabaseBackend::Sqlite {
        db.begin().await?
    } else {
        db.begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?
    };
    Ok(tx)
}

fn ticks(v: i64, what: &str) -> Result<u64, BrainError> {
    u64::try_from(v).map_err(|_| corrupt(format!("negative {what} {v}")))
}

/// The `depth` best levels of one side, aggregated from the live orders.
async fn levels(
    db: &impl ConnectionTrait,
    market_id: Uuid,
    side: Side,
    depth: u64,
) -> Result<Vec<Level>, BrainError> {
    let q = orders::Entity::find()
        .select_only()
        .column(orders::Column::PriceTicks)
        .expr(
            Expr::col(orders::Column::QtyLots)
                .sub(Expr::col(orders::Column::FilledLots))
                .sum()
                // PostgreSQL sums BIGINT into NUMERIC; the total of open lots fits an i64.
                .cast_as("BIGINT"),
        )
        .expr(Expr::col(orders::Column::Id).count())
        .filter(orders::Column::MarketId.eq(market_id))
        .filter(orders::Column::Side.eq(match side {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }))
        .filter(orders::Column::Status.is_in(IN_BOOK))
        .filter(orders::Column::PriceTicks.is_not_null())
        .group_by(orders::Column::Side)
        .group_by(orders::Column::PriceTicks);
    let q = match side {
        Side::Buy => q.order_by_desc(orders::Column::PriceTicks),
        Side::Sell => q.order_by_asc(orders::Column::PriceTicks),
    };
    let rows: Vec<(i64, i64, i64)> = q.limit(depth).into_tuple().all(db).await?;
    rows.into_iter()
        .map(|(price, qty, count)| {
            Ok(Level {
                price_ticks: ticks(price, "book price")?,
                qty_lots: ticks(qty, "book quantity")?,
                orders: u32::try_from(count).unwrap_or(u32::MAX),
            })
        })
        .collect()
}

/// The market's highest event sequence (0 before any event).
async fn last_sequence(db: &impl ConnectionTrait, market_id: Uuid) -> Result<i64, BrainError> {
    let max: Option<Option<i64>> = market_events::Entity::find()
        .select_only()
        .expr(Expr::col(market_events::Column::Seq).max())
        .filter(market_events::Column::MarketId.eq(market_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

/// The L2 book of a market, `depth` levels a side, with the market sequence it is as of.
/// Both reads run in one [`snapshot`] transaction, so the sequence names exactly this book
/// (the matcher writes orders and outbox events in one transaction).
///
/// # Errors
/// A database fault or a corrupt row.
pub async fn order_book(
    db: &DatabaseConnection,
    market_id: Uuid,
    depth: u64,
) -> Result<BookSnapshot, BrainError> {
    let tx = snapshot(db).await?;
    let sequence = last_sequence(&tx, market_id).await?;
    let bids = levels(&tx, market_id, Side::Buy, depth).await?;
    let asks = levels(&tx, market_id, Side::Sell, depth).await?;
    tx.commit().await?;
    Ok(BookSnapshot {
        sequence,
        bids,
        asks,
    })
}

fn trade_of(t: trades::Model) -> Result<MarketTrade, BrainError> {
    let taker_side = match t.taker_side.as_str() {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        other => return Err(corrupt(format!("trade {} taker side {other}", t.id))),
    };
    Ok(MarketTrade {
        id: t.id,
        seq: t.seq,
        price_ticks: ticks(t.price_ticks, "trade price")?,
        qty_lots: ticks(t.qty_lots, "trade quantity")?,
        taker_side,
        executed_at: t.executed_at,
    })
}

/// A market's last `limit` trades, newest first.
///
/// # Errors
/// A database fault or a corrupt row.
pub async fn recent_trades(
    db: &impl ConnectionTrait,
    market_id: Uuid,
    limit: u64,
) -> Result<Vec<MarketTrade>, BrainError> {
    trades::Entity::find()
        .filter(trades::Column::MarketId.eq(market_id))
        .order_by_desc(trades::Column::Seq)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(trade_of)
        .collect()
}

fn candle_of(c: candles::Model) -> Result<Candle, BrainError> {
    Ok(Candle {
        open_time: c.open_time,
        open: ticks(c.open, "candle open")?,
        high: ticks(c.high, "candle high")?,
        low: ticks(c.low, "candle low")?,
        close: ticks(c.close, "candle close")?,
        volume_lots: ticks(c.volume_lots, "candle volume")?,
        trade_count: ticks(c.trade_count, "candle trade count")?,
    })
}

/// A market's candles of one interval, oldest first. With `from`, the first `limit` at or
/// after it; without, the latest `limit` (up to `to` if set).
///
/// # Errors
/// A database fault or a corrupt row.
pub async fn candles(
    db: &impl ConnectionTrait,
    market_id: Uuid,
    range: &CandleRange,
) -> Result<Vec<Candle>, BrainError> {
    let mut q = candles::Entity::find()
        .filter(candles::Column::MarketId.eq(market_id))
        .filter(candles::Column::Interval.eq(range.interval.as_str()));
    if let Some(from) = range.from {
        q = q.filter(candles::Column::OpenTime.gte(from));
    }
    if let Some(to) = range.to {
        q = q.filter(candles::Column::OpenTime.lte(to));
    }
    let newest_first = range.from.is_none();
    q = if newest_first {
        q.order_by_desc(candles::Column::OpenTime)
    } else {
        q.order_by_asc(candles::Column::OpenTime)
    };
    let mut rows = q
        .limit(range.limit)
        .all(db)
        .await?
        .into_iter()
        .map(candle_of)
        .collect::<Result<Vec<_>, _>>()?;
    if newest_first {
        rows.reverse();
    }
    Ok(rows)
}

/// The best live bid and ask.
async fn best_prices(
    db: &impl ConnectionTrait,
    market_id: Uuid,
) -> Result<(Option<u64>, Option<u64>), BrainError> {
    let rows: Vec<(String, Option<i64>, Option<i64>)> = orders::Entity::find()
        .select_only()
        .column(orders::Column::Side)
        .expr(Expr::col(orders::Column::PriceTicks).max())
        .expr(Expr::col(orders::Column::PriceTicks).min())
        .filter(orders::Column::MarketId.eq(market_id))
        .filter(orders::Column::Status.is_in(IN_BOOK))
        .group_by(orders::Column::Side)
        .into_tuple()
        .all(db)
        .await?;
    let (mut bid, mut ask) = (None, None);
    for (side, max, min) in rows {
        match side.as_str() {
            "buy" => bid = max.map(|p| ticks(p, "bid")).transpose()?,
            "sell" => ask = min.map(|p| ticks(p, "ask")).transpose()?,
            other => return Err(corrupt(format!("order side {other}"))),
        }
    }
    Ok((bid, ask))
}

/// A market's ticker at `now`: the last price, the best bid and ask, and the open, high,
/// low and volume of the trades since [`TICKER_WINDOW`] before `now` (a trade stamped just
/// after `now` counts, so the window always holds the last price). Read in one
/// [`snapshot`] transaction, so the parts agree with each other.
///
/// # Errors
/// A database fault or a corrupt row.
pub async fn ticker(
    db: &DatabaseConnection,
    market_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Ticker, BrainError> {
    let since = now - TICKER_WINDOW;
    let tx = snapshot(db).await?;
    let last = super::orders::last_price(&tx, market_id).await?;
    let (best_bid, best_ask) = best_prices(&tx, market_id).await?;
    let window = || {
        trades::Entity::find()
            .filter(trades::Column::MarketId.eq(market_id))
            .filter(trades::Column::ExecutedAt.gte(since))
    };
    let stats: Option<(Option<i64>, Option<i64>, Option<i64>)> = window()
        .select_only()
        .expr(Expr::col(trades::Column::PriceTicks).max())
        .expr(Expr::col(trades::Column::PriceTicks).min())
        // PostgreSQL sums BIGINT into NUMERIC; lots traded in a day fit an i64.
        .expr(Expr::col(trades::Column::QtyLots).sum().cast_as("BIGINT"))
        .into_tuple()
        .one(&tx)
        .await?;
    let open: Option<i64> = window()
        .select_only()
        .column(trades::Column::PriceTicks)
        .order_by_asc(trades::Column::Seq)
        .limit(1)
        .into_tuple()
        .one(&tx)
        .await?;
    tx.commit().await?;
    let (high, low, volume) = stats.unwrap_or_default();
    let opt = |v: Option<i64>, what: &str| v.map(|p| ticks(p, what)).transpose();
    Ok(Ticker {
        last,
        best_bid,
        best_ask,
        open_24h: opt(open, "open")?,
        high_24h: opt(high, "high")?,
        low_24h: opt(low, "low")?,
        volume_24h: opt(volume, "volume")?.unwrap_or(0),
    })
}
