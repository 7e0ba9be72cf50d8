//! The contract in `engine::book::types`, rule by rule, as worked examples.
//!
//! Each rule is written once, generically, and runs against both the fast [`Book`]
//! (`book::…`) and the reference model (`reference_model::…`): a failure under `book::`
//! only is a bug in the engine, under `reference_model::` only a bug in the model the
//! property tests trust. Every command is followed by each book's own invariant check.
//! Tests of the `Book`'s API beyond the rules (configuration, snapshots, `apply`'s output
//! buffer) are at the end.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod model;

use std::collections::BTreeMap;

use engine::book::{
    Book, BookConfig, BookDelta, CancelReason, Command, DoneReason, Event, MAX_PRICE, MAX_QTY,
    OrderId, OrderType, Owner, Place, RejectReason, RestingOrder, SelfTradePrevention, Side,
    TimeInForce, Trade,
};
use model::Model;

// =======================================================================================
// Harness: one trait over both books, a market that checks invariants after every command,
// and constructors that make the examples read like the rules.
// =======================================================================================

/// What the examples need of a book.
trait Engine: Sized {
    fn empty(config: BookConfig) -> Self;
    fn restored(config: BookConfig, orders: &[RestingOrder]) -> Self;
    fn run(&mut self, cmd: &Command, ts: u64) -> Vec<Event>;
    fn open_orders(&self) -> Vec<RestingOrder>;
    fn depth(&self, side: Side) -> Vec<BookDelta>;
    fn invariants(&self) -> Result<(), String>;
}

impl Engine for Book {
    fn empty(config: BookConfig) -> Self {
        Book::new(config).expect("a valid config")
    }
    fn restored(config: BookConfig, orders: &[RestingOrder]) -> Self {
        Book::restore(config, orders).expect("a valid snapshot")
    }
    fn run(&mut self, cmd: &Command, ts: u64) -> Vec<Event> {
        let mut out = Vec::new();
        self.apply(cmd, ts, &mut out);
        out
    }
    fn open_orders(&self) -> Vec<RestingOrder> {
        Book::open_orders(self)
    }
    fn depth(&self, side: Side) -> Vec<BookDelta> {
        Book::depth(self, side, usize::MAX)
    }
    fn invariants(&self) -> Result<(), String> {
        self.check_invariants()
    }
}

impl Engine for Model {
    fn empty(config: BookConfig) -> Self {
        Model::new(config)
    }
    fn restored(config: BookConfig, orders: &[RestingOrder]) -> Self {
        Model::restore(config, orders)
    }
    fn run(&mut self, cmd: &Command, ts: u64) -> Vec<Event> {
        self.apply(cmd, ts)
    }
    fn open_orders(&self) -> Vec<RestingOrder> {
        Model::open_orders(self)
    }
    fn depth(&self, side: Side) -> Vec<BookDelta> {
        Model::depth(self, side)
    }
    fn invariants(&self) -> Result<(), String> {
        self.check_invariants()
    }
}

/// Runs every listed rule against both books.
macro_rules! rules_for_both_books {
    ($($rule:ident),* $(,)?) => {
        mod book {
            $( #[test] fn $rule() { super::$rule::<engine::Book>(); } )*
        }
        mod reference_model {
            $( #[test] fn $rule() { super::$rule::<crate::model::Model>(); } )*
        }
    };
}

/// The time every command runs at, unless a test says otherwise.
const NOW: u64 = 1_000;

const ALICE: Owner = 1;
const BOB: Owner = 2;
const CAROL: Owner = 3;

/// A book under test, with the time its commands run at.
struct Market<E> {
    book: E,
    now: u64,
}

impl<E: Engine> Market<E> {
    /// Tick value 1, no fees.
    fn new() -> Self {
        Self::with(BookConfig::default())
    }

    fn with(config: BookConfig) -> Self {
        Self {
            book: E::empty(config),
            now: NOW,
        }
    }

    fn run(&mut self, cmd: Command) -> Vec<Event> {
        let events = self.book.run(&cmd, self.now);
        if let Err(e) = self.book.invariants() {
            panic!("invariants broken after {cmd:?}: {e}");
        }
        events
    }

    fn place(&mut self, p: Place) -> Vec<Event> {
        self.run(Command::Place(p))
    }

    /// Places orders expected to rest without trading.
    fn rest(&mut self, orders: &[Place]) {
        for p in orders {
            let events = self.place(*p);
            assert!(
                matches!(
                    events.as_slice(),
                    [Event::Accepted { .. }, Event::Rested { .. }, _]
                ),
                "{p:?} was meant to rest: {events:?}"
            );
        }
    }

    fn cancel(&mut self, id: OrderId, owner: Owner) -> Vec<Event> {
        self.run(Command::Cancel { id, owner })
    }

    fn cancel_all(&mut self, owner: Owner) -> Vec<Event> {
        self.run(Command::CancelAll { owner })
    }

    fn amend(&mut self, id: OrderId, owner: Owner, price: u64, qty: u64) -> Vec<Event> {
        self.run(Command::Amend {
            id,
            owner,
            price,
            qty,
        })
    }

    fn orders(&self) -> Vec<RestingOrder> {
        self.book.open_orders()
    }

    /// Ids on one side in priority order.
    fn queue(&self, side: Side) -> Vec<OrderId> {
        self.orders()
            .iter()
            .filter(|o| o.side == side)
            .map(|o| o.id)
            .collect()
    }

    /// `(price, qty)` of each level of one side, best first.
    fn levels(&self, side: Side) -> Vec<(u64, u64)> {
        self.book
            .depth(side)
            .iter()
            .map(|l| (l.price, l.qty))
            .collect()
    }
}

/// A GTC limit order with the default self-trade prevention.
fn limit(id: OrderId, owner: Owner, side: Side, price: u64, qty: u64) -> Place {
    Place {
        id,
        owner,
        side,
        order_type: OrderType::Limit { price },
        tif: TimeInForce::Gtc,
        post_only: false,
        qty,
        stp: SelfTradePrevention::default(),
    }
}

fn buy(id: OrderId, owner: Owner, price: u64, qty: u64) -> Place {
    limit(id, owner, Side::Buy, price, qty)
}

fn sell(id: OrderId, owner: Owner, price: u64, qty: u64) -> Place {
    limit(id, owner, Side::Sell, price, qty)
}

/// An IOC market BUY that may spend `budget` on trades and taker fees.
fn market_buy(id: OrderId, owner: Owner, qty: u64, budget: u64) -> Place {
    Place {
        order_type: OrderType::Market {
            quote_budget: Some(budget),
        },
        tif: TimeInForce::Ioc,
        ..buy(id, owner, 0, qty)
    }
}

/// An IOC market SELL.
fn market_sell(id: OrderId, owner: Owner, qty: u64) -> Place {
    Place {
        order_type: OrderType::Market { quote_budget: None },
        tif: TimeInForce::Ioc,
        ..sell(id, owner, 0, qty)
    }
}

/// Variations on an order.
trait With {
    fn ioc(self) -> Self;
    fn fok(self) -> Self;
    fn gtc(self) -> Self;
    fn post_only(self) -> Self;
    fn stp(self, mode: SelfTradePrevention) -> Self;
}

impl With for Place {
    fn ioc(self) -> Self {
        Place {
            tif: TimeInForce::Ioc,
            ..self
        }
    }
    fn fok(self) -> Self {
        Place {
            tif: TimeInForce::Fok,
            ..self
        }
    }
    fn gtc(self) -> Self {
        Place {
            tif: TimeInForce::Gtc,
            ..self
        }
    }
    fn post_only(self) -> Self {
        Place {
            post_only: true,
            ..self
        }
    }
    fn stp(self, stp: SelfTradePrevention) -> Self {
        Place { stp, ..self }
    }
}

fn price_of(p: &Place) -> u64 {
    match p.order_type {
        OrderType::Limit { price } => price,
        OrderType::Market { .. } => panic!("a market order has no price"),
    }
}

fn accepted(p: &Place) -> Event {
    Event::Accepted { id: p.id }
}

fn rested(p: &Place, qty: u64) -> Event {
    Event::Rested {
        id: p.id,
        side: p.side,
        price: price_of(p),
        qty,
    }
}

/// `maker` and `taker` trade `qty` at the maker's price, tick value 1, no fees, at `NOW`.
fn trade(maker: &Place, taker: &Place, qty: u64) -> Trade {
    let price = price_of(maker);
    Trade {
        maker_order: maker.id,
        taker_order: taker.id,
        maker_owner: maker.owner,
        taker_owner: taker.owner,
        taker_side: taker.side,
        price,
        qty,
        value: price * qty,
        maker_fee: 0,
        taker_fee: 0,
        ts: NOW,
    }
}

fn traded(maker: &Place, taker: &Place, qty: u64) -> Event {
    Event::Trade(trade(maker, taker, qty))
}

fn done(p: &Place, reason: DoneReason) -> Event {
    Event::Done {
        id: p.id,
        owner: p.owner,
        reason,
    }
}

fn filled(p: &Place) -> Event {
    done(p, DoneReason::Filled)
}

fn expired(p: &Place) -> Event {
    done(p, DoneReason::Expired)
}

fn cancelled(p: &Place) -> Event {
    done(p, DoneReason::Cancelled(CancelReason::ByOwner))
}

fn self_trade_cancelled(p: &Place) -> Event {
    done(p, DoneReason::Cancelled(CancelReason::SelfTrade))
}

fn rejected(p: &Place, reason: RejectReason) -> Event {
    done(p, DoneReason::Rejected(reason))
}

fn refused(id: OrderId, reason: RejectReason) -> Event {
    Event::CancelRejected { id, reason }
}

fn amended(id: OrderId, price: u64, qty: u64, kept_priority: bool) -> Event {
    Event::Amended {
        id,
        price,
        qty,
        kept_priority,
    }
}

/// A bid level's new state (`qty` 0 and `orders` 0: gone).
fn bids(price: u64, qty: u64, orders: u32) -> Event {
    Event::Delta(BookDelta {
        side: Side::Buy,
        price,
        qty,
        orders,
    })
}

/// An ask level's new state.
fn asks(price: u64, qty: u64, orders: u32) -> Event {
    Event::Delta(BookDelta {
        side: Side::Sell,
        price,
        qty,
        orders,
    })
}

// =======================================================================================
// The rules.
// =======================================================================================

rules_for_both_books![
    // place
    an_order_that_does_not_cross_rests,
    a_sweep_reports_each_maker_then_each_level_then_the_incoming_order,
    a_fully_filled_incoming_order_is_done_filled,
    // priority and price
    better_price_trades_first,
    earlier_order_at_the_same_price_trades_first,
    priority_holds_however_far_apart_the_prices_are,
    a_partly_filled_maker_keeps_its_place,
    trades_happen_at_the_makers_price,
    trade_value_is_price_times_quantity_times_tick_value,
    trades_are_stamped_with_the_commands_time,
    // fees
    fees_round_up_to_the_minor_unit,
    maker_and_taker_pay_their_own_rates,
    // limit orders and time in force
    a_limit_order_trades_only_up_to_its_limit,
    a_limit_sell_trades_only_down_to_its_limit,
    ioc_remainder_expires,
    // market orders
    market_sell_trades_until_the_bids_run_out,
    market_sell_ignores_the_budget,
    market_order_into_an_empty_book_expires,
    market_buy_never_spends_beyond_its_budget,
    market_buy_budget_covers_the_taker_fee,
    market_buy_that_cannot_afford_one_lot_expires_without_trading,
    market_buy_stops_after_a_maker_it_could_not_take_in_full,
    gtc_market_order_behaves_as_ioc,
    market_buy_without_a_budget_is_rejected,
    // post-only
    post_only_that_would_cross_is_rejected,
    post_only_counts_the_owners_own_orders_too,
    post_only_that_does_not_cross_rests,
    post_only_market_order_is_rejected,
    // fill or kill
    fok_that_cannot_fill_entirely_leaves_the_book_untouched,
    fok_that_can_fill_trades_everything_at_once,
    fok_does_not_count_beyond_its_limit,
    fok_skips_own_orders_under_cancel_resting,
    fok_counts_only_up_to_the_first_own_order_under_the_other_modes,
    fok_market_buy_counts_its_budget,
    // self-trade prevention
    self_trade_cancel_resting_is_the_default,
    cancel_incoming_stops_matching,
    cancel_both,
    self_trade_prevention_follows_the_incoming_orders_mode,
    self_trade_prevention_comes_before_the_budget,
    // cancel and cancel all
    cancel_removes_the_order_and_reports_its_level,
    cancel_of_foreign_order_looks_unknown,
    cancel_of_an_unknown_or_finished_order_is_rejected,
    cancel_all_goes_in_id_order,
    cancel_all_with_nothing_to_cancel_emits_nothing,
    cancel_all_leaves_other_owners_alone,
    // amend
    reducing_quantity_keeps_time_priority,
    increasing_quantity_loses_time_priority,
    price_change_loses_time_priority,
    amend_to_the_same_price_and_quantity_keeps_priority,
    amend_that_would_cross_is_rejected,
    amend_to_quantity_zero_is_rejected,
    amend_of_foreign_order_looks_unknown,
    amend_checks_run_in_the_documented_order,
    rejected_amend_changes_nothing,
    // validation
    rejected_place_emits_only_done,
    duplicate_id_of_a_live_order_is_rejected,
    id_of_a_finished_order_can_be_reused,
    place_validation_runs_in_the_documented_order,
    overflowing_value_is_rejected_not_wrapped,
    // deltas and snapshots
    deltas_rebuild_the_book,
    open_orders_lists_bids_then_asks_best_first_in_time_order,
    restored_book_behaves_like_the_original,
];

// ---- place ----

fn an_order_that_does_not_cross_rests<E: Engine>() {
    let mut m = Market::<E>::new();
    let b = buy(1, ALICE, 100, 5);
    assert_eq!(m.place(b), [accepted(&b), rested(&b, 5), bids(100, 5, 1)]);
    let s = sell(2, BOB, 101, 3);
    assert_eq!(m.place(s), [accepted(&s), rested(&s, 3), asks(101, 3, 1)]);
    assert_eq!(m.levels(Side::Buy), [(100, 5)]);
    assert_eq!(m.levels(Side::Sell), [(101, 3)]);
}

fn a_sweep_reports_each_maker_then_each_level_then_the_incoming_order<E: Engine>() {
    let mut m = Market::<E>::new();
    let (s1, s2, s3) = (
        sell(1, BOB, 101, 2),
        sell(2, CAROL, 101, 3),
        sell(3, BOB, 102, 4),
    );
    m.rest(&[s1, s2, s3]);
    let b = buy(4, ALICE, 102, 10);
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            traded(&s1, &b, 2),
            filled(&s1),
            traded(&s2, &b, 3),
            filled(&s2),
            asks(101, 0, 0),
            traded(&s3, &b, 4),
            filled(&s3),
            asks(102, 0, 0),
            rested(&b, 1),
            bids(102, 1, 1),
        ]
    );
}

fn a_fully_filled_incoming_order_is_done_filled<E: Engine>() {
    let mut m = Market::<E>::new();
    let s = sell(1, BOB, 100, 5);
    m.rest(&[s]);
    let b = buy(2, ALICE, 100, 5);
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            traded(&s, &b, 5),
            filled(&s),
            asks(100, 0, 0),
            filled(&b)
        ]
    );
    assert!(m.orders().is_empty());
}

// ---- priority and price ----

fn better_price_trades_first<E: Engine>() {
    let mut m = Market::<E>::new();
    let (worse, better) = (sell(1, BOB, 102, 1), sell(2, CAROL, 101, 1));
    m.rest(&[worse, better]);
    let b = buy(3, ALICE, 102, 1);
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            traded(&better, &b, 1),
            filled(&better),
            asks(101, 0, 0),
            filled(&b)
        ]
    );
}

fn earlier_order_at_the_same_price_trades_first<E: Engine>() {
    let mut m = Market::<E>::new();
    let (first, second) = (buy(1, BOB, 100, 1), buy(2, CAROL, 100, 1));
    m.rest(&[first, second]);
    let s = sell(3, ALICE, 100, 1);
    assert_eq!(
        m.place(s),
        [
            accepted(&s),
            traded(&first, &s, 1),
            filled(&first),
            bids(100, 1, 1),
            filled(&s)
        ]
    );
}

fn priority_holds_however_far_apart_the_prices_are<E: Engine>() {
    let mut m = Market::<E>::new();
    let bid_prices = [20_000, 1, 19_000, 7_000_000, 100, 6_000_000];
    let ask_prices = [40_000_000, MAX_PRICE, 30_000_000, 50_000_000, 10_000_000];
    for (id, price) in (1..).zip(bid_prices) {
        m.rest(&[buy(id, BOB, price, 1)]);
    }
    for (id, price) in (10..).zip(ask_prices) {
        m.rest(&[sell(id, BOB, price, 1)]);
    }
    let trade_prices = |events: Vec<Event>| -> Vec<u64> {
        let trades = events.iter().filter_map(|e| match e {
            Event::Trade(t) => Some(t.price),
            _ => None,
        });
        trades.collect()
    };
    let sweep = m.place(market_sell(20, ALICE, 6));
    assert_eq!(
        trade_prices(sweep),
        [7_000_000, 6_000_000, 20_000, 19_000, 100, 1]
    );
    let sweep = m.place(market_buy(21, ALICE, 5, u64::MAX));
    assert_eq!(
        trade_prices(sweep),
        [10_000_000, 30_000_000, 40_000_000, 50_000_000, MAX_PRICE]
    );
    assert!(m.orders().is_empty());
}

fn a_partly_filled_maker_keeps_its_place<E: Engine>() {
    let mut m = Market::<E>::new();
    let (s1, s2) = (sell(1, BOB, 100, 5), sell(2, CAROL, 100, 5));
    m.rest(&[s1, s2]);
    let b1 = buy(3, ALICE, 100, 3);
    assert_eq!(
        m.place(b1),
        [
            accepted(&b1),
            traded(&s1, &b1, 3),
            asks(100, 7, 2),
            filled(&b1)
        ]
    );
    let b2 = buy(4, ALICE, 100, 3);
    assert_eq!(
        m.place(b2),
        [
            accepted(&b2),
            traded(&s1, &b2, 2),
            filled(&s1),
            traded(&s2, &b2, 1),
            asks(100, 4, 1),
            filled(&b2),
        ]
    );
}

fn trades_happen_at_the_makers_price<E: Engine>() {
    let mut m = Market::<E>::new();
    let s = sell(1, BOB, 100, 2);
    m.rest(&[s]);
    let b = buy(2, ALICE, 105, 2);
    let events = m.place(b);
    assert_eq!(events[1], traded(&s, &b, 2));
    assert!(matches!(
        events[1],
        Event::Trade(Trade {
            price: 100,
            value: 200,
            ..
        })
    ));

    // And the same the other way round: a SELL meets a higher bid at the bid's price.
    let bid = buy(3, BOB, 103, 1);
    m.rest(&[bid]);
    let s2 = sell(4, ALICE, 90, 1);
    assert_eq!(m.place(s2)[1], traded(&bid, &s2, 1));
}

fn trade_value_is_price_times_quantity_times_tick_value<E: Engine>() {
    let mut m = Market::<E>::with(BookConfig {
        quote_per_tick_lot: 25,
        ..BookConfig::default()
    });
    let s = sell(1, BOB, 100, 3);
    m.rest(&[s]);
    let b = buy(2, ALICE, 100, 3);
    assert_eq!(
        m.place(b)[1],
        Event::Trade(Trade {
            value: 100 * 3 * 25,
            ..trade(&s, &b, 3)
        })
    );
}

fn trades_are_stamped_with_the_commands_time<E: Engine>() {
    let mut m = Market::<E>::new();
    let s = sell(1, BOB, 100, 1);
    m.rest(&[s]);
    m.now = 987_654_321;
    let b = buy(2, ALICE, 100, 1);
    assert_eq!(
        m.place(b)[1],
        Event::Trade(Trade {
            ts: 987_654_321,
            ..trade(&s, &b, 1)
        })
    );
}

// ---- fees ----

fn fees_round_up_to_the_minor_unit<E: Engine>() {
    // 25 bps of 12_345 is 30.8625: charged 31. 1 bp of 100 is 0.01: charged 1, never 0.
    let config = BookConfig {
        quote_per_tick_lot: 1,
        maker_fee_bps: 1,
        taker_fee_bps: 25,
    };
    let mut m = Market::<E>::with(config);
    let s = sell(1, BOB, 12_345, 1);
    m.rest(&[s]);
    let b = buy(2, ALICE, 12_345, 1);
    let fees = Trade {
        maker_fee: 2,
        taker_fee: 31,
        ..trade(&s, &b, 1)
    };
    assert_eq!(m.place(b)[1], Event::Trade(fees));

    let s = sell(3, BOB, 100, 1);
    m.rest(&[s]);
    let b = buy(4, ALICE, 100, 1);
    let fees = Trade {
        maker_fee: 1,
        taker_fee: 1,
        ..trade(&s, &b, 1)
    };
    assert_eq!(m.place(b)[1], Event::Trade(fees));
}

fn maker_and_taker_pay_their_own_rates<E: Engine>() {
    // 10 and 20 bps of 50_000.
    let config = BookConfig {
        quote_per_tick_lot: 1,
        maker_fee_bps: 10,
        taker_fee_bps: 20,
    };
    let mut m = Market::<E>::with(config);
    let b = buy(1, BOB, 10_000, 5);
    m.rest(&[b]);
    let s = sell(2, ALICE, 10_000, 5);
    let fees = Trade {
        maker_fee: 50,
        taker_fee: 100,
        ..trade(&b, &s, 5)
    };
    assert_eq!(m.place(s)[1], Event::Trade(fees));
}

// ---- limit orders and time in force ----

fn a_limit_order_trades_only_up_to_its_limit<E: Engine>() {
    let mut m = Market::<E>::new();
    let (s1, s2, s3) = (
        sell(1, BOB, 100, 1),
        sell(2, BOB, 101, 1),
        sell(3, BOB, 102, 1),
    );
    m.rest(&[s1, s2, s3]);
    let b = buy(4, ALICE, 101, 5);
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            traded(&s1, &b, 1),
            filled(&s1),
            asks(100, 0, 0),
            traded(&s2, &b, 1),
            filled(&s2),
            asks(101, 0, 0),
            rested(&b, 3),
            bids(101, 3, 1),
        ]
    );
    assert_eq!(m.levels(Side::Sell), [(102, 1)]);
}

fn a_limit_sell_trades_only_down_to_its_limit<E: Engine>() {
    let mut m = Market::<E>::new();
    let (b1, b2) = (buy(1, BOB, 101, 1), buy(2, BOB, 99, 1));
    m.rest(&[b1, b2]);
    let s = sell(3, ALICE, 100, 2);
    assert_eq!(
        m.place(s),
        [
            accepted(&s),
            traded(&b1, &s, 1),
            filled(&b1),
            bids(101, 0, 0),
            rested(&s, 1),
            asks(100, 1, 1)
        ]
    );
}

fn ioc_remainder_expires<E: Engine>() {
    let mut m = Market::<E>::new();
    let s = sell(1, BOB, 100, 2);
    m.rest(&[s]);
    let b = buy(2, ALICE, 100, 5).ioc();
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            traded(&s, &b, 2),
            filled(&s),
            asks(100, 0, 0),
            expired(&b)
        ]
    );
    assert!(m.orders().is_empty());
    // An IOC that meets nothing expires at once.
    let b = buy(3, ALICE, 100, 5).ioc();
    assert_eq!(m.place(b), [accepted(&b), expired(&b)]);
}

// ---- market orders ----

fn market_sell_trades_until_the_bids_run_out<E: Engine>() {
    let mut m = Market::<E>::new();
    let (b1, b2) = (buy(1, BOB, 100, 2), buy(2, CAROL, 1, 1));
    m.rest(&[b1, b2]);
    let s = market_sell(3, ALICE, 10);
    assert_eq!(
        m.place(s),
        [
            accepted(&s),
            traded(&b1, &s, 2),
            filled(&b1),
            bids(100, 0, 0),
            traded(&b2, &s, 1),
            filled(&b2),
            bids(1, 0, 0),
            expired(&s),
        ]
    );
}

fn market_sell_ignores_the_budget<E: Engine>() {
    let mut m = Market::<E>::new();
    let b = buy(1, BOB, 100, 2);
    m.rest(&[b]);
    let s = Place {
        order_type: OrderType::Market {
            quote_budget: Some(0),
        },
        ..market_sell(2, ALICE, 2)
    };
    assert_eq!(
        m.place(s),
        [
            accepted(&s),
            traded(&b, &s, 2),
            filled(&b),
            bids(100, 0, 0),
            filled(&s)
        ]
    );
}

fn market_order_into_an_empty_book_expires<E: Engine>() {
    let mut m = Market::<E>::new();
    let b = market_buy(1, ALICE, 5, 1_000);
    assert_eq!(m.place(b), [accepted(&b), expired(&b)]);
    let s = market_sell(2, ALICE, 5);
    assert_eq!(m.place(s), [accepted(&s), expired(&s)]);
}

fn market_buy_never_spends_beyond_its_budget<E: Engine>() {
    let mut m = Market::<E>::new();
    let s = sell(1, BOB, 10, 5);
    m.rest(&[s]);
    // 37 buys 3 lots at 10; a 4th would cost 40.
    let b = market_buy(2, ALICE, 5, 37);
    assert_eq!(
        m.place(b),
        [accepted(&b), traded(&s, &b, 3), asks(10, 2, 1), expired(&b)]
    );
}

fn market_buy_budget_covers_the_taker_fee<E: Engine>() {
    // 10 lots at 100 cost 1_000 plus a 1 bp fee of 0.1, rounded up to 1: 1_001. A budget of
    // 1_000 buys 9 lots, for 900 + 1.
    let config = BookConfig {
        quote_per_tick_lot: 1,
        maker_fee_bps: 0,
        taker_fee_bps: 1,
    };
    for (budget, lots) in [(1_000, 9), (1_001, 10)] {
        let mut m = Market::<E>::with(config);
        let s = sell(1, BOB, 100, 10);
        m.rest(&[s]);
        let b = market_buy(2, ALICE, 10, budget);
        let events = m.place(b);
        assert_eq!(
            events[1],
            Event::Trade(Trade {
                taker_fee: 1,
                ..trade(&s, &b, lots)
            })
        );
        let end = if lots == 10 { filled(&b) } else { expired(&b) };
        assert_eq!(events.last(), Some(&end), "budget {budget}");
    }
}

fn market_buy_that_cannot_afford_one_lot_expires_without_trading<E: Engine>() {
    let mut m = Market::<E>::new();
    let s = sell(1, BOB, 100, 5);
    m.rest(&[s]);
    for (id, budget) in [(2, 0), (3, 99)] {
        let b = market_buy(id, ALICE, 1, budget);
        assert_eq!(m.place(b), [accepted(&b), expired(&b)], "budget {budget}");
    }
}

fn market_buy_stops_after_a_maker_it_could_not_take_in_full<E: Engine>() {
    // After BOB's order, which it can only part-take, it stops: its own order behind is not
    // even reached, so self-trade prevention does not cancel it.
    let mut m = Market::<E>::new();
    let (s1, own) = (sell(1, BOB, 10, 5), sell(2, ALICE, 10, 5));
    m.rest(&[s1, own]);
    let b = market_buy(3, ALICE, 10, 30);
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            traded(&s1, &b, 3),
            asks(10, 7, 2),
            expired(&b)
        ]
    );
    assert_eq!(m.queue(Side::Sell), [1, 2]);
}

fn gtc_market_order_behaves_as_ioc<E: Engine>() {
    let mut m = Market::<E>::new();
    let s = sell(1, BOB, 100, 1);
    m.rest(&[s]);
    let b = market_buy(2, ALICE, 5, 1_000_000).gtc();
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            traded(&s, &b, 1),
            filled(&s),
            asks(100, 0, 0),
            expired(&b)
        ]
    );
    let s = market_sell(3, ALICE, 5).gtc();
    assert_eq!(m.place(s), [accepted(&s), expired(&s)]);
    assert!(m.orders().is_empty());
}

fn market_buy_without_a_budget_is_rejected<E: Engine>() {
    let mut m = Market::<E>::new();
    let b = Place {
        order_type: OrderType::Market { quote_budget: None },
        ..market_buy(1, ALICE, 5, 0)
    };
    assert_eq!(m.place(b), [rejected(&b, RejectReason::MissingBudget)]);
}

// ---- post-only ----

fn post_only_that_would_cross_is_rejected<E: Engine>() {
    let mut m = Market::<E>::new();
    let (b, s) = (buy(1, BOB, 99, 5), sell(2, BOB, 101, 5));
    m.rest(&[b, s]);
    let before = m.orders();
    // Reaching the opposite best price is enough: a BUY at the ask, a SELL at the bid.
    for p in [
        buy(3, ALICE, 101, 1),
        buy(4, ALICE, 150, 1),
        sell(5, ALICE, 99, 1),
        sell(6, ALICE, 1, 1),
    ] {
        let p = p.post_only();
        assert_eq!(m.place(p), [rejected(&p, RejectReason::PostOnlyWouldCross)]);
    }
    assert_eq!(m.orders(), before);
}

fn post_only_counts_the_owners_own_orders_too<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[sell(1, ALICE, 101, 5)]);
    let b = buy(2, ALICE, 101, 1).post_only();
    assert_eq!(m.place(b), [rejected(&b, RejectReason::PostOnlyWouldCross)]);
    assert_eq!(m.queue(Side::Sell), [1]);
}

fn post_only_that_does_not_cross_rests<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[sell(1, BOB, 101, 5)]);
    let b = buy(2, ALICE, 100, 3).post_only();
    assert_eq!(m.place(b), [accepted(&b), rested(&b, 3), bids(100, 3, 1)]);
}

fn post_only_market_order_is_rejected<E: Engine>() {
    let mut m = Market::<E>::new();
    let b = market_buy(1, ALICE, 1, 100).post_only();
    assert_eq!(m.place(b), [rejected(&b, RejectReason::PostOnlyMarket)]);
    let s = market_sell(2, ALICE, 1).post_only();
    assert_eq!(m.place(s), [rejected(&s, RejectReason::PostOnlyMarket)]);
}

// ---- fill or kill ----

fn fok_that_cannot_fill_entirely_leaves_the_book_untouched<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[sell(1, BOB, 100, 2), sell(2, CAROL, 101, 2)]);
    let before = m.orders();
    let b = buy(3, ALICE, 101, 5).fok();
    assert_eq!(m.place(b), [rejected(&b, RejectReason::FokNotFillable)]);
    assert_eq!(m.orders(), before);
}

fn fok_that_can_fill_trades_everything_at_once<E: Engine>() {
    let mut m = Market::<E>::new();
    let (s1, s2) = (sell(1, BOB, 100, 2), sell(2, CAROL, 101, 5));
    m.rest(&[s1, s2]);
    let b = buy(3, ALICE, 101, 4).fok();
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            traded(&s1, &b, 2),
            filled(&s1),
            asks(100, 0, 0),
            traded(&s2, &b, 2),
            asks(101, 3, 1),
            filled(&b),
        ]
    );
}

fn fok_does_not_count_beyond_its_limit<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[sell(1, BOB, 100, 2), sell(2, CAROL, 102, 5)]);
    let b = buy(3, ALICE, 101, 3).fok();
    assert_eq!(m.place(b), [rejected(&b, RejectReason::FokNotFillable)]);
}

fn fok_skips_own_orders_under_cancel_resting<E: Engine>() {
    let mut m = Market::<E>::new();
    let (own, s) = (sell(1, ALICE, 100, 5), sell(2, BOB, 100, 2));
    m.rest(&[own, s]);
    // 3 lots: only BOB's 2 count, ALICE's own 5 do not, so it is rejected and her order stays.
    let b = buy(3, ALICE, 100, 3).fok();
    assert_eq!(m.place(b), [rejected(&b, RejectReason::FokNotFillable)]);
    assert_eq!(m.queue(Side::Sell), [1, 2]);
    // 2 lots fill: her own order is cancelled on the way, as the match meets it.
    let b = buy(4, ALICE, 100, 2).fok();
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            self_trade_cancelled(&own),
            traded(&s, &b, 2),
            filled(&s),
            asks(100, 0, 0),
            filled(&b)
        ]
    );
}

fn fok_counts_only_up_to_the_first_own_order_under_the_other_modes<E: Engine>() {
    for mode in [
        SelfTradePrevention::CancelIncoming,
        SelfTradePrevention::CancelBoth,
    ] {
        let mut m = Market::<E>::new();
        m.rest(&[
            sell(1, BOB, 100, 2),
            sell(2, ALICE, 100, 5),
            sell(3, CAROL, 100, 5),
        ]);
        let before = m.orders();
        let b = buy(4, ALICE, 100, 3).fok().stp(mode);
        assert_eq!(
            m.place(b),
            [rejected(&b, RejectReason::FokNotFillable)],
            "{mode:?}"
        );
        assert_eq!(
            m.orders(),
            before,
            "{mode:?}: no self-trade cancellation either"
        );
        // What lies before her own order is enough for 2.
        let b = buy(5, ALICE, 100, 2).fok().stp(mode);
        assert_eq!(m.place(b).last(), Some(&filled(&b)), "{mode:?}");
    }
}

fn fok_market_buy_counts_its_budget<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[sell(1, BOB, 10, 10)]);
    let b = market_buy(2, ALICE, 5, 49).fok();
    assert_eq!(m.place(b), [rejected(&b, RejectReason::FokNotFillable)]);
    let b = market_buy(3, ALICE, 5, 50).fok();
    assert_eq!(m.place(b).last(), Some(&filled(&b)));
}

// ---- self-trade prevention ----

fn self_trade_cancel_resting_is_the_default<E: Engine>() {
    assert_eq!(
        SelfTradePrevention::default(),
        SelfTradePrevention::CancelResting
    );
    let mut m = Market::<E>::new();
    let (own, s) = (sell(1, ALICE, 100, 3), sell(2, BOB, 100, 2));
    m.rest(&[own, s]);
    let b = buy(3, ALICE, 101, 2);
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            self_trade_cancelled(&own),
            traded(&s, &b, 2),
            filled(&s),
            asks(100, 0, 0),
            filled(&b)
        ]
    );
}

fn cancel_incoming_stops_matching<E: Engine>() {
    let mut m = Market::<E>::new();
    let (s1, own, s3) = (
        sell(1, BOB, 100, 1),
        sell(2, ALICE, 100, 1),
        sell(3, CAROL, 100, 1),
    );
    m.rest(&[s1, own, s3]);
    let b = buy(4, ALICE, 100, 3).stp(SelfTradePrevention::CancelIncoming);
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            traded(&s1, &b, 1),
            filled(&s1),
            asks(100, 2, 2),
            self_trade_cancelled(&b)
        ]
    );
    assert_eq!(m.queue(Side::Sell), [2, 3]);
}

fn cancel_both<E: Engine>() {
    let mut m = Market::<E>::new();
    let (s1, own, s3) = (
        sell(1, BOB, 100, 1),
        sell(2, ALICE, 100, 1),
        sell(3, CAROL, 100, 1),
    );
    m.rest(&[s1, own, s3]);
    let b = buy(4, ALICE, 100, 3).stp(SelfTradePrevention::CancelBoth);
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            traded(&s1, &b, 1),
            filled(&s1),
            self_trade_cancelled(&own),
            asks(100, 1, 1),
            self_trade_cancelled(&b),
        ]
    );
    assert_eq!(m.queue(Side::Sell), [3]);
}

fn self_trade_prevention_follows_the_incoming_orders_mode<E: Engine>() {
    let mut m = Market::<E>::new();
    let own = sell(1, ALICE, 100, 1).stp(SelfTradePrevention::CancelIncoming);
    m.rest(&[own]);
    let b = buy(2, ALICE, 100, 1).stp(SelfTradePrevention::CancelResting);
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            self_trade_cancelled(&own),
            asks(100, 0, 0),
            rested(&b, 1),
            bids(100, 1, 1)
        ]
    );
}

/// A reading of the contract: STP applies "when the next maker has the same owner", and the
/// budget only limits what the order buys, so an own maker is cancelled even once the
/// budget is spent.
fn self_trade_prevention_comes_before_the_budget<E: Engine>() {
    let mut m = Market::<E>::new();
    let (s1, own, s3) = (
        sell(1, BOB, 10, 2),
        sell(2, ALICE, 11, 1),
        sell(3, CAROL, 11, 1),
    );
    m.rest(&[s1, own, s3]);
    let b = market_buy(4, ALICE, 5, 20);
    assert_eq!(
        m.place(b),
        [
            accepted(&b),
            traded(&s1, &b, 2),
            filled(&s1),
            asks(10, 0, 0),
            self_trade_cancelled(&own),
            asks(11, 1, 1),
            expired(&b),
        ]
    );
}

// ---- cancel and cancel all ----

fn cancel_removes_the_order_and_reports_its_level<E: Engine>() {
    let mut m = Market::<E>::new();
    let (b1, b2) = (buy(1, ALICE, 100, 5), buy(2, BOB, 100, 3));
    m.rest(&[b1, b2]);
    assert_eq!(m.cancel(1, ALICE), [cancelled(&b1), bids(100, 3, 1)]);
    assert_eq!(m.cancel(2, BOB), [cancelled(&b2), bids(100, 0, 0)]);
    assert!(m.orders().is_empty());
}

fn cancel_of_foreign_order_looks_unknown<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[buy(1, ALICE, 100, 5)]);
    // The same answer as for an id that does not exist.
    assert_eq!(m.cancel(1, BOB), [refused(1, RejectReason::UnknownOrder)]);
    assert_eq!(
        m.cancel(999, BOB),
        [refused(999, RejectReason::UnknownOrder)]
    );
    assert_eq!(m.queue(Side::Buy), [1]);
}

fn cancel_of_an_unknown_or_finished_order_is_rejected<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[buy(1, ALICE, 100, 5)]);
    m.cancel(1, ALICE);
    assert_eq!(m.cancel(1, ALICE), [refused(1, RejectReason::UnknownOrder)]);
    assert_eq!(m.cancel(2, ALICE), [refused(2, RejectReason::UnknownOrder)]);
}

fn cancel_all_goes_in_id_order<E: Engine>() {
    let mut m = Market::<E>::new();
    let (a30, a10, a20) = (
        sell(30, ALICE, 101, 1),
        buy(10, ALICE, 99, 2),
        buy(20, ALICE, 99, 3),
    );
    m.rest(&[a30, a10, a20]);
    assert_eq!(
        m.cancel_all(ALICE),
        [
            cancelled(&a10),
            bids(99, 3, 1),
            cancelled(&a20),
            bids(99, 0, 0),
            cancelled(&a30),
            asks(101, 0, 0)
        ]
    );
}

fn cancel_all_with_nothing_to_cancel_emits_nothing<E: Engine>() {
    let mut m = Market::<E>::new();
    assert!(m.cancel_all(ALICE).is_empty());
    m.rest(&[buy(1, BOB, 100, 1)]);
    assert!(m.cancel_all(ALICE).is_empty());
}

fn cancel_all_leaves_other_owners_alone<E: Engine>() {
    let mut m = Market::<E>::new();
    let mine = buy(2, ALICE, 100, 1);
    m.rest(&[buy(1, BOB, 100, 1), mine, sell(3, CAROL, 101, 1)]);
    assert_eq!(m.cancel_all(ALICE), [cancelled(&mine), bids(100, 1, 1)]);
    assert_eq!(m.queue(Side::Buy), [1]);
    assert_eq!(m.queue(Side::Sell), [3]);
}

// ---- amend ----

fn reducing_quantity_keeps_time_priority<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[buy(1, ALICE, 100, 5), buy(2, BOB, 100, 5)]);
    assert_eq!(
        m.amend(1, ALICE, 100, 2),
        [amended(1, 100, 2, true), bids(100, 7, 2)]
    );
    assert_eq!(m.queue(Side::Buy), [1, 2]);
}

fn increasing_quantity_loses_time_priority<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[buy(1, ALICE, 100, 5), buy(2, BOB, 100, 5)]);
    assert_eq!(
        m.amend(1, ALICE, 100, 6),
        [amended(1, 100, 6, false), bids(100, 11, 2)]
    );
    assert_eq!(m.queue(Side::Buy), [2, 1]);
}

fn price_change_loses_time_priority<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[
        buy(1, ALICE, 100, 5),
        buy(2, BOB, 99, 5),
        buy(3, CAROL, 100, 1),
    ]);
    // To an existing level: behind what is there; old level first, then the new one.
    assert_eq!(
        m.amend(1, ALICE, 99, 5),
        [amended(1, 99, 5, false), bids(100, 1, 1), bids(99, 10, 2)]
    );
    assert_eq!(m.queue(Side::Buy), [3, 2, 1]);
    // Even with a smaller quantity, and back to its old price: still behind.
    assert_eq!(
        m.amend(1, ALICE, 100, 4),
        [amended(1, 100, 4, false), bids(99, 5, 1), bids(100, 5, 2)]
    );
    assert_eq!(m.queue(Side::Buy), [3, 1, 2]);
}

/// A reading of the contract: neither a new price nor a larger quantity, so the order keeps
/// its place; "emits `Amended` then a `Delta` for the old level" holds even though the level
/// did not change.
fn amend_to_the_same_price_and_quantity_keeps_priority<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[sell(1, ALICE, 100, 5), sell(2, BOB, 100, 5)]);
    assert_eq!(
        m.amend(1, ALICE, 100, 5),
        [amended(1, 100, 5, true), asks(100, 10, 2)]
    );
    assert_eq!(m.queue(Side::Sell), [1, 2]);
}

fn amend_that_would_cross_is_rejected<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[buy(1, ALICE, 99, 5), sell(2, BOB, 101, 5)]);
    let before = m.orders();
    assert_eq!(
        m.amend(1, ALICE, 101, 5),
        [refused(1, RejectReason::AmendWouldCross)]
    );
    assert_eq!(
        m.amend(2, BOB, 99, 5),
        [refused(2, RejectReason::AmendWouldCross)]
    );
    assert_eq!(m.orders(), before);
    // Up to just short of the other side is fine.
    assert_eq!(
        m.amend(1, ALICE, 100, 5),
        [amended(1, 100, 5, false), bids(99, 0, 0), bids(100, 5, 1)]
    );
}

fn amend_to_quantity_zero_is_rejected<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[buy(1, ALICE, 100, 5)]);
    assert_eq!(
        m.amend(1, ALICE, 100, 0),
        [refused(1, RejectReason::InvalidQuantity)]
    );
    assert_eq!(m.queue(Side::Buy), [1]);
}

fn amend_of_foreign_order_looks_unknown<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[buy(1, ALICE, 100, 5)]);
    assert_eq!(
        m.amend(1, BOB, 100, 4),
        [refused(1, RejectReason::UnknownOrder)]
    );
    assert_eq!(
        m.amend(999, BOB, 100, 4),
        [refused(999, RejectReason::UnknownOrder)]
    );
    assert_eq!(m.levels(Side::Buy), [(100, 5)]);
}

fn amend_checks_run_in_the_documented_order<E: Engine>() {
    let config = BookConfig {
        quote_per_tick_lot: 1 << 20,
        ..BookConfig::default()
    };
    let mut m = Market::<E>::with(config);
    m.rest(&[buy(1, ALICE, 99, 5), sell(2, BOB, 101, 5)]);
    // Each row breaks its own check and every later one.
    let huge = MAX_QTY; // 101 * 2^48 * 2^20 overflows
    let rows = [
        (BOB, 0, 0, RejectReason::UnknownOrder),
        (ALICE, 0, 0, RejectReason::InvalidQuantity),
        (ALICE, 0, MAX_QTY + 1, RejectReason::InvalidQuantity),
        (ALICE, 0, huge, RejectReason::InvalidPrice),
        (ALICE, MAX_PRICE + 1, huge, RejectReason::InvalidPrice),
        (ALICE, 101, huge, RejectReason::Overflow),
        (ALICE, 101, 5, RejectReason::AmendWouldCross),
    ];
    for (owner, price, qty, reason) in rows {
        assert_eq!(
            m.amend(1, owner, price, qty),
            [refused(1, reason)],
            "{price} x {qty}"
        );
    }
}

fn rejected_amend_changes_nothing<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[
        buy(1, ALICE, 100, 5),
        buy(2, BOB, 100, 5),
        sell(3, BOB, 102, 1),
    ]);
    let before = m.orders();
    for (price, qty) in [(100, 0), (0, 5), (102, 6), (MAX_PRICE + 1, 1)] {
        assert_eq!(m.amend(1, ALICE, price, qty).len(), 1);
    }
    assert_eq!(m.orders(), before);
}

// ---- validation ----

fn rejected_place_emits_only_done<E: Engine>() {
    let mut m = Market::<E>::new();
    let p = buy(1, ALICE, 0, 5);
    assert_eq!(
        m.place(p),
        [done(&p, DoneReason::Rejected(RejectReason::InvalidPrice))]
    );
    assert!(m.orders().is_empty());
}

fn duplicate_id_of_a_live_order_is_rejected<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[buy(1, ALICE, 100, 5)]);
    // Whoever places it, on either side.
    for p in [buy(1, ALICE, 100, 5), sell(1, BOB, 200, 1)] {
        assert_eq!(m.place(p), [rejected(&p, RejectReason::DuplicateOrderId)]);
    }
    assert_eq!(m.levels(Side::Buy), [(100, 5)]);
}

fn id_of_a_finished_order_can_be_reused<E: Engine>() {
    let mut m = Market::<E>::new();
    let first = buy(1, ALICE, 100, 5);
    m.rest(&[first]);
    m.cancel(1, ALICE);
    let again = sell(1, BOB, 100, 2);
    assert_eq!(
        m.place(again),
        [accepted(&again), rested(&again, 2), asks(100, 2, 1)]
    );
    // Filled, and used once more.
    let taker = buy(2, CAROL, 100, 2);
    m.place(taker);
    let third = buy(1, CAROL, 90, 1);
    assert_eq!(
        m.place(third),
        [accepted(&third), rested(&third, 1), bids(90, 1, 1)]
    );
}

fn place_validation_runs_in_the_documented_order<E: Engine>() {
    use RejectReason::*;
    let config = BookConfig {
        quote_per_tick_lot: 1 << 20,
        ..BookConfig::default()
    };
    let mut m = Market::<E>::with(config);
    m.rest(&[buy(1, BOB, 99, 5), sell(2, BOB, 101, 5)]);
    let no_budget = |p: Place| Place {
        order_type: OrderType::Market { quote_budget: None },
        ..p
    };
    // Each row breaks its own check and as many later ones as it can.
    let rows = [
        (
            no_budget(buy(1, ALICE, 0, 0)).post_only().fok(),
            DuplicateOrderId,
        ),
        (
            no_budget(buy(3, ALICE, 0, 0)).post_only().fok(),
            InvalidQuantity,
        ),
        (
            buy(3, ALICE, 0, MAX_QTY + 1).post_only().fok(),
            InvalidQuantity,
        ),
        (buy(3, ALICE, 0, MAX_QTY).post_only().fok(), InvalidPrice),
        (
            buy(3, ALICE, MAX_PRICE + 1, MAX_QTY).post_only().fok(),
            InvalidPrice,
        ),
        (
            no_budget(buy(3, ALICE, 0, 5)).post_only().fok(),
            PostOnlyMarket,
        ),
        (no_budget(buy(3, ALICE, 0, 5)).fok(), MissingBudget),
        (
            buy(3, ALICE, MAX_PRICE, MAX_QTY).post_only().fok(),
            Overflow,
        ),
        (buy(3, ALICE, 101, 6).post_only().fok(), PostOnlyWouldCross),
        (buy(3, ALICE, 101, 6).fok(), FokNotFillable),
    ];
    let before = m.orders();
    for (p, reason) in rows {
        assert_eq!(m.place(p), [rejected(&p, reason)], "{p:?}");
    }
    assert_eq!(m.orders(), before);
}

fn overflowing_value_is_rejected_not_wrapped<E: Engine>() {
    // u64::MAX = 3 * 5 * 17 * 257 * 641 * 65537 * 6700417.
    let config = BookConfig {
        quote_per_tick_lot: 641 * 65_537 * 6_700_417,
        ..BookConfig::default()
    };
    let mut m = Market::<E>::with(config);
    let fits = buy(1, ALICE, 3 * 5 * 17, 257);
    assert_eq!(
        m.place(fits),
        [accepted(&fits), rested(&fits, 257), bids(255, 257, 1)]
    );
    let over = buy(2, ALICE, 3 * 5 * 17, 258);
    assert_eq!(m.place(over), [rejected(&over, RejectReason::Overflow)]);
    // A trade at the top of the range is worth exactly u64::MAX.
    let s = sell(3, BOB, 255, 257);
    let events = m.place(s);
    assert!(
        matches!(
            events[1],
            Event::Trade(Trade {
                value: u64::MAX,
                ..
            })
        ),
        "{events:?}"
    );
}

// ---- deltas and snapshots ----

fn deltas_rebuild_the_book<E: Engine>() {
    let mut m = Market::<E>::new();
    let commands = [
        Command::Place(buy(1, ALICE, 100, 5)),
        Command::Place(buy(2, BOB, 100, 3)),
        Command::Place(buy(3, BOB, 98, 3)),
        Command::Place(sell(4, CAROL, 103, 4)),
        Command::Place(sell(5, CAROL, 104, 4)),
        Command::Place(sell(6, ALICE, 100, 6)),
        Command::Amend {
            id: 3,
            owner: BOB,
            price: 99,
            qty: 7,
        },
        Command::Place(buy(7, BOB, 104, 5)),
        Command::Cancel {
            id: 5,
            owner: CAROL,
        },
        Command::CancelAll { owner: BOB },
    ];
    let mut levels = BTreeMap::new();
    for cmd in commands {
        for event in m.run(cmd) {
            if let Event::Delta(d) = event {
                if d.qty == 0 {
                    levels.remove(&(d.side == Side::Sell, d.price));
                } else {
                    levels.insert((d.side == Side::Sell, d.price), d);
                }
            }
        }
        // The map holds bids then asks, each by ascending price.
        let rebuilt: Vec<BookDelta> = levels.values().copied().collect();
        let mut depth = m.book.depth(Side::Buy);
        depth.reverse();
        depth.extend(m.book.depth(Side::Sell));
        assert_eq!(rebuilt, depth, "after {cmd:?}");
    }
}

fn open_orders_lists_bids_then_asks_best_first_in_time_order<E: Engine>() {
    let mut m = Market::<E>::new();
    m.rest(&[
        sell(1, ALICE, 105, 1),
        buy(2, BOB, 99, 2),
        sell(3, BOB, 104, 3),
        buy(4, CAROL, 100, 4),
        buy(5, ALICE, 99, 5),
        sell(6, CAROL, 104, 6),
    ]);
    let listed: Vec<(OrderId, u64)> = m.orders().iter().map(|o| (o.id, o.price)).collect();
    assert_eq!(
        listed,
        [(4, 100), (2, 99), (5, 99), (3, 104), (6, 104), (1, 105)]
    );
    assert_eq!(
        m.orders()[0],
        RestingOrder {
            id: 4,
            owner: CAROL,
            side: Side::Buy,
            price: 100,
            qty: 4
        }
    );
}

fn restored_book_behaves_like_the_original<E: Engine>() {
    let config = BookConfig {
        quote_per_tick_lot: 3,
        maker_fee_bps: 5,
        taker_fee_bps: 7,
    };
    let mut original = Market::<E>::with(config);
    original.rest(&[
        buy(1, ALICE, 100, 5),
        buy(2, BOB, 100, 5),
        buy(3, CAROL, 99, 2),
    ]);
    original.rest(&[
        sell(4, BOB, 103, 1),
        sell(5, ALICE, 103, 2),
        sell(6, CAROL, 104, 9),
    ]);
    original.amend(1, ALICE, 100, 6); // now behind BOB's
    let mut copy = Market::<E> {
        book: E::restored(config, &original.orders()),
        now: NOW,
    };
    assert_eq!(copy.orders(), original.orders());
    let later = [
        Command::Place(sell(7, CAROL, 99, 8)),
        Command::Place(market_buy(8, ALICE, 20, 10_000)),
        Command::Amend {
            id: 3,
            owner: CAROL,
            price: 101,
            qty: 2,
        },
        Command::Place(buy(9, BOB, 103, 1).fok()),
        Command::CancelAll { owner: CAROL },
        Command::Place(sell(4, BOB, 98, 1)),
    ];
    for cmd in later {
        assert_eq!(copy.run(cmd), original.run(cmd), "{cmd:?}");
    }
    assert_eq!(copy.orders(), original.orders());
}

// =======================================================================================
// The `Book`'s API beyond the rules.
// =======================================================================================

#[test]
fn config_is_valid_with_a_whole_tick_value_and_fees_up_to_100_percent() {
    let ok = BookConfig {
        quote_per_tick_lot: 1,
        maker_fee_bps: 10_000,
        taker_fee_bps: 10_000,
    };
    assert!(Book::new(ok).is_ok());
    assert!(
        Book::new(BookConfig {
            quote_per_tick_lot: u64::MAX,
            ..ok
        })
        .is_ok()
    );
    for bad in [
        BookConfig {
            quote_per_tick_lot: 0,
            ..ok
        },
        BookConfig {
            maker_fee_bps: 10_001,
            ..ok
        },
        BookConfig {
            taker_fee_bps: 10_001,
            ..ok
        },
        BookConfig {
            taker_fee_bps: u32::MAX,
            ..ok
        },
    ] {
        assert!(Book::new(bad).is_err(), "{bad:?}");
        assert!(Book::restore(bad, &[]).is_err(), "{bad:?}");
    }
}

#[test]
fn apply_appends_to_the_events_already_there() {
    let mut book = Book::new(BookConfig::default()).unwrap();
    let mut out = vec![Event::Accepted { id: 42 }];
    book.apply(&Command::Place(buy(1, ALICE, 100, 1)), NOW, &mut out);
    let b = buy(1, ALICE, 100, 1);
    assert_eq!(
        out,
        [
            Event::Accepted { id: 42 },
            accepted(&b),
            rested(&b, 1),
            bids(100, 1, 1)
        ]
    );
}

#[test]
fn best_prices_depth_and_len_describe_the_book() {
    let mut m = Market::<Book>::new();
    assert_eq!(
        (m.book.best_bid(), m.book.best_ask(), m.book.len()),
        (None, None, 0)
    );
    m.rest(&[
        buy(1, ALICE, 99, 2),
        buy(2, BOB, 100, 3),
        buy(3, CAROL, 100, 4),
        sell(4, BOB, 102, 5),
    ]);
    assert_eq!(m.book.best_bid(), Some((100, 7)));
    assert_eq!(m.book.best_ask(), Some((102, 5)));
    assert_eq!(m.book.len(), 4);
    assert_eq!(
        m.book.depth(Side::Buy, 1),
        [BookDelta {
            side: Side::Buy,
            price: 100,
            qty: 7,
            orders: 2
        }]
    );
    assert_eq!(m.levels(Side::Buy), [(100, 7), (99, 2)]);
    assert!(m.book.depth(Side::Sell, 0).is_empty());
}

#[test]
fn restore_refuses_a_snapshot_it_cannot_hold() {
    let config = BookConfig::default();
    let order = |id, side, price, qty| RestingOrder {
        id,
        owner: ALICE,
        side,
        price,
        qty,
    };
    let bid = order(1, Side::Buy, 100, 5);
    for bad in [
        vec![bid, order(2, Side::Sell, 100, 5)], // crossed
        vec![bid, order(1, Side::Sell, 101, 5)], // duplicate id
        vec![order(1, Side::Buy, 100, 0)],       // empty order
        vec![order(1, Side::Buy, 0, 5)],         // invalid price
        vec![order(1, Side::Buy, MAX_PRICE + 1, 5)],
        vec![order(1, Side::Buy, 100, MAX_QTY + 1)],
        vec![order(1, Side::Buy, MAX_PRICE, MAX_QTY)], // value overflows
    ] {
        assert!(Book::restore(config, &bad).is_err(), "{bad:?}");
    }
    assert!(Book::restore(config, &[]).is_ok_and(|b| b.is_empty()));
}

/// The level total is a `u64` too: 65,536 orders of `MAX_QTY` (2^48) lots would overflow
/// it, so the one that would is refused (in the fast book only: the model's linear scans
/// make this many orders too slow for it).
#[test]
fn a_level_whose_total_would_overflow_refuses_the_order() {
    let mut book = Book::new(BookConfig::default()).unwrap();
    let mut out = Vec::new();
    let full = u64::MAX / MAX_QTY + 1; // the 65,536th order would make 2^64
    for id in 1..full {
        book.apply(&Command::Place(buy(id, ALICE, 1, MAX_QTY)), 0, &mut out);
    }
    assert_eq!(book.best_bid(), Some((1, (full - 1) * MAX_QTY)));
    out.clear();
    let last = buy(full, ALICE, 1, MAX_QTY);
    book.apply(&Command::Place(last), 0, &mut out);
    assert_eq!(out, [rejected(&last, RejectReason::Overflow)]);
    // Amending a resting order up to the limit is refused the same way; down is fine.
    out.clear();
    let amend = |qty| Command::Amend {
        id: 1,
        owner: ALICE,
        price: 1,
        qty,
    };
    book.apply(&amend(MAX_QTY), 0, &mut out);
    assert!(
        matches!(
            out[0],
            Event::Amended {
                kept_priority: true,
                ..
            }
        ),
        "{out:?}"
    );
    out.clear();
    book.apply(
        &Command::Place(buy(full, ALICE, 1, MAX_QTY - 1)),
        0,
        &mut out,
    );
    assert!(matches!(out[1], Event::Rested { .. }), "{out:?}");
    out.clear();
    book.apply(&amend(MAX_QTY), 0, &mut out);
    assert!(
        matches!(out[0], Event::Amended { .. }),
        "same quantity still fits: {out:?}"
    );
    out.clear();
    book.apply(
        &Command::Amend {
            id: full,
            owner: ALICE,
            price: 1,
            qty: MAX_QTY,
        },
        0,
        &mut out,
    );
    assert_eq!(
        out,
        [Event::CancelRejected {
            id: full,
            reason: RejectReason::Overflow
        }]
    );
    book.check_invariants().unwrap();
    // And a snapshot that would overflow a level cannot be restored.
    let mut snapshot = book.open_orders();
    snapshot.push(RestingOrder {
        id: u64::MAX,
        owner: ALICE,
        side: Side::Buy,
        price: 1,
        qty: MAX_QTY,
    });
    assert!(Book::restore(BookConfig::default(), &snapshot).is_err());
}
