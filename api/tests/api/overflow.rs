//! Issue 17, item 9: one overflowing trade must not stop the venue. Amounts are `i64` minor
//! units (ADR 0005), so an asset's supply has a ceiling: new assets get at most 8 decimals
//! (92 billion whole units fit), credits past the ceiling are refused, and a trade that would
//! still overflow a balance (data from before the ceiling) is refused alone while every other
//! order and market settles.

use brain::audit::Violation;
use chrono::Utc;
use entity::{assets, balances, ledger_entries};
use sea_orm::{ActiveModelTrait, ActiveValue::NotSet, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    helpers::{Session, TestApp, assert_audit_passes, assert_no_errors, error_code, spawn_app},
    trading::{PLACE, admin, credit, limit, list_market},
};

async fn ok(app: &TestApp, who: &Session, query: &str, vars: Value) -> Value {
    let body = app.gql(query, vars, Some(&who.access_token)).await;
    assert_no_errors(&body);
    body["data"].clone()
}

const CREATE_ASSET: &str =
    "mutation($i: CreateAssetInput!) { createAsset(input: $i) { symbol decimals } }";
const CREDIT: &str = "mutation($u: ID!, $a: String!, $n: Decimal!) { creditBalance(userId: $u, asset: $a, amount: $n) { available } }";
const ORDER: &str = "query($id: ID!) { order(id: $id) { status reason filledQuantity } }";
const BALANCES: &str = "{ myBalances { asset { symbol } available held } }";

fn asset(symbol: &str, decimals: i32) -> Value {
    json!({ "i": { "symbol": symbol, "name": symbol, "kind": "token", "decimals": decimals } })
}

/// Lists `BASE-USD` with a one-cent tick and a lot of one whole base unit.
async fn list_usd_market(app: &TestApp, admin: &Session, base: &str) {
    ok(
        app,
        admin,
        "mutation($i: CreateMarketInput!) { createMarket(input: $i) { symbol } }",
        json!({ "i": { "base": base, "quote": "USD", "tickSize": "0.01", "lotSize": "1",
                       "minQuantity": "1", "makerFeeBps": 10, "takerFeeBps": 20 } }),
    )
    .await;
}

fn order_in(market: &str, side: &str, price: &str, qty: &str) -> Value {
    json!({ "i": { "market": market, "side": side, "type": "LIMIT", "price": price, "quantity": qty } })
}

/// An ordinary cross on ACME-USD settles: the venue is not stuck.
async fn an_ordinary_cross_settles(app: &TestApp, admin: &Session) {
    let dana = app.register("dana@example.com").await;
    let eric = app.register("eric@example.com").await;
    credit(app, admin, &dana, "ACME", "10").await;
    credit(app, admin, &eric, "USD", "100").await;
    let sell = ok(app, &dana, PLACE, limit("SELL", "5", "2")).await;
    assert_eq!(sell["placeOrder"]["status"], "OPEN", "{sell}");
    let buy = ok(app, &eric, PLACE, limit("BUY", "5", "2")).await;
    assert_eq!(buy["placeOrder"]["status"], "FILLED", "{buy}");
}

#[tokio::test]
async fn an_asset_is_listed_and_funded_only_within_what_its_amounts_can_hold() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    list_market(&app, &admin).await;

    // 18 decimals leave room for 9.22 whole units: refused, with the bound named.
    let big = app
        .gql(CREATE_ASSET, asset("BIG", 18), Some(&admin.access_token))
        .await;
    assert_eq!(error_code(&big), "BAD_USER_INPUT", "{big}");
    let message = big["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("between 0 and 8"), "{message}");
    // 8 decimals hold 92,233,720,368.54775807 units.
    let listed = ok(&app, &admin, CREATE_ASSET, asset("BIG", 8)).await;
    assert_eq!(
        listed["createAsset"],
        json!({ "symbol": "BIG", "decimals": 8 })
    );
    list_usd_market(&app, &admin, "BIG").await;

    // Alice holds 92 billion BIG; the asset cannot issue 300 million more, to anyone.
    let alice = app.register("alice@example.com").await;
    let bob = app.register("bob@example.com").await;
    credit(&app, &admin, &alice, "BIG", "92000000000").await;
    for to in [&alice, &bob] {
        let refused = app
            .gql(
                CREDIT,
                json!({ "u": to.user_id, "a": "BIG", "n": "300000000" }),
                Some(&admin.access_token),
            )
            .await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
        let message = refused["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("92233720368.54775807"),
            "the limit is named: {message}"
        );
    }
    let bob_before = ok(&app, &bob, BALANCES, json!({})).await;
    assert_eq!(
        bob_before["myBalances"],
        json!([]),
        "a refused credit changes nothing"
    );

    // What is left fits, and Alice may buy all of it.
    credit(&app, &admin, &bob, "BIG", "200000000").await;
    credit(&app, &admin, &alice, "USD", "300000000").await;
    let sell = ok(
        &app,
        &bob,
        PLACE,
        order_in("BIG-USD", "SELL", "1", "200000000"),
    )
    .await;
    assert_eq!(sell["placeOrder"]["status"], "OPEN", "{sell}");
    let buy = ok(
        &app,
        &alice,
        PLACE,
        order_in("BIG-USD", "BUY", "1", "200000000"),
    )
    .await;
    assert_eq!(buy["placeOrder"]["status"], "FILLED", "{buy}");
    let mine = ok(&app, &alice, BALANCES, json!({})).await;
    assert_eq!(
        mine["myBalances"][0],
        json!({ "asset": { "symbol": "BIG" }, "available": "92200000000", "held": "0" })
    );

    an_ordinary_cross_settles(&app, &admin).await;
    assert_audit_passes(&app).await;
}

/// Issues `amount` minor units of an asset to a user the way a credit of an earlier release
/// did (one balanced ledger transaction and the balance row), without today's checks.
async fn legacy_credit(app: &TestApp, user: &Session, asset: Uuid, amount: i64) {
    let user: Uuid = user.user_id.parse().unwrap();
    let now = Utc::now();
    let tx = Uuid::now_v7();
    for (account, who, amount) in [
        ("system:issuance", None, -amount),
        ("user:available", Some(user), amount),
    ] {
        ledger_entries::ActiveModel {
            id: NotSet,
            tx_id: Set(tx),
            account: Set(account.into()),
            user_id: Set(who),
            asset_id: Set(asset),
            amount: Set(amount),
            kind: Set("credit".into()),
            order_id: Set(None),
            trade_id: Set(None),
            created_at: Set(now),
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    balances::ActiveModel {
        user_id: Set(user),
        asset_id: Set(asset),
        available: Set(amount),
        held: Set(0),
        updated_at: Set(now),
    }
    .insert(&app.db)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_trade_that_would_overflow_a_balance_is_refused_alone_and_the_venue_goes_on() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    // BIG was listed with 18 decimals by an earlier release, which allowed it: one unit is
    // 10^18 minor units, so a balance holds at most 9.22 BIG. Alice holds 9, Bob and Carol
    // more than is left.
    let big = assets::ActiveModel {
        id: Set(Uuid::now_v7()),
        symbol: Set("BIG".into()),
        name: Set("Big token".into()),
        kind: Set("token".into()),
        decimals: Set(18),
        created_at: Set(Utc::now()),
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id;
    list_usd_market(&app, &admin, "BIG").await;
    let alice = app.register("alice@example.com").await;
    let bob = app.register("bob@example.com").await;
    let carol = app.register("carol@example.com").await;
    const UNIT: i64 = 1_000_000_000_000_000_000;
    legacy_credit(&app, &alice, big, 9 * UNIT).await;
    legacy_credit(&app, &bob, big, 2 * UNIT).await;
    legacy_credit(&app, &carol, big, 2 * UNIT).await;
    credit(&app, &admin, &alice, "USD", "100").await;

    // Alice buys 1 BIG more: it cannot be credited to her, so her order is refused with a
    // reason and her hold comes back; Bob's offer stays.
    let offer = ok(&app, &bob, PLACE, order_in("BIG-USD", "SELL", "1", "1")).await;
    assert_eq!(offer["placeOrder"]["status"], "OPEN", "{offer}");
    let buy = ok(&app, &alice, PLACE, order_in("BIG-USD", "BUY", "1", "1")).await;
    assert_eq!(
        (
            &buy["placeOrder"]["status"],
            &buy["placeOrder"]["filledQuantity"]
        ),
        (&json!("REJECTED"), &json!("0")),
        "{buy}"
    );
    let why = ok(
        &app,
        &alice,
        ORDER,
        json!({ "id": buy["placeOrder"]["id"] }),
    )
    .await;
    assert_eq!(why["order"]["reason"], "BALANCE_LIMIT");
    let offer_now = ok(
        &app,
        &bob,
        ORDER,
        json!({ "id": offer["placeOrder"]["id"] }),
    )
    .await;
    assert_eq!(offer_now["order"]["status"], "OPEN");

    // Her bid below the offer rests; when Carol sells into it, the bid that cannot be paid
    // out is cancelled with the reason and Carol's order rests in its place.
    let bid = ok(&app, &alice, PLACE, order_in("BIG-USD", "BUY", "0.99", "1")).await;
    assert_eq!(bid["placeOrder"]["status"], "OPEN", "{bid}");
    let sell = ok(
        &app,
        &carol,
        PLACE,
        order_in("BIG-USD", "SELL", "0.99", "1"),
    )
    .await;
    assert_eq!(sell["placeOrder"]["status"], "OPEN", "{sell}");
    let bid_now = ok(
        &app,
        &alice,
        ORDER,
        json!({ "id": bid["placeOrder"]["id"] }),
    )
    .await;
    assert_eq!(
        bid_now["order"],
        json!({ "status": "CANCELLED", "reason": "BALANCE_LIMIT", "filledQuantity": "0" })
    );
    let mine = ok(&app, &alice, BALANCES, json!({})).await;
    assert_eq!(
        mine["myBalances"],
        json!([
            { "asset": { "symbol": "BIG" }, "available": "9", "held": "0" },
            { "asset": { "symbol": "USD" }, "available": "100", "held": "0" },
        ])
    );

    // Another market settles as usual.
    an_ordinary_cross_settles(&app, &admin).await;

    // The ledger is consistent; the audit names only what the earlier release let in: more
    // BIG issued than an amount can hold.
    let report = brain::audit::run(&app.db).await.unwrap();
    assert!(!report.violations.is_empty());
    for v in &report.violations {
        assert!(
            matches!(v, Violation::SupplyOverflow { asset, .. } if asset.symbol == "BIG"),
            "only BIG's legacy supply is beyond the bound: {report}"
        );
    }
}
