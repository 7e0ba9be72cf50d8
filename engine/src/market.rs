//! One market's engine: the [`Book`] plus the money rules around it. Commands in, [`Effects`]
//! out; still no I/O, so the settlement layer can write a whole batch of effects in one
//! transaction and tests can check the ledger without a database.
//!
//! # Holds (decision 0005)
//! Funds are held *before* a command reaches the engine (brain's `placeOrder` moves them from
//! available to held in its own transaction, using [`required_hold`]). The engine then pays
//! every trade out of the holds and releases what an order no longer needs:
//! - a SELL holds its base quantity (`qty * lot_size` base minor units);
//! - a limit BUY holds, per lot, the value of one lot at its limit plus the fee on that at the
//!   higher of the market's two fee rates. Holding per lot (not on the total) keeps the hold
//!   sufficient whatever the trades' sizes, because a fee is rounded up on every trade;
//! - a market BUY holds its quote budget, which the book never overspends (value plus taker
//!   fee).
//!
//! After each command, an order still resting keeps exactly the hold its remainder needs and
//! the rest is released (price improvement, fee rounding); an order that is done releases
//! everything left. Every movement is a [`Posting`] in a balanced ledger transaction.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::book::{
    Book, BookConfig, BookDelta, CancelReason, Command, DoneReason, Event, InvalidConfig, OrderId,
    OrderType, Owner, Place, RejectReason, RestingOrder, RestoreError, SelfTradePrevention, Side,
    TimeInForce, fee, value,
};

/// A market's rules in the engine's integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketRules {
    /// Ticks, lots and fees, as the book needs them.
    pub book: BookConfig,
    /// Base minor units in one lot.
    pub lot_size: u64,
}

impl MarketRules {
    /// The higher fee rate: what a limit BUY holds for, not knowing yet whether it will make
    /// or take.
    fn max_fee_bps(&self) -> u32 {
        self.book.maker_fee_bps.max(self.book.taker_fee_bps)
    }
}

/// Which of the market's two assets an amount is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Asset {
    /// The asset traded.
    Base,
    /// The asset prices are in.
    Quote,
}

/// Where an order stands, as the orders table records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Stored, not yet seen by the engine.
    Accepted,
    /// Resting, nothing traded.
    Open,
    /// Resting or done with some traded.
    PartiallyFilled,
    /// Completely traded.
    Filled,
    /// Cancelled by its owner, by self-trade prevention, or expired (IOC, FOK, market
    /// remainder); `reason` says which.
    Cancelled,
    /// Refused by the engine (post-only would cross, FOK not fillable, ...).
    Rejected,
}

impl Status {
    /// Whether the order can still change.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Accepted | Self::Open | Self::PartiallyFilled)
    }
}

/// An order as the engine tracks it. The settlement layer loads it (a new order as brain
/// inserted it; resting ones at start-up) and writes it back after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderState {
    /// The order (the orders table's id).
    pub id: OrderId,
    /// Its owner.
    pub owner: Owner,
    /// Buy or sell.
    pub side: Side,
    /// Limit price in ticks; `None` for a market order.
    pub price: Option<u64>,
    /// For a market BUY: the quote budget held for it.
    pub quote_budget: Option<u64>,
    /// Lifetime.
    pub tif: TimeInForce,
    /// Refuse to take liquidity.
    pub post_only: bool,
    /// Quantity in lots.
    pub qty: u64,
    /// Lots traded so far.
    pub filled: u64,
    /// Quote minor units traded so far (for the average price).
    pub filled_value: u64,
    /// Fees paid so far, quote minor units.
    pub fees_paid: u64,
    /// What is still held for it: base minor units for a SELL, quote for a BUY.
    pub held: u64,
    /// Where it stands.
    pub status: Status,
    /// Why it is cancelled or rejected.
    pub reason: Option<&'static str>,
}

impl OrderState {
    /// Lots not yet traded (none for a corrupt row that filled more than its quantity, which
    /// [`Engine::restore`] refuses).
    pub fn remaining(&self) -> u64 {
        self.qty.saturating_sub(self.filled)
    }
}

/// What an order must have held before it reaches the engine, or `None` if the amount
/// overflows (the order is then refused).
///
/// `price` is required for a limit order; `quote_budget` is what a market BUY is given.
pub fn required_hold(
    rules: &MarketRules,
    side: Side,
    price: Option<u64>,
    quote_budget: Option<u64>,
    qty: u64,
) -> Option<u64> {
    match (side, price) {
        (Side::Sell, _) => qty.checked_mul(rules.lot_size),
        (Side::Buy, Some(price)) => per_lot_buy_hold(rules, price)?.checked_mul(qty),
        (Side::Buy, None) => quote_budget,
    }
}

/// The most one lot of a limit BUY at `price` can cost: its value plus the higher fee.
fn per_lot_buy_hold(rules: &MarketRules, price: u64) -> Option<u64> {
    let v = value(price, 1, rules.book.quote_per_tick_lot)?;
    v.checked_add(fee(v, rules.max_fee_bps())?)
}

/// A ledger account of one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Account {
    /// An owner's spendable balance.
    Available(Owner),
    /// An owner's balance held for open orders.
    Held(Owner),
    /// The exchange's fee income.
    Fees,
}

/// Why money moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostingKind {
    /// A trade paid or received.
    Trade,
    /// A fee was charged.
    Fee,
    /// A hold was returned to available.
    Release,
}

/// One side of a ledger movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    /// Whose money.
    pub account: Account,
    /// Which asset.
    pub asset: Asset,
    /// Signed amount in the asset's minor units.
    pub amount: i64,
    /// Why.
    pub kind: PostingKind,
    /// The order concerned.
    pub order: OrderId,
    /// The trade concerned (its per-market sequence), if any.
    pub trade_seq: Option<u64>,
}

/// A trade as it is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeRecord {
    /// Per-market trade sequence (1, 2, ...).
    pub seq: u64,
    /// The engine's trade.
    pub trade: crate::book::Trade,
    /// Who bought.
    pub buyer: Owner,
    /// Who sold.
    pub seller: Owner,
}

/// Everything a batch of commands changed. The settlement layer writes it in one
/// transaction.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Effects {
    /// Trades, in order.
    pub trades: Vec<TradeRecord>,
    /// Ledger transactions, in order; each sums to zero per asset.
    pub ledger: Vec<Vec<Posting>>,
    /// The final state of every order the batch touched, by id.
    pub orders: BTreeMap<OrderId, OrderState>,
    /// Book level changes, in order.
    pub deltas: Vec<BookDelta>,
    /// Commands that named an order the engine does not know (or another owner's).
    pub rejected_cancels: Vec<OrderId>,
    /// Orders whose money did not fit the engine's integers: a trade's base amount, the
    /// buyer's cost, the fees, a posting beyond an `i64`, or an order's running totals. The
    /// numbers written for them would be wrong, so these effects must not be written; the
    /// settlement layer refuses the command that caused them instead (decision 0005,
    /// "Bounds"). Holds come from `i64` balances, so this is empty unless data is corrupt.
    pub overflowed: Vec<OrderId>,
}

impl Effects {
    /// Net change per (account, asset): what the balances table must move by, summed
    /// exactly (`i128`, so no batch can wrap it; the settlement layer checks that every new
    /// balance fits before it writes).
    pub fn balance_changes(&self) -> BTreeMap<(Account, Asset), i128> {
        let mut out = BTreeMap::new();
        for p in self.ledger.iter().flatten() {
            *out.entry((p.account, p.asset)).or_insert(0) += i128::from(p.amount);
        }
        out.retain(|_, v| *v != 0);
        out
    }
}

/// A command for the engine, as the commands table records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A new order, already stored with its hold.
    Place(OrderState),
    /// Cancel one order of `owner`.
    Cancel {
        /// The order.
        id: OrderId,
        /// Who asks.
        owner: Owner,
    },
    /// Cancel all of `owner`'s orders in this market.
    CancelAll {
        /// Who asks.
        owner: Owner,
    },
}

/// One market: its book, its rules, and the state of its live orders.
#[derive(Debug, Clone)]
pub struct Engine {
    rules: MarketRules,
    book: Book,
    orders: FxHashMap<OrderId, OrderState>,
    trade_seq: u64,
    events: Vec<Event>,
}

/// Why an engine could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// The market's configuration is unusable.
    Config(InvalidConfig),
    /// The resting orders do not make a valid book.
    Restore(RestoreError),
    /// A resting order's state is inconsistent (a market order, or no remainder).
    Order(OrderId),
}

impl Engine {
    /// An empty market whose last trade had sequence `trade_seq` (0 for a new market).
    pub fn new(rules: MarketRules, trade_seq: u64) -> Result<Self, EngineError> {
        Self::restore(rules, trade_seq, Vec::new())
    }

    /// A market rebuilt from its live orders, given in time priority (the settlement layer
    /// orders them by their place command's sequence).
    pub fn restore(
        rules: MarketRules,
        trade_seq: u64,
        live: Vec<OrderState>,
    ) -> Result<Self, EngineError> {
        let mut resting = Vec::with_capacity(live.len());
        for o in &live {
            let price = o.price.ok_or(EngineError::Order(o.id))?;
            if o.filled >= o.qty || !o.status.is_live() {
                return Err(EngineError::Order(o.id));
            }
            resting.push(RestingOrder {
                id: o.id,
                owner: o.owner,
                side: o.side,
                price,
                qty: o.remaining(),
            });
        }
        // Bids best first, then asks best first, FIFO within a price (stable sort).
        resting.sort_by_key(|o| match o.side {
            Side::Buy => (0, u64::MAX - o.price),
            Side::Sell => (1, o.price),
        });
        let book = Book::restore(rules.book, &resting).map_err(EngineError::Restore)?;
        Ok(Self {
            rules,
            book,
            orders: live.into_iter().map(|o| (o.id, o)).collect(),
            trade_seq,
            events: Vec::new(),
        })
    }

    /// The book, for snapshots.
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// The market's rules.
    pub fn rules(&self) -> &MarketRules {
        &self.rules
    }

    /// The last trade's sequence.
    pub fn trade_seq(&self) -> u64 {
        self.trade_seq
    }

    /// A live order's state.
    pub fn order(&self, id: OrderId) -> Option<&OrderState> {
        self.orders.get(&id)
    }

    /// Every live order, in no particular order (a snapshot sorts them).
    pub fn live_orders(&self) -> impl Iterator<Item = &OrderState> {
        self.orders.values()
    }

    /// Applies one command at time `ts` (nanoseconds), adding what changed to `fx`.
    pub fn apply(&mut self, input: Input, ts: u64, fx: &mut Effects) {
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        let command = match input {
            Input::Place(order) => {
                if self.orders.contains_key(&order.id) || order.status != Status::Accepted {
                    // A replayed command for an order already seen: nothing to do.
                    self.events = events;
                    return;
                }
                self.orders.insert(order.id, order);
                Command::Place(Place {
                    id: order.id,
                    owner: order.owner,
                    side: order.side,
                    order_type: match order.price {
                        Some(price) => OrderType::Limit { price },
                        None => OrderType::Market {
                            quote_budget: order.quote_budget,
                        },
                    },
                    tif: order.tif,
                    post_only: order.post_only,
                    qty: order.qty,
                    stp: SelfTradePrevention::CancelResting,
                })
            }
            Input::Cancel { id, owner } => Command::Cancel { id, owner },
            Input::CancelAll { owner } => Command::CancelAll { owner },
        };
        self.book.apply(&command, ts, &mut events);
        let mut touched: Vec<OrderId> = Vec::new();
        for event in &events {
            self.settle(event, fx, &mut touched);
        }
        // Orders still resting keep exactly what their remainder needs.
        for id in touched {
            let Some(o) = self.orders.get(&id).copied() else {
                continue;
            };
            if o.status.is_live() {
                let needed = required_hold(&self.rules, o.side, o.price, None, o.remaining())
                    .unwrap_or(o.held)
                    .min(o.held);
                let mut o = o;
                let excess = o.held - needed;
                self.release(&mut o, excess, fx);
                self.orders.insert(id, o);
                fx.orders.insert(id, o);
            }
        }
        self.events = events;
    }

    fn settle(&mut self, event: &Event, fx: &mut Effects, touched: &mut Vec<OrderId>) {
        match *event {
            Event::Accepted { id } => {
                if let Some(o) = self.orders.get_mut(&id) {
                    o.status = Status::Open;
                    fx.orders.insert(id, *o);
                    touched.push(id);
                }
            }
            Event::Rested { .. } | Event::Amended { .. } => {}
            Event::Trade(t) => self.trade(t, fx, touched),
            Event::Done { id, reason, .. } => {
                let Some(mut o) = self.orders.remove(&id) else {
                    return;
                };
                let (status, why) = match reason {
                    DoneReason::Filled => (Status::Filled, None),
                    DoneReason::Cancelled(CancelReason::ByOwner) => {
                        (Status::Cancelled, Some("CANCELLED_BY_OWNER"))
                    }
                    DoneReason::Cancelled(CancelReason::SelfTrade) => {
                        (Status::Cancelled, Some("SELF_TRADE_PREVENTED"))
                    }
                    DoneReason::Expired => (Status::Cancelled, Some(expiry_reason(&o))),
                    DoneReason::Rejected(r) => (Status::Rejected, Some(reject_reason(r))),
                };
                // The status says how the order ended; `filled` says what traded before.
                o.status = status;
                o.reason = why;
                let rest = o.held;
                self.release(&mut o, rest, fx);
                fx.orders.insert(id, o);
            }
            Event::CancelRejected { id, .. } => fx.rejected_cancels.push(id),
            Event::Delta(d) => fx.deltas.push(d),
        }
    }

    fn trade(&mut self, t: crate::book::Trade, fx: &mut Effects, touched: &mut Vec<OrderId>) {
        self.trade_seq += 1;
        let seq = self.trade_seq;
        let (buyer_order, seller_order, buyer_fee, seller_fee) = match t.taker_side {
            Side::Buy => (t.taker_order, t.maker_order, t.taker_fee, t.maker_fee),
            Side::Sell => (t.maker_order, t.taker_order, t.maker_fee, t.taker_fee),
        };
        let (buyer, seller) = match t.taker_side {
            Side::Buy => (t.taker_owner, t.maker_owner),
            Side::Sell => (t.maker_owner, t.taker_owner),
        };
        fx.trades.push(TradeRecord {
            seq,
            trade: t,
            buyer,
            seller,
        });
        // Every sum checked: an amount that does not fit marks the trade's orders, and the
        // batch is refused rather than written with a saturated number.
        let mut fits = true;
        let mut check = |v: Option<u64>| {
            let v = v.filter(|v| i64::try_from(*v).is_ok());
            fits &= v.is_some();
            v.unwrap_or(0)
        };
        let base = check(t.qty.checked_mul(self.rules.lot_size));
        let buyer_cost = check(t.value.checked_add(buyer_fee));
        let fees = check(buyer_fee.checked_add(seller_fee));
        check(Some(t.value));
        let posting = |account, asset, amount: u64, kind, order, negative: bool| Posting {
            account,
            asset,
            amount: if negative {
                -signed(amount)
            } else {
                signed(amount)
            },
            kind,
            order,
            trade_seq: Some(seq),
        };
        let mut tx = vec![
            // The buyer pays value and fee from the hold and receives the base.
            posting(
                Account::Held(buyer),
                Asset::Quote,
                t.value,
                PostingKind::Trade,
                buyer_order,
                true,
            ),
            posting(
                Account::Held(buyer),
                Asset::Quote,
                buyer_fee,
                PostingKind::Fee,
                buyer_order,
                true,
            ),
            posting(
                Account::Available(buyer),
                Asset::Base,
                base,
                PostingKind::Trade,
                buyer_order,
                false,
            ),
            // The seller delivers the base from the hold and receives value less fee.
            posting(
                Account::Held(seller),
                Asset::Base,
                base,
                PostingKind::Trade,
                seller_order,
                true,
            ),
            posting(
                Account::Available(seller),
                Asset::Quote,
                t.value,
                PostingKind::Trade,
                seller_order,
                false,
            ),
            posting(
                Account::Available(seller),
                Asset::Quote,
                seller_fee,
                PostingKind::Fee,
                seller_order,
                true,
            ),
            posting(
                Account::Fees,
                Asset::Quote,
                fees,
                PostingKind::Fee,
                t.taker_order,
                false,
            ),
        ];
        tx.retain(|p| p.amount != 0);
        fx.ledger.push(tx);
        for (id, spent, fee_paid) in [
            (buyer_order, buyer_cost, buyer_fee),
            (seller_order, base, seller_fee),
        ] {
            if let Some(o) = self.orders.get_mut(&id) {
                let totals = (
                    o.filled.checked_add(t.qty),
                    o.filled_value
                        .checked_add(t.value)
                        .filter(|v| i64::try_from(*v).is_ok()),
                    o.fees_paid
                        .checked_add(fee_paid)
                        .filter(|v| i64::try_from(*v).is_ok()),
                );
                if let (Some(filled), Some(filled_value), Some(fees_paid)) = totals {
                    (o.filled, o.filled_value, o.fees_paid) = (filled, filled_value, fees_paid);
                } else {
                    fits = false;
                }
                o.held = o.held.saturating_sub(spent);
                o.status = Status::PartiallyFilled;
                fx.orders.insert(id, *o);
                touched.push(id);
            }
        }
        if !fits {
            fx.overflowed.extend([t.taker_order, t.maker_order]);
        }
    }

    /// Returns `amount` of an order's hold to its owner's available balance.
    fn release(&self, o: &mut OrderState, amount: u64, fx: &mut Effects) {
        if amount == 0 {
            return;
        }
        let asset = match o.side {
            Side::Buy => Asset::Quote,
            Side::Sell => Asset::Base,
        };
        o.held -= amount;
        if i64::try_from(amount).is_err() {
            fx.overflowed.push(o.id);
        }
        let signed = signed(amount);
        fx.ledger.push(vec![
            Posting {
                account: Account::Held(o.owner),
                asset,
                amount: -signed,
                kind: PostingKind::Release,
                order: o.id,
                trade_seq: None,
            },
            Posting {
                account: Account::Available(o.owner),
                asset,
                amount: signed,
                kind: PostingKind::Release,
                order: o.id,
                trade_seq: None,
            },
        ]);
    }
}

/// Amounts are checked to fit before they are posted ([`Effects::overflowed`] otherwise), so
/// this never saturates in effects that are written.
fn signed(amount: u64) -> i64 {
    i64::try_from(amount).unwrap_or(i64::MAX)
}

/// Why an order was refused or cancelled because the money it would move does not fit an
/// amount: a balance would pass `i64::MAX` minor units (decision 0005, "Bounds").
pub const BALANCE_LIMIT: &str = "BALANCE_LIMIT";

/// Why an order was refused when the database refused to settle it for any other reason
/// than its health (a violated constraint, a row it cannot read): it is refused alone so the
/// rest of its batch settles.
pub const SETTLEMENT_REJECTED: &str = "SETTLEMENT_REJECTED";

/// The effects of refusing an accepted order that never reached a book: it ends `REJECTED`
/// with `reason`, and everything held for it goes back to its owner's available balance in
/// one release transaction.
pub fn refusal(mut order: OrderState, reason: &'static str) -> Effects {
    let mut fx = Effects::default();
    let asset = match order.side {
        Side::Buy => Asset::Quote,
        Side::Sell => Asset::Base,
    };
    if order.held > 0 {
        let amount = signed(order.held);
        let leg = |account, amount| Posting {
            account,
            asset,
            amount,
            kind: PostingKind::Release,
            order: order.id,
            trade_seq: None,
        };
        fx.ledger.push(vec![
            leg(Account::Held(order.owner), -amount),
            leg(Account::Available(order.owner), amount),
        ]);
    }
    order.held = 0;
    order.status = Status::Rejected;
    order.reason = Some(reason);
    fx.orders.insert(order.id, order);
    fx
}

fn expiry_reason(o: &OrderState) -> &'static str {
    match (o.price, o.tif) {
        (None, _) => "MARKET_REMAINDER_EXPIRED",
        (_, TimeInForce::Ioc) => "IOC_REMAINDER_EXPIRED",
        _ => "EXPIRED",
    }
}

/// The reason an order was refused, as the API shows it.
pub fn reject_reason(r: RejectReason) -> &'static str {
    match r {
        RejectReason::DuplicateOrderId => "DUPLICATE_ORDER_ID",
        RejectReason::InvalidQuantity => "INVALID_QUANTITY",
        RejectReason::InvalidPrice => "INVALID_PRICE",
        RejectReason::PostOnlyMarket => "POST_ONLY_MARKET",
        RejectReason::MissingBudget => "MISSING_BUDGET",
        RejectReason::Overflow => "OVERFLOW",
        RejectReason::PostOnlyWouldCross => "POST_ONLY_WOULD_CROSS",
        RejectReason::FokNotFillable => "FOK_NOT_FILLABLE",
        RejectReason::UnknownOrder => "UNKNOWN_ORDER",
        RejectReason::AmendWouldCross => "AMEND_WOULD_CROSS",
    }
}
