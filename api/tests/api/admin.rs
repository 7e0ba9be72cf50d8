//! Admin acts through the gateway: they need the admin signed in; an admin's API key, even
//! one that may trade, lists nothing, halts nothing and credits nothing.

use serde_json::{Value, json};

use crate::{
    helpers::{Session, TestApp, assert_no_errors, error_code, spawn_app},
    trading::{admin, list_market},
};

const CREATE_KEY: &str =
    "mutation($s: [ApiScope!]!) { createApiKey(name: \"ops bot\", scopes: $s) { secret } }";
const CREATE_ASSET: &str = "mutation($i: CreateAssetInput!) { createAsset(input: $i) { symbol } }";
const CREATE_MARKET: &str =
    "mutation($i: CreateMarketInput!) { createMarket(input: $i) { symbol } }";
const HALT: &str =
    "mutation { setMarketStatus(market: \"ACME-USD\", status: HALTED) { symbol status } }";
const CREDIT: &str = "mutation($u: ID!) { creditBalance(userId: $u, asset: \"USD\", amount: \"1000000\") { total } }";
const STATE: &str = "{ assets { symbol } markets { symbol status } }";

fn gold() -> Value {
    json!({ "i": { "symbol": "GOLD", "name": "Gold", "kind": "commodity", "decimals": 3 } })
}

fn gold_market() -> Value {
    json!({ "i": { "base": "GOLD", "quote": "USD", "tickSize": "0.01", "lotSize": "1",
                   "minQuantity": "1", "makerFeeBps": 0, "takerFeeBps": 0 } })
}

async fn balances(app: &TestApp, who: &Session) -> Value {
    let body = app
        .gql(
            "{ myBalances { asset { symbol } total } }",
            json!({}),
            Some(&who.access_token),
        )
        .await;
    assert_no_errors(&body);
    body["data"]["myBalances"].clone()
}

#[tokio::test]
async fn an_admins_api_key_cannot_list_halt_or_credit_but_the_admin_signed_in_can() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    let carol = app.register("carol@example.com").await;

    // The admin makes a key that may read and trade, for a bot, and the key leaks.
    let body = app
        .gql(
            CREATE_KEY,
            json!({ "s": ["READ", "TRADE"] }),
            Some(&admin.access_token),
        )
        .await;
    assert_no_errors(&body);
    let key = body["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let before = app.gql(STATE, json!({}), None).await;

    for (what, query, vars) in [
        ("credit", CREDIT, json!({ "u": carol.user_id })),
        ("list an asset", CREATE_ASSET, gold()),
        ("list a market", CREATE_MARKET, gold_market()),
        ("halt a market", HALT, json!({})),
    ] {
        let body = app.gql(query, vars, Some(&key)).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{what} with a key: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("session"),
            "the refusal says what is needed: {body}"
        );
    }
    assert_eq!(app.gql(STATE, json!({}), None).await, before);
    assert_eq!(
        balances(&app, &carol).await,
        json!([]),
        "no money was minted"
    );

    // The same key still reads the admin's own account: it is a key, not a session.
    let body = app
        .gql("{ myBalances { total } }", json!({}), Some(&key))
        .await;
    assert_no_errors(&body);

    // Signed in, the admin does each of them.
    for (what, query, vars) in [
        ("credit", CREDIT, json!({ "u": carol.user_id })),
        ("list an asset", CREATE_ASSET, gold()),
        ("list a market", CREATE_MARKET, gold_market()),
        ("halt a market", HALT, json!({})),
    ] {
        let body = app.gql(query, vars, Some(&admin.access_token)).await;
        assert!(body.get("errors").is_none(), "{what} signed in: {body}");
    }
    assert_eq!(
        balances(&app, &carol).await,
        json!([{ "asset": { "symbol": "USD" }, "total": "1000000" }])
    );
    let after = app.gql(STATE, json!({}), None).await;
    assert!(
        after["data"]["markets"]
            .as_array()
            .unwrap()
            .contains(&json!({ "symbol": "ACME-USD", "status": "HALTED" })),
        "{after}"
    );
}
