//! What the matcher tells the world after each batch: the outbox rows' payloads, and the bus
//! topics they go to. Integers only (ticks, lots, minor units); the brain subgraph formats
//! them with the market's sizes when it streams them to clients.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The topic of a market's public events (trades, book deltas).
pub fn market_topic(symbol: &str) -> String {
    format!("market.{symbol}")
}

/// The topic of one user's private events (orders, balances).
pub fn user_topic(user: Uuid) -> String {
    format!("user.{user}")
}

/// The topic that wakes the matcher: brain publishes to it after storing a command.
pub const WAKE_TOPIC: &str = "matcher.wake";

/// Buy or sell, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireSide {
    /// Bids.
    Buy,
    /// Asks.
    Sell,
}

impl From<engine::Side> for WireSide {
    fn from(side: engine::Side) -> Self {
        match side {
            engine::Side::Buy => Self::Buy,
            engine::Side::Sell => Self::Sell,
        }
    }
}

/// One changed price level; `qty` 0 removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// Bid or ask.
    pub side: WireSide,
    /// Price in ticks.
    pub price: u64,
    /// Open lots now at this price.
    pub qty: u64,
    /// Orders now at this price.
    pub orders: u32,
}

/// An order's state after a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUpdate {
    /// The order.
    pub id: i64,
    /// Where it stands (`open`, `partially_filled`, `filled`, `cancelled`, `rejected`).
    pub status: String,
    /// Lots traded so far.
    pub filled_lots: i64,
    /// Quote minor units traded so far.
    pub filled_value: i64,
    /// Fees paid so far.
    pub fees_paid: i64,
    /// Why it ended, if it was cancelled or rejected.
    pub reason: Option<String>,
}

/// An outbox payload. Every one carries its market's sequence number, so a subscriber can
/// tell a gap from silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MarketEvent {
    /// A trade.
    Trade {
        /// The market's event sequence.
        seq: i64,
        /// The trade's id (the trades table's).
        trade_id: i64,
        /// The market's trade sequence.
        trade_seq: i64,
        /// Price in ticks.
        price: u64,
        /// Lots.
        qty: u64,
        /// The incoming order's side.
        taker_side: WireSide,
        /// When it happened.
        executed_at: DateTime<Utc>,
    },
    /// The book's levels that one command changed.
    Book {
        /// The market's event sequence.
        seq: i64,
        /// Changed levels, in order.
        levels: Vec<Level>,
    },
    /// One of a user's orders changed.
    Order {
        /// The market's event sequence.
        seq: i64,
        /// The owner.
        user: Uuid,
        /// Its new state.
        order: OrderUpdate,
    },
    /// One of a user's balances changed.
    Balance {
        /// The market's event sequence.
        seq: i64,
        /// The owner.
        user: Uuid,
        /// The asset.
        asset: Uuid,
        /// Available now, minor units.
        available: i64,
        /// Held now, minor units.
        held: i64,
    },
}

impl MarketEvent {
    /// The market sequence number.
    pub fn seq(&self) -> i64 {
        match self {
            Self::Trade { seq, .. }
            | Self::Book { seq, .. }
            | Self::Order { seq, .. }
            | Self::Balance { seq, .. } => *seq,
        }
    }

    /// The stored kind (`trade`, `book`, `order`, `balance`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Trade { .. } => "trade",
            Self::Book { .. } => "book",
            Self::Order { .. } => "order",
            Self::Balance { .. } => "balance",
        }
    }

    /// The user a private event belongs to.
    pub fn user(&self) -> Option<Uuid> {
        match self {
            Self::Order { user, .. } | Self::Balance { user, .. } => Some(*user),
            _ => None,
        }
    }

    /// Where it is published: the market's topic, or its user's.
    pub fn topic(&self, market_symbol: &str) -> String {
        match self.user() {
            Some(user) => user_topic(user),
            None => market_topic(market_symbol),
        }
    }
}

/// What goes on the bus: the event and the market it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The market's id.
    pub market: Uuid,
    /// The market's symbol.
    pub symbol: String,
    /// The event.
    pub event: MarketEvent,
}
