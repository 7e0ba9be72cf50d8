//! The distributed deployment trades: `rialto auth`, `rialto brain`, `rialto matcher` and
//! `rialto gateway` as separate processes on PostgreSQL and Redis, driven through the
//! gateway alone, over HTTP and WebSocket, like a client.

use serde_json::{Value, json};

use crate::support::*;

const PLACE: &str =
    "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id status filledQuantity } }";

fn limit(side: &str, price: &str, qty: &str) -> Value {
    json!({ "i": { "market": "ACME-USD", "side": side, "type": "LIMIT", "price": price, "quantity": qty } })
}

async fn ok(stack: &Stack, token: &str, query: &str, vars: Value) -> Value {
    let body = stack.gql(query, vars, Some(token)).await;
    assert_no_errors(&body);
    body["data"].clone()
}

/// Logs in; the access token.
async fn login(stack: &Stack, email: &str) -> String {
    let body = stack
        .gql(
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({ "i": { "email": email, "password": PASSWORD } }),
            None,
        )
        .await;
    assert_no_errors(&body);
    body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_traders_cross_through_separate_auth_brain_matcher_and_gateway_processes() {
    let (Some(_), Some(redis)) = (
        std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()),
        std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()),
    ) else {
        eprintln!("needs DATABASE_URL and REDIS_URL: skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let db = database_url(tmp.path()).await;
    let prefix = format!("rialto-test-{}:", uuid::Uuid::new_v4().simple());
    let key = auth::keys::private_pem(&first_key()).unwrap();
    let shared = [
        ("DATABASE_URL", db.clone()),
        ("REDIS_URL", redis.clone()),
        ("RIALTO_REDIS_PREFIX", prefix.clone()),
        ("RIALTO_INTERNAL_SECRET", SECRET.to_string()),
    ];
    let mut auth_env = shared.to_vec();
    auth_env.push(("RIALTO_JWT_SIGNING_KEY", key));
    // auth migrates first; brain and the matcher start on the migrated schema.
    let auth_proc = spawn_rialto(&["auth", "--migrate"], &auth_env, &client).await;
    let brain_proc = spawn_rialto(&["brain"], &shared, &client).await;
    let mut matcher = tokio::process::Command::new(rialto_bin())
        .arg("matcher")
        .envs(shared.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let brain_url = brain_proc.url.clone();
    // Contexts signed for the subgraphs live 2 s here (60 s by default): long-lived sockets
    // must outlive several of them.
    let gateway = spawn_rialto(
        &[
            "gateway",
            "--internal-context-ttl-secs",
            "2",
            "--subgraph",
            &format!("auth={}", auth_proc.url),
            "--subgraph",
            &format!("brain={}", brain_url),
        ],
        &[("RIALTO_INTERNAL_SECRET", SECRET.to_string())],
        &client,
    )
    .await;
    let base = gateway.url.trim_end_matches("/graphql").to_string();
    let stack = Stack::over(
        &base,
        vec![
            ("auth".into(), auth_proc),
            ("brain".into(), brain_proc),
            ("gateway".into(), gateway),
        ],
        tmp,
    );

    // The first admin comes from the command line, as an operator would make it.
    let status = std::process::Command::new(rialto_bin())
        .args(["admin", "create-user", "--email", "admin@example.com"])
        .args(["--password", PASSWORD, "--role", "admin"])
        .env("DATABASE_URL", &db)
        .status()
        .unwrap();
    assert!(status.success());
    let admin = login(&stack, "admin@example.com").await;
    for (symbol, decimals) in [("USD", 2), ("ACME", 0)] {
        ok(
            &stack,
            &admin,
            "mutation($i: CreateAssetInput!) { createAsset(input: $i) { id } }",
            json!({ "i": { "symbol": symbol, "name": symbol, "kind": "cash", "decimals": decimals } }),
        )
        .await;
    }
    ok(
        &stack,
        &admin,
        "mutation($i: CreateMarketInput!) { createMarket(input: $i) { symbol } }",
        json!({ "i": { "base": "ACME", "quote": "USD", "tickSize": "0.01", "lotSize": "1",
                       "minQuantity": "1", "makerFeeBps": 0, "takerFeeBps": 0 } }),
    )
    .await;
    let (alice_id, alice) = stack.register("alice@example.com").await;
    let (bob_id, bob) = stack.register("bob@example.com").await;
    let credit = "mutation($u: ID!, $a: String!, $n: Decimal!) { creditBalance(userId: $u, asset: $a, amount: $n) { total } }";
    ok(
        &stack,
        &admin,
        credit,
        json!({ "u": alice_id, "a": "ACME", "n": "10" }),
    )
    .await;
    ok(
        &stack,
        &admin,
        credit,
        json!({ "u": bob_id, "a": "USD", "n": "100" }),
    )
    .await;

    // Bob watches his orders over the gateway's socket, which reaches brain's socket.
    let mut socket = ws_connect(&stack, Some(&bob)).await;
    ws_send(
        &mut socket,
        json!({ "id": "orders", "type": "subscribe", "payload": { "query": "subscription { myOrders { id status filledQuantity } }" } }),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let sell = ok(&stack, &alice, PLACE, limit("SELL", "5", "3")).await;
    assert_eq!(
        sell["placeOrder"]["status"], "OPEN",
        "the matcher process settles: {sell}"
    );
    let buy = ok(&stack, &bob, PLACE, limit("BUY", "5", "2")).await;
    assert_eq!(buy["placeOrder"]["status"], "FILLED", "{buy}");
    let event = ws_next(&mut socket).await;
    assert_eq!(
        event["payload"]["data"]["myOrders"],
        json!({ "id": buy["placeOrder"]["id"], "status": "FILLED", "filledQuantity": "2" }),
        "{event}"
    );

    // One query over both subgraphs: the email from auth, the balances from brain.
    let me = ok(
        &stack,
        &bob,
        "{ me { email balances { asset { symbol } available } } }",
        json!({}),
    )
    .await;
    assert_eq!(me["me"]["email"], "bob@example.com");
    assert_eq!(
        me["me"]["balances"],
        json!([
            { "asset": { "symbol": "ACME" }, "available": "2" },
            { "asset": { "symbol": "USD" }, "available": "90" },
        ])
    );
    // The brain's readiness names its Redis parts.
    let ready: Value = client
        .get(stack.procs[1].1.url.replace("/graphql", "/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ready,
        json!({ "status": "ready", "database": "ok", "bus": "ok", "cache": "ok" })
    );

    // Bob's socket outlives the context it was opened with (2 s, plus the subgraphs' 5 s of
    // leeway), and brain restarts under it: his subscription ends with an error, he
    // resubscribes on the same socket, and it works as him, because every fetch and every
    // upstream connect carries a freshly signed context.
    tokio::time::sleep(std::time::Duration::from_secs(9)).await;
    let mut stack = stack;
    stack.proc("brain").kill().await;
    let listen = brain_url
        .trim_start_matches("http://")
        .trim_end_matches("/graphql")
        .to_string();
    let restarted = spawn_rialto_at(&listen, &["brain"], &shared, &client).await;
    *stack.proc("brain") = restarted;
    let ended = ws_next(&mut socket).await;
    assert_eq!(
        ended["type"], "error",
        "the subscription ends with the upstream: {ended}"
    );
    ws_send(
        &mut socket,
        json!({ "id": "orders-again", "type": "subscribe", "payload": { "query": "subscription { myOrders { id status } }" } }),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let again = ok(&stack, &bob, PLACE, limit("BUY", "5", "1")).await;
    let event = ws_next(&mut socket).await;
    assert_eq!(event["id"], "orders-again", "{event}");
    assert_eq!(
        event["payload"]["data"]["myOrders"]["id"], again["placeOrder"]["id"],
        "the resubscribed stream is Bob's: {event}"
    );
    ws_send(
        &mut socket,
        json!({ "id": "balances", "type": "subscribe", "payload": { "query": "{ myBalances { asset { symbol } available } }" } }),
    )
    .await;
    let mut reply = ws_next(&mut socket).await;
    while reply["id"] != "balances" {
        reply = ws_next(&mut socket).await;
    }
    assert!(
        reply["payload"]["errors"].is_null(),
        "a query over the old socket runs as Bob: {reply}"
    );
    assert_eq!(
        reply["payload"]["data"]["myBalances"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{reply}"
    );

    // A second gateway replica hears the auth service's revocations on Redis: Bob signs in
    // on another device, watches his balances through replica B, signs out through replica
    // A, and B closes that socket with 4403 at once, with no token expiry or key re-check
    // involved.
    let gateway_b = spawn_rialto(
        &[
            "gateway",
            "--subgraph",
            &format!("auth={}", stack.procs[0].1.url),
            "--subgraph",
            &format!("brain={brain_url}"),
        ],
        &[
            ("RIALTO_INTERNAL_SECRET", SECRET.to_string()),
            ("REDIS_URL", redis.clone()),
            ("RIALTO_REDIS_PREFIX", prefix.clone()),
        ],
        &client,
    )
    .await;
    let device = stack
        .gql(
            "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken } }",
            json!({ "i": { "email": "bob@example.com", "password": PASSWORD } }),
            None,
        )
        .await;
    assert_no_errors(&device);
    let (access, refresh) = (
        device["data"]["login"]["accessToken"].as_str().unwrap(),
        device["data"]["login"]["refreshToken"].as_str().unwrap(),
    );
    let base_b = gateway_b.url.trim_end_matches("/graphql").to_string();
    let replica_b = Stack::over(
        &base_b,
        vec![("gateway".into(), gateway_b)],
        tempfile::tempdir().unwrap(),
    );
    let mut on_b = ws_connect(&replica_b, Some(access)).await;
    ws_send(
        &mut on_b,
        json!({ "id": "b", "type": "subscribe", "payload": { "query": "subscription { myBalances { available } }" } }),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let out = stack
        .gql(
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": refresh }),
            None,
        )
        .await;
    assert_eq!(out["data"]["logout"], true, "{out}");
    let closed = tokio::time::Instant::now();
    let frame = ws_next(&mut on_b).await;
    assert_eq!(frame["type"], "closed", "{frame}");
    assert!(
        frame["frame"].as_str().unwrap().contains("4403"),
        "closed as revoked: {frame}"
    );
    assert!(closed.elapsed() < std::time::Duration::from_secs(3));

    matcher.kill().await.unwrap();
    let conn = sea_orm::Database::connect(&db).await.unwrap();
    let report = brain::audit::run(&conn).await.unwrap();
    assert!(report.violations.is_empty(), "{report}");
}
