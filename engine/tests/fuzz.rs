//! Robustness: whatever a caller sends — any `u64` price, quantity, id or budget, any owner,
//! any mix of flags, any configuration, any snapshot — [`Book`] never panics and its own
//! `check_invariants()` holds after every command. No model here: this proves soundness,
//! not correctness (`equivalence.rs` does that).
//!
//! Values are drawn from a mix of anything, small numbers (so orders meet, ids collide and
//! levels fill) and the edges of each range (0, `MAX_PRICE`, `MAX_QTY`, `u64::MAX`, …).
//! `PROPTEST_CASES` overrides the case counts for a longer run.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use engine::book::{
    Book, BookConfig, Command, MAX_PRICE, MAX_QTY, OrderType, Place, RestingOrder,
    SelfTradePrevention, Side, TimeInForce,
};
use proptest::prelude::*;
use proptest::sample::select;

/// Anything, a small number, or an edge of some range.
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0..=120u64,
        select(vec![
            0,
            1,
            MAX_PRICE - 1,
            MAX_PRICE,
            MAX_PRICE + 1,
            MAX_QTY - 1,
            MAX_QTY,
            MAX_QTY + 1,
            u64::from(u32::MAX),
            u64::MAX / 2,
            u64::MAX - 1,
            u64::MAX,
        ]),
    ]
}

fn owner() -> impl Strategy<Value = u128> {
    prop_oneof![any::<u128>(), 0..=3u128, Just(u128::MAX)]
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn place() -> impl Strategy<Value = Place> {
    let order_type = prop_oneof![
        number().prop_map(|price| OrderType::Limit { price }),
        proptest::option::of(number()).prop_map(|quote_budget| OrderType::Market { quote_budget }),
    ];
    let tif = prop_oneof![
        Just(TimeInForce::Gtc),
        Just(TimeInForce::Ioc),
        Just(TimeInForce::Fok)
    ];
    let stp = prop_oneof![
        Just(SelfTradePrevention::CancelResting),
        Just(SelfTradePrevention::CancelIncoming),
        Just(SelfTradePrevention::CancelBoth),
    ];
    (
        number(),
        owner(),
        side(),
        order_type,
        tif,
        any::<bool>(),
        number(),
        stp,
    )
        .prop_map(
            |(id, owner, side, order_type, tif, post_only, qty, stp)| Place {
                id,
                owner,
                side,
                order_type,
                tif,
                post_only,
                qty,
                stp,
            },
        )
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        4 => place().prop_map(Command::Place),
        1 => (number(), owner()).prop_map(|(id, owner)| Command::Cancel { id, owner }),
        1 => owner().prop_map(|owner| Command::CancelAll { owner }),
        2 => (number(), owner(), number(), number())
            .prop_map(|(id, owner, price, qty)| Command::Amend { id, owner, price, qty }),
    ]
}

/// Any configuration, valid or not, often at the edges.
fn config() -> impl Strategy<Value = BookConfig> {
    let bps = || {
        prop_oneof![
            any::<u32>(),
            0..=10_001u32,
            select(vec![0u32, 10_000, 10_001, u32::MAX]),
        ]
    };
    (number(), bps(), bps()).prop_map(|(quote_per_tick_lot, maker_fee_bps, taker_fee_bps)| {
        BookConfig {
            quote_per_tick_lot,
            maker_fee_bps,
            taker_fee_bps,
        }
    })
}

/// Either anything (mostly refused: crossed, duplicated, out of range), or a plausible book
/// (bids at 1..=50, asks at 51..=100, unique ids) so that restores also succeed.
fn snapshot() -> impl Strategy<Value = Vec<RestingOrder>> {
    let anything = (0..20u64, owner(), side(), number(), number()).prop_map(
        |(id, owner, side, price, qty)| RestingOrder {
            id,
            owner,
            side,
            price,
            qty,
        },
    );
    let plausible = (owner(), side(), 0..50u64, 1..=10u64).prop_map(|(owner, side, off, qty)| {
        let price = if side == Side::Buy {
            50 - off
        } else {
            51 + off
        };
        RestingOrder {
            id: 0,
            owner,
            side,
            price,
            qty,
        }
    });
    prop_oneof![
        prop::collection::vec(anything, 0..=12),
        prop::collection::vec(plausible, 0..=40).prop_map(|mut orders| {
            for (id, o) in (0u64..).zip(&mut orders) {
                o.id = id * 7;
            }
            orders
        }),
    ]
}

fn is_valid(config: &BookConfig) -> bool {
    config.quote_per_tick_lot >= 1
        && config.maker_fee_bps <= 10_000
        && config.taker_fee_bps <= 10_000
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Runs `commands` and checks the book after each.
fn hammer(book: &mut Book, commands: &[Command]) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    for (ts, cmd) in (0u64..).zip(commands) {
        out.clear();
        book.apply(cmd, ts.wrapping_mul(0x9E37_79B9_7F4A_7C15), &mut out);
        prop_assert!(
            !out.is_empty() || matches!(cmd, Command::CancelAll { .. }),
            "{cmd:?}: no event"
        );
        if let Err(e) = book.check_invariants() {
            return Err(TestCaseError::fail(format!("after {cmd:?} ({out:?}): {e}")));
        }
        if let (Some((bid, _)), Some((ask, _))) = (book.best_bid(), book.best_ask()) {
            prop_assert!(bid < ask, "crossed after {:?}", cmd);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(2_000)))]

    #[test]
    fn any_commands_leave_the_book_sound(
        config in config(),
        commands in prop::collection::vec(command(), 0..=32),
    ) {
        let book = Book::new(config);
        prop_assert_eq!(book.is_ok(), is_valid(&config), "{:?}", config);
        let Ok(mut book) = book else { return Ok(()) };
        hammer(&mut book, &commands)?;
        // The views take any argument.
        for side in [Side::Buy, Side::Sell] {
            prop_assert_eq!(book.depth(side, usize::MAX).len(), book.depth(side, book.len()).len());
        }
        prop_assert_eq!(book.open_orders().len(), book.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(500)))]

    #[test]
    fn any_snapshot_is_restored_soundly_or_refused(
        config in config(),
        snapshot in snapshot(),
        commands in prop::collection::vec(command(), 0..=12),
    ) {
        let Ok(mut book) = Book::restore(config, &snapshot) else { return Ok(()) };
        prop_assert!(is_valid(&config));
        book.check_invariants().map_err(TestCaseError::fail)?;
        // It holds exactly the orders it was given.
        let mut held = book.open_orders();
        let mut given = snapshot.clone();
        held.sort_by_key(|o| o.id);
        given.sort_by_key(|o| o.id);
        prop_assert_eq!(held, given);
        hammer(&mut book, &commands)?;
    }
}
