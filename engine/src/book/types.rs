//! Commands, events and the units they speak in. This file is the engine's contract: the
//! reference model in `tests/` implements exactly these rules, and property tests compare
//! the two event for event.
//!
//! # Units
//! Prices are integer **ticks** (`1 ..= MAX_PRICE`), quantities integer **lots**
//! (`1 ..= MAX_QTY`), money integer **quote minor units**. A trade of `q` lots at `p` ticks
//! is worth `p * q * quote_per_tick_lot` (the market's configuration guarantees one tick of
//! one lot is a whole number of minor units). Every product is checked: an overflow rejects
//! the command (`RejectReason::Overflow`), never wraps or panics.
//!
//! # Rules
//! - **Priority:** best price first, then arrival. Trades happen at the resting (maker)
//!   order's price.
//! - **Fees:** `ceil(value * bps / 10_000)` in quote minor units, maker and taker alike:
//!   rounded **up**, so the sum of fees is never short of the rate.
//! - **Place** (accepted): emits `Accepted`, then matches. For each price level it takes
//!   from, best first: per maker in queue order, either a `Trade` (followed by
//!   `Done{Filled}` when that maker is now filled) or, for a maker of the same owner under
//!   `CancelResting`/`CancelBoth`, `Done{Cancelled{SelfTrade}}`; then one `Delta` for that
//!   level if it changed. Then, for the incoming order: `Rested` + `Delta` if a GTC limit
//!   remainder joins the book; otherwise `Done`: `Filled`; `Cancelled{SelfTrade}` when
//!   self-trade prevention stopped it; `Expired` for any other unfilled remainder (IOC, FOK,
//!   market orders, a market BUY out of budget).
//! - **Limit** orders trade while the opposite best price is at or better than their limit.
//! - **Market** orders have no limit: a SELL trades until its quantity is done or the bids
//!   run out; a BUY also never spends more than `quote_budget` (ignored on a SELL), counting
//!   each trade's value **plus its taker fee** (the settlement layer holds exactly that): at
//!   each maker it buys the largest quantity whose cost fits what is left of the budget,
//!   and stops after a maker it could not take in full for lack of budget. Market orders
//!   never rest; GTC on a market order behaves as IOC.
//! - **Post-only:** a limit order whose price reaches the opposite best price (a BUY at or
//!   above the best ask, a SELL at or below the best bid — whoever owns it) is rejected
//!   (`PostOnlyWouldCross`) and touches nothing.
//! - **FOK:** if the whole quantity cannot trade at once (within the limit, the budget, and
//!   the self-trade rule: under `CancelResting` the owner's own makers are skipped, under the
//!   other modes the first one ends the count) the order is rejected (`FokNotFillable`) and
//!   the book is untouched (no trades, and no self-trade cancellations).
//! - **Self-trade prevention** (the incoming order's mode), when the next maker has the same
//!   owner (checked before the budget, so an exhausted market BUY still applies it): `CancelResting` cancels that maker (`Done{Cancelled{SelfTrade}}`) and matching
//!   goes on; `CancelIncoming` stops, and the incoming remainder is `Cancelled{SelfTrade}`;
//!   `CancelBoth` cancels the maker and stops like `CancelIncoming`.
//! - **Cancel:** by id, owner checked; unknown id and foreign owner are both
//!   `CancelRejected{UnknownOrder}` (nothing about other owners leaks). A cancel emits
//!   `Done{Cancelled{ByOwner}}` and a `Delta`.
//! - **Cancel all** of one owner: each of that owner's orders in ascending id order, as a
//!   cancel would (so `Done` + `Delta` per order). Nothing to cancel emits nothing.
//! - **Amend** sets an order's price and *open* (remaining) quantity. Keeping the price and
//!   reducing (or keeping) the quantity keeps time priority; a new price or a larger quantity
//!   moves the order
//!   to the back of its (new) level. An amend that would cross the book is rejected
//!   (`AmendWouldCross`); an amend to quantity 0 is rejected (`InvalidQuantity`: cancel
//!   instead); unknown or foreign order: `UnknownOrder`. Emits `Amended` then a `Delta` for
//!   the old level and, if the price changed, one for the new level. A rejected amend
//!   changes nothing.
//! - **Validation** of a place, in this order: duplicate id of a live order
//!   (`DuplicateOrderId`), quantity outside `1..=MAX_QTY` (`InvalidQuantity`), price
//!   (`InvalidPrice`: a limit needs `1..=MAX_PRICE`), post-only on a market order
//!   (`PostOnlyMarket`), market BUY without a budget (`MissingBudget`), limit value
//!   `price * qty * quote_per_tick_lot` over `u64`, or the open quantity of its own side's
//!   level at its price plus `qty` over `u64` (`Overflow`); then post-only and FOK as
//!   above. A rejected place emits only `Done{Rejected}` (no `Accepted`).
//! - **Amend** checks, in order: `UnknownOrder`, `InvalidQuantity`, `InvalidPrice`,
//!   `Overflow` (the value, or the new level total counting the order once),
//!   `AmendWouldCross`.
//! - **Deltas** carry the level's new total open quantity and order count; quantity 0 means
//!   the level is gone. Applying every delta in order to an empty book reproduces the book.

/// An order id, given by the caller; unique among live orders of a book.
pub type OrderId = u64;
/// An account, opaque to the engine (a UUID as 128 bits).
pub type Owner = u128;

/// Highest price in ticks.
pub const MAX_PRICE: u64 = 1 << 40;
/// Highest quantity in lots.
pub const MAX_QTY: u64 = 1 << 48;

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Bids.
    Buy,
    /// Asks.
    Sell,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Self {
        match self {
            Self::Buy => Self::Sell,
            Self::Sell => Self::Buy,
        }
    }
}

/// Limit (with a price in ticks) or market (with a quote budget for a BUY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    /// Trades at `price` or better; may rest.
    Limit {
        /// Limit price in ticks.
        price: u64,
    },
    /// Trades at any price; never rests.
    Market {
        /// For a BUY: the most quote minor units its trades and taker fees may spend.
        quote_budget: Option<u64>,
    },
}

/// How long an order lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeInForce {
    /// Good till cancelled: a limit remainder rests.
    Gtc,
    /// Immediate or cancel: the remainder expires.
    Ioc,
    /// Fill or kill: all at once, or nothing.
    Fok,
}

/// What happens when an order would trade with its owner's resting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SelfTradePrevention {
    /// Cancel the resting order and go on matching (the default).
    #[default]
    CancelResting,
    /// Stop, and cancel the incoming remainder.
    CancelIncoming,
    /// Cancel the resting order and the incoming remainder.
    CancelBoth,
}

/// A new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Caller-assigned id.
    pub id: OrderId,
    /// The account.
    pub owner: Owner,
    /// Buy or sell.
    pub side: Side,
    /// Limit or market.
    pub order_type: OrderType,
    /// Lifetime.
    pub tif: TimeInForce,
    /// Reject instead of trading on arrival.
    pub post_only: bool,
    /// Quantity in lots.
    pub qty: u64,
    /// Self-trade prevention mode.
    pub stp: SelfTradePrevention,
}

/// What a book is asked to do. `ts` is the command's time (nanoseconds), stamped on trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Place an order.
    Place(Place),
    /// Cancel one order.
    Cancel {
        /// The order.
        id: OrderId,
        /// Must own it.
        owner: Owner,
    },
    /// Cancel every order of an owner.
    CancelAll {
        /// The owner.
        owner: Owner,
    },
    /// Change an order's price and open quantity.
    Amend {
        /// The order.
        id: OrderId,
        /// Must own it.
        owner: Owner,
        /// New limit price in ticks.
        price: u64,
        /// New open quantity in lots.
        qty: u64,
    },
}

/// Why an order left the book (or never entered it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoneReason {
    /// Completely traded.
    Filled,
    /// Cancelled.
    Cancelled(CancelReason),
    /// The unfilled remainder of an IOC, FOK or market order.
    Expired,
    /// Refused before it touched the book.
    Rejected(RejectReason),
}

/// Why an order was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// Its owner asked (cancel or cancel-all).
    ByOwner,
    /// Self-trade prevention.
    SelfTrade,
}

/// Why a command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// An order with this id is live.
    DuplicateOrderId,
    /// Quantity 0 or above `MAX_QTY`.
    InvalidQuantity,
    /// A limit price outside `1..=MAX_PRICE`.
    InvalidPrice,
    /// Post-only makes no sense on a market order.
    PostOnlyMarket,
    /// A market BUY needs a quote budget.
    MissingBudget,
    /// A value computation would overflow.
    Overflow,
    /// A post-only order would have traded.
    PostOnlyWouldCross,
    /// A FOK order could not trade in full.
    FokNotFillable,
    /// No such live order of this owner.
    UnknownOrder,
    /// The amended price would trade on arrival.
    AmendWouldCross,
}

/// One execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    /// The resting order.
    pub maker_order: OrderId,
    /// The incoming order.
    pub taker_order: OrderId,
    /// Owner of the resting order.
    pub maker_owner: Owner,
    /// Owner of the incoming order.
    pub taker_owner: Owner,
    /// The incoming order's side.
    pub taker_side: Side,
    /// Price in ticks (the maker's).
    pub price: u64,
    /// Quantity in lots.
    pub qty: u64,
    /// `price * qty * quote_per_tick_lot`, quote minor units.
    pub value: u64,
    /// Maker's fee, quote minor units.
    pub maker_fee: u64,
    /// Taker's fee, quote minor units.
    pub taker_fee: u64,
    /// The command's time.
    pub ts: u64,
}

/// A price level's new state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookDelta {
    /// Bid or ask level.
    pub side: Side,
    /// Price in ticks.
    pub price: u64,
    /// Total open quantity now at this level; 0 removes it.
    pub qty: u64,
    /// Number of orders now at this level.
    pub orders: u32,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A valid order was taken in (before any trade).
    Accepted {
        /// The order.
        id: OrderId,
    },
    /// An order (or its remainder) now rests in the book.
    Rested {
        /// The order.
        id: OrderId,
        /// Its side.
        side: Side,
        /// Its price.
        price: u64,
        /// Its open quantity.
        qty: u64,
    },
    /// An execution.
    Trade(Trade),
    /// An order is finished.
    Done {
        /// The order.
        id: OrderId,
        /// Its owner.
        owner: Owner,
        /// Why.
        reason: DoneReason,
    },
    /// An order's price or quantity changed.
    Amended {
        /// The order.
        id: OrderId,
        /// Its price now.
        price: u64,
        /// Its open quantity now.
        qty: u64,
        /// Whether it kept its place in the queue.
        kept_priority: bool,
    },
    /// A cancel or amend was refused; nothing changed.
    CancelRejected {
        /// The order named.
        id: OrderId,
        /// Why.
        reason: RejectReason,
    },
    /// A price level changed.
    Delta(BookDelta),
}

/// A market's constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookConfig {
    /// Quote minor units of one tick of one lot.
    pub quote_per_tick_lot: u64,
    /// Maker fee in basis points.
    pub maker_fee_bps: u32,
    /// Taker fee in basis points.
    pub taker_fee_bps: u32,
}

impl Default for BookConfig {
    fn default() -> Self {
        Self {
            quote_per_tick_lot: 1,
            maker_fee_bps: 0,
            taker_fee_bps: 0,
        }
    }
}

/// A resting order as a snapshot lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestingOrder {
    /// The order.
    pub id: OrderId,
    /// Its owner.
    pub owner: Owner,
    /// Its side.
    pub side: Side,
    /// Its price.
    pub price: u64,
    /// Its open quantity.
    pub qty: u64,
}

/// `ceil(value * bps / 10_000)`, or `None` on overflow.
#[inline]
pub fn fee(value: u64, bps: u32) -> Option<u64> {
    if bps <= 10_000 {
        // Exact without a 128-bit division (a software routine on x86-64): with
        // value = 10_000 q + r, the fee is q * bps + ceil(r * bps / 10_000), and neither
        // product can overflow.
        let bps = u64::from(bps);
        return Some(value / 10_000 * bps + (value % 10_000 * bps).div_ceil(10_000));
    }
    let product = u128::from(value) * u128::from(bps);
    u64::try_from(product.div_ceil(10_000)).ok()
}

/// `price * qty * quote_per_tick_lot`, or `None` on overflow.
#[inline]
pub fn value(price: u64, qty: u64, quote_per_tick_lot: u64) -> Option<u64> {
    price.checked_mul(qty)?.checked_mul(quote_per_tick_lot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_fee_path_equals_the_wide_formula() {
        let wide = |v: u64, bps: u32| {
            u64::try_from((u128::from(v) * u128::from(bps)).div_ceil(10_000)).ok()
        };
        let values = [
            0,
            1,
            9_999,
            10_000,
            10_001,
            123_456_789,
            u64::MAX / 3,
            u64::MAX - 1,
            u64::MAX,
        ];
        for v in values {
            for bps in [0, 1, 7, 25, 9_999, 10_000, 10_001, u32::MAX] {
                assert_eq!(fee(v, bps), wide(v, bps), "value {v}, bps {bps}");
            }
        }
    }
}
