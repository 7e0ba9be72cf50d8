//! GraphQL over WebSocket (`graphql-transport-ws`) at `/graphql`, authenticated by the
//! `connection_init` payload.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::helpers::*;

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads until the server's close frame (skipping data and pings) and returns its code.
pub(crate) async fn close_code(socket: &mut Socket, within: std::time::Duration) -> u16 {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("the socket is closed in time");
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
            Some(Ok(Message::Close(None))) | None => panic!("closed without a code"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("the socket failed instead of closing: {e}"),
        }
    }
}

pub(crate) async fn connect(app: &TestApp) -> Socket {
    connect_to(&app.addr).await
}

pub(crate) async fn connect_to(addr: &str) -> Socket {
    let url = addr.replace("http://", "ws://") + "/graphql";
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (socket, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        resp.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    socket
}

pub(crate) async fn next_message(socket: &mut Socket) -> Message {
    tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
        .await
        .expect("a message within 10 s")
        .expect("the socket is open")
        .expect("a valid frame")
}

pub(crate) async fn next_json(socket: &mut Socket) -> Value {
    loop {
        match next_message(socket).await {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

pub(crate) async fn send(socket: &mut Socket, v: Value) {
    socket.send(Message::text(v.to_string())).await.unwrap();
}

#[tokio::test]
async fn an_authenticated_socket_runs_operations() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let mut socket = connect(&app).await;
    send(&mut socket, json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", ann.access_token) } })).await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");

    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ me { id email } }" } }),
    )
    .await;
    let next = next_json(&mut socket).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(next["id"], "1");
    assert_eq!(next["payload"]["data"]["me"]["id"], ann.user_id.as_str());
    assert_eq!(next_json(&mut socket).await["type"], "complete");
}

#[tokio::test]
async fn a_socket_with_a_bad_token_is_closed_with_4403() {
    let app = spawn_app().await;
    let mut socket = connect(&app).await;
    send(&mut socket, json!({ "type": "connection_init", "payload": { "authorization": "Bearer forged.token.here" } })).await;
    match next_message(&mut socket).await {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 4403),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn an_anonymous_socket_is_anonymous() {
    let app = spawn_app().await;
    let mut socket = connect(&app).await;
    send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({ "id": "a", "type": "subscribe", "payload": { "query": "{ me { id } }" } }),
    )
    .await;
    let next = next_json(&mut socket).await;
    assert_eq!(next["payload"]["data"]["me"], Value::Null);
}

#[tokio::test]
async fn a_trader_sees_their_order_fill_live_through_the_gateway() {
    use crate::trading::{PLACE, admin, credit, limit, list_market};
    let app = spawn_app().await;
    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    let alice = app.register("alice@example.com").await;
    let bob = app.register("bob@example.com").await;
    credit(&app, &admin, &alice, "ACME", "10").await;
    credit(&app, &admin, &bob, "USD", "100").await;

    let mut socket = connect(&app).await;
    send(&mut socket, json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", bob.access_token) } })).await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({ "id": "orders", "type": "subscribe", "payload": { "query": "subscription { myOrders { id status filledQuantity market { symbol } } }" } }),
    )
    .await;
    // The subscription reaches the bus on the gateway's first upstream poll.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let sell = app
        .gql(PLACE, limit("SELL", "5", "3"), Some(&alice.access_token))
        .await;
    assert_no_errors(&sell);
    let buy = app
        .gql(PLACE, limit("BUY", "5", "2"), Some(&bob.access_token))
        .await;
    assert_no_errors(&buy);
    let event = next_json(&mut socket).await;
    assert_eq!(event["type"], "next", "{event}");
    assert_eq!(
        event["payload"]["data"]["myOrders"],
        json!({ "id": buy["data"]["placeOrder"]["id"], "status": "FILLED", "filledQuantity": "2", "market": { "symbol": "ACME-USD" } })
    );
}

#[tokio::test]
async fn a_server_told_to_stop_closes_its_sockets_with_1012_and_exits_cleanly() {
    // The real binary, so that the signal and the drain are the real ones.
    let data = tempfile::tempdir().unwrap();
    let server =
        crate::helpers::start_rialto(&["serve", "--listen", "127.0.0.1:0"], data.path(), &[]).await;
    let addr = server.base_url();
    let (_, ann, _) = client::Client::new(format!("{addr}/graphql"))
        .register("ann@example.com", "correct horse battery staple", "Ann")
        .await
        .unwrap();

    // Ann watches her balances.
    let mut socket = connect_to(&addr).await;
    send(&mut socket, json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", ann.access_token) } })).await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { myBalances { available } }" } }),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // A deploy stops the server: her socket is closed with "service restart", so her client
    // knows to reconnect (elsewhere) rather than give up, and the process exits cleanly.
    server.terminate().unwrap();
    let close = loop {
        match next_message(&mut socket).await {
            Message::Close(frame) => break frame.expect("a close frame with a code"),
            Message::Ping(_) | Message::Pong(_) | Message::Text(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    };
    assert_eq!(u16::from(close.code), 1012, "{close:?}");
    let exit = server
        .exit_within(std::time::Duration::from_secs(10))
        .await
        .expect("the server exits within 10 s");
    assert!(exit.success, "{exit}");
}
