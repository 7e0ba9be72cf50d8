//! The market-data part of `Market` (`ticker`, `orderBook`, `trades`, `candles`) and the
//! types of API.md they return. The types are plain data with constructors from the store's
//! integers, so the subscriptions build the very same `Trade`, `Ticker` and `BookLevel`.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{GqlResult, scalars::Decimal, trading::Side};
use crate::{
    domain::market::Market,
    store::market_data::{BookSnapshot, Candle, Interval, Level, MarketTrade, Ticker},
};

fn price(market: &Market, ticks: u64) -> Decimal {
    Decimal(market.spec.format_price(ticks))
}

fn qty(market: &Market, lots: u64) -> Decimal {
    Decimal(market.spec.format_qty(lots))
}

/// A candle width.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CandleInterval {
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

impl From<CandleInterval> for Interval {
    fn from(i: CandleInterval) -> Self {
        match i {
            CandleInterval::M1 => Self::M1,
            CandleInterval::M5 => Self::M5,
            CandleInterval::M15 => Self::M15,
            CandleInterval::H1 => Self::H1,
            CandleInterval::D1 => Self::D1,
        }
    }
}

/// A market's last price, best quotes and the last 24 hours at a glance.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(name = "Ticker")]
pub struct TickerObject {
    /// `BASE-QUOTE`.
    pub market: String,
    /// The last trade's price; null before the first trade.
    pub last: Option<Decimal>,
    /// The highest bid in the book.
    pub best_bid: Option<Decimal>,
    /// The lowest ask in the book.
    pub best_ask: Option<Decimal>,
    /// The first trade's price in the last 24 hours.
    #[graphql(name = "open24h")]
    pub open_24h: Option<Decimal>,
    /// The highest trade price in the last 24 hours.
    #[graphql(name = "high24h")]
    pub high_24h: Option<Decimal>,
    /// The lowest trade price in the last 24 hours.
    #[graphql(name = "low24h")]
    pub low_24h: Option<Decimal>,
    /// Base quantity traded in the last 24 hours (`"0"` when none).
    #[graphql(name = "volume24h")]
    pub volume_24h: Decimal,
}

impl TickerObject {
    /// Formats a ticker read in ticks and lots.
    pub fn new(market: &Market, t: &Ticker) -> Self {
        let p = |v: Option<u64>| v.map(|ticks| price(market, ticks));
        Self {
            market: market.spec.symbol.clone(),
            last: p(t.last),
            best_bid: p(t.best_bid),
            best_ask: p(t.best_ask),
            open_24h: p(t.open_24h),
            high_24h: p(t.high_24h),
            low_24h: p(t.low_24h),
            volume_24h: qty(market, t.volume_24h),
        }
    }
}

/// One price level of the book, all orders at that price together.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct BookLevel {
    /// The price.
    pub price: Decimal,
    /// The open quantity at that price (`"0"` in a delta: the level is gone).
    pub quantity: Decimal,
    /// How many orders rest at that price.
    pub orders: i32,
}

impl BookLevel {
    /// Formats a level given in ticks, lots and an order count (the store's or a delta's).
    pub fn new(market: &Market, price_ticks: u64, qty_lots: u64, orders: u32) -> Self {
        Self {
            price: price(market, price_ticks),
            quantity: qty(market, qty_lots),
            orders: i32::try_from(orders).unwrap_or(i32::MAX),
        }
    }

    /// Formats a list of stored levels, keeping their order.
    pub fn list(market: &Market, levels: &[Level]) -> Vec<Self> {
        levels
            .iter()
            .map(|l| Self::new(market, l.price_ticks, l.qty_lots, l.orders))
            .collect()
    }
}

/// An aggregated (L2) view of a market's book as of a market sequence.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(name = "OrderBook")]
pub struct OrderBookObject {
    /// `BASE-QUOTE`.
    pub market: String,
    /// The market sequence this book is as of (a 64-bit number as a string): apply only
    /// the live deltas after it.
    pub sequence: String,
    /// Bids, best (highest) first.
    pub bids: Vec<BookLevel>,
    /// Asks, best (lowest) first.
    pub asks: Vec<BookLevel>,
}

impl OrderBookObject {
    /// Formats a book snapshot.
    pub fn from_snapshot(market: &Market, snap: &BookSnapshot) -> Self {
        Self {
            market: market.spec.symbol.clone(),
            sequence: snap.sequence.to_string(),
            bids: BookLevel::list(market, &snap.bids),
            asks: BookLevel::list(market, &snap.asks),
        }
    }
}

/// An execution in a market, as the public sees it.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(name = "Trade")]
pub struct TradeObject {
    /// The trade's id.
    pub id: ID,
    /// `BASE-QUOTE`.
    pub market: String,
    /// The market's trade sequence (`"1"`, `"2"`, ...; a 64-bit number as a string).
    pub sequence: String,
    /// The price.
    pub price: Decimal,
    /// The base quantity.
    pub quantity: Decimal,
    /// The incoming order's side.
    pub taker_side: Side,
    /// When it executed.
    pub executed_at: DateTime<Utc>,
}

impl TradeObject {
    /// Formats a trade read in ticks and lots.
    pub fn new(market: &Market, t: &MarketTrade) -> Self {
        Self {
            id: ID(t.id.to_string()),
            market: market.spec.symbol.clone(),
            sequence: t.seq.to_string(),
            price: price(market, t.price_ticks),
            quantity: qty(market, t.qty_lots),
            taker_side: t.taker_side.into(),
            executed_at: t.executed_at,
        }
    }
}

/// Open, high, low, close and volume of one interval.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(name = "Candle")]
pub struct CandleObject {
    /// Start of the interval.
    pub open_time: DateTime<Utc>,
    /// First trade's price.
    pub open: Decimal,
    /// Highest price.
    pub high: Decimal,
    /// Lowest price.
    pub low: Decimal,
    /// Last trade's price.
    pub close: Decimal,
    /// Base quantity traded.
    pub volume: Decimal,
}

impl CandleObject {
    /// Formats a candle read in ticks and lots.
    pub fn new(market: &Market, c: &Candle) -> Self {
        Self {
            open_time: c.open_time,
            open: price(market, c.open),
            high: price(market, c.high),
            low: price(market, c.low),
            close: price(market, c.close),
            volume: qty(market, c.volume_lots),
        }
    }
}

/// The market-data fields of a market, one part of `Market` (beside `MarketInfo`).
pub struct MarketData(pub Arc<Market>);

#[Object]
impl MarketData {
    /// Last price, best quotes and the last 24 hours.
    async fn ticker(&self, ctx: &Context<'_>) -> async_graphql::Result<TickerObject> {
        let t = super::service(ctx).ticker(&self.0).await.gql()?;
        Ok(TickerObject::new(&self.0, &t))
    }

    /// The aggregated book, `depth` levels a side (1–100; null means 20), best first.
    async fn order_book(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] depth: Option<i32>,
    ) -> async_graphql::Result<OrderBookObject> {
        let snap = super::service(ctx).order_book(&self.0, depth).await.gql()?;
        Ok(OrderBookObject::from_snapshot(&self.0, &snap))
    }

    /// The last `limit` trades (1–500; null means 50), newest first.
    async fn trades(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] limit: Option<i32>,
    ) -> async_graphql::Result<Vec<TradeObject>> {
        let trades = super::service(ctx)
            .recent_trades(&self.0, limit)
            .await
            .gql()?;
        Ok(trades
            .iter()
            .map(|t| TradeObject::new(&self.0, t))
            .collect())
    }

    /// Candles of one interval, oldest first: with `from`, the first `limit` opening in
    /// `[from, to]`; otherwise the latest `limit` (up to `to`). `limit` is 1–1000, default
    /// 500.
    async fn candles(
        &self,
        ctx: &Context<'_>,
        interval: CandleInterval,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        limit: Option<i32>,
    ) -> async_graphql::Result<Vec<CandleObject>> {
        let candles = super::service(ctx)
            .candles(&self.0, interval.into(), from, to, limit)
            .await
            .gql()?;
        Ok(candles
            .iter()
            .map(|c| CandleObject::new(&self.0, c))
            .collect())
    }
}
