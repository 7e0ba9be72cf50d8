//! Trading through the gateway of `rialto serve`: the auth and brain subgraphs in process,
//! the matcher beside them, driven over HTTP like a client.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Session, TestApp, assert_no_errors, error_code, spawn_app};

/// Registers an account and makes it an admin (as `rialto admin create-user --role admin`
/// would), then signs in again so the token carries the role.
pub(crate) async fn admin(app: &TestApp) -> Session {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let s = app.register("admin@example.com").await;
    let id: uuid::Uuid = s.user_id.parse().unwrap();
    entity::users::Entity::update_many()
        .col_expr(entity::users::Column::Role, Expr::value("admin"))
        .filter(entity::users::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .unwrap();
    app.login("admin@example.com", PASSWORD).await
}

async fn ok(app: &TestApp, who: &Session, query: &str, vars: Value) -> Value {
    let body = app.gql(query, vars, Some(&who.access_token)).await;
    assert_no_errors(&body);
    body["data"].clone()
}

pub(crate) async fn list_market(app: &TestApp, admin: &Session) {
    for (symbol, decimals) in [("USD", 2), ("ACME", 0)] {
        ok(
            app,
            admin,
            "mutation($i: CreateAssetInput!) { createAsset(input: $i) { id } }",
            json!({ "i": { "symbol": symbol, "name": symbol, "kind": "cash", "decimals": decimals } }),
        )
        .await;
    }
    ok(
        app,
        admin,
        "mutation($i: CreateMarketInput!) { createMarket(input: $i) { symbol } }",
        json!({ "i": { "base": "ACME", "quote": "USD", "tickSize": "0.01", "lotSize": "1",
                       "minQuantity": "1", "makerFeeBps": 10, "takerFeeBps": 20 } }),
    )
    .await;
}

pub(crate) async fn credit(
    app: &TestApp,
    admin: &Session,
    to: &Session,
    asset: &str,
    amount: &str,
) {
    ok(
        app,
        admin,
        "mutation($u: ID!, $a: String!, $n: Decimal!) { creditBalance(userId: $u, asset: $a, amount: $n) { total } }",
        json!({ "u": to.user_id, "a": asset, "n": amount }),
    )
    .await;
}

pub(crate) const PLACE: &str = "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id status filledQuantity averagePrice } }";

pub(crate) fn limit(side: &str, price: &str, qty: &str) -> Value {
    json!({ "i": { "market": "ACME-USD", "side": side, "type": "LIMIT", "price": price, "quantity": qty } })
}

#[tokio::test]
async fn two_traders_cross_through_the_gateway_and_see_their_accounts_in_one_query() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    let alice = app.register("alice@example.com").await;
    let bob = app.register("bob@example.com").await;
    credit(&app, &admin, &alice, "ACME", "50").await;
    credit(&app, &admin, &bob, "USD", "1000").await;

    let sell = ok(&app, &alice, PLACE, limit("SELL", "10.5", "20")).await;
    assert_eq!(sell["placeOrder"]["status"], "OPEN");
    let buy = ok(&app, &bob, PLACE, limit("BUY", "11", "5")).await;
    assert_eq!(
        buy["placeOrder"],
        json!({ "id": buy["placeOrder"]["id"], "status": "FILLED", "filledQuantity": "5", "averagePrice": "10.5" })
    );

    // One query, two subgraphs: the email from auth, the balances and orders from brain.
    let me = ok(
        &app,
        &bob,
        "{ me { email balances { asset { symbol } available held } } myOrders { edges { node { side status } } } }",
        json!({}),
    )
    .await;
    assert_eq!(me["me"]["email"], "bob@example.com");
    // 52.50 paid plus a 0.11 taker fee (20 bps of 52.50 = 0.105, rounded up).
    assert_eq!(
        me["me"]["balances"],
        json!([
            { "asset": { "symbol": "ACME" }, "available": "5", "held": "0" },
            { "asset": { "symbol": "USD" }, "available": "947.39", "held": "0" },
        ])
    );
    assert_eq!(
        me["myOrders"]["edges"],
        json!([{ "node": { "side": "BUY", "status": "FILLED" } }])
    );

    // Bad input through the gateway keeps its code.
    let bad = app
        .gql(PLACE, limit("BUY", "abc", "1"), Some(&bob.access_token))
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    let anonymous = app.gql(PLACE, limit("BUY", "10", "1"), None).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

    let report = brain::audit::run(&app.db).await.unwrap();
    assert!(report.violations.is_empty(), "{report}");
}

/// `rialto audit` on the application's database, as an operator runs it.
fn audit(app: &TestApp) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rialto"));
    cmd.arg("audit").arg("--data-dir").arg(&app.data_dir);
    match &app.database_url {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    cmd.output().unwrap()
}

#[tokio::test]
async fn rialto_audit_passes_after_trading_and_names_a_tampered_balance() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    let alice = app.register("alice@example.com").await;
    let bob = app.register("bob@example.com").await;
    credit(&app, &admin, &alice, "ACME", "10").await;
    credit(&app, &admin, &bob, "USD", "100").await;
    ok(&app, &alice, PLACE, limit("SELL", "5", "4")).await;
    ok(&app, &bob, PLACE, limit("BUY", "5", "2")).await;

    let clean = audit(&app);
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert!(
        clean.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(stdout.contains("no violations"), "{stdout}");

    // Someone edits a balance behind the ledger's back.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let alice_id: uuid::Uuid = alice.user_id.parse().unwrap();
    entity::balances::Entity::update_many()
        .col_expr(entity::balances::Column::Available, Expr::value(1_000_i64))
        .filter(entity::balances::Column::UserId.eq(alice_id))
        .exec(&app.db)
        .await
        .unwrap();
    let dirty = audit(&app);
    let stdout = String::from_utf8_lossy(&dirty.stdout);
    assert!(!dirty.status.success(), "the audit must fail:\n{stdout}");
    assert!(
        stdout.contains(&alice.user_id),
        "the violation names the user:\n{stdout}"
    );
}

/// A `rialto matcher` process on the test's database and Redis prefix.
pub(crate) fn spawn_matcher(
    database_url: &str,
    redis_url: &str,
    prefix: &str,
) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_rialto"))
        .arg("matcher")
        .env("DATABASE_URL", database_url)
        .env("REDIS_URL", redis_url)
        .env("RIALTO_REDIS_PREFIX", prefix)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn when_the_leading_matcher_is_killed_the_standby_settles_the_next_order_within_a_second() {
    let (Some(_), Some(redis)) = (
        std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()),
        std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()),
    ) else {
        eprintln!("needs DATABASE_URL and REDIS_URL: skipped");
        return;
    };
    let prefix = format!("rialto-test-{}:", uuid::Uuid::new_v4().simple());
    let app = crate::helpers::spawn_app_with(|c| {
        c.trading = api::startup::TradingConfig {
            redis_url: Some(redis.clone()),
            redis_prefix: prefix.clone(),
            no_matcher: true,
        };
    })
    .await;
    let db_url = app.database_url.clone().unwrap();
    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    let alice = app.register("alice@example.com").await;
    let bob = app.register("bob@example.com").await;
    credit(&app, &admin, &alice, "ACME", "10").await;
    credit(&app, &admin, &bob, "USD", "100").await;

    // The leader is the first matcher: it has settled an order before the standby starts.
    let mut leader = spawn_matcher(&db_url, &redis, &prefix);
    let first = ok(&app, &alice, PLACE, limit("SELL", "5", "2")).await;
    assert_eq!(
        first["placeOrder"]["status"], "OPEN",
        "the leader settles: {first}"
    );
    let mut standby = spawn_matcher(&db_url, &redis, &prefix);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    leader.kill().unwrap(); // SIGKILL: no clean shutdown, the lock goes with its session
    leader.wait().unwrap();
    let started = std::time::Instant::now();
    let buy = ok(&app, &bob, PLACE, limit("BUY", "5", "2")).await;
    let took = started.elapsed();
    assert_eq!(buy["placeOrder"]["status"], "FILLED", "{buy}");
    assert!(
        took < std::time::Duration::from_secs(1),
        "the standby took {took:?}"
    );

    standby.kill().unwrap();
    standby.wait().unwrap();
    let report = brain::audit::run(&app.db).await.unwrap();
    assert!(report.violations.is_empty(), "{report}");
}

#[tokio::test]
async fn readiness_reports_the_event_bus_and_metrics_show_the_matcher_at_work() {
    let app = crate::helpers::spawn_app().await;
    let ready = app.get_json("/ready").await;
    assert_eq!(
        ready,
        json!({ "status": "ready", "database": "ok", "bus": "ok", "cache": "ok" })
    );

    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    let alice = app.register("alice@example.com").await;
    credit(&app, &admin, &alice, "ACME", "5").await;
    ok(&app, &alice, PLACE, limit("SELL", "5", "1")).await;
    let metrics = app.metrics().await;
    for name in [
        "rialto_matcher_batches_total",
        "rialto_matcher_commands_total",
        "rialto_matcher_batch_commit_seconds",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
}

#[tokio::test]
async fn when_redis_goes_away_readiness_says_so_reads_fall_back_and_trading_goes_on() {
    let Some(binary) = bus::testing::redis_server() else {
        eprintln!("needs redis-server: skipped");
        return;
    };
    let mut redis = bus::testing::PrivateRedis::start(&binary).await;
    let url = redis.url();
    let app = crate::helpers::spawn_app_with(|c| {
        c.trading = api::startup::TradingConfig {
            redis_url: Some(url),
            redis_prefix: "rialto-test:".into(),
            no_matcher: false,
        };
    })
    .await;
    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    let alice = app.register("alice@example.com").await;
    let bob = app.register("bob@example.com").await;
    credit(&app, &admin, &alice, "ACME", "10").await;
    credit(&app, &admin, &bob, "USD", "100").await;
    let sell = ok(&app, &alice, PLACE, limit("SELL", "5", "3")).await;
    assert_eq!(sell["placeOrder"]["status"], "OPEN");
    const BOOK: &str = r#"{ market(symbol: "ACME-USD") { orderBook { asks { price quantity } } trades { price quantity } } }"#;
    let before = ok(&app, &bob, BOOK, json!({})).await;
    assert_eq!(
        before["market"]["orderBook"]["asks"],
        json!([{ "price": "5", "quantity": "3" }])
    );

    redis.kill();
    let ready = app.get_json("/ready").await;
    assert_eq!(
        ready,
        json!({ "status": "degraded", "database": "ok", "bus": "unreachable", "cache": "unreachable" })
    );

    // The order is taken; without the bus the matcher finds it on its next poll.
    let buy = ok(&app, &bob, PLACE, limit("BUY", "5", "2")).await;
    let id = buy["placeOrder"]["id"].clone();
    let mut status = buy["placeOrder"]["status"].clone();
    for _ in 0..50 {
        if status == "FILLED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let now = ok(
            &app,
            &bob,
            "query($id: ID!) { order(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
        status = now["order"]["status"].clone();
    }
    assert_eq!(status, "FILLED");
    // Reads come from the database, current.
    let after = ok(&app, &bob, BOOK, json!({})).await;
    assert_eq!(
        after["market"],
        json!({ "orderBook": { "asks": [{ "price": "5", "quantity": "1" }] },
                "trades": [{ "price": "5", "quantity": "2" }] })
    );
    let report = brain::audit::run(&app.db).await.unwrap();
    assert!(report.violations.is_empty(), "{report}");
}
