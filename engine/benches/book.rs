//! Benchmark acceptance for the matching engine (issue #3): how fast [`Book::apply`] runs a
//! realistic order flow, how long one operation takes at the tail, and whether it allocates,
//! compared side by side with other order books fed the very same flow.
//!
//! # The flow
//! One fixed, seeded stream of commands, generated before anything is timed by a small
//! splitmix64 PRNG written here (no `rand` API churn), with a [`Book`] as the generator's
//! oracle so that every command makes sense against the book it will meet:
//! - **60 % adds**: GTC limit orders, either side, 1–100 lots, from one of 300 owners, priced
//!   within a few ticks of the current best of their side (up to 4 ticks behind it, or 1 tick
//!   better), never crossing: they rest;
//! - **30 % cancels** of an order picked uniformly among those resting at that moment (the
//!   generator tracks them from the book's events), by its owner;
//! - **10 % takers** that cross: half IOC limits 0–2 ticks through the opposite best, half
//!   market orders (a market BUY carries a large `quote_budget`); 1–100 lots plus up to an
//!   eighth of the quantity resting at the opposite best.
//!
//! Why takers grow with the displayed size: with this 60/30/10 mix the book only reaches a
//! steady size if takers remove what cancels do not (each cancel removes one order, each add
//! brings one). With 1–100-lot takers alone it grows by ~0.2 orders per command, to 240,000
//! orders within 10 ticks after 1.2 M commands: queues of 20,000 orders, which is no market.
//! Sized against the top of book, takers regularly clear the best level, prices move, and the
//! book hovers around 10,000 resting orders over ~25 ticks (the bench prints the figures).
//!
//! [`WARMUP_OPS`] commands come first and are replayed untimed into a fresh book before each
//! measurement, so the 1,000,000 measured commands ([`MEASURED_OPS`]) meet a book in its
//! steady state: caches warm, capacity reached, the book at its usual size.
//!
//! # What is measured
//! 1. **Throughput** (criterion, group `throughput`): the whole measured stream through each
//!    implementation, reported as operations per second (`Throughput::Elements`). Each
//!    implementation reuses one output buffer, cleared per operation: the harness itself
//!    allocates nothing per operation.
//! 2. **Latency** (a separate pass, printed to stdout): every operation timed alone with
//!    `Instant::now()` into HDR histograms, overall and per kind (add, cancel, taker); p50,
//!    p99, p99.9 and max. The clock itself costs ~20 ns per reading pair on this kind of
//!    machine: the pass also times an empty operation and prints that floor, so read the
//!    percentiles as "floor + operation".
//! 3. **Allocations** (same pass): the binary's global allocator counts every allocation
//!    (`stats_alloc` wrapping `System`: the workspace forbids `unsafe`, so the counting
//!    allocator comes from a small crate rather than being written here); the count across
//!    the measured operations, divided by their number, is allocations per operation. The
//!    empty-operation pass checks that the harness itself allocates nothing.
//!
//! # The implementations
//! - `rialto Book`: [`engine::Book`], the engine under test.
//! - `plain BTreeMap`: [`PlainBook`], written here as the textbook design: a
//!   `BTreeMap<price, VecDeque<order>>` per side plus a `HashMap` id index for cancels, with
//!   the same rules as `Book` for this flow (price-time priority, cancel-resting self-trade
//!   prevention, owner-checked cancels, market BUY budget).
//! - `orderbook-rs 0.15`: a maintained crates.io order book (`OrderBook<()>`), concurrent by
//!   design (`&self` API, lock-free levels, `DashMap` indices). Mapping: see [`OrderbookRs`].
//! - `lobster 0.7`: a small single-threaded crates.io order book, for a second data point.
//!   Mapping: see [`Lobster`].
//!
//! Every implementation gets the same commands in the same order; after the run the bench
//! prints each one's best bid/ask and resting order count, so a mapping that diverged from
//! `Book`'s semantics shows.
//!
//! Run with `cargo bench -p engine --bench book` (about a minute and a half on 2 cores);
//! `cargo bench -p engine --bench book -- rialto` runs only the implementations whose name
//! contains the word. Without `--bench` (e.g. `cargo test --benches`) it runs a short smoke
//! version of the same thing.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use std::alloc::System;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use engine::{
    Book, BookConfig, Command, Event, OrderId, OrderType, Owner, Place, SelfTradePrevention, Side,
    TimeInForce,
};
use hdrhistogram::Histogram;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Commands replayed untimed before each measurement.
const WARMUP_OPS: usize = 200_000;
/// Commands measured.
const MEASURED_OPS: usize = 1_000_000;
/// Stream sizes of the smoke run (`cargo test --benches`).
const SMOKE_WARMUP_OPS: usize = 2_000;
const SMOKE_MEASURED_OPS: usize = 10_000;

const SEED: u64 = 0x5EED_0003_1A17_B00C;
const OWNERS: u64 = 300;
/// A taker adds up to `1 / TAKER_SHARE` of the opposite best level's quantity to its size.
const TAKER_SHARE: u64 = 8;
/// Where the first orders are placed, in ticks.
const START_PRICE: u64 = 1_000_000;
/// The quote budget of a market BUY: large enough never to bind in this flow.
const MARKET_BUY_BUDGET: u64 = 1 << 60;

const CONFIG: BookConfig = BookConfig {
    quote_per_tick_lot: 1,
    maker_fee_bps: 1,
    taker_fee_bps: 5,
};

// ---------------------------------------------------------------------------------------
// The stream.
// ---------------------------------------------------------------------------------------

/// splitmix64: tiny, fast, and fixed forever (unlike `rand`'s algorithms and API).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    fn side(&mut self) -> Side {
        if self.next() & 1 == 0 {
            Side::Buy
        } else {
            Side::Sell
        }
    }
}

fn owner(index: u64) -> Owner {
    // Spread over all 128 bits, like the UUIDs the engine really sees.
    (u128::from(index + 1) << 64) | u128::from((index + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The resting orders the generator knows of, with O(1) uniform pick and removal.
#[derive(Default)]
struct LiveOrders {
    orders: Vec<(OrderId, Owner)>,
    slot: HashMap<OrderId, usize>,
}

impl LiveOrders {
    fn insert(&mut self, id: OrderId, owner: Owner) {
        self.slot.insert(id, self.orders.len());
        self.orders.push((id, owner));
    }

    fn remove(&mut self, id: OrderId) {
        if let Some(i) = self.slot.remove(&id) {
            self.orders.swap_remove(i);
            if let Some(&(moved, _)) = self.orders.get(i) {
                self.slot.insert(moved, i);
            }
        }
    }
}

/// What the generator saw, printed with the results.
#[derive(Default)]
struct StreamStats {
    adds: usize,
    cancels: usize,
    takers: usize,
    trades: usize,
    resting_at_start: usize,
    resting_at_end: usize,
    peak_resting: usize,
    min_price: u64,
    max_price: u64,
}

struct Stream {
    warmup: Vec<Command>,
    measured: Vec<Command>,
    /// Peak number of resting orders: every implementation is sized for it.
    capacity: usize,
    stats: StreamStats,
}

impl Stream {
    fn generate(warmup_ops: usize, measured_ops: usize) -> Self {
        let mut rng = SplitMix64(SEED);
        let mut book = Book::with_capacity(CONFIG, 1 << 20).unwrap();
        let mut live = LiveOrders::default();
        let mut events = Vec::new();
        let mut commands = Vec::with_capacity(warmup_ops + measured_ops);
        let mut stats = StreamStats {
            min_price: u64::MAX,
            ..StreamStats::default()
        };
        let mut next_id: OrderId = 1;
        for i in 0..warmup_ops + measured_ops {
            if i == warmup_ops {
                stats = StreamStats {
                    resting_at_start: book.len(),
                    min_price: u64::MAX,
                    ..StreamStats::default()
                };
            }
            let roll = rng.below(100);
            let command = if roll < 60 || live.orders.is_empty() {
                stats.adds += 1;
                let side = rng.side();
                let price = passive_price(&book, side, &mut rng);
                stats.min_price = stats.min_price.min(price);
                stats.max_price = stats.max_price.max(price);
                place(
                    next_id,
                    owner(rng.below(OWNERS)),
                    side,
                    OrderType::Limit { price },
                    TimeInForce::Gtc,
                    1 + rng.below(100),
                )
            } else if roll < 90 {
                stats.cancels += 1;
                let (id, owner) = live.orders[rng.below(live.orders.len() as u64) as usize];
                Command::Cancel { id, owner }
            } else {
                stats.takers += 1;
                let side = rng.side();
                // 1–100 lots, plus up to an eighth of what rests at the opposite best:
                // takers size against the displayed liquidity (see the module doc).
                let displayed = match side {
                    Side::Buy => book.best_ask(),
                    Side::Sell => book.best_bid(),
                }
                .map_or(0, |(_, qty)| qty);
                let qty = 1 + rng.below(100) + rng.below(displayed / TAKER_SHARE + 1);
                let who = owner(rng.below(OWNERS));
                if rng.next() & 1 == 0 {
                    let through = rng.below(3);
                    let price = match side {
                        Side::Buy => book.best_ask().map_or(START_PRICE, |(p, _)| p + through),
                        Side::Sell => book
                            .best_bid()
                            .map_or(START_PRICE, |(p, _)| p.saturating_sub(through).max(1)),
                    };
                    let order_type = OrderType::Limit { price };
                    place(next_id, who, side, order_type, TimeInForce::Ioc, qty)
                } else {
                    let quote_budget = (side == Side::Buy).then_some(MARKET_BUY_BUDGET);
                    let order_type = OrderType::Market { quote_budget };
                    place(next_id, who, side, order_type, TimeInForce::Ioc, qty)
                }
            };
            if let Command::Place(p) = command {
                next_id = p.id + 1;
            }
            events.clear();
            book.apply(&command, i as u64, &mut events);
            for event in &events {
                match *event {
                    Event::Rested { id, .. } => {
                        let Command::Place(p) = command else {
                            unreachable!("only a place rests an order")
                        };
                        live.insert(id, p.owner);
                    }
                    Event::Done { id, .. } => live.remove(id),
                    Event::Trade(_) => stats.trades += 1,
                    _ => {}
                }
            }
            stats.peak_resting = stats.peak_resting.max(book.len());
            commands.push(command);
        }
        stats.resting_at_end = book.len();
        let measured = commands.split_off(warmup_ops);
        Self {
            warmup: commands,
            measured,
            capacity: stats.peak_resting.max(1024) * 5 / 4,
            stats,
        }
    }
}

/// A price within a few ticks of `side`'s best (4 behind to 1 better) that does not cross.
fn passive_price(book: &Book, side: Side, rng: &mut SplitMix64) -> u64 {
    let bid = book.best_bid().map(|(p, _)| p);
    let ask = book.best_ask().map(|(p, _)| p);
    let offset = rng.below(6);
    match side {
        Side::Buy => {
            let price = match (bid, ask) {
                (Some(b), _) => (b + 1).saturating_sub(offset),
                (None, Some(a)) => a.saturating_sub(1 + offset),
                (None, None) => START_PRICE - offset,
            };
            ask.map_or(price, |a| price.min(a - 1)).max(1)
        }
        Side::Sell => {
            let price = match (bid, ask) {
                (_, Some(a)) => (a + offset).saturating_sub(1).max(1),
                (Some(b), None) => b + 1 + offset,
                (None, None) => START_PRICE + 1 + offset,
            };
            bid.map_or(price, |b| price.max(b + 1))
        }
    }
}

fn place(
    id: OrderId,
    owner: Owner,
    side: Side,
    order_type: OrderType,
    tif: TimeInForce,
    qty: u64,
) -> Command {
    Command::Place(Place {
        id,
        owner,
        side,
        order_type,
        tif,
        post_only: false,
        qty,
        stp: SelfTradePrevention::CancelResting,
    })
}

// ---------------------------------------------------------------------------------------
// The implementations, behind one interface.
// ---------------------------------------------------------------------------------------

/// An order book the stream can be replayed into.
trait Engine: Sized {
    const NAME: &'static str;
    /// An empty book with room for `capacity` resting orders where the API allows.
    fn fresh(capacity: usize) -> Self;
    /// Applies one command at time `ts`.
    fn apply(&mut self, command: &Command, ts: u64);
    /// Best bid, best ask, resting orders (a cross-check between implementations).
    fn summary(&self) -> (Option<u64>, Option<u64>, Option<usize>);
}

/// A fresh book with the warm-up part of the stream replayed into it.
fn warmed<E: Engine>(stream: &Stream) -> E {
    let mut engine = E::fresh(stream.capacity);
    for (ts, command) in stream.warmup.iter().enumerate() {
        engine.apply(command, ts as u64);
    }
    engine
}

/// Replays the measured part of the stream.
fn run<E: Engine>(engine: &mut E, stream: &Stream) {
    let base = stream.warmup.len() as u64;
    for (i, command) in stream.measured.iter().enumerate() {
        engine.apply(command, base + i as u64);
    }
}

/// The engine under test: one `Vec<Event>` reused for every command.
struct Rialto {
    book: Book,
    out: Vec<Event>,
}

impl Engine for Rialto {
    const NAME: &'static str = "rialto Book";

    fn fresh(capacity: usize) -> Self {
        Self {
            book: Book::with_capacity(CONFIG, capacity).unwrap(),
            out: Vec::with_capacity(1024),
        }
    }

    #[inline]
    fn apply(&mut self, command: &Command, ts: u64) {
        self.out.clear();
        self.book.apply(command, ts, &mut self.out);
    }

    fn summary(&self) -> (Option<u64>, Option<u64>, Option<usize>) {
        (
            self.book.best_bid().map(|(p, _)| p),
            self.book.best_ask().map(|(p, _)| p),
            Some(self.book.len()),
        )
    }
}

/// The textbook book: `BTreeMap<price, VecDeque<order>>` per side and a `HashMap` from id to
/// (side, price) for cancels, which then search the level's queue. Same rules as `Book` for
/// this flow; it reports fills (maker, taker, price, qty) into one reused `Vec`.
struct PlainBook {
    bids: BTreeMap<u64, VecDeque<PlainOrder>>,
    asks: BTreeMap<u64, VecDeque<PlainOrder>>,
    index: HashMap<OrderId, (Side, u64)>,
    fills: Vec<(OrderId, OrderId, u64, u64)>,
}

#[derive(Clone, Copy)]
struct PlainOrder {
    id: OrderId,
    owner: Owner,
    qty: u64,
}

impl PlainBook {
    fn place(&mut self, p: &Place) {
        let (limit, mut budget) = match p.order_type {
            OrderType::Limit { price } => (Some(price), None),
            OrderType::Market { quote_budget } => {
                (None, quote_budget.filter(|_| p.side == Side::Buy))
            }
        };
        let mut remaining = p.qty;
        let opposite = match p.side {
            Side::Buy => &mut self.asks,
            Side::Sell => &mut self.bids,
        };
        'levels: while remaining > 0 {
            let mut level = match p.side {
                Side::Buy => opposite.first_entry(),
                Side::Sell => opposite.last_entry(),
            };
            let Some(entry) = level.as_mut() else { break };
            let price = *entry.key();
            if limit.is_some_and(|l| {
                if p.side == Side::Buy {
                    l < price
                } else {
                    l > price
                }
            }) {
                break;
            }
            let queue = entry.get_mut();
            while remaining > 0 {
                let Some(maker) = queue.front_mut() else {
                    break;
                };
                if maker.owner == p.owner {
                    // Self-trade prevention: cancel the resting order and go on.
                    self.index.remove(&maker.id);
                    queue.pop_front();
                    continue;
                }
                let mut qty = maker.qty.min(remaining);
                if let Some(b) = budget.as_mut() {
                    // Value only (no fee): the flow's budget never binds anyway.
                    qty = qty.min(*b / price);
                    if qty == 0 {
                        break 'levels;
                    }
                    *b -= price * qty;
                }
                self.fills.push((maker.id, p.id, price, qty));
                remaining -= qty;
                maker.qty -= qty;
                if maker.qty == 0 {
                    self.index.remove(&maker.id);
                    queue.pop_front();
                }
            }
            if queue.is_empty() {
                level.unwrap().remove();
            }
        }
        if let (Some(price), TimeInForce::Gtc, true) = (limit, p.tif, remaining > 0) {
            let own = match p.side {
                Side::Buy => &mut self.bids,
                Side::Sell => &mut self.asks,
            };
            own.entry(price).or_default().push_back(PlainOrder {
                id: p.id,
                owner: p.owner,
                qty: remaining,
            });
            self.index.insert(p.id, (p.side, price));
        }
    }

    fn cancel(&mut self, id: OrderId, owner: Owner) {
        let Some(&(side, price)) = self.index.get(&id) else {
            return;
        };
        let levels = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let queue = levels.get_mut(&price).expect("indexed order has a level");
        let at = queue
            .iter()
            .position(|o| o.id == id)
            .expect("indexed order is queued");
        if queue[at].owner != owner {
            return;
        }
        queue.remove(at);
        if queue.is_empty() {
            levels.remove(&price);
        }
        self.index.remove(&id);
    }
}

impl Engine for PlainBook {
    const NAME: &'static str = "plain BTreeMap";

    fn fresh(capacity: usize) -> Self {
        Self {
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            index: HashMap::with_capacity(capacity),
            fills: Vec::with_capacity(1024),
        }
    }

    #[inline]
    fn apply(&mut self, command: &Command, _ts: u64) {
        self.fills.clear();
        match command {
            Command::Place(p) => self.place(p),
            Command::Cancel { id, owner } => self.cancel(*id, *owner),
            Command::CancelAll { .. } | Command::Amend { .. } => {
                unreachable!("the stream has no cancel-all or amend")
            }
        }
    }

    fn summary(&self) -> (Option<u64>, Option<u64>, Option<usize>) {
        (
            self.bids.last_key_value().map(|(p, _)| *p),
            self.asks.first_key_value().map(|(p, _)| *p),
            Some(self.index.len()),
        )
    }
}

/// [`orderbook_rs::OrderBook`] 0.15. Mapping and gaps:
/// - adds: `add_limit_order_with_user(.., TimeInForce::Gtc, owner)`; IOC limits: the same
///   with `TimeInForce::Ioc`; market orders: `submit_market_order_with_user` — it takes a
///   quantity only, so a market BUY's quote budget is dropped (it never binds in this flow);
/// - cancels: `cancel_order(id)` — it takes no owner, so the owner check is skipped (every
///   cancel in the stream is by the true owner anyway);
/// - self-trade prevention: `STPMode::CancelMaker`, its equivalent of `CancelResting`;
/// - its clock: a `StubClock` (a counter), since `Book` takes time from the command rather
///   than reading a clock; prices are `u128`, ids `Id::Sequential(u64)`, owners a 32-byte
///   `Hash32` made from the 16-byte owner;
/// - it returns results (an `Arc` of the order, a `MatchResult` of fills) instead of
///   appending events to a caller's buffer; the bench drops them. Fees are not configured.
struct OrderbookRs {
    book: orderbook_rs::OrderBook<()>,
}

impl OrderbookRs {
    fn side(side: Side) -> orderbook_rs::Side {
        match side {
            Side::Buy => orderbook_rs::Side::Buy,
            Side::Sell => orderbook_rs::Side::Sell,
        }
    }

    fn user(owner: Owner) -> pricelevel::Hash32 {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(&owner.to_le_bytes());
        pricelevel::Hash32(bytes)
    }
}

impl Engine for OrderbookRs {
    const NAME: &'static str = "orderbook-rs 0.15";

    fn fresh(_capacity: usize) -> Self {
        let clock = Arc::new(orderbook_rs::StubClock::new());
        let mut book = orderbook_rs::OrderBook::with_clock("BENCH", clock);
        book.set_stp_mode(orderbook_rs::STPMode::CancelMaker);
        Self { book }
    }

    #[inline]
    fn apply(&mut self, command: &Command, _ts: u64) {
        match *command {
            Command::Place(p) => {
                let id = orderbook_rs::Id::Sequential(p.id);
                let side = Self::side(p.side);
                let user = Self::user(p.owner);
                match p.order_type {
                    OrderType::Limit { price } => {
                        let tif = match p.tif {
                            TimeInForce::Gtc => orderbook_rs::TimeInForce::Gtc,
                            TimeInForce::Ioc => orderbook_rs::TimeInForce::Ioc,
                            TimeInForce::Fok => orderbook_rs::TimeInForce::Fok,
                        };
                        let result = self.book.add_limit_order_with_user(
                            id,
                            u128::from(price),
                            p.qty,
                            side,
                            tif,
                            user,
                            None,
                        );
                        black_box(result).ok();
                    }
                    OrderType::Market { .. } => {
                        let result = self
                            .book
                            .submit_market_order_with_user(id, p.qty, side, user);
                        black_box(result).ok();
                    }
                }
            }
            Command::Cancel { id, .. } => {
                let result = self.book.cancel_order(orderbook_rs::Id::Sequential(id));
                black_box(result).ok();
            }
            Command::CancelAll { .. } | Command::Amend { .. } => {
                unreachable!("the stream has no cancel-all or amend")
            }
        }
    }

    fn summary(&self) -> (Option<u64>, Option<u64>, Option<usize>) {
        let price = |p: Option<u128>| p.map(|p| u64::try_from(p).unwrap());
        let resting = self.book.get_all_orders().len();
        (
            price(self.book.best_bid()),
            price(self.book.best_ask()),
            Some(resting),
        )
    }
}

/// [`lobster::OrderBook`] 0.7. Mapping and gaps:
/// - adds: `OrderType::Limit` (a limit order rests whatever is left: lobster has no
///   time-in-force); IOC limits: `Limit`, then `Cancel` of the same id if it was not filled
///   in full (two calls for one operation — the same outcome as an IOC);
/// - market orders: `OrderType::Market` (quantity only: the BUY budget is dropped, it never
///   binds in this flow); cancels: `OrderType::Cancel` (no owner check);
/// - no self-trade prevention: an owner's taker trades with the owner's resting orders,
///   where `Book` cancels them, so its book drifts slightly from the others';
/// - it returns an `OrderEvent` holding a fresh `Vec` of fills per taking order.
struct Lobster {
    book: lobster::OrderBook,
}

impl Engine for Lobster {
    const NAME: &'static str = "lobster 0.7";

    fn fresh(capacity: usize) -> Self {
        Self {
            book: lobster::OrderBook::new(capacity, 16, false),
        }
    }

    #[inline]
    fn apply(&mut self, command: &Command, _ts: u64) {
        match *command {
            Command::Place(p) => {
                let id = u128::from(p.id);
                let side = match p.side {
                    Side::Buy => lobster::Side::Bid,
                    Side::Sell => lobster::Side::Ask,
                };
                let order = match p.order_type {
                    OrderType::Limit { price } => lobster::OrderType::Limit {
                        id,
                        side,
                        qty: p.qty,
                        price,
                    },
                    OrderType::Market { .. } => lobster::OrderType::Market {
                        id,
                        side,
                        qty: p.qty,
                    },
                };
                let event = self.book.execute(order);
                let is_limit = matches!(p.order_type, OrderType::Limit { .. });
                let filled = matches!(event, lobster::OrderEvent::Filled { .. });
                if is_limit && p.tif != TimeInForce::Gtc && !filled {
                    black_box(self.book.execute(lobster::OrderType::Cancel { id }));
                }
                black_box(event);
            }
            Command::Cancel { id, .. } => {
                let event = self
                    .book
                    .execute(lobster::OrderType::Cancel { id: u128::from(id) });
                black_box(event);
            }
            Command::CancelAll { .. } | Command::Amend { .. } => {
                unreachable!("the stream has no cancel-all or amend")
            }
        }
    }

    fn summary(&self) -> (Option<u64>, Option<u64>, Option<usize>) {
        (self.book.max_bid(), self.book.min_ask(), None)
    }
}

/// No book at all: times the harness and the clock (the latency floor).
struct Empty;

impl Engine for Empty {
    const NAME: &'static str = "empty (timer floor)";

    fn fresh(_capacity: usize) -> Self {
        Self
    }

    #[inline]
    fn apply(&mut self, command: &Command, _ts: u64) {
        black_box(command);
    }

    fn summary(&self) -> (Option<u64>, Option<u64>, Option<usize>) {
        (None, None, None)
    }
}

// ---------------------------------------------------------------------------------------
// Latency and allocations: one instrumented pass per implementation.
// ---------------------------------------------------------------------------------------

/// What kind of operation a command is, for the per-kind percentiles.
fn kind(command: &Command) -> usize {
    match command {
        Command::Place(p) if p.tif == TimeInForce::Gtc => 0,
        Command::Cancel { .. } => 1,
        _ => 2,
    }
}

const KINDS: [&str; 3] = ["adds", "cancels", "takers"];

fn percentiles(label: &str, hist: &Histogram<u64>) {
    println!(
        "  {label:<8} p50 {:>6} ns  p99 {:>6} ns  p99.9 {:>7} ns  max {:>9} ns  mean {:>7.1} ns  ({} ops)",
        hist.value_at_quantile(0.50),
        hist.value_at_quantile(0.99),
        hist.value_at_quantile(0.999),
        hist.max(),
        hist.mean(),
        hist.len(),
    );
}

/// Times every measured operation alone (into one histogram overall and one per kind) and
/// counts the allocations the pass makes. The histograms are allocated before counting.
fn instrumented_pass<E: Engine>(stream: &Stream, filter: Option<&str>) {
    if !selected::<E>(filter) {
        return;
    }
    let mut engine: E = warmed(stream);
    let new_hist = || Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    let mut all = new_hist();
    let mut by_kind = [new_hist(), new_hist(), new_hist()];
    let base = stream.warmup.len() as u64;
    let region = Region::new(GLOBAL);
    let start = Instant::now();
    for (i, command) in stream.measured.iter().enumerate() {
        let t0 = Instant::now();
        engine.apply(command, base + i as u64);
        let ns = (t0.elapsed().as_nanos() as u64).max(1);
        all.saturating_record(ns);
        by_kind[kind(command)].saturating_record(ns);
    }
    let wall = start.elapsed();
    let allocs = region.change();
    let ops = stream.measured.len() as f64;
    let (bid, ask, resting) = engine.summary();
    println!("{}", E::NAME);
    percentiles("all", &all);
    for (label, hist) in KINDS.iter().zip(&by_kind) {
        percentiles(label, hist);
    }
    println!(
        "  allocations/op {:.3} ({} allocs + {} reallocs); {:.2} M ops/s in this timed pass; \
         end: bid {bid:?} ask {ask:?} resting {resting:?}",
        (allocs.allocations + allocs.reallocations) as f64 / ops,
        allocs.allocations,
        allocs.reallocations,
        ops / wall.as_secs_f64() / 1e6,
    );
    drop(black_box(engine));
}

// ---------------------------------------------------------------------------------------
// Throughput: criterion, one group, the four implementations.
// ---------------------------------------------------------------------------------------

fn throughput<E: Engine>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    stream: &Stream,
    filter: Option<&str>,
) {
    if !selected::<E>(filter) {
        return;
    }
    group.bench_function(E::NAME, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut engine: E = warmed(stream);
                let start = Instant::now();
                run(&mut engine, stream);
                total += start.elapsed();
                drop(black_box(engine));
            }
            total
        });
    });
}

/// Whether `E` is wanted: a plain word on the command line (`cargo bench -p engine --bench
/// book -- rialto`) keeps the implementations whose name contains it, in both parts.
fn selected<E: Engine>(filter: Option<&str>) -> bool {
    filter.is_none_or(|f| E::NAME.contains(f))
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let filter = filter.as_deref();
    let (warmup_ops, measured_ops) = if full {
        (WARMUP_OPS, MEASURED_OPS)
    } else {
        (SMOKE_WARMUP_OPS, SMOKE_MEASURED_OPS)
    };
    let started = Instant::now();
    let stream = Stream::generate(warmup_ops, measured_ops);
    let st = &stream.stats;
    println!(
        "stream: {} warm-up + {} measured commands (seed {SEED:#x}), generated in {:.1?}\n\
         measured part: {} adds, {} cancels, {} takers, {} trades; resting orders {} at start, \
         {} at end, {} at peak; add prices {}..={}",
        stream.warmup.len(),
        stream.measured.len(),
        started.elapsed(),
        st.adds,
        st.cancels,
        st.takers,
        st.trades,
        st.resting_at_start,
        st.resting_at_end,
        st.peak_resting,
        st.min_price,
        st.max_price,
    );

    println!("\n-- latency (each apply timed alone; includes the timer floor) and allocations --");
    instrumented_pass::<Empty>(&stream, None);
    instrumented_pass::<Rialto>(&stream, filter);
    instrumented_pass::<PlainBook>(&stream, filter);
    instrumented_pass::<OrderbookRs>(&stream, filter);
    instrumented_pass::<Lobster>(&stream, filter);
    println!();

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();
    let mut group = criterion.benchmark_group("throughput");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(stream.measured.len() as u64));
    throughput::<Rialto>(&mut group, &stream, filter);
    throughput::<PlainBook>(&mut group, &stream, filter);
    throughput::<OrderbookRs>(&mut group, &stream, filter);
    throughput::<Lobster>(&mut group, &stream, filter);
    group.finish();
    criterion.final_summary();
}
