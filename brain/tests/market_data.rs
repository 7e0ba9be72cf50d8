//! Market data stories through the brain schema (`Market.ticker`, `orderBook`, `trades`,
//! `candles`) with the real matcher running beside it on the same database and bus: SQLite
//! in memory, and a fresh PostgreSQL database when `DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use common::{Caller, Identity};
use entity::market_events;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};
use support::{Env, Market, code, each_backend, exec, ok};

/// Places a limit order and returns it after the matcher processed it.
async fn place(env: &Env, who: &Identity, side: &str, price: &str, qty: &str) -> Value {
    let input = json!({ "i": { "market": "ACME-USD", "side": side, "type": "LIMIT", "price": price, "quantity": qty } });
    ok(
        env,
        who,
        "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id status filledQuantity } }",
        input,
    )
    .await["placeOrder"]
        .clone()
}

/// `market(symbol: "ACME-USD") { <fields> }`, anonymously (market data is public).
async fn market(env: &Env, fields: &str) -> Value {
    let query = format!("{{ market(symbol: \"ACME-USD\") {{ {fields} }} }}");
    let resp = exec(env, Caller::Anonymous, &query, json!({})).await;
    assert!(resp.get("errors").is_none(), "{query}: {resp:#}");
    resp["data"]["market"].clone()
}

/// The first error code of `market(symbol: "ACME-USD") { <fields> }`.
async fn market_err(env: &Env, fields: &str) -> String {
    let query = format!("{{ market(symbol: \"ACME-USD\") {{ {fields} }} }}");
    code(&exec(env, Caller::Anonymous, &query, json!({})).await).to_owned()
}

/// The market's highest event sequence, straight from the outbox.
async fn last_event_seq(env: &Env) -> i64 {
    market_events::Entity::find()
        .order_by_desc(market_events::Column::Seq)
        .one(&env.db)
        .await
        .unwrap()
        .map_or(0, |e| e.seq)
}

const BOOK: &str = "sequence bids { price quantity orders } asks { price quantity orders }";

#[tokio::test]
async fn the_book_aggregates_live_orders_by_price_best_first_as_of_a_sequence() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        for (price, qty) in [("101", "3"), ("101", "2"), ("102", "1"), ("103.5", "4")] {
            assert_eq!(
                place(&env, &m.alice, "SELL", price, qty).await["status"],
                "OPEN"
            );
        }
        for (price, qty) in [("99", "5"), ("98.25", "1"), ("98.25", "2"), ("97", "1")] {
            assert_eq!(
                place(&env, &m.bob, "BUY", price, qty).await["status"],
                "OPEN"
            );
        }

        let top = market(&env, &format!("orderBook(depth: 2) {{ market {BOOK} }}")).await;
        let seq = last_event_seq(&env).await;
        assert!(seq > 0);
        assert_eq!(
            top["orderBook"],
            json!({
                "market": "ACME-USD",
                "sequence": seq.to_string(),
                "bids": [
                    { "price": "99", "quantity": "5", "orders": 1 },
                    { "price": "98.25", "quantity": "3", "orders": 2 },
                ],
                "asks": [
                    { "price": "101", "quantity": "5", "orders": 2 },
                    { "price": "102", "quantity": "1", "orders": 1 },
                ],
            })
        );

        // The default depth (20) shows every level; a cancelled order leaves the book.
        let all = market(&env, &format!("orderBook {{ {BOOK} }}")).await;
        assert_eq!(all["orderBook"]["bids"].as_array().unwrap().len(), 3);
        assert_eq!(
            all["orderBook"]["asks"][2],
            json!({ "price": "103.5", "quantity": "4", "orders": 1 })
        );
        ok(
            &env,
            &m.bob,
            "mutation { cancelAllOrders(market: \"ACME-USD\") { status } }",
            json!({}),
        )
        .await;
        let after = market(&env, &format!("orderBook {{ {BOOK} }}")).await;
        assert_eq!(after["orderBook"]["bids"], json!([]));
        assert_eq!(after["orderBook"]["asks"].as_array().unwrap().len(), 3);
        let later = last_event_seq(&env).await;
        assert!(later > seq);
        assert_eq!(after["orderBook"]["sequence"], later.to_string());
        m.close(&env).await;
    })
    .await;
}

#[tokio::test]
async fn trades_candles_and_the_ticker_follow_the_executions() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        place(&env, &m.alice, "SELL", "100", "2").await;
        place(&env, &m.alice, "SELL", "100", "3").await;
        place(&env, &m.alice, "SELL", "101", "4").await;
        // One taker sweeps three makers: three trades in one matcher batch, so one M1 candle.
        let sweep = place(&env, &m.bob, "BUY", "101", "6").await;
        assert_eq!(sweep["status"], "FILLED", "{sweep}");

        let candles = market(
            &env,
            "candles(interval: M1) { openTime open high low close volume }",
        )
        .await;
        let candle = &candles["candles"];
        assert_eq!(candle.as_array().unwrap().len(), 1, "{candle}");
        let open_time = candle[0]["openTime"].as_str().unwrap().to_owned();
        assert_eq!(
            candle[0],
            json!({ "openTime": open_time, "open": "100", "high": "101", "low": "100", "close": "101", "volume": "6" })
        );
        // Ranges that hold the candle, and one that starts after it.
        let day = market(
            &env,
            &format!("candles(interval: D1, to: \"{open_time}\", limit: 10) {{ volume }}"),
        )
        .await;
        assert_eq!(day["candles"], json!([{ "volume": "6" }]));
        let exact = market(
            &env,
            &format!("candles(interval: M1, from: \"{open_time}\", to: \"{open_time}\") {{ close }}"),
        )
        .await;
        assert_eq!(exact["candles"], json!([{ "close": "101" }]));
        let after: chrono::DateTime<chrono::Utc> = open_time.parse().unwrap();
        let after = (after + chrono::TimeDelta::minutes(1)).to_rfc3339();
        let none = market(&env, &format!("candles(interval: M1, from: \"{after}\") {{ close }}")).await;
        assert_eq!(none["candles"], json!([]));

        // A resting bid and a selling taker: the fourth trade, taker SELL.
        place(&env, &m.bob, "BUY", "99", "2").await;
        let hit = place(&env, &m.alice, "SELL", "99", "1").await;
        assert_eq!(hit["status"], "FILLED");

        let trades = market(
            &env,
            "trades { id market sequence price quantity takerSide executedAt }",
        )
        .await;
        let trades = trades["trades"].as_array().unwrap().clone();
        let seen: Vec<Value> = trades
            .iter()
            .map(|t| json!([t["sequence"], t["price"], t["quantity"], t["takerSide"], t["market"]]))
            .collect();
        assert_eq!(
            seen,
            vec![
                json!(["4", "99", "1", "SELL", "ACME-USD"]),
                json!(["3", "101", "1", "BUY", "ACME-USD"]),
                json!(["2", "100", "3", "BUY", "ACME-USD"]),
                json!(["1", "100", "2", "BUY", "ACME-USD"]),
            ]
        );
        let ids: std::collections::HashSet<&str> =
            trades.iter().map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 4);
        assert!(trades.iter().all(|t| t["executedAt"].is_string()));
        let two = market(&env, "trades(limit: 2) { sequence }").await;
        assert_eq!(two["trades"], json!([{ "sequence": "4" }, { "sequence": "3" }]));

        let ticker = market(
            &env,
            "ticker { market last bestBid bestAsk open24h high24h low24h volume24h }",
        )
        .await;
        assert_eq!(
            ticker["ticker"],
            json!({
                "market": "ACME-USD", "last": "99", "bestBid": "99", "bestAsk": "101",
                "open24h": "100", "high24h": "101", "low24h": "99", "volume24h": "7",
            })
        );
        // The partly filled ask shows its open remainder.
        let book = market(&env, &format!("orderBook {{ {BOOK} }}")).await;
        assert_eq!(book["orderBook"]["bids"], json!([{ "price": "99", "quantity": "1", "orders": 1 }]));
        assert_eq!(book["orderBook"]["asks"], json!([{ "price": "101", "quantity": "3", "orders": 1 }]));
        // Every M1 candle together holds every trade, whichever minutes they fell in.
        let all = market(&env, "candles(interval: M1) { volume close }").await;
        let all = all["candles"].as_array().unwrap();
        let volume: i64 = all.iter().map(|c| c["volume"].as_str().unwrap().parse::<i64>().unwrap()).sum();
        assert_eq!(volume, 7);
        assert_eq!(all.last().unwrap()["close"], "99");
        m.close(&env).await;
    })
    .await;
}

#[tokio::test]
async fn depths_and_limits_out_of_range_are_bad_user_input() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        for fields in [
            "orderBook(depth: 0) { sequence }",
            "orderBook(depth: 101) { sequence }",
            "orderBook(depth: -1) { sequence }",
            "trades(limit: 0) { id }",
            "trades(limit: 501) { id }",
            "candles(interval: M1, limit: 0) { open }",
            "candles(interval: M1, limit: 1001) { open }",
            "candles(interval: M1, from: \"2026-01-02T00:00:00Z\", to: \"2026-01-01T00:00:00Z\") { open }",
        ] {
            assert_eq!(market_err(&env, fields).await, "BAD_USER_INPUT", "{fields}");
        }
        // The bounds themselves are fine, and null means the default.
        market(
            &env,
            "orderBook(depth: 100) { sequence } trades(limit: 500) { id }
             candles(interval: D1, limit: 1000) { open }
             a: orderBook(depth: null) { sequence } b: trades(limit: null) { id }",
        )
        .await;
        m.close(&env).await;
    })
    .await;
}

#[tokio::test]
async fn a_market_without_trades_has_an_empty_ticker_book_and_history() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        let quiet = market(
            &env,
            &format!(
                "ticker {{ market last bestBid bestAsk open24h high24h low24h volume24h }}
                 orderBook {{ market {BOOK} }} trades {{ id }} candles(interval: M1) {{ open }}"
            ),
        )
        .await;
        assert_eq!(
            quiet,
            json!({
                "ticker": {
                    "market": "ACME-USD", "last": null, "bestBid": null, "bestAsk": null,
                    "open24h": null, "high24h": null, "low24h": null, "volume24h": "0",
                },
                "orderBook": { "market": "ACME-USD", "sequence": "0", "bids": [], "asks": [] },
                "trades": [],
                "candles": [],
            })
        );
        // A resting order is a best quote, not a trade.
        place(&env, &m.alice, "SELL", "100", "1").await;
        let listed = ok(
            &env,
            &m.bob,
            "{ markets { symbol ticker { last bestBid bestAsk volume24h } } }",
            json!({}),
        )
        .await;
        assert_eq!(
            listed["markets"],
            json!([{ "symbol": "ACME-USD", "ticker": { "last": null, "bestBid": null, "bestAsk": "100", "volume24h": "0" } }])
        );
        m.close(&env).await;
    })
    .await;
}

/// The SDL of the new types, without descriptions: the names and types of API.md.
#[tokio::test]
async fn the_market_data_types_match_the_public_contract() {
    each_backend(|env| async move {
        let sdl = env.schema.sdl();
        let expected = [
            ("type Market", vec![
                "ticker: Ticker!",
                "orderBook(depth: Int = 20): OrderBook!",
                "trades(limit: Int = 50): [Trade!]!",
                "candles(interval: CandleInterval!, from: DateTime, to: DateTime, limit: Int): [Candle!]!",
            ]),
            ("type Ticker", vec![
                "market: String!", "last: Decimal", "bestBid: Decimal", "bestAsk: Decimal",
                "open24h: Decimal", "high24h: Decimal", "low24h: Decimal", "volume24h: Decimal!",
            ]),
            ("type BookLevel", vec!["price: Decimal!", "quantity: Decimal!", "orders: Int!"]),
            ("type OrderBook", vec!["market: String!", "sequence: String!", "bids: [BookLevel!]!", "asks: [BookLevel!]!"]),
            ("type Trade", vec![
                "id: ID!", "market: String!", "sequence: String!", "price: Decimal!",
                "quantity: Decimal!", "takerSide: Side!", "executedAt: DateTime!",
            ]),
            ("type Candle", vec![
                "openTime: DateTime!", "open: Decimal!", "high: Decimal!", "low: Decimal!",
                "close: Decimal!", "volume: Decimal!",
            ]),
            ("enum CandleInterval", vec!["M1", "M5", "M15", "H1", "D1"]),
        ];
        for (head, fields) in expected {
            let body = block(&sdl, head).unwrap_or_else(|| panic!("no {head} in\n{sdl}"));
            for field in fields {
                assert!(body.iter().any(|l| l == field), "{head} lacks `{field}`: {body:#?}");
            }
        }
    })
    .await;
}

/// The field lines of `head { ... }` in an SDL, descriptions and directives dropped.
fn block(sdl: &str, head: &str) -> Option<Vec<String>> {
    let mut lines = sdl.lines().map(str::trim);
    lines.find(|l| l.starts_with(head) && l[head.len()..].trim_start().starts_with(['{', '@']))?;
    let mut out = Vec::new();
    let mut in_description = false;
    for line in lines {
        if line == "}" && !in_description {
            return Some(out);
        }
        if line.starts_with("\"\"\"") {
            // A one-line `"""text"""` opens and closes at once.
            let closes = line.len() >= 6 && line.ends_with("\"\"\"");
            if !closes {
                in_description = !in_description;
            }
            continue;
        }
        if in_description || line.starts_with('"') || line.is_empty() {
            continue;
        }
        out.push(line.to_owned());
    }
    None
}
