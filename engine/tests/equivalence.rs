//! Proves that [`Book`] behaves exactly like the reference model in `tests/model`: long random
//! command streams go through both and must produce identical events, command after command.
//!
//! After every command it also checks, independently of the model, what the events and the
//! book's views say about each other:
//! - `check_invariants()` holds and the book is not crossed;
//! - each order's filled quantity is the sum of its trades, and quantity is conserved: an
//!   order placed (or amended) for `q` lots ends `Filled` after exactly `q` lots of trades,
//!   ends cancelled or expired with lots left over, or rests with `q - filled` open;
//! - the live orders derived from the events are exactly `open_orders()` (so no level holds
//!   an empty, filled or cancelled order), in the model's priority order;
//! - the `Delta` events, applied in order to an empty map, reproduce `depth()` on both sides,
//!   and so does aggregating `open_orders()`; `best_bid()`/`best_ask()` agree with them.
//!
//! A second property snapshots a random book, restores it with `Book::restore`, and feeds the
//! same further commands to the original and the copy: their events must be identical.
//! `PROPTEST_CASES` overrides the case counts for a longer run.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod model;

use std::collections::{BTreeMap, HashMap};

use engine::book::{
    Book, BookConfig, BookDelta, CancelReason, Command, DoneReason, Event, MAX_PRICE, MAX_QTY,
    OrderId, OrderType, Owner, Place, RejectReason, RestingOrder, SelfTradePrevention, Side,
    TimeInForce,
};
use model::{Model, fee, value};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;

// ---------------------------------------------------------------------------------------
// Generated operations.
//
// Streams are generated as `Op`s, not `Command`s: an `Op` may name "the n-th live order",
// and is turned into a command against the current state when it runs. That keeps cancels
// and amends mostly aimed at live orders, and keeps every shrunk stream meaningful.
//
// Prices are drawn relative to each case's `Range` (a centre and a spread): a few ticks
// wide, so that orders meet and levels stack, or tens of thousands wide, or hugging 1 or
// `MAX_PRICE`, so that levels also spread far apart, sides empty and refill elsewhere.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Place {
        id: IdChoice,
        owner: Owner,
        side: Side,
        kind: Kind,
        tif: TimeInForce,
        post_only: bool,
        qty: u64,
        stp: SelfTradePrevention,
    },
    Cancel(Target),
    CancelAll(Owner),
    Amend {
        target: Target,
        price: NewPrice,
        qty: NewQty,
    },
}

/// The id of a new order.
#[derive(Debug, Clone)]
enum IdChoice {
    /// Never used before.
    Fresh,
    /// A live order's id (a duplicate), or fresh when the book is empty.
    Live(usize),
    /// One of the last ids handed out: live or finished, so a duplicate or a reuse.
    Recent(u64),
    /// Any value.
    Raw(u64),
}

#[derive(Debug, Clone)]
enum Kind {
    Limit(PriceChoice),
    Market(Budget),
}

#[derive(Debug, Clone)]
enum PriceChoice {
    /// The case's centre plus this many thousandths of its spread (-1000..=1000).
    Near(i64),
    /// Exactly this (the edges of the valid range, or anything).
    Raw(u64),
}

/// The prices of one case: `centre ± spread`.
#[derive(Debug, Clone, Copy)]
struct Range {
    centre: u64,
    spread: u64,
}

impl Range {
    fn near(self, permille: i64) -> u64 {
        let offset = i128::from(permille) * i128::from(self.spread) / 1000;
        let price = i128::from(self.centre) + offset;
        u64::try_from(price.max(0)).unwrap_or(u64::MAX)
    }
}

#[derive(Debug, Clone)]
enum Budget {
    None,
    /// This many minor units.
    Raw(u64),
    /// This many thousandths of one lot at the centre price, so it matters in any market.
    Lots(u64),
}

/// The order a cancel or amend names.
#[derive(Debug, Clone)]
enum Target {
    /// The n-th live order, by its owner or (`foreign`) by someone else.
    Live { pick: usize, foreign: bool },
    /// One of the last ids handed out, by some owner.
    Recent(u64, Owner),
    /// Any id, by some owner.
    Raw(u64, Owner),
}

#[derive(Debug, Clone)]
enum NewPrice {
    Same,
    /// This many ticks away.
    Ticks(i64),
    /// Anywhere in the range, or anything.
    Anew(PriceChoice),
}

#[derive(Debug, Clone)]
enum NewQty {
    Same,
    Less,
    More(u64),
    Raw(u64),
}

fn owner() -> impl Strategy<Value = Owner> {
    prop_oneof![30 => 1..=5u128, 1 => Just(0), 1 => Just(u128::MAX)]
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

/// Mostly within the case's range; sometimes the edges of the valid range, or anything.
fn price() -> impl Strategy<Value = PriceChoice> {
    prop_oneof![
        40 => (-1000..=1000i64).prop_map(PriceChoice::Near),
        2 => select(vec![0, 1, 2, MAX_PRICE - 1, MAX_PRICE, MAX_PRICE + 1, u64::MAX])
            .prop_map(PriceChoice::Raw),
        1 => any::<u64>().prop_map(PriceChoice::Raw),
    ]
}

/// A band a few ticks wide: orders meet often and levels stack up.
fn narrow_range() -> impl Strategy<Value = Range> {
    range(prop_oneof![2 => Just(5u64), 1 => Just(50u64)])
}

/// Thousands of ticks wide: levels spread out, sides empty and refill far away.
fn wide_range() -> impl Strategy<Value = Range> {
    range(select(vec![3_000u64, 20_000, 200_000]))
}

/// A range of one of `spreads`, in the middle or touching either end of the valid prices.
fn range(spreads: impl Strategy<Value = u64>) -> impl Strategy<Value = Range> {
    (spreads, 0..3u8).prop_map(|(spread, at)| Range {
        centre: match at {
            0 => 100.max(spread + 1),
            1 => 1_000_000,
            _ => MAX_PRICE - spread,
        },
        spread,
    })
}

/// Mostly a few lots; sometimes many, the edges of the range, or anything.
fn qty() -> impl Strategy<Value = u64> {
    prop_oneof![
        40 => 1..=10u64,
        8 => 11..=1_000u64,
        3 => select(vec![0, MAX_QTY - 1, MAX_QTY, MAX_QTY + 1, u64::MAX]),
        1 => any::<u64>(),
    ]
}

fn budget() -> impl Strategy<Value = Budget> {
    prop_oneof![
        2 => Just(Budget::None),
        2 => Just(Budget::Raw(0)),
        8 => (0..20_000u64).prop_map(Budget::Lots),
        2 => any::<u64>().prop_map(Budget::Raw),
        1 => Just(Budget::Raw(u64::MAX)),
    ]
}

fn tif() -> impl Strategy<Value = TimeInForce> {
    prop_oneof![
        6 => Just(TimeInForce::Gtc),
        2 => Just(TimeInForce::Ioc),
        2 => Just(TimeInForce::Fok),
    ]
}

fn stp() -> impl Strategy<Value = SelfTradePrevention> {
    prop_oneof![
        Just(SelfTradePrevention::CancelResting),
        Just(SelfTradePrevention::CancelIncoming),
        Just(SelfTradePrevention::CancelBoth),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        16 => (any::<usize>(), prop::bool::weighted(0.15))
            .prop_map(|(pick, foreign)| Target::Live { pick, foreign }),
        2 => (0..20u64, owner()).prop_map(|(back, owner)| Target::Recent(back, owner)),
        1 => (any::<u64>(), owner()).prop_map(|(id, owner)| Target::Raw(id, owner)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let id = prop_oneof![
        30 => Just(IdChoice::Fresh),
        2 => any::<usize>().prop_map(IdChoice::Live),
        2 => (1..20u64).prop_map(IdChoice::Recent),
        1 => select(vec![0, u64::MAX]).prop_map(IdChoice::Raw),
    ];
    let kind = prop_oneof![
        6 => price().prop_map(Kind::Limit),
        1 => budget().prop_map(Kind::Market),
    ];
    let place = (
        id,
        owner(),
        side(),
        kind,
        tif(),
        prop::bool::weighted(0.15),
        qty(),
        stp(),
    )
        .prop_map(
            |(id, owner, side, kind, tif, post_only, qty, stp)| Op::Place {
                id,
                owner,
                side,
                kind,
                tif,
                post_only,
                qty,
                stp,
            },
        );
    let new_price = prop_oneof![
        3 => Just(NewPrice::Same),
        6 => (-6..=6i64).prop_map(NewPrice::Ticks),
        2 => price().prop_map(NewPrice::Anew),
    ];
    let new_qty = prop_oneof![
        2 => Just(NewQty::Same),
        3 => Just(NewQty::Less),
        3 => (1..=10u64).prop_map(NewQty::More),
        1 => qty().prop_map(NewQty::Raw),
    ];
    prop_oneof![
        60 => place,
        15 => target().prop_map(Op::Cancel),
        2 => owner().prop_map(Op::CancelAll),
        20 => (target(), new_price, new_qty)
            .prop_map(|(target, price, qty)| Op::Amend { target, price, qty }),
    ]
}

/// Valid configurations, often with a tick value or fee rates at the edges.
fn config() -> impl Strategy<Value = BookConfig> {
    let quote_per_tick_lot = prop_oneof![
        6 => Just(1u64),
        2 => 2..=1_000u64,
        1 => select(vec![10_000, 1 << 20, 1 << 40, u64::MAX / 1_000, u64::MAX]),
    ];
    let bps = || {
        prop_oneof![
            2 => Just(0u32),
            2 => select(vec![1u32, 7, 25, 9_999, 10_000]),
            1 => 0..=10_000u32,
        ]
    };
    (quote_per_tick_lot, bps(), bps()).prop_map(|(quote_per_tick_lot, maker, taker)| BookConfig {
        quote_per_tick_lot,
        maker_fee_bps: maker,
        taker_fee_bps: taker,
    })
}

/// Turns `Op`s into commands against the live orders of the moment.
struct Resolver {
    range: Range,
    /// The next fresh id; ids below it have been handed out.
    next_id: u64,
}

impl Resolver {
    fn resolve(&mut self, op: &Op, live: &[RestingOrder], config: &BookConfig) -> Command {
        match op.clone() {
            Op::Place {
                id,
                owner,
                side,
                kind,
                tif,
                post_only,
                qty,
                stp,
            } => {
                let id = match id {
                    IdChoice::Live(n) if !live.is_empty() => live[n % live.len()].id,
                    IdChoice::Recent(back) if back < self.next_id => self.next_id - back,
                    IdChoice::Raw(id) => id,
                    _ => self.fresh(),
                };
                let order_type = match kind {
                    Kind::Limit(price) => OrderType::Limit {
                        price: self.price(price),
                    },
                    Kind::Market(budget) => OrderType::Market {
                        quote_budget: match budget {
                            Budget::None => None,
                            Budget::Raw(b) => Some(b),
                            Budget::Lots(permille) => {
                                let lot = u128::from(self.range.centre)
                                    * u128::from(config.quote_per_tick_lot);
                                let budget = lot * u128::from(permille) / 1000;
                                Some(u64::try_from(budget).unwrap_or(u64::MAX))
                            }
                        },
                    },
                };
                Command::Place(Place {
                    id,
                    owner,
                    side,
                    order_type,
                    tif,
                    post_only,
                    qty,
                    stp,
                })
            }
            Op::Cancel(target) => {
                let (id, owner, _) = self.target(target, live);
                Command::Cancel { id, owner }
            }
            Op::CancelAll(owner) => Command::CancelAll { owner },
            Op::Amend { target, price, qty } => {
                let (id, owner, order) = self.target(target, live);
                let (old_price, old_qty) =
                    order.map_or((self.range.centre, 5), |o| (o.price, o.qty));
                let price = match price {
                    NewPrice::Same => old_price,
                    NewPrice::Ticks(d) => old_price.saturating_add_signed(d),
                    NewPrice::Anew(p) => self.price(p),
                };
                let qty = match qty {
                    NewQty::Same => old_qty,
                    NewQty::Less => old_qty / 2,
                    NewQty::More(n) => old_qty.saturating_add(n),
                    NewQty::Raw(q) => q,
                };
                Command::Amend {
                    id,
                    owner,
                    price,
                    qty,
                }
            }
        }
    }

    fn price(&self, choice: PriceChoice) -> u64 {
        match choice {
            PriceChoice::Near(permille) => self.range.near(permille),
            PriceChoice::Raw(price) => price,
        }
    }

    fn fresh(&mut self) -> OrderId {
        self.next_id += 1;
        self.next_id - 1
    }

    /// The id and owner a cancel or amend names, and the live order it names, if any.
    fn target(
        &self,
        target: Target,
        live: &[RestingOrder],
    ) -> (OrderId, Owner, Option<RestingOrder>) {
        match target {
            Target::Live { pick, foreign } if !live.is_empty() => {
                let o = live[pick % live.len()];
                let owner = if foreign {
                    o.owner.wrapping_add(1)
                } else {
                    o.owner
                };
                (o.id, owner, Some(o))
            }
            Target::Live { .. } => (self.next_id, 1, None),
            Target::Recent(back, owner) => (self.next_id.saturating_sub(back), owner, None),
            Target::Raw(id, owner) => (id, owner, None),
        }
    }
}

// ---------------------------------------------------------------------------------------
// What the events say: an independent account of every order, kept from the events alone.
// ---------------------------------------------------------------------------------------

/// An order as the events describe it.
#[derive(Debug, Clone, Copy)]
struct Tracked {
    owner: Owner,
    side: Side,
    /// Its limit (0 for a market order, which never rests).
    price: u64,
    /// The quantity it was placed with, or filled + open as of its last amend.
    qty: u64,
    /// The sum of its trades.
    filled: u64,
}

impl Tracked {
    fn open(&self) -> u64 {
        self.qty - self.filled
    }
}

/// Follows the event stream: the live orders and the L2 levels it implies.
struct Audit {
    config: BookConfig,
    live: HashMap<OrderId, Tracked>,
    /// `(side is Sell, price)` → `(qty, orders)`, from the deltas alone.
    levels: BTreeMap<(bool, u64), (u64, u32)>,
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

impl Audit {
    fn new(config: BookConfig) -> Self {
        Self {
            config,
            live: HashMap::new(),
            levels: BTreeMap::new(),
        }
    }

    /// Takes in one command's events, checking each against what came before.
    fn record(&mut self, cmd: &Command, events: &[Event]) -> Result<(), String> {
        // The incoming order of a place, from its `Accepted` until its `Rested` or `Done`.
        let mut incoming: Option<(OrderId, Tracked)> = None;
        // What a market BUY may still spend on trades and taker fees.
        let mut budget: Option<u64> = None;
        for (n, event) in events.iter().enumerate() {
            match *event {
                Event::Accepted { id } => {
                    let Command::Place(p) = cmd else {
                        return Err("Accepted, not placing".into());
                    };
                    ensure!(n == 0 && id == p.id, "Accepted {id} is not first for {p:?}");
                    let price = match p.order_type {
                        OrderType::Limit { price } => price,
                        OrderType::Market { .. } => 0,
                    };
                    let order = Tracked {
                        owner: p.owner,
                        side: p.side,
                        price,
                        qty: p.qty,
                        filled: 0,
                    };
                    incoming = Some((id, order));
                    if let (Side::Buy, OrderType::Market { quote_budget }) = (p.side, p.order_type)
                    {
                        budget = quote_budget;
                    }
                }
                Event::Trade(t) => {
                    let Some((taker_id, taker)) = incoming.as_mut() else {
                        return Err(format!("trade without an incoming order: {t:?}"));
                    };
                    let maker = self
                        .live
                        .get_mut(&t.maker_order)
                        .ok_or_else(|| format!("trade with a maker that is not live: {t:?}"))?;
                    ensure!(
                        t.taker_order == *taker_id
                            && t.taker_owner == taker.owner
                            && t.taker_side == taker.side
                            && t.maker_owner == maker.owner
                            && maker.side == taker.side.opposite(),
                        "trade parties wrong: {t:?}"
                    );
                    ensure!(
                        t.price == maker.price,
                        "trade not at the maker's price: {t:?}"
                    );
                    ensure!(
                        taker.price == 0
                            || match taker.side {
                                Side::Buy => t.price <= taker.price,
                                Side::Sell => t.price >= taker.price,
                            },
                        "trade beyond the taker's limit: {t:?}"
                    );
                    ensure!(t.maker_owner != t.taker_owner, "a self-trade: {t:?}");
                    let cfg = self.config;
                    ensure!(
                        t.qty > 0
                            && Some(t.value) == value(t.price, t.qty, cfg.quote_per_tick_lot)
                            && Some(t.maker_fee) == fee(t.value, cfg.maker_fee_bps)
                            && Some(t.taker_fee) == fee(t.value, cfg.taker_fee_bps),
                        "trade value or fees wrong: {t:?}"
                    );
                    if let Some(left) = budget.as_mut() {
                        *left = t
                            .value
                            .checked_add(t.taker_fee)
                            .and_then(|cost| left.checked_sub(cost))
                            .ok_or_else(|| format!("market buy over its budget: {t:?}"))?;
                    }
                    maker.filled += t.qty;
                    taker.filled += t.qty;
                    ensure!(maker.filled <= maker.qty, "maker overfilled: {t:?}");
                    ensure!(taker.filled <= taker.qty, "taker overfilled: {t:?}");
                }
                Event::Done { id, owner, reason } => match incoming {
                    Some((taker_id, taker)) if taker_id == id => {
                        ensure!(
                            owner == taker.owner,
                            "Done names the wrong owner: {event:?}"
                        );
                        ensure!(
                            n == events.len() - 1,
                            "the incoming order's Done is not last"
                        );
                        check_done(&taker, reason, false)
                            .map_err(|e| format!("incoming {id}: {e}"))?;
                        incoming = None;
                    }
                    _ if matches!(reason, DoneReason::Rejected(_)) => {
                        let Command::Place(p) = cmd else {
                            return Err(format!("Rejected, not placing: {event:?}"));
                        };
                        ensure!(
                            events.len() == 1 && id == p.id && owner == p.owner,
                            "a rejected place emits only its own Done: {events:?}"
                        );
                    }
                    _ => {
                        let maker = self
                            .live
                            .remove(&id)
                            .ok_or_else(|| format!("Done for an order that is not live: {id}"))?;
                        ensure!(
                            owner == maker.owner,
                            "Done names the wrong owner: {event:?}"
                        );
                        check_done(&maker, reason, true).map_err(|e| format!("order {id}: {e}"))?;
                    }
                },
                Event::Rested {
                    id,
                    side,
                    price,
                    qty,
                } => {
                    let Some((taker_id, taker)) = incoming.take() else {
                        return Err(format!("Rested without an incoming order: {event:?}"));
                    };
                    ensure!(
                        id == taker_id && side == taker.side && price == taker.price,
                        "Rested names another order: {event:?}"
                    );
                    ensure!(
                        qty > 0 && qty == taker.open(),
                        "Rested {qty}, open {}",
                        taker.open()
                    );
                    let next = events.get(n + 1);
                    ensure!(
                        matches!(next, Some(Event::Delta(d)) if d.side == side && d.price == price),
                        "Rested is not followed by its level's Delta"
                    );
                    self.live.insert(id, taker);
                }
                Event::Amended { id, price, qty, .. } => {
                    let order = self
                        .live
                        .get_mut(&id)
                        .ok_or_else(|| format!("amended {id} not live"))?;
                    order.price = price;
                    order.qty = order.filled + qty;
                }
                Event::CancelRejected { id, reason } => {
                    ensure!(
                        events.len() == 1,
                        "a refused cancel or amend emits only itself"
                    );
                    ensure!(
                        matches!(*cmd, Command::Cancel { id: i, .. } | Command::Amend { id: i, .. } if i == id),
                        "CancelRejected names another order"
                    );
                    ensure!(
                        matches!(*cmd, Command::Amend { .. })
                            || reason == RejectReason::UnknownOrder,
                        "a cancel is only ever refused as unknown"
                    );
                }
                Event::Delta(d) => {
                    ensure!(
                        (d.qty == 0) == (d.orders == 0),
                        "Delta qty and count disagree: {d:?}"
                    );
                    let key = (d.side == Side::Sell, d.price);
                    if d.qty == 0 {
                        self.levels.remove(&key);
                    } else {
                        self.levels.insert(key, (d.qty, d.orders));
                    }
                }
            }
        }
        ensure!(
            incoming.is_none(),
            "an accepted order neither rested nor finished"
        );
        Ok(())
    }

    /// The L2 levels of one side as the deltas built them, best first.
    fn depth(&self, side: Side) -> Vec<BookDelta> {
        let mut levels: Vec<BookDelta> = self
            .levels
            .iter()
            .filter(|((sell, _), _)| *sell == (side == Side::Sell))
            .map(|(&(_, price), &(qty, orders))| BookDelta {
                side,
                price,
                qty,
                orders,
            })
            .collect();
        if side == Side::Buy {
            levels.reverse();
        }
        levels
    }

    /// The live orders the events imply are exactly the book's open orders.
    fn matches(&self, open: &[RestingOrder]) -> Result<(), String> {
        ensure!(
            open.len() == self.live.len(),
            "{} open orders, {} live per the events",
            open.len(),
            self.live.len()
        );
        for o in open {
            let t = self
                .live
                .get(&o.id)
                .ok_or_else(|| format!("open {o:?} is not live"))?;
            ensure!(
                t.owner == o.owner && t.side == o.side && t.price == o.price && t.open() == o.qty,
                "open {o:?} disagrees with the events: {t:?}"
            );
        }
        Ok(())
    }
}

/// An order's `Done` reason agrees with its fills: filled means every lot traded, anything
/// else leaves lots (a resting order is never `Expired` and never rejected).
fn check_done(order: &Tracked, reason: DoneReason, resting: bool) -> Result<(), String> {
    match reason {
        DoneReason::Filled => {
            ensure!(
                order.filled == order.qty,
                "Filled at {} of {}",
                order.filled,
                order.qty
            );
        }
        DoneReason::Cancelled(CancelReason::ByOwner) if !resting => {
            return Err("the incoming order cancelled by its owner".into());
        }
        DoneReason::Cancelled(_) | DoneReason::Expired => {
            ensure!(order.open() > 0, "{reason:?} with nothing left");
            ensure!(
                !resting || reason != DoneReason::Expired,
                "a resting order expired"
            );
        }
        DoneReason::Rejected(_) => return Err("rejected after being accepted".into()),
    }
    Ok(())
}

/// L2 levels by adding up the open orders of one side (listed best first).
fn aggregate(open: &[RestingOrder], side: Side) -> Vec<BookDelta> {
    let mut levels: Vec<BookDelta> = Vec::new();
    for o in open.iter().filter(|o| o.side == side) {
        match levels.last_mut() {
            Some(level) if level.price == o.price => {
                level.qty += o.qty;
                level.orders += 1;
            }
            _ => levels.push(BookDelta {
                side,
                price: o.price,
                qty: o.qty,
                orders: 1,
            }),
        }
    }
    levels
}

// ---------------------------------------------------------------------------------------
// The harness: one stream through the book, the model, and the audit.
// ---------------------------------------------------------------------------------------

struct Harness {
    book: Book,
    model: Model,
    audit: Audit,
    resolver: Resolver,
    ts: u64,
    /// Events of every command, appended (the book never clears `out`).
    out: Vec<Event>,
}

impl Harness {
    fn new(config: BookConfig, range: Range) -> Self {
        Self {
            book: Book::new(config).expect("a valid config"),
            model: Model::new(config),
            audit: Audit::new(config),
            resolver: Resolver { range, next_id: 1 },
            ts: 1_000,
            out: Vec::new(),
        }
    }

    fn command(&mut self, op: &Op) -> Command {
        self.resolver
            .resolve(op, &self.model.open_orders(), &self.audit.config)
    }

    /// Runs one command through the book and the model; returns the book's events.
    fn step(&mut self, cmd: &Command) -> Result<Vec<Event>, String> {
        self.ts += 1;
        if self.out.len() > 10_000 {
            self.out.clear();
        }
        let start = self.out.len();
        self.book.apply(cmd, self.ts, &mut self.out);
        let events = self.out[start..].to_vec();
        let expected = self.model.apply(cmd, self.ts);
        ensure!(
            events == expected,
            "events differ for {cmd:?}\n  book:  {events:?}\n  model: {expected:?}"
        );
        self.audit
            .record(cmd, &events)
            .map_err(|e| format!("{e}\n  after {cmd:?}: {events:?}"))?;
        self.check()
            .map_err(|e| format!("{e}\n  after {cmd:?}: {events:?}"))?;
        Ok(events)
    }

    /// Everything that must hold between two commands.
    fn check(&self) -> Result<(), String> {
        self.book
            .check_invariants()
            .map_err(|e| format!("book invariants: {e}"))?;
        self.model
            .check_invariants()
            .map_err(|e| format!("model invariants: {e}"))?;
        let open = self.book.open_orders();
        ensure!(
            open == self.model.open_orders(),
            "open orders differ from the model's"
        );
        ensure!(
            self.book.len() == open.len(),
            "len {} with {} open",
            self.book.len(),
            open.len()
        );
        self.audit.matches(&open)?;
        for side in [Side::Buy, Side::Sell] {
            let depth = self.book.depth(side, open.len() + 1);
            ensure!(
                depth == self.model.depth(side),
                "{side:?} depth differs from the model's"
            );
            ensure!(
                depth == self.audit.depth(side),
                "{side:?} deltas do not rebuild depth"
            );
            ensure!(
                depth == aggregate(&open, side),
                "{side:?} depth is not the open orders'"
            );
            ensure!(
                self.book.depth(side, 2).as_slice() == &depth[..depth.len().min(2)],
                "{side:?} depth(2) is not the top of depth"
            );
            let best = match side {
                Side::Buy => self.book.best_bid(),
                Side::Sell => self.book.best_ask(),
            };
            ensure!(
                best == depth.first().map(|l| (l.price, l.qty)),
                "best {side:?} is wrong"
            );
        }
        if let (Some((bid, _)), Some((ask, _))) = (self.book.best_bid(), self.book.best_ask()) {
            ensure!(bid < ask, "crossed: bid {bid} >= ask {ask}");
        }
        Ok(())
    }
}

fn fail(e: String) -> TestCaseError {
    TestCaseError::fail(e)
}

/// How long a failure may shrink (each try replays hundreds of commands).
const SHRINK_MS: u32 = 120_000;

/// Case counts keep the file around half a minute in a debug build on two cores.
/// `PROPTEST_CASES` overrides them for a longer run.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------
// The properties.
// ---------------------------------------------------------------------------------------

fn run_stream(config: BookConfig, range: Range, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut h = Harness::new(config, range);
    for op in ops {
        let cmd = h.command(op);
        h.step(&cmd).map_err(fail)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(1024),
        max_shrink_time: SHRINK_MS,
        ..ProptestConfig::default()
    })]

    #[test]
    fn book_and_model_agree_on_a_crowded_book(
        config in config(),
        range in narrow_range(),
        ops in prop::collection::vec(op(), 200..=400),
    ) {
        run_stream(config, range, &ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(384),
        max_shrink_time: SHRINK_MS,
        ..ProptestConfig::default()
    })]

    #[test]
    fn book_and_model_agree_across_a_wide_ladder(
        config in config(),
        range in wide_range(),
        ops in prop::collection::vec(op(), 200..=400),
    ) {
        run_stream(config, range, &ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(192),
        max_shrink_time: SHRINK_MS,
        ..ProptestConfig::default()
    })]

    #[test]
    fn restored_book_emits_the_same_events_as_the_original(
        config in config(),
        range in prop_oneof![narrow_range(), wide_range()],
        before in prop::collection::vec(op(), 0..=300),
        after in prop::collection::vec(op(), 50..=200),
    ) {
        let mut h = Harness::new(config, range);
        for op in &before {
            let cmd = h.command(op);
            h.step(&cmd).map_err(fail)?;
        }
        let snapshot = h.book.open_orders();
        let mut restored = Book::restore(config, &snapshot)
            .map_err(|e| fail(format!("restoring {snapshot:?}: {e:?}")))?;
        prop_assert_eq!(restored.open_orders(), snapshot.clone());
        // The model goes on from its own restored copy, so the rest of the stream also
        // holds the restored book to a model that was restored.
        h.model = Model::restore(config, &snapshot);
        for side in [Side::Buy, Side::Sell] {
            prop_assert_eq!(restored.depth(side, usize::MAX), h.book.depth(side, usize::MAX));
        }
        for op in &after {
            let cmd = h.command(op);
            let events = h.step(&cmd).map_err(fail)?;
            let mut copy = Vec::new();
            restored.apply(&cmd, h.ts, &mut copy);
            prop_assert_eq!(&copy, &events, "restored book differs on {:?}", cmd);
            restored.check_invariants().map_err(fail)?;
        }
        prop_assert_eq!(restored.open_orders(), h.book.open_orders());
    }
}
