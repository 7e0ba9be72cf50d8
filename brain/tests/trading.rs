//! Trading stories through the brain schema with the real matcher running beside it on the
//! same database and bus: SQLite in memory, and a fresh PostgreSQL database when
//! `DATABASE_URL` is set. After every story the ledger audit must pass.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use common::{Caller, Identity};
use entity::{balances, orders};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use support::{Env, Market, code, credit, each_backend, exec, ok, read_key};

const PLACE: &str = "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
  id clientOrderId side type timeInForce postOnly price quantity filledQuantity averagePrice
  status reason market { symbol } fills { price quantity fee feeAsset liquidity } } }";

fn limit(side: &str, price: &str, qty: &str) -> Value {
    json!({ "i": { "market": "ACME-USD", "side": side, "type": "LIMIT", "price": price, "quantity": qty } })
}

async fn place(env: &Env, who: &Identity, input: Value) -> Value {
    ok(env, who, PLACE, input).await["placeOrder"].clone()
}

async fn place_err(env: &Env, who: &Identity, input: Value) -> Value {
    exec(env, Caller::Known(who.clone()), PLACE, input).await
}

/// `(available, held)` of a user's balance in `symbol`, as the API shows them.
async fn balance(env: &Env, who: &Identity, symbol: &str) -> (String, String) {
    let data = ok(
        env,
        who,
        "{ myBalances { asset { symbol } available held } }",
        json!({}),
    )
    .await;
    data["myBalances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["asset"]["symbol"] == symbol)
        .map_or(("0".into(), "0".into()), |b| {
            (
                b["available"].as_str().unwrap().into(),
                b["held"].as_str().unwrap().into(),
            )
        })
}

/// Rows that a refused request must not have changed.
async fn footprint(env: &Env) -> (u64, Vec<entity::balances::Model>) {
    let orders = orders::Entity::find().count(&env.db).await.unwrap();
    let mut b = balances::Entity::find().all(&env.db).await.unwrap();
    b.sort_by_key(|b| (b.user_id, b.asset_id));
    (orders, b)
}

#[tokio::test]
async fn two_traders_cross_at_the_makers_price_with_fees_and_a_refund() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        let sell = place(&env, &m.alice, limit("SELL", "100", "10")).await;
        assert_eq!(sell["status"], "OPEN", "{sell}");
        assert_eq!(balance(&env, &m.alice, "ACME").await, ("90".into(), "10".into()));

        let buy = place(&env, &m.bob, limit("BUY", "101", "4")).await;
        assert_eq!(buy["status"], "FILLED", "{buy}");
        assert_eq!(buy["filledQuantity"], "4");
        assert_eq!(buy["averagePrice"], "100");
        assert_eq!(
            buy["fills"],
            json!([{ "price": "100", "quantity": "4", "fee": "0.8", "feeAsset": "USD", "liquidity": "TAKER" }])
        );
        // Bob paid 400.00 and a 0.80 taker fee; the rest of his hold at 101 came back.
        assert_eq!(balance(&env, &m.bob, "USD").await, ("9599.2".into(), "0".into()));
        assert_eq!(balance(&env, &m.bob, "ACME").await, ("4".into(), "0".into()));
        // Alice received 400.00 less her 0.40 maker fee; 6 ACME are still held.
        assert_eq!(balance(&env, &m.alice, "USD").await, ("399.6".into(), "0".into()));
        assert_eq!(balance(&env, &m.alice, "ACME").await, ("90".into(), "6".into()));

        let orders = ok(&env, &m.alice, "{ myOrders { edges { node { id status filledQuantity } } } }", json!({})).await;
        assert_eq!(orders["myOrders"]["edges"][0]["node"]["status"], "PARTIALLY_FILLED");
        let fills = ok(&env, &m.alice, "{ myFills { edges { node { side liquidity fee quantity } } } }", json!({})).await;
        assert_eq!(
            fills["myFills"]["edges"],
            json!([{ "node": { "side": "SELL", "liquidity": "MAKER", "fee": "0.4", "quantity": "4" } }])
        );
        m.close(&env).await;
    })
    .await;
}

#[tokio::test]
async fn every_kind_of_bad_number_is_refused_and_changes_nothing() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        let before = footprint(&env).await;
        let cases = [
            limit("BUY", "100.001", "1"),
            limit("BUY", "0", "1"),
            limit("BUY", "-5", "1"),
            limit("BUY", "abc", "1"),
            limit("BUY", "1234567890123456789012345678901234567890", "1"),
            limit("BUY", "100", "0"),
            limit("BUY", "100", "-1"),
            limit("BUY", "100", "1.5"),
            limit("BUY", "100", "abc"),
            limit("BUY", "100", "1234567890123456789012345678901234567890"),
            limit("BUY", "1e3", "1"),
            limit("BUY", " 100", "1"),
            json!({ "i": { "market": "ACME-USD", "side": "BUY", "type": "LIMIT", "quantity": "1" } }),
            json!({ "i": { "market": "ACME-USD", "side": "BUY", "type": "MARKET", "price": "1", "quantity": "1" } }),
            json!({ "i": { "market": "ACME-USD", "side": "SELL", "type": "LIMIT", "price": "100", "quantity": "1",
                           "clientOrderId": "has space" } }),
        ];
        for input in cases {
            let resp = place_err(&env, &m.bob, input.clone()).await;
            assert_eq!(code(&resp), "BAD_USER_INPUT", "{input} → {resp}");
        }
        let unknown = place_err(&env, &m.bob, json!({ "i": { "market": "NOPE-USD", "side": "BUY", "type": "LIMIT", "price": "1", "quantity": "1" } })).await;
        assert_eq!(code(&unknown), "NOT_FOUND");
        assert_eq!(footprint(&env).await, before, "a refused order changed something");
        m.close(&env).await;
    })
    .await;
}

#[tokio::test]
async fn insufficient_funds_read_only_keys_and_halted_markets_are_refused() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        let before = footprint(&env).await;
        let broke = place_err(&env, &m.bob, limit("BUY", "100", "101")).await;
        assert_eq!(code(&broke), "INSUFFICIENT_FUNDS", "{broke}");
        let nothing = place_err(&env, &m.alice, limit("BUY", "100", "1")).await;
        assert_eq!(code(&nothing), "INSUFFICIENT_FUNDS");
        let read_only = place_err(&env, &read_key(&m.bob), limit("BUY", "100", "1")).await;
        assert_eq!(code(&read_only), "FORBIDDEN");
        assert_eq!(footprint(&env).await, before);

        let resting = place(&env, &m.alice, limit("SELL", "100", "5")).await;
        ok(
            &env,
            &m.admin,
            "mutation { setMarketStatus(market: \"ACME-USD\", status: HALTED) { status } }",
            json!({}),
        )
        .await;
        let halted = place_err(&env, &m.bob, limit("BUY", "100", "1")).await;
        assert_eq!(code(&halted), "MARKET_HALTED");
        // A halted market still lets traders take their orders out.
        let cancelled = ok(
            &env,
            &m.alice,
            "mutation($id: ID!) { cancelOrder(id: $id) { status reason } }",
            json!({ "id": resting["id"] }),
        )
        .await;
        assert_eq!(
            cancelled["cancelOrder"],
            json!({ "status": "CANCELLED", "reason": "CANCELLED_BY_OWNER" })
        );
        assert_eq!(
            balance(&env, &m.alice, "ACME").await,
            ("100".into(), "0".into())
        );
        m.close(&env).await;
    })
    .await;
}

#[tokio::test]
async fn a_retry_with_the_same_client_order_id_returns_the_same_order() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        let mut input = limit("SELL", "100", "3");
        input["i"]["clientOrderId"] = json!("my-sell-1");
        let first = place(&env, &m.alice, input.clone()).await;
        let again = place(&env, &m.alice, input).await;
        assert_eq!(first["id"], again["id"]);
        assert_eq!(first["clientOrderId"], "my-sell-1");
        assert_eq!(
            balance(&env, &m.alice, "ACME").await,
            ("97".into(), "3".into())
        );
        m.close(&env).await;
    })
    .await;
}

#[tokio::test]
async fn orders_sent_at_once_share_a_commit_and_each_gets_its_own_answer() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        // Alice's 100 ACME cover ten of these eleven sells; Bob sends one buy twice under
        // the same client order id; and one order is not a tick multiple. All at once, so
        // the place path takes them in one transaction.
        let mut sends = Vec::new();
        for _ in 0..11 {
            sends.push((m.alice.clone(), limit("SELL", "100", "10")));
        }
        let mut retry = limit("BUY", "50", "1");
        retry["i"]["clientOrderId"] = json!("bob-once");
        sends.push((m.bob.clone(), retry.clone()));
        sends.push((m.bob.clone(), retry));
        sends.push((m.bob.clone(), limit("BUY", "50.001", "1")));
        let answers = futures_util::future::join_all(
            sends
                .iter()
                .map(|(who, input)| place_err(&env, who, input.clone())),
        )
        .await;

        let sells = &answers[..11];
        let open = sells
            .iter()
            .filter(|a| a["data"]["placeOrder"]["status"] == "OPEN")
            .count();
        let short = sells
            .iter()
            .filter(|a| a.get("errors").is_some() && code(a) == "INSUFFICIENT_FUNDS")
            .count();
        assert_eq!((open, short), (10, 1), "{answers:#?}");
        let (first, again) = (
            &answers[11]["data"]["placeOrder"],
            &answers[12]["data"]["placeOrder"],
        );
        assert_eq!(first["id"], again["id"], "{answers:#?}");
        assert!(first["id"].is_string(), "{answers:#?}");
        assert_eq!(code(&answers[13]), "BAD_USER_INPUT");
        assert_eq!(
            balance(&env, &m.alice, "ACME").await,
            ("0".into(), "100".into())
        );
        // One buy held: 50.00 and its 0.10 taker fee at most.
        assert_eq!(
            balance(&env, &m.bob, "USD").await,
            ("9949.9".into(), "50.1".into())
        );
        m.close(&env).await;
    })
    .await;
}

#[tokio::test]
async fn another_users_order_is_invisible_and_untouchable() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        let sell = place(&env, &m.alice, limit("SELL", "100", "3")).await;
        let peek = ok(
            &env,
            &m.bob,
            "query($id: ID!) { order(id: $id) { id } }",
            json!({ "id": sell["id"] }),
        )
        .await;
        assert_eq!(peek["order"], Value::Null);
        let cancel = exec(
            &env,
            Caller::Known(m.bob.clone()),
            "mutation($id: ID!) { cancelOrder(id: $id) { id } }",
            json!({ "id": sell["id"] }),
        )
        .await;
        assert_eq!(code(&cancel), "NOT_FOUND");
        let mine = ok(
            &env,
            &m.bob,
            "{ myOrders { edges { node { id } } } }",
            json!({}),
        )
        .await;
        assert_eq!(mine["myOrders"]["edges"], json!([]));
        let all = ok(
            &env,
            &m.bob,
            "mutation { cancelAllOrders { id } }",
            json!({}),
        )
        .await;
        assert_eq!(all["cancelAllOrders"], json!([]));
        let own = ok(
            &env,
            &m.alice,
            "query($id: ID!) { order(id: $id) { status } }",
            json!({ "id": sell["id"] }),
        )
        .await;
        assert_eq!(own["order"]["status"], "OPEN");
        m.close(&env).await;
    })
    .await;
}

#[tokio::test]
async fn ioc_fok_post_only_market_orders_and_self_trade_prevention() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        credit(&env, &m.admin, &m.alice, "USD", "1000").await;
        place(&env, &m.alice, limit("SELL", "100", "5")).await;

        // FOK for more than the book has: rejected, nothing traded, hold released.
        let mut fok = limit("BUY", "100", "6");
        fok["i"]["timeInForce"] = json!("FOK");
        let fok = place(&env, &m.bob, fok).await;
        assert_eq!((fok["status"].as_str(), fok["reason"].as_str()), (Some("REJECTED"), Some("FOK_NOT_FILLABLE")));

        // IOC takes what is there and the rest expires.
        let mut ioc = limit("BUY", "100", "2");
        ioc["i"]["timeInForce"] = json!("IOC");
        let ioc = place(&env, &m.bob, ioc).await;
        assert_eq!(ioc["status"], "FILLED");

        // Post-only that would cross is rejected.
        let mut post = limit("BUY", "100", "1");
        post["i"]["postOnly"] = json!(true);
        let post = place(&env, &m.bob, post).await;
        assert_eq!((post["status"].as_str(), post["reason"].as_str()), (Some("REJECTED"), Some("POST_ONLY_WOULD_CROSS")));

        // A market buy (now that there is a last price) takes the remaining 3 and expires.
        let market = place(&env, &m.bob, json!({ "i": { "market": "ACME-USD", "side": "BUY", "type": "MARKET", "quantity": "4" } })).await;
        assert_eq!(market["filledQuantity"], "3", "{market}");
        assert_eq!((market["status"].as_str(), market["reason"].as_str()), (Some("CANCELLED"), Some("MARKET_REMAINDER_EXPIRED")));

        // Alice's own resting buy is cancelled when her sell would trade with it.
        let own_bid = place(&env, &m.alice, limit("BUY", "99", "1")).await;
        let sell = place(&env, &m.alice, limit("SELL", "99", "1")).await;
        let own_bid = ok(&env, &m.alice, "query($id: ID!) { order(id: $id) { status reason } }", json!({ "id": own_bid["id"] })).await;
        assert_eq!(own_bid["order"], json!({ "status": "CANCELLED", "reason": "SELF_TRADE_PREVENTED" }));
        assert_eq!(sell["status"], "OPEN");

        // Cancel all releases every hold.
        let all = ok(&env, &m.alice, "mutation { cancelAllOrders(market: \"ACME-USD\") { status } }", json!({})).await;
        assert_eq!(all["cancelAllOrders"], json!([{ "status": "CANCELLED" }]));
        let (_, held) = balance(&env, &m.alice, "ACME").await;
        assert_eq!(held, "0");
        m.close(&env).await;
    })
    .await;
}

/// Starts a subscription as `who` and forwards its events (their `data`) to a channel. The
/// stream is polled at once, so the subscription is live before the function returns
/// (async-graphql resolves a subscription field on the first poll).
async fn subscribe(
    env: &Env,
    who: &Identity,
    query: &str,
) -> tokio::sync::mpsc::UnboundedReceiver<Value> {
    use futures_util::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut stream = env
        .schema
        .execute_stream(async_graphql::Request::new(query).data(Caller::Known(who.clone())));
    tokio::spawn(async move {
        while let Some(resp) = stream.next().await {
            let v = serde_json::to_value(resp).unwrap();
            assert!(v.get("errors").is_none(), "{v}");
            if tx.send(v["data"].clone()).is_err() {
                break;
            }
        }
    });
    // Give the spawned task its first poll (the bus subscription happens there).
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    rx
}

/// The next `n` events of a subscription, within five seconds.
async fn next_events(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Value>, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..n {
        let v = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
            .await
            .expect("an event within 5 s")
            .expect("the stream is open");
        out.push(v);
    }
    out
}

#[tokio::test]
async fn my_orders_and_my_balances_see_every_change_of_their_owner_and_nothing_of_others() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        let mut alice_orders = subscribe(
            &env,
            &m.alice,
            "subscription { myOrders { id status filledQuantity } }",
        )
        .await;
        let mut bob_orders =
            subscribe(&env, &m.bob, "subscription { myOrders { id status } }").await;
        let mut bob_balances = subscribe(
            &env,
            &m.bob,
            "subscription { myBalances { asset { symbol } available held } }",
        )
        .await;

        let sell = place(&env, &m.alice, limit("SELL", "100", "5")).await;
        let first = next_events(&mut alice_orders, 1).await;
        assert_eq!(
            first[0]["myOrders"],
            json!({ "id": sell["id"], "status": "OPEN", "filledQuantity": "0" })
        );

        let buy = place(&env, &m.bob, limit("BUY", "100", "2")).await;
        let alice_next = next_events(&mut alice_orders, 1).await;
        assert_eq!(alice_next[0]["myOrders"]["status"], "PARTIALLY_FILLED");
        assert_eq!(alice_next[0]["myOrders"]["filledQuantity"], "2");
        // Bob sees only his own order: the first event on his stream is his buy, filled.
        let bob_next = next_events(&mut bob_orders, 1).await;
        assert_eq!(
            bob_next[0]["myOrders"],
            json!({ "id": buy["id"], "status": "FILLED" })
        );
        // And his balances after the trade: 2 ACME in, 200.40 USD out (fee 0.40).
        let balances = next_events(&mut bob_balances, 2).await;
        let mut seen: Vec<Value> = balances.iter().map(|b| b["myBalances"].clone()).collect();
        seen.sort_by_key(|b| b["asset"]["symbol"].as_str().unwrap().to_owned());
        assert_eq!(
            seen,
            vec![
                json!({ "asset": { "symbol": "ACME" }, "available": "2", "held": "0" }),
                json!({ "asset": { "symbol": "USD" }, "available": "9799.6", "held": "0" }),
            ]
        );
        // Nothing of Alice's reached Bob.
        let quiet =
            tokio::time::timeout(std::time::Duration::from_millis(300), bob_orders.recv()).await;
        assert!(
            quiet.is_err(),
            "Bob's stream carried someone else's order: {quiet:?}"
        );
        m.close(&env).await;
    })
    .await;
}

/// Events of a subscription until it has been quiet for half a second.
async fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(Some(v)) =
        tokio::time::timeout(std::time::Duration::from_millis(500), rx.recv()).await
    {
        out.push(v);
    }
    out
}

/// A client's book: `price → (quantity, orders)` per side, from a snapshot and deltas.
#[derive(Default, Debug, PartialEq)]
struct ClientBook {
    bids: std::collections::BTreeMap<String, (String, i64)>,
    asks: std::collections::BTreeMap<String, (String, i64)>,
}

impl ClientBook {
    fn apply(&mut self, update: &Value) {
        if update["snapshot"] == true {
            *self = Self::default();
        }
        for (side, book) in [("bids", &mut self.bids), ("asks", &mut self.asks)] {
            for l in update[side].as_array().unwrap() {
                let price = l["price"].as_str().unwrap().to_owned();
                if l["quantity"] == "0" {
                    book.remove(&price);
                } else {
                    book.insert(
                        price,
                        (
                            l["quantity"].as_str().unwrap().to_owned(),
                            l["orders"].as_i64().unwrap(),
                        ),
                    );
                }
            }
        }
    }

    fn of_query(book: &Value) -> Self {
        let mut me = Self::default();
        me.apply(&json!({ "snapshot": true, "bids": book["bids"], "asks": book["asks"] }));
        me
    }
}

#[tokio::test]
async fn the_book_snapshot_then_deltas_rebuild_exactly_the_book_the_query_returns() {
    each_backend(|env| async move {
        let m = Market::open(&env).await;
        // A book before anyone subscribes: three ask levels, one bid.
        for (price, qty) in [("101", "2"), ("102", "3"), ("103", "4")] {
            place(&env, &m.alice, limit("SELL", price, qty)).await;
        }
        place(&env, &m.bob, limit("BUY", "99", "5")).await;

        let book = "subscription { orderBook(market: \"ACME-USD\", depth: 2) { market sequence snapshot bids { price quantity orders } asks { price quantity orders } } }";
        let mut updates = subscribe(&env, &m.bob, book).await;
        let mut tape = subscribe(&env, &m.bob, "subscription { trades(market: \"ACME-USD\") { price quantity takerSide sequence } }").await;
        let first = next_events(&mut updates, 1).await.remove(0)["orderBook"].clone();
        assert_eq!(first["snapshot"], true);
        assert_eq!(first["asks"], json!([{ "price": "101", "quantity": "2", "orders": 1 }, { "price": "102", "quantity": "3", "orders": 1 }]));

        // The best ask is taken, a level is added inside the view, one below it, and a bid.
        place(&env, &m.bob, limit("BUY", "101", "2")).await;
        place(&env, &m.alice, limit("SELL", "102", "1")).await;
        place(&env, &m.alice, limit("SELL", "110", "1")).await;
        let bid = place(&env, &m.bob, limit("BUY", "100", "1")).await;
        ok(&env, &m.bob, "mutation($id: ID!) { cancelOrder(id: $id) { status } }", json!({ "id": bid["id"] })).await;

        let mut client = ClientBook::default();
        client.apply(&first);
        let mut last_seq: i64 = first["sequence"].as_str().unwrap().parse().unwrap();
        for u in drain(&mut updates).await {
            let u = &u["orderBook"];
            assert_eq!(u["snapshot"], false, "no resync expected: {u}");
            let seq: i64 = u["sequence"].as_str().unwrap().parse().unwrap();
            assert!(seq > last_seq, "sequences increase: {seq} after {last_seq}");
            last_seq = seq;
            client.apply(u);
        }
        let query = ok(&env, &m.bob, "{ market(symbol: \"ACME-USD\") { orderBook(depth: 2) { bids { price quantity orders } asks { price quantity orders } } } }", json!({})).await;
        let expected = ClientBook::of_query(&query["market"]["orderBook"]);
        assert_eq!(client, expected);
        // 102 now has two orders; 103 became visible once 101 was taken.
        assert_eq!(expected.asks.get("102"), Some(&("4".to_owned(), 2)));
        assert!(expected.asks.contains_key("103"));

        let trades = drain(&mut tape).await;
        assert_eq!(trades.len(), 1, "{trades:?}");
        assert_eq!(trades[0]["trades"], json!({ "price": "101", "quantity": "2", "takerSide": "BUY", "sequence": "1" }));
        m.close(&env).await;
    })
    .await;
}
