//! The engine's money rules as traders see them: who pays what, what is held and released,
//! and that the ledger always balances.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use engine::{
    BookConfig, Side, TimeInForce,
    market::{
        Account, Asset, Effects, Engine, Input, MarketRules, OrderState, Status, required_hold,
    },
};
use proptest::prelude::*;

const ALICE: u128 = 1;
const BOB: u128 = 2;

/// ACME-USD: a tick is 0.01 USD (1 cent), a lot is 1 ACME of 0 decimals, so one tick of one
/// lot is 1 cent. Maker 10 bps, taker 20 bps.
fn rules() -> MarketRules {
    MarketRules {
        book: BookConfig {
            quote_per_tick_lot: 1,
            maker_fee_bps: 10,
            taker_fee_bps: 20,
        },
        lot_size: 1,
    }
}

fn order(id: u64, owner: u128, side: Side, price: Option<u64>, qty: u64) -> OrderState {
    let held = required_hold(&rules(), side, price, Some(1_000_000), qty).unwrap();
    OrderState {
        id,
        owner,
        side,
        price,
        quote_budget: price.is_none().then_some(1_000_000),
        tif: TimeInForce::Gtc,
        post_only: false,
        qty,
        filled: 0,
        filled_value: 0,
        fees_paid: 0,
        held,
        status: Status::Accepted,
        reason: None,
    }
}

fn run(engine: &mut Engine, inputs: &[Input]) -> Effects {
    let mut fx = Effects::default();
    for (ts, input) in inputs.iter().enumerate() {
        engine.apply(*input, ts as u64, &mut fx);
    }
    assert_balanced(&fx);
    fx
}

fn assert_balanced(fx: &Effects) {
    for tx in &fx.ledger {
        let mut per_asset: BTreeMap<Asset, i64> = BTreeMap::new();
        for p in tx {
            *per_asset.entry(p.asset).or_default() += p.amount;
        }
        assert!(
            per_asset.values().all(|v| *v == 0),
            "unbalanced transaction {tx:?}"
        );
    }
}

fn change(fx: &Effects, account: Account, asset: Asset) -> i64 {
    let change = fx
        .balance_changes()
        .get(&(account, asset))
        .copied()
        .unwrap_or(0);
    i64::try_from(change).unwrap()
}

#[test]
fn two_traders_cross_at_the_makers_price_and_the_buyer_gets_the_improvement_back() {
    let mut engine = Engine::new(rules(), 0).unwrap();
    // Alice sells 10 ACME at 100.00 (10_000 ticks); Bob buys 4 at 101.00.
    let sell = order(1, ALICE, Side::Sell, Some(10_000), 10);
    let buy = order(2, BOB, Side::Buy, Some(10_100), 4);
    assert_eq!(sell.held, 10);
    // Per lot: 10_100 value + 21 fee (20 bps of 10_100 = 20.2, rounded up).
    assert_eq!(buy.held, 4 * 10_121);
    let fx = run(&mut engine, &[Input::Place(sell), Input::Place(buy)]);

    assert_eq!(fx.trades.len(), 1);
    let t = fx.trades[0];
    assert_eq!((t.seq, t.trade.price, t.trade.qty), (1, 10_000, 4));
    assert_eq!((t.buyer, t.seller), (BOB, ALICE));
    // Value 40_000 cents; Bob takes (20 bps = 80), Alice makes (10 bps = 40).
    assert_eq!(t.trade.value, 40_000);
    assert_eq!(change(&fx, Account::Available(BOB), Asset::Base), 4);
    // Bob's whole hold is gone: 40_080 paid, the rest (price improvement) released.
    assert_eq!(change(&fx, Account::Held(BOB), Asset::Quote), -(4 * 10_121));
    assert_eq!(
        change(&fx, Account::Available(BOB), Asset::Quote),
        4 * 10_121 - 40_080
    );
    assert_eq!(change(&fx, Account::Held(ALICE), Asset::Base), -4);
    assert_eq!(
        change(&fx, Account::Available(ALICE), Asset::Quote),
        40_000 - 40
    );
    assert_eq!(change(&fx, Account::Fees, Asset::Quote), 120);

    let alice = fx.orders[&1];
    assert_eq!(
        (alice.status, alice.filled, alice.held),
        (Status::PartiallyFilled, 4, 6)
    );
    let bob = fx.orders[&2];
    assert_eq!(
        (bob.status, bob.filled, bob.fees_paid),
        (Status::Filled, 4, 80)
    );
    assert_eq!(bob.held, 0);
    assert_eq!(engine.book().best_ask(), Some((10_000, 6)));
}

#[test]
fn a_resting_buy_keeps_exactly_what_its_remainder_needs() {
    let mut engine = Engine::new(rules(), 0).unwrap();
    let buy = order(1, BOB, Side::Buy, Some(10_000), 10);
    let sell = order(2, ALICE, Side::Sell, Some(9_900), 3);
    let fx = run(&mut engine, &[Input::Place(buy), Input::Place(sell)]);
    let bob = fx.orders[&1];
    assert_eq!(bob.status, Status::PartiallyFilled);
    assert_eq!(
        bob.held,
        required_hold(&rules(), Side::Buy, Some(10_000), None, 7).unwrap()
    );
    // Alice sold at Bob's price (he was the maker).
    assert_eq!(fx.trades[0].trade.price, 10_000);
}

#[test]
fn cancel_releases_the_whole_hold_and_a_stranger_cannot_cancel() {
    let mut engine = Engine::new(rules(), 0).unwrap();
    let buy = order(1, BOB, Side::Buy, Some(10_000), 5);
    let fx = run(
        &mut engine,
        &[
            Input::Place(buy),
            Input::Cancel {
                id: 1,
                owner: ALICE,
            },
            Input::Cancel { id: 1, owner: BOB },
        ],
    );
    assert_eq!(fx.rejected_cancels, vec![1]);
    let bob = fx.orders[&1];
    assert_eq!(
        (bob.status, bob.reason),
        (Status::Cancelled, Some("CANCELLED_BY_OWNER"))
    );
    assert_eq!(
        change(&fx, Account::Held(BOB), Asset::Quote),
        -(buy.held as i64)
    );
    assert_eq!(
        change(&fx, Account::Available(BOB), Asset::Quote),
        buy.held as i64
    );
    assert!(engine.book().is_empty());
}

#[test]
fn an_unfillable_fok_is_rejected_and_releases_everything() {
    let mut engine = Engine::new(rules(), 0).unwrap();
    let sell = order(1, ALICE, Side::Sell, Some(10_000), 2);
    let mut fok = order(2, BOB, Side::Buy, Some(10_000), 5);
    fok.tif = TimeInForce::Fok;
    let fx = run(&mut engine, &[Input::Place(sell), Input::Place(fok)]);
    assert!(fx.trades.is_empty());
    let bob = fx.orders[&2];
    assert_eq!(
        (bob.status, bob.reason),
        (Status::Rejected, Some("FOK_NOT_FILLABLE"))
    );
    assert_eq!(bob.held, 0);
}

#[test]
fn a_market_buy_spends_within_its_budget_and_returns_the_rest() {
    let mut engine = Engine::new(rules(), 0).unwrap();
    let sell = order(1, ALICE, Side::Sell, Some(10_000), 3);
    let buy = order(2, BOB, Side::Buy, None, 5);
    let fx = run(&mut engine, &[Input::Place(sell), Input::Place(buy)]);
    let bob = fx.orders[&2];
    assert_eq!(bob.filled, 3);
    assert_eq!(
        (bob.status, bob.reason),
        (Status::Cancelled, Some("MARKET_REMAINDER_EXPIRED"))
    );
    assert_eq!(bob.held, 0);
    // 30_000 value + 60 taker fee spent of the 1_000_000 budget.
    assert_eq!(
        change(&fx, Account::Available(BOB), Asset::Quote),
        1_000_000 - 30_060
    );
}

#[test]
fn a_replayed_place_is_ignored() {
    let mut engine = Engine::new(rules(), 0).unwrap();
    let sell = order(1, ALICE, Side::Sell, Some(10_000), 3);
    let fx = run(&mut engine, &[Input::Place(sell), Input::Place(sell)]);
    assert_eq!(engine.book().len(), 1);
    assert_eq!(fx.orders.len(), 1);
}

#[test]
fn a_restored_engine_continues_where_the_first_one_stopped() {
    let mut first = Engine::new(rules(), 0).unwrap();
    let a = order(1, ALICE, Side::Sell, Some(10_000), 3);
    let b = order(2, ALICE, Side::Sell, Some(10_000), 4);
    let fx = run(&mut first, &[Input::Place(a), Input::Place(b)]);
    let live: Vec<OrderState> = fx.orders.values().copied().collect();
    let mut second = Engine::restore(rules(), first.trade_seq(), live).unwrap();
    let buy = order(3, BOB, Side::Buy, Some(10_000), 5);
    let fx1 = run(&mut first, &[Input::Place(buy)]);
    let fx2 = run(&mut second, &[Input::Place(buy)]);
    assert_eq!(fx1, fx2);
    assert_eq!(first.book().open_orders(), second.book().open_orders());
}

fn arb_input() -> impl Strategy<Value = (u8, bool, u64, u64, u8)> {
    // (kind, buy?, price offset, qty, owner)
    (0u8..10, any::<bool>(), 0u64..6, 1u64..8, 0u8..3)
}

proptest! {
    /// Whatever traders do, every ledger transaction balances, no hold goes negative, and
    /// what the ledger says is held equals what live orders still hold.
    #[test]
    fn holds_always_cover_trades_and_the_ledger_balances(steps in prop::collection::vec(arb_input(), 1..120)) {
        let mut engine = Engine::new(rules(), 0).unwrap();
        let mut fx = Effects::default();
        let mut holds: BTreeMap<(u128, Asset), i64> = BTreeMap::new();
        let mut next_id = 1;
        for (ts, (kind, buy, off, qty, owner)) in steps.into_iter().enumerate() {
            let owner = u128::from(owner) + 1;
            let side = if buy { Side::Buy } else { Side::Sell };
            let input = match kind {
                0 => Input::CancelAll { owner },
                1 => Input::Cancel { id: (off + 1).min(next_id), owner },
                2 => {
                    let o = order(next_id, owner, side, None, qty);
                    next_id += 1;
                    Input::Place(o)
                }
                k => {
                    let mut o = order(next_id, owner, side, Some(9_997 + off), qty);
                    o.tif = match k { 3 => TimeInForce::Ioc, 4 => TimeInForce::Fok, _ => TimeInForce::Gtc };
                    o.post_only = k == 5;
                    next_id += 1;
                    Input::Place(o)
                }
            };
            if let Input::Place(o) = input {
                let asset = if o.side == Side::Buy { Asset::Quote } else { Asset::Base };
                *holds.entry((o.owner, asset)).or_default() += o.held as i64;
            }
            engine.apply(input, ts as u64, &mut fx);
        }
        assert_balanced(&fx);
        for ((account, asset), delta) in fx.balance_changes() {
            if let Account::Held(owner) = account {
                *holds.entry((owner, asset)).or_default() += i64::try_from(delta).unwrap();
            }
        }
        let mut live: BTreeMap<(u128, Asset), i64> = BTreeMap::new();
        for o in fx.orders.values().filter(|o| o.status.is_live()) {
            let asset = if o.side == Side::Buy { Asset::Quote } else { Asset::Base };
            *live.entry((o.owner, asset)).or_default() += o.held as i64;
            prop_assert_eq!(Some(o), engine.order(o.id));
        }
        for (key, held) in &holds {
            prop_assert!(*held >= 0, "negative hold {key:?}: {held}");
            prop_assert_eq!(*held, live.get(key).copied().unwrap_or(0), "{:?}", key);
        }
        for o in fx.orders.values() {
            if !o.status.is_live() {
                prop_assert_eq!(o.held, 0, "done order {} keeps a hold", o.id);
            }
        }
    }
}

/// A lot so large that three of them pass `i64::MAX` base units: the trade is flagged rather
/// than written with a wrapped or saturated amount (settlement then refuses the command).
#[test]
fn a_trade_whose_amounts_do_not_fit_is_flagged_not_wrapped() {
    let huge = MarketRules {
        lot_size: 1 << 62,
        ..rules()
    };
    let mut engine = Engine::new(huge, 0).unwrap();
    let lots = |id, owner, side| OrderState {
        held: if side == Side::Sell { 3 << 62 } else { 1_000 },
        ..order(id, owner, side, Some(1), 3)
    };
    let mut fx = Effects::default();
    engine.apply(Input::Place(lots(1, ALICE, Side::Sell)), 1, &mut fx);
    assert!(fx.overflowed.is_empty(), "resting moves no money");
    engine.apply(Input::Place(lots(2, BOB, Side::Buy)), 2, &mut fx);
    assert_eq!(fx.trades.len(), 1);
    assert_eq!(&fx.overflowed[..2], [2, 1], "the taker and the maker");
    let trade = &fx.ledger[0];
    assert!(
        trade.iter().all(|p| p.amount.unsigned_abs() < 1 << 62),
        "no saturated amount: {trade:?}"
    );
}

/// Refusing an accepted order (settlement could not write it) gives its whole hold back in
/// one balanced release and ends it `REJECTED` with the reason.
#[test]
fn a_refused_order_gets_its_hold_back() {
    let buy = order(7, BOB, Side::Buy, Some(10_000), 3);
    let fx = engine::market::refusal(buy, engine::market::BALANCE_LIMIT);
    assert_balanced(&fx);
    assert_eq!(
        change(&fx, Account::Available(BOB), Asset::Quote),
        i64::try_from(buy.held).unwrap()
    );
    assert_eq!(
        change(&fx, Account::Held(BOB), Asset::Quote),
        -i64::try_from(buy.held).unwrap()
    );
    let o = fx.orders[&7];
    assert_eq!(
        (o.status, o.reason, o.held),
        (Status::Rejected, Some("BALANCE_LIMIT"), 0)
    );
}
