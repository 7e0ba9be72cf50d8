//! The trading load's subscription side against a scripted `graphql-transport-ws` server
//! (a stand-in for Rialto's gateway on a random port): the credential in
//! `connection_init`, the `myOrders` subscription, pings answered, and events correlated
//! with the orders sent by their `clientOrderId`.

#![allow(clippy::expect_used, missing_docs)]

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    response::Response,
    routing::get,
};
use loadgen::trading::{
    plan::{Ids, Tag},
    sockets::{self, OrdersSink, Probes, SocketStats},
    tracker::Tracker,
};
use serde_json::{Value, json};

const TOKEN: &str = "trader-token";

async fn next_json(socket: &mut WebSocket) -> Value {
    loop {
        match socket.recv().await.expect("open").expect("a frame") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("json"),
            Message::Close(_) => panic!("the client closed"),
            _ => {}
        }
    }
}

async fn send(socket: &mut WebSocket, v: Value) {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .expect("send");
}

fn order_event(client_order_id: &str, status: &str, filled: &str) -> Value {
    json!({ "id": "orders", "type": "next", "payload": { "data": { "myOrders": {
        "id": "1", "clientOrderId": client_order_id, "status": status, "filledQuantity": filled } } } })
}

/// What a Rialto gateway does on a socket, scripted: refuses a bad token with 4403; acks a
/// good one; after the `myOrders` subscribe, pings and waits for the pong; then streams the
/// events of one run (`r1`) and closes.
async fn script(mut socket: WebSocket) {
    let init = next_json(&mut socket).await;
    assert_eq!(init["type"], "connection_init");
    if init["payload"]["authorization"] != format!("Bearer {TOKEN}") {
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code: 4403,
                reason: "Forbidden".into(),
            })))
            .await;
        return;
    }
    send(&mut socket, json!({ "type": "connection_ack" })).await;
    let subscribe = next_json(&mut socket).await;
    assert_eq!(subscribe["type"], "subscribe");
    assert_eq!(subscribe["id"], "orders");
    let query = subscribe["payload"]["query"].as_str().expect("a query");
    assert!(
        query.contains("myOrders") && query.contains("clientOrderId"),
        "{query}"
    );

    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(next_json(&mut socket).await["type"], "pong");

    // The taker's fill arrives before anything else is known of it; the maker's OPEN; a
    // probe; an order of another run; a subscriber that fell behind.
    send(&mut socket, order_event("r1-3", "FILLED", "1")).await;
    send(&mut socket, order_event("r1-2", "OPEN", "0")).await;
    send(&mut socket, order_event("r1-p1x0", "CANCELLED", "0")).await;
    send(&mut socket, order_event("r0-3", "FILLED", "1")).await;
    send(
        &mut socket,
        json!({ "id": "orders", "type": "next", "payload": { "data": null,
                "errors": [{ "message": "fell behind the live stream" }] } }),
    )
    .await;
    let _ = socket.send(Message::Close(None)).await;
}

async fn gateway() -> String {
    let app = Router::new().route(
        "/graphql",
        get(|ws: WebSocketUpgrade| async move {
            let response: Response = ws.protocols(["graphql-transport-ws"]).on_upgrade(script);
            response
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("ws://{addr}/graphql")
}

#[tokio::test]
async fn my_orders_events_settle_and_time_the_orders_they_name() {
    let url = gateway().await;
    let tracker = Arc::new(Tracker::new().expect("tracker"));
    let t0 = Instant::now();
    tracker.open(t0, t0 + Duration::from_secs(60));
    let ids = Ids::new("r1");
    // Order 2 (a maker) and 3 (its taker) were sent just now.
    tracker.sent(2, t0, false);
    tracker.sent(3, t0, true);
    let sink = OrdersSink {
        ids: ids.clone(),
        tracker: tracker.clone(),
        probes: Arc::new(Probes::new(2)),
        stats: Arc::new(SocketStats::default()),
    };
    let socket = sockets::subscribe_orders(&url, TOKEN)
        .await
        .expect("the socket is accepted");
    tokio::time::timeout(
        Duration::from_secs(10),
        sockets::read_orders(socket, sink.clone(), tokio::sync::watch::channel(false).1),
    )
    .await
    .expect("the reader answers the ping and ends with the socket");

    assert_eq!(tracker.pending(), 0, "both orders settled");
    let (outcome, fills) = tracker.finish();
    assert_eq!(outcome.settled_in_window, 2);
    assert_eq!(outcome.fill_samples, 1);
    assert_eq!(
        outcome.unsettled + outcome.takers_unfilled + outcome.fill_events_missing,
        0
    );
    assert!(fills.max() < 10_000_000);
    assert!(sink.probes.seen(1) && !sink.probes.seen(0));
    // The lagging notice and the socket's end.
    assert_eq!(sink.stats.errors.load(Ordering::Relaxed), 2);
    // The order of another run.
    assert_eq!(sink.stats.other_events.load(Ordering::Relaxed), 1);
    assert_eq!(ids.parse("r1-3"), Some(Tag::Order(3)));
}

#[tokio::test]
async fn a_refused_token_is_an_error_at_connect() {
    let url = gateway().await;
    let error = sockets::subscribe_orders(&url, "forged")
        .await
        .expect_err("refused");
    assert!(format!("{error:#}").contains("closed"), "{error:#}");
}
