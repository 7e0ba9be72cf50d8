//! The venue core (decision 0008): stories of what a trader and an operator see, and
//! properties over random command streams — the ledger always balances, a refusal changes
//! nothing, and replaying the same commands gives the same answers and the same batches (what
//! the journal's replay relies on).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use engine::{
    BookConfig, Side, TimeInForce,
    market::{MarketRules, Status},
    venue::{
        Account, Answer, Balance, Command, Core, Listing, NewOrder, Reason, Refusal, Snapshot,
    },
};
use proptest::prelude::*;

const USD: u128 = 0xC0;
const ACME: u128 = 0xAC;
const MARKET: u128 = 0x4D;
const ALICE: u128 = 1;
const BOB: u128 = 2;
const CAROL: u128 = 3;

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

/// Applies commands with consecutive sequence numbers and times.
struct Venue {
    core: Core,
    seq: u64,
}

impl Venue {
    fn new() -> Self {
        Self {
            core: Core::new(),
            seq: 0,
        }
    }

    fn apply(&mut self, command: Command) -> Result<Answer, Refusal> {
        self.seq += 1;
        self.core
            .apply(&command, self.seq, self.seq * 1_000)
            .expect("no invariant breaks")
    }

    /// A venue with USD and ACME, the ACME-USD market open, and money for everyone.
    fn listed() -> Self {
        let mut v = Self::new();
        v.apply(Command::ListAsset {
            asset: USD,
            supply_cap: i64::MAX,
        })
        .unwrap();
        v.apply(Command::ListAsset {
            asset: ACME,
            supply_cap: 1_000_000,
        })
        .unwrap();
        v.apply(Command::ListMarket(Listing {
            market: MARKET,
            rules: rules(),
            base: ACME,
            quote: USD,
            open: true,
        }))
        .unwrap();
        for owner in [ALICE, BOB, CAROL] {
            v.apply(credit(owner, USD, 100_000)).unwrap();
            v.apply(credit(owner, ACME, 1_000)).unwrap();
        }
        v.core.take_batch();
        v
    }
}

fn credit(owner: u128, asset: u128, amount: i64) -> Command {
    Command::Credit {
        owner,
        asset,
        amount,
    }
}

fn limit(owner: u128, side: Side, price: u64, qty: u64) -> NewOrder {
    NewOrder {
        market: MARKET,
        owner,
        client_order_id: None,
        side,
        price: Some(price),
        quote_budget: None,
        qty,
        tif: TimeInForce::Gtc,
        post_only: false,
    }
}

fn placed(answer: Result<Answer, Refusal>) -> engine::market::OrderState {
    match answer {
        Ok(Answer::Placed(o)) => o,
        other => panic!("expected a placed order, got {other:?}"),
    }
}

#[test]
fn a_resting_buy_holds_its_cost_and_fees_and_the_ledger_records_the_hold() {
    let mut v = Venue::listed();
    let order = placed(v.apply(Command::Place(limit(ALICE, Side::Buy, 100, 10))));
    assert_eq!(order.status, Status::Open);
    assert_eq!(order.id, v.seq, "an order's id is its command's sequence");
    // 10 lots at 100 = 1,000, plus the higher fee (20 bps) rounded up per lot: 10 × 1.
    assert_eq!(
        v.core.balance(ALICE, USD),
        Balance {
            available: 100_000 - 1_010,
            held: 1_010
        }
    );
    let batch = v.core.take_batch();
    assert_eq!(batch.ledger.len(), 1);
    assert!(batch.ledger[0].iter().all(|p| p.reason == Reason::Hold));
    assert_eq!(batch.balances[&(ALICE, USD)].held, 1_010);
    assert_eq!(
        batch.markets[&MARKET].orders[&order.id].status,
        Status::Open
    );
    v.core.audit().unwrap();
}

#[test]
fn crossing_orders_trade_pay_fees_and_release_what_the_buyer_no_longer_needs() {
    let mut v = Venue::listed();
    let ask = placed(v.apply(Command::Place(limit(BOB, Side::Sell, 100, 10))));
    let bid = placed(v.apply(Command::Place(limit(ALICE, Side::Buy, 105, 10))));
    assert_eq!(bid.status, Status::Filled);
    assert_eq!(v.core.order(ask.id), None, "a filled order is not live");
    // Alice paid 1,000 at the resting price plus the taker fee (20 bps of 1,000 = 2): the
    // rest of her hold at 105 went back.
    assert_eq!(
        v.core.balance(ALICE, USD),
        Balance {
            available: 100_000 - 1_002,
            held: 0
        }
    );
    assert_eq!(v.core.balance(ALICE, ACME).available, 1_010);
    // Bob delivered 10 ACME and received 1,000 less the maker fee (10 bps = 1).
    assert_eq!(
        v.core.balance(BOB, USD),
        Balance {
            available: 100_999,
            held: 0
        }
    );
    assert_eq!(v.core.balance(BOB, ACME).available, 990);
    let batch = v.core.take_batch();
    assert_eq!(batch.markets[&MARKET].trades.len(), 1);
    let fees: i64 = batch
        .ledger
        .iter()
        .flatten()
        .filter(|p| p.account == Account::Fees)
        .map(|p| p.amount)
        .sum();
    assert_eq!(fees, 3);
    for tx in &batch.ledger {
        assert_eq!(tx.iter().map(|p| p.amount).sum::<i64>(), 0, "{tx:?}");
    }
    v.core.audit().unwrap();
}

#[test]
fn an_order_the_trader_cannot_pay_for_is_refused_and_changes_nothing() {
    let mut v = Venue::listed();
    let before = v.core.balance(ALICE, USD);
    assert_eq!(
        v.apply(Command::Place(limit(ALICE, Side::Buy, 100_000, 10))),
        Err(Refusal::InsufficientFunds)
    );
    assert_eq!(
        v.apply(Command::Place(limit(
            ALICE,
            Side::Buy,
            u64::MAX / 2,
            u64::MAX / 2
        ))),
        Err(Refusal::BalanceLimit),
        "a hold beyond any integer is refused, not wrapped"
    );
    assert_eq!(v.core.balance(ALICE, USD), before);
    assert_eq!(v.core.take_batch(), Default::default());
    v.core.audit().unwrap();
}

#[test]
fn a_retry_with_the_same_client_order_id_answers_the_first_order() {
    let mut v = Venue::listed();
    let mut order = limit(ALICE, Side::Buy, 90, 5);
    order.client_order_id = Some("bot-1".into());
    let first = placed(v.apply(Command::Place(order.clone())));
    v.core.take_batch();
    let again = v.apply(Command::Place(order.clone())).unwrap();
    assert_eq!(again, Answer::Existing(first.id));
    assert!(!again.changed_state(), "a retry is not journaled");
    assert_eq!(v.core.take_batch(), Default::default());
    // Another trader may use the same key.
    order.owner = BOB;
    placed(v.apply(Command::Place(order)));
}

#[test]
fn a_cancel_releases_the_hold_and_another_owners_cancel_looks_like_a_missing_order() {
    let mut v = Venue::listed();
    let order = placed(v.apply(Command::Place(limit(ALICE, Side::Buy, 90, 5))));
    assert_eq!(
        v.apply(Command::Cancel {
            owner: BOB,
            order: order.id
        }),
        Err(Refusal::NotFound)
    );
    let Ok(Answer::Cancelled(done)) = v.apply(Command::Cancel {
        owner: ALICE,
        order: order.id,
    }) else {
        panic!("not cancelled");
    };
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].status, Status::Cancelled);
    assert_eq!(
        v.core.balance(ALICE, USD),
        Balance {
            available: 100_000,
            held: 0
        }
    );
    assert_eq!(
        v.apply(Command::Cancel {
            owner: ALICE,
            order: order.id
        }),
        Err(Refusal::NotFound),
        "a done order is no longer live"
    );
    v.core.audit().unwrap();
}

#[test]
fn a_halted_market_refuses_orders_but_lets_traders_cancel() {
    let mut v = Venue::listed();
    let order = placed(v.apply(Command::Place(limit(ALICE, Side::Sell, 120, 5))));
    v.apply(Command::SetOpen {
        market: MARKET,
        open: false,
    })
    .unwrap();
    assert_eq!(
        v.apply(Command::Place(limit(BOB, Side::Buy, 120, 5))),
        Err(Refusal::MarketHalted)
    );
    let Ok(Answer::Cancelled(done)) = v.apply(Command::CancelAll {
        owner: ALICE,
        market: None,
    }) else {
        panic!("cancel-all refused");
    };
    assert_eq!(done.iter().map(|o| o.id).collect::<Vec<_>>(), [order.id]);
    v.core.audit().unwrap();
}

#[test]
fn credits_stop_at_the_assets_supply_cap() {
    let mut v = Venue::listed();
    // ACME's cap is 1,000,000 and 3,000 are out.
    assert_eq!(
        v.apply(credit(CAROL, ACME, 997_001)),
        Err(Refusal::BalanceLimit)
    );
    assert_eq!(
        v.apply(credit(CAROL, ACME, 997_000)),
        Ok(Answer::Credited(Balance {
            available: 998_000,
            held: 0
        }))
    );
    assert_eq!(v.apply(credit(CAROL, ACME, 1)), Err(Refusal::BalanceLimit));
    assert_eq!(v.apply(credit(CAROL, ACME, 0)), Err(Refusal::InvalidOrder));
    assert_eq!(v.apply(credit(CAROL, 0xBAD, 5)), Err(Refusal::UnknownAsset));
    v.core.audit().unwrap();
}

#[test]
fn unknown_markets_and_malformed_orders_are_refused() {
    let mut v = Venue::listed();
    let mut order = limit(ALICE, Side::Buy, 100, 1);
    order.market = 0xBAD;
    assert_eq!(v.apply(Command::Place(order)), Err(Refusal::UnknownMarket));
    let mut order = limit(ALICE, Side::Buy, 100, 0);
    assert_eq!(
        v.apply(Command::Place(order.clone())),
        Err(Refusal::InvalidOrder)
    );
    order.qty = 1;
    order.price = None; // a market buy with no budget
    assert_eq!(v.apply(Command::Place(order)), Err(Refusal::InvalidOrder));
    assert_eq!(
        v.apply(Command::ListMarket(Listing {
            market: MARKET,
            rules: rules(),
            base: ACME,
            quote: USD,
            open: true
        })),
        Err(Refusal::AlreadyListed)
    );
}

/// A command of a random stream: small prices and sizes so that orders cross often.
fn command() -> impl Strategy<Value = Command> {
    let owner = prop_oneof![Just(ALICE), Just(BOB), Just(CAROL)];
    prop_oneof![
        6 => (
            owner.clone(),
            any::<bool>(),
            prop::option::weighted(0.85, 95u64..106),
            1u64..40,
            prop_oneof![Just(TimeInForce::Gtc), Just(TimeInForce::Ioc), Just(TimeInForce::Fok)],
            prop::option::weighted(0.2, 0u8..4),
        )
            .prop_map(|(owner, buy, price, qty, tif, key)| {
                let side = if buy { Side::Buy } else { Side::Sell };
                Command::Place(NewOrder {
                    market: MARKET,
                    owner,
                    client_order_id: key.map(|k| format!("k{k}").into()),
                    side,
                    price,
                    quote_budget: (price.is_none() && buy).then_some(3_000),
                    qty,
                    tif: if price.is_none() { TimeInForce::Ioc } else { tif },
                    post_only: false,
                })
            }),
        2 => (owner.clone(), 1u64..60).prop_map(|(owner, order)| Command::Cancel { owner, order }),
        1 => owner.clone().prop_map(|owner| Command::CancelAll { owner, market: Some(MARKET) }),
        1 => (owner, 1i64..5_000).prop_map(|(owner, amount)| credit(owner, USD, amount)),
        1 => any::<bool>().prop_map(|open| Command::SetOpen { market: MARKET, open }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// After every command the ledger balances; a refusal leaves the batch empty; and a
    /// second core fed the same commands (the journal's replay) answers the same and
    /// produces the same batches.
    #[test]
    fn the_ledger_balances_refusals_change_nothing_and_a_replay_is_exact(
        commands in prop::collection::vec(command(), 1..120)
    ) {
        let mut live = Venue::listed();
        let mut replay = Venue::listed();
        for c in commands {
            let answer = live.apply(c.clone());
            let batch = live.core.take_batch();
            if answer.is_err() || answer.as_ref().is_ok_and(|a| !a.changed_state()) {
                prop_assert_eq!(&batch, &Default::default(), "{:?} changed state: {:?}", c, answer);
            }
            for tx in &batch.ledger {
                let mut per_asset = std::collections::BTreeMap::<u128, i64>::new();
                for p in tx {
                    *per_asset.entry(p.asset).or_default() += p.amount;
                }
                prop_assert!(per_asset.values().all(|v| *v == 0), "unbalanced {:?}", tx);
            }
            prop_assert_eq!(live.core.audit(), Ok(()));
            prop_assert_eq!(replay.apply(c), answer);
            prop_assert_eq!(replay.core.take_batch(), batch);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// A leader that recovers from a snapshot taken anywhere in the stream (the projection at
    /// its mark) and applies the rest of the journal answers exactly as the leader that never
    /// stopped, and ends in the same state.
    #[test]
    fn a_venue_restored_from_a_snapshot_carries_on_exactly(
        commands in prop::collection::vec(command(), 1..120),
        cut in 0usize..120,
    ) {
        let cut = cut.min(commands.len());
        let mut live = Venue::listed();
        for c in &commands[..cut] {
            let _ = live.apply(c.clone());
        }
        live.core.take_batch();
        let mut restored = Venue {
            core: Core::restore(live.core.snapshot()).unwrap(),
            seq: live.seq,
        };
        prop_assert_eq!(restored.core.snapshot(), live.core.snapshot());
        for c in &commands[cut..] {
            let answer = live.apply(c.clone());
            prop_assert_eq!(restored.apply(c.clone()), answer);
            prop_assert_eq!(restored.core.take_batch(), live.core.take_batch());
        }
        prop_assert_eq!(restored.core.snapshot(), live.core.snapshot());
    }
}

#[test]
fn a_snapshot_whose_ledger_does_not_balance_is_refused() {
    let mut v = Venue::listed();
    placed(v.apply(Command::Place(limit(ALICE, Side::Buy, 100, 10))));
    let good = v.core.snapshot();
    assert!(Core::restore(good.clone()).is_ok());

    let mut minted = good.clone();
    minted.balances[0].1.available += 1;
    assert!(Core::restore(minted).is_err(), "money from nowhere");

    let mut unheld: Snapshot = good;
    for (_, b) in &mut unheld.balances {
        if b.held > 0 {
            b.available += b.held;
            b.held = 0;
        }
    }
    assert!(
        Core::restore(unheld).is_err(),
        "an open order without its hold"
    );
}
