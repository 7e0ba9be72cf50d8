//! `rialto serve --demo` on a fresh store: a new user sees a living market within the first
//! half minute, and can sign in with a printed demo login and trade.

use std::time::{Duration, Instant};

use sea_orm::{AccessMode, DbBackend, IsolationLevel, TransactionTrait};
use serde_json::{Value, json};

use crate::helpers::{assert_no_errors, spawn_demo_app};

const MARKETS: &str = "{ markets { symbol orderBook(depth: 5) { bids { price } asks { price } } trades(limit: 5) { price } } }";

#[tokio::test]
async fn a_fresh_demo_has_two_sided_books_within_20_s_and_trades_within_30_s() {
    let app = spawn_demo_app().await;
    let started = Instant::now();
    let markets = |body: &Value| {
        body["data"]["markets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };

    let mut two_sided_at = None;
    let mut traded_at = None;
    while started.elapsed() < Duration::from_secs(30) && traded_at.is_none() {
        let body = app.gql(MARKETS, json!({}), None).await;
        assert_no_errors(&body);
        let listed = markets(&body);
        let filled = |side: &str| {
            listed.len() >= 3
                && listed
                    .iter()
                    .all(|m| !m["orderBook"][side].as_array().unwrap().is_empty())
        };
        if two_sided_at.is_none() && filled("bids") && filled("asks") {
            two_sided_at = Some(started.elapsed());
        }
        if listed.len() >= 3
            && listed
                .iter()
                .all(|m| !m["trades"].as_array().unwrap().is_empty())
        {
            traded_at = Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let two_sided = two_sided_at.expect("every demo market had bids and asks within 30 s");
    assert!(
        two_sided < Duration::from_secs(20),
        "two-sided after {two_sided:?}"
    );
    traded_at.expect("every demo market traded within 30 s");

    // A printed demo login works and has money to trade with.
    let (email, password) = api::demo::DEMO_USERS[0];
    let alice = app.login(email, password).await;
    let last = app
        .gql(
            "{ market(symbol: \"ACME-USD\") { trades(limit: 1) { price } } }",
            json!({}),
            None,
        )
        .await["data"]["market"]["trades"][0]["price"]
        .clone();
    let body = app
        .gql(
            "mutation($p: Decimal!) { placeOrder(input: { market: \"ACME-USD\", side: BUY, type: LIMIT, price: $p, quantity: \"1\" }) { status } }",
            json!({ "p": last }),
            Some(&alice.access_token),
        )
        .await;
    assert_no_errors(&body);
    // At the last price it rests or trades with the maker's quotes, whichever is there.
    let status = body["data"]["placeOrder"]["status"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        ["OPEN", "PARTIALLY_FILLED", "FILLED"].contains(&status.as_str()),
        "{body}"
    );

    // The bots keep trading: audit one consistent snapshot (a read-only repeatable-read
    // transaction on PostgreSQL; a read transaction is one on SQLite).
    let snapshot = match app.db.get_database_backend() {
        DbBackend::Postgres => app
            .db
            .begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await
            .unwrap(),
        _ => app.db.begin().await.unwrap(),
    };
    let report = brain::audit::run(&snapshot).await.unwrap();
    snapshot.rollback().await.unwrap();
    assert!(report.violations.is_empty(), "audit: {report}");
}
