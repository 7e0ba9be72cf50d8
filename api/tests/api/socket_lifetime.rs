//! A WebSocket lives no longer than its credential (issue 17, item 1): it is closed with
//! 4403 when the access token expires, when its session ends (logout, password change) and
//! when its API key is revoked, and nothing runs on it after that moment.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    helpers::*,
    trading::{PLACE, admin, credit, limit, list_market},
    websocket::{Socket, close_code, connect, next_json, next_message, send},
};

/// Opens a socket as `bearer` and waits for the acknowledgement.
async fn open_as(app: &TestApp, bearer: &str) -> Socket {
    let mut socket = connect(app).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {bearer}") } }),
    )
    .await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    socket
}

#[tokio::test]
async fn a_socket_opened_with_a_two_second_token_is_closed_with_4403_when_it_expires() {
    let app = spawn_app_with(|c| c.auth.access_token_ttl_secs = 2).await;
    let ann = app.register("ann@example.com").await;
    let opened = Instant::now();
    let mut socket = open_as(&app, &ann.access_token).await;
    send(
        &mut socket,
        json!({ "id": "t", "type": "subscribe", "payload": { "query": "subscription { myBalances { total } }" } }),
    )
    .await;

    assert_eq!(close_code(&mut socket, Duration::from_secs(10)).await, 4403);
    let lived = opened.elapsed();
    assert!(
        lived >= Duration::from_millis(900) && lived < Duration::from_secs(4),
        "closed after {lived:?}, not at the token's expiry"
    );

    // The expired token cannot open another one, although its signature still verifies.
    let mut again = connect(&app).await;
    send(
        &mut again,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", ann.access_token) } }),
    )
    .await;
    assert_eq!(close_code(&mut again, Duration::from_secs(5)).await, 4403);

    // A fresh token from the refresh token opens a working socket again.
    let fresh = app.try_refresh(&ann.refresh_token).await;
    assert_no_errors(&fresh);
    let token = fresh["data"]["refresh"]["accessToken"].as_str().unwrap();
    let mut renewed = open_as(&app, token).await;
    send(
        &mut renewed,
        json!({ "id": "me", "type": "subscribe", "payload": { "query": "{ me { id } }" } }),
    )
    .await;
    assert_eq!(
        next_json(&mut renewed).await["payload"]["data"]["me"]["id"],
        ann.user_id.as_str()
    );

    let metrics = app.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("rialto_websocket_closes_total{code=\"4403\"}")),
        "4403 closes are counted"
    );
}

#[tokio::test]
async fn a_revoked_api_keys_socket_is_closed_and_its_next_order_never_executes() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    let bot_owner = app.register("bots@example.com").await;
    credit(&app, &admin, &bot_owner, "USD", "1000").await;
    let key = app
        .gql(
            "mutation { createApiKey(name: \"bot\", scopes: [READ, TRADE]) { apiKey { id } secret } }",
            json!({}),
            Some(&bot_owner.access_token),
        )
        .await;
    assert_no_errors(&key);
    let key_id = key["data"]["createApiKey"]["apiKey"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = key["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_string();

    let mut socket = open_as(&app, &secret).await;
    // The key trades over its socket while it is valid.
    let place = |id: &str| json!({ "id": id, "type": "subscribe", "payload": { "query": PLACE, "variables": limit("BUY", "1", "1") } });
    send(&mut socket, place("before")).await;
    let placed = next_json(&mut socket).await;
    assert_eq!(placed["type"], "next", "{placed}");
    assert!(placed["payload"]["errors"].is_null(), "{placed}");
    assert_eq!(next_json(&mut socket).await["type"], "complete");
    assert_eq!(app.my_order_count(&bot_owner.access_token).await, 1);

    let revoked = app
        .gql(
            "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
            json!({ "id": key_id }),
            Some(&bot_owner.access_token),
        )
        .await;
    assert_no_errors(&revoked);

    // The very next order over the socket is refused by closing it; it never executes.
    use futures_util::SinkExt;
    let _ = socket.send(Message::text(place("after").to_string())).await;
    assert_eq!(close_code(&mut socket, Duration::from_secs(6)).await, 4403);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.my_order_count(&bot_owner.access_token).await,
        1,
        "the order sent after revocation was not placed"
    );
}

#[tokio::test]
async fn a_logout_closes_the_sessions_sockets_and_refuses_its_access_token() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    // A second session of the same account (another device) is not affected.
    let other = app.login("ann@example.com", PASSWORD).await;
    let mut socket = open_as(&app, &ann.access_token).await;
    let mut other_socket = open_as(&app, &other.access_token).await;

    let out = app
        .gql(
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": ann.refresh_token }),
            None,
        )
        .await;
    assert_eq!(out["data"]["logout"], true, "{out}");
    assert_eq!(close_code(&mut socket, Duration::from_secs(5)).await, 4403);
    assert_eq!(
        error_code(&app.me(&ann.access_token).await),
        "UNAUTHENTICATED"
    );

    send(
        &mut other_socket,
        json!({ "id": "me", "type": "subscribe", "payload": { "query": "{ me { id } }" } }),
    )
    .await;
    assert_eq!(
        next_json(&mut other_socket).await["payload"]["data"]["me"]["id"],
        ann.user_id.as_str()
    );
}

#[tokio::test]
async fn a_password_change_closes_every_socket_of_the_account() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let phone = app.login("ann@example.com", PASSWORD).await;
    let mut desk_socket = open_as(&app, &ann.access_token).await;
    let mut phone_socket = open_as(&app, &phone.access_token).await;

    let changed = app
        .gql(
            "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }",
            json!({ "c": PASSWORD, "n": "a whole new passphrase of mine" }),
            Some(&ann.access_token),
        )
        .await;
    assert_no_errors(&changed);
    assert_eq!(
        close_code(&mut desk_socket, Duration::from_secs(5)).await,
        4403
    );
    assert_eq!(
        close_code(&mut phone_socket, Duration::from_secs(5)).await,
        4403
    );

    // Signing in with the new password opens a working socket at once.
    let again = app
        .login("ann@example.com", "a whole new passphrase of mine")
        .await;
    let mut socket = open_as(&app, &again.access_token).await;
    send(
        &mut socket,
        json!({ "id": "me", "type": "subscribe", "payload": { "query": "{ me { id } }" } }),
    )
    .await;
    let me: Value = next_json(&mut socket).await;
    assert_eq!(me["payload"]["data"]["me"]["id"], ann.user_id.as_str());
    let _ = next_message(&mut socket).await;
}
