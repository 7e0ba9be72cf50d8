//! A request costs what it really does (issue 17, items 4 and 5): each root mutation field is
//! charged, a mutation may not hide behind dozens of aliases, list arguments weigh in the
//! complexity, and made-up credentials are stopped by the address's limit before any of them
//! costs a lookup.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::{
    helpers::*,
    trading::{admin, credit, list_market},
};

/// `n` aliased `placeOrder`s of one lot at a price of 1 (a resting BUY).
fn aliased_orders(n: usize) -> String {
    let fields: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "o{i}: placeOrder(input: {{ market: \"ACME-USD\", side: BUY, type: LIMIT, price: \"1\", quantity: \"1\" }}) {{ id }}"
            )
        })
        .collect();
    format!("mutation {{ {} }}", fields.join(" "))
}

async fn post(app: &TestApp, body: Value, bearer: &str) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn every_aliased_mutation_is_charged_and_an_operation_may_hold_only_ten() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    let bot = app.register("bot@example.com").await;
    credit(&app, &admin, &bot, "USD", "10000").await;

    // Sixty-four aliased orders in one operation are refused outright, and none is placed.
    let (_, body) = post(
        &app,
        json!({ "query": aliased_orders(64) }),
        &bot.access_token,
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("64 mutations"),
        "{body}"
    );
    assert_eq!(app.my_order_count(&bot.access_token).await, 0);

    // A batch of ten operations of ten orders each costs a hundred cells: the whole burst
    // (let what the requests above spent come back first).
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let batch: Vec<Value> = (0..10)
        .map(|_| json!({ "query": aliased_orders(10) }))
        .collect();
    let (status, first) = post(&app, Value::Array(batch.clone()), &bot.access_token).await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = post(&app, Value::Array(batch), &bot.access_token).await;
    assert_eq!(
        status, 429,
        "the second hundred is over the limit: {second}"
    );
    assert_eq!(error_code(&second), "RATE_LIMITED");
    let placed = app.my_order_count(&bot.access_token).await;
    assert!(
        placed <= 100,
        "{placed} orders placed under a burst of 100 requests"
    );
}

#[tokio::test]
async fn a_query_that_asks_for_too_much_is_refused_by_its_complexity() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    let aliases: Vec<String> = (0..64)
        .map(|i| {
            format!(
                "m{i}: markets {{ candles(interval: M1, limit: 1000) {{ openTime open high low close volume }} trades(limit: 500) {{ id price quantity }} }}"
            )
        })
        .collect();
    let heavy = format!("{{ {} }}", aliases.join(" "));
    let body = app.gql(&heavy, json!({}), None).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("complexity"),
        "{body}"
    );
    assert!(body["data"].is_null());

    // The sizes may come from variables: they are weighed with the values sent.
    let by_variables = app
        .gql(
            "query($n: Int) { markets { candles(interval: M1, limit: $n) { open } } }",
            json!({ "n": 1_000_000 }),
            None,
        )
        .await;
    assert_eq!(
        error_code(&by_variables),
        "BAD_USER_INPUT",
        "{by_variables}"
    );

    // What a trading screen asks for goes through.
    let screen = app
        .gql(
            "query($m: String!) { market(symbol: $m) { orderBook(depth: 50) { sequence bids { price quantity orders } asks { price quantity orders } } trades(limit: 50) { id price quantity takerSide executedAt } candles(interval: M1, limit: 500) { openTime open high low close volume } } }",
            json!({ "m": "ACME-USD" }),
            None,
        )
        .await;
    assert_no_errors(&screen);
}

/// A key of the right shape that no one was ever given.
fn made_up_key(n: usize) -> String {
    format!("rlt_{:08}_{:0>43}", n % 100_000_000, n)
}

#[tokio::test]
async fn ten_thousand_made_up_api_keys_from_one_address_are_stopped_without_a_lookup_each() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let key = app
        .gql(
            "mutation { createApiKey(name: \"bot\", scopes: [READ]) { secret } }",
            json!({}),
            Some(&ann.access_token),
        )
        .await;
    assert_no_errors(&key);
    let secret = key["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.me(&secret).await["data"]["me"]["id"],
        ann.user_id.as_str()
    );
    let before = app.auth.api_key_lookups();

    // Malformed keys are refused by their shape alone.
    for bad in [
        "rlt_",
        "rlt_short",
        "rlt_!!!!!!!!_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ] {
        assert_eq!(error_code(&app.me(bad).await), "UNAUTHENTICATED");
    }
    assert_eq!(
        app.auth.api_key_lookups(),
        before,
        "no lookup for a malformed key"
    );

    // Ten thousand well-formed made-up keys, 64 in flight.
    let started = std::time::Instant::now();
    let statuses: Vec<u16> = futures_util::stream::iter(0..10_000)
        .map(|n| {
            let app = &app;
            async move {
                app.client
                    .post(app.url("/graphql"))
                    .bearer_auth(made_up_key(n))
                    .json(&json!({ "query": "{ me { id } }" }))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let limited = statuses.iter().filter(|s| **s == 429).count();
    let lookups = app.auth.api_key_lookups() - before;
    assert!(
        limited >= 9_800,
        "only {limited} of 10000 made-up keys were stopped by the limiter"
    );
    // The address's lookup budget (a burst of 20, then 5 a second) bounds the lookups,
    // however many keys arrive.
    let bound = 20 + 5 * (started.elapsed().as_secs() + 1);
    assert!(
        lookups <= bound && lookups < 500,
        "{lookups} database lookups for 10000 made-up keys (budget {bound})"
    );
}
