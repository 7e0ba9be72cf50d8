//! Hot reads through the cache (issue #5): a second read is a hit, a batch or an admin act
//! makes the next read fresh, and with the cache gone (a blip, or a Redis that was killed)
//! reads come from the database and trading goes on. SQLite in memory, and a fresh
//! PostgreSQL database when `DATABASE_URL` is set.
//!
//! The Redis-down story starts a private `redis-server` (on `PATH` or in `/usr/bin`,
//! `/usr/sbin`, `/usr/local/bin`) and kills it; without that binary it is skipped (with a
//! note on stderr), whether or not `REDIS_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use brain::hot::{BYPASS_AFTER_ERROR, Counts, Kind};
use bus::{RedisCache, testing::FlakyCache};
use common::{Caller, Identity};
use entity::market_events;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};
use support::{Env, Market, code, each_backend, exec, ok, redis_options};

/// Places a limit order on ACME-USD; returns it as the matcher left it.
async fn place(env: &Env, who: &Identity, side: &str, price: &str, qty: &str) -> Value {
    let input = json!({ "i": { "market": "ACME-USD", "side": side, "type": "LIMIT", "price": price, "quantity": qty } });
    ok(
        env,
        who,
        "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id status } }",
        input,
    )
    .await["placeOrder"]
        .clone()
}

/// Runs a public query anonymously; returns `data`.
async fn public(env: &Env, query: &str) -> Value {
    let resp = exec(env, Caller::Anonymous, query, json!({})).await;
    assert!(resp.get("errors").is_none(), "{query}: {resp:#}");
    resp["data"].clone()
}

const BOOK: &str = "{ market(symbol: \"ACME-USD\") { orderBook(depth: 5) { sequence bids { price quantity } asks { price quantity } } } }";
const TRADES: &str =
    "{ market(symbol: \"ACME-USD\") { trades(limit: 10) { sequence price quantity } } }";
const TICKER: &str =
    "{ market(symbol: \"ACME-USD\") { ticker { last bestBid bestAsk volume24h } } }";
const MARKETS: &str = "{ markets { symbol status } }";

fn book(data: &Value) -> Value {
    data["market"]["orderBook"].clone()
}

fn trades(data: &Value) -> Value {
    data["market"]["trades"].clone()
}

/// The market's highest event sequence, straight from the outbox.
async fn last_event_seq(env: &Env) -> String {
    market_events::Entity::find()
        .order_by_desc(market_events::Column::Seq)
        .one(&env.db)
        .await
        .unwrap()
        .map_or(0, |e| e.seq)
        .to_string()
}

fn diff(after: Counts, before: Counts) -> Counts {
    Counts {
        hits: after.hits - before.hits,
        misses: after.misses - before.misses,
        errors: after.errors - before.errors,
    }
}

/// Runs `query` twice and checks that the second time the cache answered `kind` with the
/// same data.
async fn twice_second_hit(env: &Env, kind: Kind, query: &str) -> Value {
    let first = public(env, query).await;
    let before = env.service.cache_stats(kind);
    let second = public(env, query).await;
    let delta = diff(env.service.cache_stats(kind), before);
    assert_eq!(
        delta,
        Counts {
            hits: 1,
            misses: 0,
            errors: 0
        },
        "the second {} read is a hit",
        kind.as_str()
    );
    assert_eq!(first, second);
    second
}

#[tokio::test]
async fn a_second_read_is_a_hit_and_a_batch_or_an_admin_act_makes_the_next_read_fresh() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        assert_eq!(place(&env, &m.alice, "SELL", "100", "2").await["status"], "OPEN");

        let before = twice_second_hit(&env, Kind::Book, BOOK).await;
        assert_eq!(
            book(&before)["asks"],
            json!([{ "price": "100", "quantity": "2" }])
        );
        assert_eq!(book(&before)["sequence"], last_event_seq(&env).await);
        assert_eq!(trades(&twice_second_hit(&env, Kind::Trades, TRADES).await), json!([]));
        let ticker = twice_second_hit(&env, Kind::Ticker, TICKER).await;
        assert_eq!(ticker["market"]["ticker"]["last"], Value::Null);
        let listed = twice_second_hit(&env, Kind::Markets, MARKETS).await;
        assert_eq!(listed["markets"], json!([{ "symbol": "ACME-USD", "status": "OPEN" }]));
        // Every one of those resolved the market by symbol: that is cached too.
        assert!(env.service.cache_stats(Kind::Market).hits > 0);

        // A trade: the next reads show it, not what was cached.
        assert_eq!(place(&env, &m.bob, "BUY", "100", "1").await["status"], "FILLED");
        let after = public(&env, BOOK).await;
        assert_eq!(book(&after)["asks"], json!([{ "price": "100", "quantity": "1" }]));
        assert_eq!(book(&after)["sequence"], last_event_seq(&env).await);
        assert_eq!(
            trades(&public(&env, TRADES).await),
            json!([{ "sequence": "1", "price": "100", "quantity": "1" }])
        );
        let ticker = public(&env, TICKER).await;
        assert_eq!(
            ticker["market"]["ticker"],
            json!({ "last": "100", "bestBid": null, "bestAsk": "100", "volume24h": "1" })
        );
        // ... and are cached again under the new version.
        twice_second_hit(&env, Kind::Book, BOOK).await;
        twice_second_hit(&env, Kind::Trades, TRADES).await;

        // An admin halts the market: the catalog shows it at once, and trading stops.
        ok(
            &env,
            &m.admin,
            "mutation { setMarketStatus(market: \"ACME-USD\", status: HALTED) { status } }",
            json!({}),
        )
        .await;
        assert_eq!(
            public(&env, MARKETS).await["markets"],
            json!([{ "symbol": "ACME-USD", "status": "HALTED" }])
        );
        assert_eq!(
            public(&env, "{ market(symbol: \"ACME-USD\") { status } }").await["market"]["status"],
            "HALTED"
        );
        let input = json!({ "i": { "market": "ACME-USD", "side": "BUY", "type": "LIMIT", "price": "99", "quantity": "1" } });
        let refused = exec(
            &env,
            Caller::Known(m.bob.clone()),
            "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }",
            input,
        )
        .await;
        assert_eq!(code(&refused), "MARKET_HALTED");
        twice_second_hit(&env, Kind::Markets, MARKETS).await;
        m.close(&env).await;
    })
    .await;
}

#[tokio::test]
async fn a_blip_that_hid_a_batch_from_the_cache_never_leaves_stale_reads() {
    each_backend(|env| async move {
        let flaky = Arc::new(FlakyCache::default());
        let env = env.with_cache(flaky.clone());
        let m = Market::open(&env).await;
        place(&env, &m.alice, "SELL", "100", "3").await;
        twice_second_hit(&env, Kind::Book, BOOK).await;

        // The cache goes away; a batch commits (its version write fails), trading goes on.
        flaky.set_down(true);
        assert_eq!(
            place(&env, &m.bob, "BUY", "100", "1").await["status"],
            "FILLED"
        );
        let errors = env.service.cache_stats(Kind::Book).errors;
        let during = public(&env, BOOK).await;
        assert_eq!(
            book(&during)["asks"],
            json!([{ "price": "100", "quantity": "2" }])
        );
        assert!(env.service.cache_stats(Kind::Book).errors > errors);

        // Back, still holding the old version and the old book: never served.
        flaky.set_down(false);
        let back = public(&env, BOOK).await;
        assert_eq!(
            book(&back)["asks"],
            json!([{ "price": "100", "quantity": "2" }])
        );
        // Once the pause after the error is over (the matcher has rewritten the version by
        // then), the cache answers again, with the new book.
        tokio::time::sleep(BYPASS_AFTER_ERROR + Duration::from_millis(300)).await;
        let again = twice_second_hit(&env, Kind::Book, BOOK).await;
        assert_eq!(
            book(&again)["asks"],
            json!([{ "price": "100", "quantity": "2" }])
        );
        assert_eq!(book(&again)["sequence"], last_event_seq(&env).await);
        m.close(&env).await;
    })
    .await;
}

#[tokio::test]
async fn with_redis_killed_reads_come_from_the_database_and_trading_goes_on() {
    let Some(binary) = bus::testing::redis_server() else {
        eprintln!("skipped: no redis-server on this machine");
        return;
    };
    each_backend(|env| {
        let binary = binary.clone();
        async move {
            let mut redis = bus::testing::PrivateRedis::start(&binary).await;
            let cache = RedisCache::connect(&redis.url(), &redis_options("rialto-test:"))
                .await
                .expect("connect to the private redis");
            let env = env.with_cache(Arc::new(cache));
            let m = Market::open(&env).await;
            place(&env, &m.alice, "SELL", "100", "5").await;
            twice_second_hit(&env, Kind::Book, BOOK).await;
            twice_second_hit(&env, Kind::Trades, TRADES).await;

            redis.kill();
            // Trading goes on: a match, and the reads show it from the database.
            assert_eq!(
                place(&env, &m.bob, "BUY", "100", "2").await["status"],
                "FILLED"
            );
            let errors = env.service.cache_stats(Kind::Book).errors;
            let after = public(&env, BOOK).await;
            assert_eq!(
                book(&after)["asks"],
                json!([{ "price": "100", "quantity": "3" }])
            );
            assert_eq!(book(&after)["sequence"], last_event_seq(&env).await);
            assert!(env.service.cache_stats(Kind::Book).errors > errors);
            assert_eq!(
                trades(&public(&env, TRADES).await),
                json!([{ "sequence": "1", "price": "100", "quantity": "2" }])
            );
            // And again, past the pause after the first error: still the database.
            tokio::time::sleep(BYPASS_AFTER_ERROR + Duration::from_millis(100)).await;
            assert_eq!(
                place(&env, &m.alice, "SELL", "99", "1").await["status"],
                "OPEN"
            );
            assert_eq!(
                place(&env, &m.bob, "BUY", "100", "1").await["status"],
                "FILLED"
            );
            assert_eq!(
                trades(&public(&env, TRADES).await),
                json!([
                    { "sequence": "2", "price": "99", "quantity": "1" },
                    { "sequence": "1", "price": "100", "quantity": "2" },
                ])
            );
            let ticker = public(&env, TICKER).await;
            assert_eq!(
                ticker["market"]["ticker"],
                json!({ "last": "99", "bestBid": null, "bestAsk": "100", "volume24h": "3" })
            );
            assert_eq!(
                public(&env, MARKETS).await["markets"],
                json!([{ "symbol": "ACME-USD", "status": "OPEN" }])
            );
            m.close(&env).await;
        }
    })
    .await;
}
