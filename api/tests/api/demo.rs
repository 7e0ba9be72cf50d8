//! `rialto serve --demo` on a fresh store: a new user sees a living market within the first
//! half minute, with hours of candle history, and can sign in with a printed demo login and
//! trade.

use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_audit_passes, assert_no_errors, spawn_demo_app, spawn_demo_app_with,
};

const MARKETS: &str = "{ markets { symbol orderBook(depth: 5) { bids { price } asks { price } } trades(limit: 5) { price } } }";
const HOURLY: &str = "{ markets { symbol candles(interval: H1, limit: 24) { openTime } } }";

/// One candle as read through the API; prices and volume in hundredths.
#[derive(Debug, Clone, Copy)]
struct Candle {
    open_time: DateTime<Utc>,
    open: i64,
    high: i64,
    low: i64,
    close: i64,
    volume: i64,
}

/// A decimal string with at most two decimals, in hundredths.
fn hundredths(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a decimal: {v}"));
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    assert!(frac.len() <= 2, "{s}");
    whole.parse::<i64>().unwrap() * 100 + format!("{frac:0<2}").parse::<i64>().unwrap()
}

/// A market's latest `limit` candles of `interval`, oldest first.
async fn candles(app: &TestApp, market: &str, interval: &str, limit: u32) -> Vec<Candle> {
    let query = format!(
        "query($m: String!) {{ market(symbol: $m) {{ candles(interval: {interval}, limit: {limit}) {{ openTime open high low close volume }} }} }}"
    );
    let body = app.gql(&query, json!({ "m": market }), None).await;
    assert_no_errors(&body);
    body["data"]["market"]["candles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Candle {
            open_time: c["openTime"].as_str().unwrap().parse().unwrap(),
            open: hundredths(&c["open"]),
            high: hundredths(&c["high"]),
            low: hundredths(&c["low"]),
            close: hundredths(&c["close"]),
            volume: hundredths(&c["volume"]),
        })
        .collect()
}

/// The demo's candles, read through the API: hours of M1 and H1 history, every candle
/// consistent, the back-filled intervals the aggregates of their minutes, and the minutes
/// joining up (the history into the live trading too).
async fn assert_history(app: &TestApp, market: &str, started: DateTime<Utc>) {
    // Every back-filled candle closed before the demo started trading.
    let live_from = started.duration_trunc(TimeDelta::minutes(1)).unwrap();
    let m1 = candles(app, market, "M1", 1_000).await;
    assert!(m1.len() >= 5 * 60, "{market}: {} M1 candles", m1.len());
    assert!(
        m1[0].open_time <= started - TimeDelta::hours(5),
        "{market}: M1 history starts at {}",
        m1[0].open_time
    );
    for pair in m1.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(a.open_time < b.open_time, "{market}: {a:?} then {b:?}");
        // Two rounds of the walk at most: well within 5 %.
        assert!(
            (b.open - a.close).abs() <= a.close / 20,
            "{market}: {a:?} then {b:?} do not join"
        );
    }
    for (name, width, limit) in [
        ("M1", TimeDelta::minutes(1), 1_000),
        ("M5", TimeDelta::minutes(5), 1_000),
        ("M15", TimeDelta::minutes(15), 100),
        ("H1", TimeDelta::hours(1), 24),
        ("D1", TimeDelta::days(1), 10),
    ] {
        let all = if name == "M1" {
            m1.clone()
        } else {
            candles(app, market, name, limit).await
        };
        if name == "H1" {
            assert!(all.len() >= 5, "{market}: {} H1 candles", all.len());
        }
        assert!(!all.is_empty(), "{market}: no {name} candles");
        for c in &all {
            assert!(
                0 < c.low && c.low <= c.open.min(c.close) && c.open.max(c.close) <= c.high,
                "{market} {name}: {c:?}"
            );
            assert!(c.volume > 0, "{market} {name}: {c:?}");
            assert_eq!(c.open_time, c.open_time.duration_trunc(width).unwrap());
            if name == "M1" || c.open_time + width > live_from {
                continue;
            }
            // Wholly back-filled: the aggregate of its minutes.
            let minutes: Vec<&Candle> = m1
                .iter()
                .filter(|m| m.open_time >= c.open_time && m.open_time < c.open_time + width)
                .collect();
            assert!(!minutes.is_empty(), "{market} {name}: {c:?} has no minutes");
            let folded = Candle {
                open_time: c.open_time,
                open: minutes[0].open,
                high: minutes.iter().map(|m| m.high).max().unwrap(),
                low: minutes.iter().map(|m| m.low).min().unwrap(),
                close: minutes[minutes.len() - 1].close,
                volume: minutes.iter().map(|m| m.volume).sum(),
            };
            assert_eq!(
                (c.open, c.high, c.low, c.close, c.volume),
                (
                    folded.open,
                    folded.high,
                    folded.low,
                    folded.close,
                    folded.volume
                ),
                "{market} {name} at {}",
                c.open_time
            );
        }
    }
    // The live trading goes on in the minutes after the history.
    assert!(
        m1.last().unwrap().open_time >= live_from,
        "{market}: no live candle after the history"
    );
}

#[tokio::test]
async fn a_fresh_demo_has_two_sided_books_within_20_s_and_trades_within_30_s() {
    let app = spawn_demo_app().await;
    let started = Instant::now();
    let started_at = Utc::now();
    let markets = |body: &Value| {
        body["data"]["markets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };

    let mut two_sided_at = None;
    let mut traded_at = None;
    let mut history_at = None;
    while started.elapsed() < Duration::from_secs(30) && traded_at.is_none() {
        if history_at.is_none() {
            let body = app.gql(HOURLY, json!({}), None).await;
            assert_no_errors(&body);
            let listed = markets(&body);
            if listed.len() >= 3
                && listed
                    .iter()
                    .all(|m| m["candles"].as_array().unwrap().len() >= 5)
            {
                history_at = Some(started.elapsed());
            }
        }
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
    // Charts have hours of history from the first minute (written while seeding, before the
    // first quote), and it joins the live trading.
    let history = history_at.expect("every demo market had hours of candles within 30 s");
    assert!(
        history < Duration::from_secs(20),
        "history after {history:?}"
    );
    for market in ["ACME-USD", "GOLDG-USD", "TULIP-USD"] {
        assert_history(&app, market, started_at).await;
    }

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

    // The bots keep trading, and the ledger holds.
    assert_audit_passes(&app).await;
}

/// The bots sign in once, but an access token lives minutes and the demo runs for days:
/// they refresh their tokens before these expire and go on trading.
#[tokio::test]
async fn the_demo_bots_refresh_their_short_lived_tokens_and_keep_trading() {
    let app = spawn_demo_app_with(|c| c.auth.access_token_ttl_secs = 2).await;
    let user_id = |email: &'static str| {
        let db = app.db.clone();
        async move {
            entity::users::Entity::find()
                .filter(entity::users::Column::Email.eq(email))
                .one(&db)
                .await
                .unwrap()
                .map(|u| u.id.to_string())
        }
    };
    let started = Instant::now();
    let (maker, taker) = loop {
        if let (Some(m), Some(t)) = (
            user_id(api::demo::MAKER).await,
            user_id(api::demo::TAKER).await,
        ) {
            break (m, t);
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the bots were never made"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let refreshes = |log: Vec<String>| log.iter().filter(|k| *k == "refresh").count();
    loop {
        let (m, t) = (
            refreshes(app.session_log(Some(&maker)).await),
            refreshes(app.session_log(Some(&taker)).await),
        );
        if m >= 3 && t >= 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "the bots refreshed {m} and {t} times"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // And, on their latest tokens, they still trade.
    const LAST: &str = "{ markets { trades(limit: 1) { id } } }";
    let last = |body: Value| -> Vec<Value> {
        body["data"]["markets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["trades"][0]["id"].clone())
            .collect()
    };
    let before = last(app.gql(LAST, json!({}), None).await);
    let waited = Instant::now();
    while last(app.gql(LAST, json!({}), None).await) == before {
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "no trade after the refreshes"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
