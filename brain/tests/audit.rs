//! The ledger audit (DESIGN.md §4.5, decision record 0005 "Ledger"): a small consistent world
//! passes it, and each story then breaks exactly one invariant and finds exactly that violation,
//! named. Every story runs on SQLite in memory (one connection) and, when `DATABASE_URL` is
//! set, on a fresh PostgreSQL database (`rialto_test_<uuid>`, dropped afterwards).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;

use brain::audit::{self, AssetRef, AuditReport, BalanceColumn, MarketRef, Violation};
use chrono::Utc;
use entity::{assets, balances, ledger_entries, markets, orders, trades};
use migration::{BrainMigrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectOptions,
    ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel,
    QueryFilter, TransactionTrait,
};
use uuid::Uuid;

/// Runs `story` on a migrated in-memory SQLite database with a single connection, then, if
/// `DATABASE_URL` is set, on a migrated fresh PostgreSQL database that is dropped afterwards.
async fn each_backend<F, Fut>(story: F)
where
    F: Fn(DatabaseConnection) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut options = ConnectOptions::new("sqlite::memory:");
    options.max_connections(1).min_connections(1);
    let db = Database::connect(options).await.unwrap();
    BrainMigrator::up(&db, None).await.unwrap();
    story(db.clone()).await;
    db.close().await.unwrap();

    let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        return;
    };
    let name = format!("rialto_test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(&url)
        .await
        .expect("connect to DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (base, _) = url
        .rsplit_once('/')
        .expect("DATABASE_URL has a database path");
    let db = Database::connect(format!("{base}/{name}")).await.unwrap();
    BrainMigrator::up(&db, None).await.unwrap();
    story(db.clone()).await;
    db.close().await.unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
    admin.close().await.unwrap();
}

/// The market's fees, in basis points.
const MAKER_BPS: i64 = 10;
const TAKER_BPS: i64 = 20;
/// ACME minor units per lot (ACME has 2 decimals, a lot is 1 ACME).
const LOT: i64 = 100;

/// The small world: alice buys ACME from bob on ACME-USD.
struct World {
    alice: Uuid,
    bob: Uuid,
    usd: AssetRef,
    acme: AssetRef,
    market: MarketRef,
    /// The admin credit of alice's USD.
    credit_tx: Uuid,
    /// The ledger transaction of the trade.
    trade_tx: Uuid,
    /// bob's sell of 5 lots at 1000, filled by the trade.
    sell: i64,
    /// alice's buy of 8 lots at 1000, 5 filled, resting.
    buy: i64,
    /// alice's buy of 2 lots at 900, accepted, not yet seen by the matcher.
    pending: i64,
    /// bob's sell of 1 lot at 2000, cancelled.
    cancelled: i64,
    /// The trade's id.
    trade: i64,
}

/// What one placed order is, for the trade helper.
#[derive(Clone, Copy)]
struct Placed {
    id: i64,
    user: Uuid,
    buy: bool,
}

async fn entry(
    db: &impl ConnectionTrait,
    tx: Uuid,
    account: &str,
    user: Option<Uuid>,
    asset: Uuid,
    amount: i64,
    kind: &str,
) -> i64 {
    ledger_entries::ActiveModel {
        id: NotSet,
        tx_id: Set(tx),
        account: Set(account.to_string()),
        user_id: Set(user),
        asset_id: Set(asset),
        amount: Set(amount),
        kind: Set(kind.to_string()),
        order_id: Set(None),
        trade_id: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

/// Moves a balance by the given deltas, creating the row if needed.
async fn adjust(db: &impl ConnectionTrait, user: Uuid, asset: Uuid, available: i64, held: i64) {
    match balances::Entity::find_by_id((user, asset))
        .one(db)
        .await
        .unwrap()
    {
        Some(row) => {
            let (a, h) = (row.available, row.held);
            let mut row = row.into_active_model();
            row.available = Set(a + available);
            row.held = Set(h + held);
            row.updated_at = Set(Utc::now());
            row.update(db).await.unwrap();
        }
        None => {
            balances::ActiveModel {
                user_id: Set(user),
                asset_id: Set(asset),
                available: Set(available),
                held: Set(held),
                updated_at: Set(Utc::now()),
            }
            .insert(db)
            .await
            .unwrap();
        }
    }
}

/// An admin credit: issuance −amount, the user's available +amount. Returns the tx id.
async fn credit(db: &impl ConnectionTrait, user: Uuid, asset: Uuid, amount: i64) -> Uuid {
    let tx = Uuid::now_v7();
    entry(db, tx, "system:issuance", None, asset, -amount, "credit").await;
    entry(
        db,
        tx,
        "user:available",
        Some(user),
        asset,
        amount,
        "credit",
    )
    .await;
    adjust(db, user, asset, amount, 0).await;
    tx
}

/// The hold of a limit order: a buy's value plus the taker fee, a sell's base quantity.
fn hold_of(buy: bool, price: i64, lots: i64) -> i64 {
    if buy {
        price * lots + fee(price * lots, TAKER_BPS)
    } else {
        lots * LOT
    }
}

/// `ceil(value * bps / 10_000)`.
fn fee(value: i64, bps: i64) -> i64 {
    (value * bps + 9_999) / 10_000
}

/// Places a limit order as `placeOrder` does: hold moved, order inserted, ledger written.
async fn place(
    db: &impl ConnectionTrait,
    w: &World,
    user: Uuid,
    buy: bool,
    price: i64,
    lots: i64,
    status: &str,
) -> Placed {
    let hold = hold_of(buy, price, lots);
    let asset = if buy { w.usd.id } else { w.acme.id };
    let now = Utc::now();
    let id = orders::ActiveModel {
        id: NotSet,
        user_id: Set(user),
        market_id: Set(w.market.id),
        client_order_id: Set(None),
        side: Set(if buy { "buy" } else { "sell" }.to_string()),
        order_type: Set("limit".to_string()),
        time_in_force: Set("gtc".to_string()),
        post_only: Set(false),
        price_ticks: Set(Some(price)),
        qty_lots: Set(lots),
        filled_lots: Set(0),
        quote_budget: Set(None),
        held_remaining: Set(hold),
        filled_value: Set(0),
        fees_paid: Set(0),
        status: Set(status.to_string()),
        reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap()
    .id;
    let tx = Uuid::now_v7();
    entry(db, tx, "user:available", Some(user), asset, -hold, "place").await;
    entry(db, tx, "user:held", Some(user), asset, hold, "place").await;
    adjust(db, user, asset, -hold, hold).await;
    Placed { id, user, buy }
}

/// Cancels a resting order: its whole remaining hold goes back to available.
async fn cancel(db: &impl ConnectionTrait, w: &World, order: Placed) {
    let row = orders::Entity::find_by_id(order.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let asset = if order.buy { w.usd.id } else { w.acme.id };
    let x = row.held_remaining;
    let tx = Uuid::now_v7();
    entry(db, tx, "user:held", Some(order.user), asset, -x, "release").await;
    entry(
        db,
        tx,
        "user:available",
        Some(order.user),
        asset,
        x,
        "release",
    )
    .await;
    adjust(db, order.user, asset, x, -x).await;
    let mut row = row.into_active_model();
    row.held_remaining = Set(0);
    row.status = Set("cancelled".to_string());
    row.update(db).await.unwrap();
}

/// Applies one fill of `lots` at `price` between a resting `maker` and an incoming `taker`, as
/// the matcher does: trade row, order progress, balances and the ledger transaction. Returns
/// `(trade id, tx id)`.
async fn execute(
    db: &impl ConnectionTrait,
    w: &World,
    maker: Placed,
    taker: Placed,
    price: i64,
    lots: i64,
    seq: i64,
) -> (i64, Uuid) {
    let value = price * lots;
    let (maker_fee, taker_fee) = (fee(value, MAKER_BPS), fee(value, TAKER_BPS));
    let (buyer, seller) = if taker.buy {
        (taker, maker)
    } else {
        (maker, taker)
    };
    let (buyer_fee, seller_fee) = if taker.buy {
        (taker_fee, maker_fee)
    } else {
        (maker_fee, taker_fee)
    };
    let trade = trades::ActiveModel {
        id: NotSet,
        market_id: Set(w.market.id),
        seq: Set(seq),
        price_ticks: Set(price),
        qty_lots: Set(lots),
        value: Set(value),
        maker_order_id: Set(maker.id),
        taker_order_id: Set(taker.id),
        buyer_id: Set(buyer.user),
        seller_id: Set(seller.user),
        taker_side: Set(if taker.buy { "buy" } else { "sell" }.to_string()),
        maker_fee: Set(maker_fee),
        taker_fee: Set(taker_fee),
        executed_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap()
    .id;

    let tx = Uuid::now_v7();
    let (usd, acme) = (w.usd.id, w.acme.id);
    let (b, s) = (Some(buyer.user), Some(seller.user));
    entry(db, tx, "user:held", b, usd, -(value + buyer_fee), "trade").await;
    entry(db, tx, "user:available", b, acme, lots * LOT, "trade").await;
    entry(db, tx, "user:held", s, acme, -lots * LOT, "trade").await;
    entry(
        db,
        tx,
        "user:available",
        s,
        usd,
        value - seller_fee,
        "trade",
    )
    .await;
    let fees = buyer_fee + seller_fee;
    entry(db, tx, "system:fees", None, usd, fees, "trade").await;
    adjust(db, buyer.user, usd, 0, -(value + buyer_fee)).await;
    adjust(db, buyer.user, acme, lots * LOT, 0).await;
    adjust(db, seller.user, acme, 0, -lots * LOT).await;
    adjust(db, seller.user, usd, value - seller_fee, 0).await;

    for (order, fee, released) in [
        (buyer, buyer_fee, value + buyer_fee),
        (seller, seller_fee, lots * LOT),
    ] {
        let row = orders::Entity::find_by_id(order.id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let filled = row.filled_lots + lots;
        let status = if filled == row.qty_lots {
            "filled"
        } else {
            "partially_filled"
        };
        let (value_before, fees_before, held) =
            (row.filled_value, row.fees_paid, row.held_remaining);
        let mut row = row.into_active_model();
        row.filled_lots = Set(filled);
        row.filled_value = Set(value_before + value);
        row.fees_paid = Set(fees_before + fee);
        row.held_remaining = Set(held - released);
        row.status = Set(status.to_string());
        row.update(db).await.unwrap();
    }
    (trade, tx)
}

/// Builds the consistent world on an empty database.
async fn world(db: &DatabaseConnection) -> World {
    let now = Utc::now();
    let mut ids = Vec::new();
    for symbol in ["USD", "ACME"] {
        let id = Uuid::new_v4();
        assets::ActiveModel {
            id: Set(id),
            symbol: Set(symbol.to_string()),
            name: Set(symbol.to_string()),
            kind: Set("fiat".to_string()),
            decimals: Set(2),
            created_at: Set(now),
        }
        .insert(db)
        .await
        .unwrap();
        ids.push(id);
    }
    let market = Uuid::new_v4();
    markets::ActiveModel {
        id: Set(market),
        symbol: Set("ACME-USD".to_string()),
        base_asset_id: Set(ids[1]),
        quote_asset_id: Set(ids[0]),
        tick_size: Set(1),
        lot_size: Set(LOT),
        min_qty: Set(LOT),
        quote_per_tick_lot: Set(1),
        price_band_bps: Set(1_000),
        maker_fee_bps: Set(MAKER_BPS as i32),
        taker_fee_bps: Set(TAKER_BPS as i32),
        status: Set("open".to_string()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();

    let mut w = World {
        alice: Uuid::new_v4(),
        bob: Uuid::new_v4(),
        usd: AssetRef {
            id: ids[0],
            symbol: "USD".to_string(),
        },
        acme: AssetRef {
            id: ids[1],
            symbol: "ACME".to_string(),
        },
        market: MarketRef {
            id: market,
            symbol: "ACME-USD".to_string(),
        },
        credit_tx: Uuid::nil(),
        trade_tx: Uuid::nil(),
        sell: 0,
        buy: 0,
        pending: 0,
        cancelled: 0,
        trade: 0,
    };
    w.credit_tx = credit(db, w.alice, w.usd.id, 100_000).await;
    credit(db, w.bob, w.acme.id, 1_000).await;
    let sell = place(db, &w, w.bob, false, 1_000, 5, "open").await;
    let buy = place(db, &w, w.alice, true, 1_000, 8, "open").await;
    (w.trade, w.trade_tx) = execute(db, &w, sell, buy, 1_000, 5, 1).await;
    let pending = place(db, &w, w.alice, true, 900, 2, "accepted").await;
    let cancelled = place(db, &w, w.bob, false, 2_000, 1, "open").await;
    cancel(db, &w, cancelled).await;
    (w.sell, w.buy, w.pending, w.cancelled) = (sell.id, buy.id, pending.id, cancelled.id);
    w
}

/// The balance row of `user` in `asset`, as `(available, held)`.
async fn balance(db: &DatabaseConnection, user: Uuid, asset: Uuid) -> Option<(i64, i64)> {
    balances::Entity::find_by_id((user, asset))
        .one(db)
        .await
        .unwrap()
        .map(|b| (b.available, b.held))
}

async fn audit(db: &DatabaseConnection) -> AuditReport {
    audit::run(db).await.unwrap()
}

/// Asserts the report holds exactly `expected`, in any order, and that each names what it
/// should (its message is printed on failure).
fn assert_violations(report: &AuditReport, expected: &[Violation]) {
    let mut found: Vec<String> = report.violations.iter().map(|v| format!("{v:?}")).collect();
    let mut wanted: Vec<String> = expected.iter().map(|v| format!("{v:?}")).collect();
    found.sort();
    wanted.sort();
    assert_eq!(found, wanted, "\n{report}");
}

/// Sets one column of one order.
async fn update_order(db: &DatabaseConnection, id: i64, f: impl FnOnce(&mut orders::ActiveModel)) {
    let mut row = orders::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    f(&mut row);
    row.update(db).await.unwrap();
}

#[tokio::test]
async fn a_consistent_world_passes_the_audit() {
    each_backend(|db| async move {
        let w = world(&db).await;
        // The world is what the story says: alice holds for the rest of her buy (3 lots at
        // 1000 plus fee: 3006) and for her pending buy (1800 + 4).
        assert_eq!(balance(&db, w.alice, w.usd.id).await, Some((90_180, 4_810)));
        assert_eq!(balance(&db, w.alice, w.acme.id).await, Some((500, 0)));
        assert_eq!(balance(&db, w.bob, w.usd.id).await, Some((4_995, 0)));
        assert_eq!(balance(&db, w.bob, w.acme.id).await, Some((500, 0)));

        let report = audit(&db).await;
        assert_violations(&report, &[]);
        assert!(report.is_clean());
        assert_eq!(report.checked.assets, 2);
        assert_eq!(report.checked.markets, 1);
        assert_eq!(report.checked.balances, 4);
        assert_eq!(report.checked.orders, 4);
        assert_eq!(report.checked.trades, 1);
        // 2 credits, 4 places, 1 trade, 1 release.
        assert_eq!(report.checked.transactions, 8);
        assert_eq!(report.checked.ledger_entries, 2 * 2 + 4 * 2 + 5 + 2);

        let usd = report.supply.iter().find(|s| s.asset == w.usd).unwrap();
        assert_eq!(
            (usd.issued, usd.available, usd.held, usd.fees, usd.other),
            (100_000, 90_180 + 4_995, 4_810, 15, 0)
        );
        let acme = report.supply.iter().find(|s| s.asset == w.acme).unwrap();
        assert_eq!(
            (acme.issued, acme.available, acme.held, acme.fees),
            (1_000, 1_000, 0, 0)
        );
        let text = report.to_string();
        assert!(text.contains("no violations"), "{text}");
        assert!(
            text.contains("USD: issued 100000, users 95175 available + 4810 held, fees 15"),
            "{text}"
        );

        // The same inside a transaction, as `rialto audit` runs it for one snapshot.
        let txn = db.begin().await.unwrap();
        assert_eq!(audit::run(&txn).await.unwrap(), report);
        txn.rollback().await.unwrap();
    })
    .await;
}

/// Check 1. Moving the fee leg of the trade into the credit transaction leaves every account's
/// total (and so every balance and the supply) intact, but neither transaction balances.
#[tokio::test]
async fn a_leg_moved_to_another_transaction_unbalances_both() {
    each_backend(|db| async move {
        let w = world(&db).await;
        let fee_leg = ledger_entries::Entity::find()
            .filter(ledger_entries::Column::TxId.eq(w.trade_tx))
            .filter(ledger_entries::Column::Account.eq("system:fees"))
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        let mut fee_leg = fee_leg.into_active_model();
        fee_leg.tx_id = Set(w.credit_tx);
        fee_leg.update(&db).await.unwrap();

        let report = audit(&db).await;
        assert_violations(
            &report,
            &[
                Violation::UnbalancedTransaction {
                    tx_id: w.credit_tx,
                    asset: w.usd.clone(),
                    sum: 15,
                },
                Violation::UnbalancedTransaction {
                    tx_id: w.trade_tx,
                    asset: w.usd.clone(),
                    sum: -15,
                },
            ],
        );
        let text = report.to_string();
        assert!(
            text.contains(&format!(
                "ledger transaction {} does not balance for asset USD: +15",
                w.credit_tx
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "ledger transaction {} does not balance for asset USD: -15",
                w.trade_tx
            )),
            "{text}"
        );
    })
    .await;
}

/// Check 2. A balance that drifted from its entries.
#[tokio::test]
async fn a_balance_that_drifted_from_its_ledger_is_named() {
    each_backend(|db| async move {
        let w = world(&db).await;
        adjust(&db, w.bob, w.usd.id, 3, 0).await;

        let report = audit(&db).await;
        assert_violations(
            &report,
            &[Violation::BalanceMismatch {
                user_id: w.bob,
                asset: w.usd.clone(),
                column: BalanceColumn::Available,
                balance: 4_998,
                ledger: 4_995,
            }],
        );
        assert_eq!(
            report.violations[0].to_string(),
            format!(
                "balance of user {} in USD: available 4998 but the ledger says 4995",
                w.bob
            )
        );
    })
    .await;
}

/// Check 2, the edges: entries need a balance row unless they sum to zero, and a balance row
/// without entries must be zero.
#[tokio::test]
async fn entries_need_a_balance_row_and_a_row_without_entries_is_zero() {
    each_backend(|db| async move {
        let w = world(&db).await;
        balances::Entity::delete_by_id((w.alice, w.acme.id))
            .exec(&db)
            .await
            .unwrap();
        let missing = Violation::MissingBalance {
            user_id: w.alice,
            asset: w.acme.clone(),
            available: 500,
            held: 0,
        };
        let report = audit(&db).await;
        assert_violations(&report, std::slice::from_ref(&missing));
        assert_eq!(
            report.violations[0].to_string(),
            format!(
                "user {} has no balance row in ACME but the ledger says available 500, held 0",
                w.alice
            )
        );

        // A zero row without entries is fine; a non-zero one is not.
        let carol = Uuid::new_v4();
        adjust(&db, carol, w.usd.id, 0, 0).await;
        assert_violations(&audit(&db).await, std::slice::from_ref(&missing));
        adjust(&db, carol, w.acme.id, 7, 0).await;
        assert_violations(
            &audit(&db).await,
            &[
                missing.clone(),
                Violation::BalanceMismatch {
                    user_id: carol,
                    asset: w.acme.clone(),
                    column: BalanceColumn::Available,
                    balance: 7,
                    ledger: 0,
                },
            ],
        );

        // Entries that sum to zero need no row: dave, credited and debited the same amount.
        balances::Entity::delete_by_id((carol, w.acme.id))
            .exec(&db)
            .await
            .unwrap();
        let dave = Uuid::new_v4();
        for amount in [5, -5] {
            let tx = Uuid::now_v7();
            entry(
                &db,
                tx,
                "user:available",
                Some(dave),
                w.usd.id,
                amount,
                "credit",
            )
            .await;
            entry(
                &db,
                tx,
                "system:issuance",
                None,
                w.usd.id,
                -amount,
                "credit",
            )
            .await;
        }
        assert_violations(&audit(&db).await, std::slice::from_ref(&missing));
    })
    .await;
}

/// Check 3. The database refuses a negative balance, so the story first removes the guard (as
/// a bad migration or a manual fix could), then charges bob more than he has.
#[tokio::test]
async fn a_negative_balance_is_reported_even_though_the_database_refuses_it() {
    each_backend(|db| async move {
        let w = world(&db).await;
        let overdraft = balances::ActiveModel {
            user_id: Set(w.bob),
            asset_id: Set(w.usd.id),
            available: Set(-3),
            ..Default::default()
        };
        assert!(overdraft.update(&db).await.is_err(), "the CHECK refuses it");

        match db.get_database_backend() {
            DbBackend::Sqlite => {
                db.execute_unprepared("PRAGMA ignore_check_constraints = ON")
                    .await
                    .unwrap();
            }
            _ => {
                db.execute_unprepared(
                    "ALTER TABLE balances DROP CONSTRAINT ck_balances_available_non_negative",
                )
                .await
                .unwrap();
            }
        }
        // A consistent overdraft: a fee of 4998 charged from bob's 4995.
        let tx = Uuid::now_v7();
        entry(
            &db,
            tx,
            "user:available",
            Some(w.bob),
            w.usd.id,
            -4_998,
            "fee",
        )
        .await;
        entry(&db, tx, "system:fees", None, w.usd.id, 4_998, "fee").await;
        adjust(&db, w.bob, w.usd.id, -4_998, 0).await;
        assert_eq!(balance(&db, w.bob, w.usd.id).await, Some((-3, 0)));

        let report = audit(&db).await;
        assert_violations(
            &report,
            &[Violation::NegativeBalance {
                user_id: w.bob,
                asset: w.usd.clone(),
                column: BalanceColumn::Available,
                amount: -3,
            }],
        );
        assert_eq!(
            report.violations[0].to_string(),
            format!(
                "balance of user {} in USD: available is negative (-3)",
                w.bob
            )
        );
    })
    .await;
}

/// Check 4. Losing the fee leg unbalances its transaction (check 1) and, unlike moving it,
/// also the asset: the supply no longer adds up to what was issued. The two always go together
/// (the asset's total is the sum of its transactions'), so both are expected.
#[tokio::test]
async fn a_lost_ledger_leg_shows_in_its_transaction_and_in_the_supply() {
    each_backend(|db| async move {
        let w = world(&db).await;
        ledger_entries::Entity::delete_many()
            .filter(ledger_entries::Column::TxId.eq(w.trade_tx))
            .filter(ledger_entries::Column::Account.eq("system:fees"))
            .exec(&db)
            .await
            .unwrap();

        let report = audit(&db).await;
        let supply = report
            .supply
            .iter()
            .find(|s| s.asset == w.usd)
            .unwrap()
            .clone();
        assert_eq!(
            (supply.issued, supply.available, supply.held, supply.fees),
            (100_000, 95_175, 4_810, 0)
        );
        assert_eq!(supply.imbalance(), -15);
        assert_violations(
            &report,
            &[
                Violation::UnbalancedTransaction {
                    tx_id: w.trade_tx,
                    asset: w.usd.clone(),
                    sum: -15,
                },
                Violation::SupplyMismatch(supply),
            ],
        );
        let text = report.to_string();
        assert!(
            text.contains(
                "asset USD does not add up: issued 100000 but users hold 95175 available + \
                 4810 held and fees are 0 (off by -15)"
            ),
            "{text}"
        );
    })
    .await;
}

/// Check 4, with sums beyond `i64`: two credits of `i64::MAX` are each fine, but the asset's
/// issued total is not an amount any more. The audit reports it instead of failing on an
/// overflow in SQL, and the transaction itself (whose plain running sum would overflow)
/// still balances.
#[tokio::test]
async fn sums_beyond_i64_are_reported_not_fatal() {
    each_backend(|db| async move {
        let w = world(&db).await;
        let (carol, dave) = (Uuid::new_v4(), Uuid::new_v4());
        let tx = Uuid::now_v7();
        entry(
            &db,
            tx,
            "user:available",
            Some(carol),
            w.acme.id,
            i64::MAX,
            "credit",
        )
        .await;
        entry(
            &db,
            tx,
            "user:available",
            Some(dave),
            w.acme.id,
            i64::MAX,
            "credit",
        )
        .await;
        entry(
            &db,
            tx,
            "system:issuance",
            None,
            w.acme.id,
            -i64::MAX,
            "credit",
        )
        .await;
        entry(
            &db,
            tx,
            "system:issuance",
            None,
            w.acme.id,
            -i64::MAX,
            "credit",
        )
        .await;
        adjust(&db, carol, w.acme.id, i64::MAX, 0).await;
        adjust(&db, dave, w.acme.id, i64::MAX, 0).await;

        let report = audit(&db).await;
        let issued = 1_000 + 2 * i128::from(i64::MAX);
        assert_violations(
            &report,
            &[
                Violation::SupplyOverflow {
                    asset: w.acme.clone(),
                    account: "system:issuance",
                    sum: -issued,
                },
                Violation::SupplyOverflow {
                    asset: w.acme.clone(),
                    account: "user:available",
                    sum: issued,
                },
            ],
        );
        let acme = report.supply.iter().find(|s| s.asset == w.acme).unwrap();
        assert_eq!((acme.issued, acme.imbalance()), (issued, 0));
        assert!(
            report.to_string().contains(&format!(
                "asset ACME: the system:issuance entries sum to -{issued}, beyond the i64 range"
            )),
            "{report}"
        );
    })
    .await;
}

/// Check 5: `filled_lots` against the trades.
#[tokio::test]
async fn an_order_filled_more_than_its_trades_is_named() {
    each_backend(|db| async move {
        let w = world(&db).await;
        update_order(&db, w.buy, |o| o.filled_lots = Set(6)).await;

        let report = audit(&db).await;
        assert_violations(
            &report,
            &[Violation::FilledLotsMismatch {
                order_id: w.buy,
                filled_lots: 6,
                trades_lots: 5,
            }],
        );
        assert_eq!(
            report.violations[0].to_string(),
            format!("order {} filled 6 lots but its trades sum to 5", w.buy)
        );
    })
    .await;
}

/// Check 5: `filled_value` against the trades.
#[tokio::test]
async fn an_order_whose_value_differs_from_its_trades_is_named() {
    each_backend(|db| async move {
        let w = world(&db).await;
        update_order(&db, w.sell, |o| o.filled_value = Set(4_999)).await;

        let report = audit(&db).await;
        assert_violations(
            &report,
            &[Violation::FilledValueMismatch {
                order_id: w.sell,
                filled_value: 4_999,
                trades_value: 5_000,
            }],
        );
        assert_eq!(
            report.violations[0].to_string(),
            format!(
                "order {} has filled value 4999 but its trades sum to 5000",
                w.sell
            )
        );
    })
    .await;
}

/// Check 5: `filled_lots <= qty_lots`.
#[tokio::test]
async fn an_order_filled_beyond_its_quantity_is_named() {
    each_backend(|db| async move {
        let w = world(&db).await;
        update_order(&db, w.sell, |o| o.qty_lots = Set(4)).await;

        let report = audit(&db).await;
        assert_violations(
            &report,
            &[Violation::OverFilled {
                order_id: w.sell,
                filled_lots: 5,
                qty_lots: 4,
            }],
        );
        assert_eq!(
            report.violations[0].to_string(),
            format!("order {} filled 5 lots but has only 4", w.sell)
        );
    })
    .await;
}

/// Check 6: the live orders' holds (the accepted one included) against `balances.held`.
#[tokio::test]
async fn a_held_balance_that_differs_from_the_live_orders_is_named() {
    each_backend(|db| async move {
        let w = world(&db).await;
        update_order(&db, w.buy, |o| o.held_remaining = Set(3_000)).await;

        let report = audit(&db).await;
        assert_violations(
            &report,
            &[Violation::HoldMismatch {
                user_id: w.alice,
                asset: w.usd.clone(),
                held: 4_810,
                orders: 3_000 + 1_804,
            }],
        );
        assert_eq!(
            report.violations[0].to_string(),
            format!(
                "balance of user {} in USD: held 4810 but their live orders hold 4804",
                w.alice
            )
        );
    })
    .await;
}

/// Check 6: a done order holds nothing.
#[tokio::test]
async fn a_done_order_that_still_holds_is_named() {
    each_backend(|db| async move {
        let w = world(&db).await;
        update_order(&db, w.sell, |o| o.held_remaining = Set(7)).await;

        let report = audit(&db).await;
        assert_violations(
            &report,
            &[Violation::DoneOrderHolds {
                order_id: w.sell,
                status: "filled".to_string(),
                held_remaining: 7,
            }],
        );
        assert_eq!(
            report.violations[0].to_string(),
            format!("order {} is filled but still holds 7", w.sell)
        );
    })
    .await;
}

/// Check 6: a live order's hold is not negative, even when the user's total still matches.
#[tokio::test]
async fn a_live_order_holding_a_negative_amount_is_named() {
    each_backend(|db| async move {
        let w = world(&db).await;
        update_order(&db, w.buy, |o| o.held_remaining = Set(-6)).await;
        update_order(&db, w.pending, |o| {
            o.held_remaining = Set(1_804 + 3_006 + 6)
        })
        .await;

        let report = audit(&db).await;
        assert_violations(
            &report,
            &[Violation::NegativeHold {
                order_id: w.buy,
                status: "partially_filled".to_string(),
                held_remaining: -6,
            }],
        );
        assert_eq!(
            report.violations[0].to_string(),
            format!(
                "order {} (partially_filled) holds a negative amount: -6",
                w.buy
            )
        );
    })
    .await;
}

/// Check 7. A sell below alice's resting buy, placed consistently: harmless while `accepted`
/// (the matcher has not seen it), a crossed book once it rests unmatched.
#[tokio::test]
async fn a_crossed_book_is_named() {
    each_backend(|db| async move {
        let w = world(&db).await;
        let sell = place(&db, &w, w.bob, false, 950, 1, "accepted").await;
        assert_violations(&audit(&db).await, &[]);

        update_order(&db, sell.id, |o| o.status = Set("open".to_string())).await;
        let report = audit(&db).await;
        assert_violations(
            &report,
            &[Violation::CrossedBook {
                market: w.market.clone(),
                best_bid: 1_000,
                best_ask: 950,
            }],
        );
        assert_eq!(
            report.violations[0].to_string(),
            "book of market ACME-USD is crossed: best bid 1000 >= best ask 950 (ticks)"
        );
    })
    .await;
}

/// Check 8. A second trade, then a gap in the middle, then one at the start.
#[tokio::test]
async fn a_gap_in_the_trade_sequence_is_named() {
    each_backend(|db| async move {
        let w = world(&db).await;
        // bob sells one more lot into alice's resting buy.
        let sell = place(&db, &w, w.bob, false, 1_000, 1, "accepted").await;
        let buy = Placed {
            id: w.buy,
            user: w.alice,
            buy: true,
        };
        let (second, _) = execute(&db, &w, buy, sell, 1_000, 1, 2).await;
        assert_violations(&audit(&db).await, &[]);

        let renumber = |id: i64, seq: i64| {
            let db = db.clone();
            async move {
                trades::ActiveModel {
                    id: Set(id),
                    seq: Set(seq),
                    ..Default::default()
                }
                .update(&db)
                .await
                .unwrap();
            }
        };
        renumber(second, 3).await;
        let report = audit(&db).await;
        assert_violations(
            &report,
            &[Violation::TradeSeqGap {
                market: w.market.clone(),
                trades: 2,
                first: 1,
                last: 3,
                first_missing: Some(2),
            }],
        );
        assert_eq!(
            report.violations[0].to_string(),
            "trades of market ACME-USD are not numbered 1..=2: seq 2 is missing (2 trades, seq \
             1..=3)"
        );

        renumber(second, 2).await;
        renumber(w.trade, 0).await;
        let report = audit(&db).await;
        assert_violations(
            &report,
            &[Violation::TradeSeqGap {
                market: w.market.clone(),
                trades: 2,
                first: 0,
                last: 2,
                first_missing: None,
            }],
        );
        assert!(report.violations[0].to_string().contains("seq starts at 0"));

        renumber(w.trade, 5).await;
        let report = audit(&db).await;
        assert_violations(
            &report,
            &[Violation::TradeSeqGap {
                market: w.market.clone(),
                trades: 2,
                first: 2,
                last: 5,
                first_missing: Some(1),
            }],
        );
    })
    .await;
}

/// Values no check understands are reported rather than silently left out of the sums.
#[tokio::test]
async fn odd_values_are_reported_not_skipped() {
    each_backend(|db| async move {
        let w = world(&db).await;
        let tx = Uuid::now_v7();
        entry(&db, tx, "system:issuance", None, w.usd.id, -5, "credit").await;
        let suspense = entry(&db, tx, "system:suspense", None, w.usd.id, 5, "credit").await;
        let tx = Uuid::now_v7();
        entry(&db, tx, "system:issuance", None, w.usd.id, -7, "credit").await;
        let orphan = entry(&db, tx, "user:available", None, w.usd.id, 7, "credit").await;
        update_order(&db, w.cancelled, |o| o.status = Set("void".to_string())).await;
        update_order(&db, w.sell, |o| o.side = Set("short".to_string())).await;

        let report = audit(&db).await;
        assert_violations(
            &report,
            &[
                Violation::UnknownValue {
                    column: "ledger_entries.account",
                    value: "system:suspense".to_string(),
                    rows: 1,
                    first_id: suspense,
                },
                Violation::UnknownValue {
                    column: "orders.status",
                    value: "void".to_string(),
                    rows: 1,
                    first_id: w.cancelled,
                },
                Violation::UnknownValue {
                    column: "orders.side",
                    value: "short".to_string(),
                    rows: 1,
                    first_id: w.sell,
                },
                Violation::UserEntryWithoutUser {
                    account: "user:available".to_string(),
                    rows: 1,
                    first_id: orphan,
                },
            ],
        );
        let usd = report.supply.iter().find(|s| s.asset == w.usd).unwrap();
        assert_eq!((usd.issued, usd.other, usd.imbalance()), (100_012, 5, 0));
        let text = report.to_string();
        assert!(
            text.contains(&format!(
                "ledger_entries.account has the unknown value \"system:suspense\" in 1 rows \
                 (first id {suspense})"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "1 ledger entries on user:available have no user (first id {orphan})"
            )),
            "{text}"
        );
    })
    .await;
}
