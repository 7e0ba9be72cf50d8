//! What one client may hold open is bounded (issue 17, item 3): a client that stops reading
//! is closed instead of growing the server's memory, and subscriptions per socket, sockets
//! per address and per account, and the size of a message each have a limit answered with
//! a documented close code.

use std::{num::NonZeroU32, time::Duration};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::{
    helpers::*,
    trading::{PLACE, admin, credit, limit, list_market},
    websocket::{Socket, close_code, connect, next_json, send},
};

async fn init(socket: &mut Socket, bearer: Option<&str>) {
    let payload = match bearer {
        Some(b) => json!({ "authorization": format!("Bearer {b}") }),
        None => json!({}),
    };
    send(
        socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
}

/// The resident memory of this process (the server runs in it), in bytes.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

async fn metric(app: &TestApp, line_prefix: &str) -> f64 {
    app.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix(line_prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_client_that_never_reads_a_busy_order_book_is_closed_and_memory_stays_bounded() {
    let app = spawn_app_with(|c| {
        c.http.sockets.max_queued_messages = 64;
        c.http.rate_limit_per_second = NonZeroU32::new(100_000).unwrap();
        c.http.rate_limit_burst = NonZeroU32::new(100_000).unwrap();
    })
    .await;
    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    let maker = app.register("maker@example.com").await;
    credit(&app, &admin, &maker, "ACME", "1000000").await;

    // A client with a small receive window subscribes to the book a hundred times over and
    // then never reads again.
    let addr: std::net::SocketAddr = app.addr.trim_start_matches("http://").parse().unwrap();
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp.connect(addr).await.unwrap();
    let mut req = format!("ws://{addr}/graphql")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (mut stalled, _) = tokio_tungstenite::client_async(req, stream).await.unwrap();
    init(&mut stalled, None).await;
    assert_eq!(next_json(&mut stalled).await["type"], "connection_ack");
    for n in 0..100 {
        send(
            &mut stalled,
            json!({ "id": n.to_string(), "type": "subscribe", "payload": { "query": "subscription { orderBook(market: \"ACME-USD\") { sequence bids { price quantity } asks { price quantity } } }" } }),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = resident_bytes();

    // The book moves: every resting order changes a visible level, a delta for each of the
    // hundred subscriptions.
    let mut closed = false;
    for round in 0..200 {
        let orders = (0..10).map(|i| {
            let price = format!("{}", 100 + (round + i) % 10);
            let app = &app;
            let token = maker.access_token.clone();
            async move {
                let body = app
                    .gql(PLACE, limit("SELL", &price, "1"), Some(&token))
                    .await;
                assert_no_errors(&body);
            }
        });
        futures_util::future::join_all(orders).await;
        if metric(&app, "rialto_websocket_closes_total{code=\"1013\"}").await >= 1.0 {
            closed = true;
            break;
        }
    }
    assert!(closed, "the client that stopped reading was never closed");
    let grown = resident_bytes().saturating_sub(before);
    assert!(
        grown < 64 * 1024 * 1024,
        "the server grew by {} MiB for one stalled client",
        grown / (1024 * 1024)
    );

    // What the kernel had buffered drains, and then the connection is gone.
    let drained = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(_)) = stalled.next().await {}
    })
    .await;
    assert!(drained.is_ok(), "the stalled socket was cut off");
}

#[tokio::test]
async fn one_subscription_more_than_the_limit_closes_the_socket_with_4429() {
    let app = spawn_app_with(|c| c.http.sockets.max_subscriptions = 3).await;
    let admin = admin(&app).await;
    list_market(&app, &admin).await;
    let mut socket = connect(&app).await;
    init(&mut socket, None).await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    for n in 0..4 {
        send(
            &mut socket,
            json!({ "id": n.to_string(), "type": "subscribe", "payload": { "query": "subscription { trades(market: \"ACME-USD\") { id } }" } }),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(close_code(&mut socket, Duration::from_secs(10)).await, 4429);
}

#[tokio::test]
async fn a_message_over_the_size_limit_closes_the_socket_with_1009() {
    let app = spawn_app().await;
    let mut socket = connect(&app).await;
    init(&mut socket, None).await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    let huge = format!(
        r#"{{"id":"1","type":"subscribe","payload":{{"query":"{{ markets {{ id }} }}","variables":{{"pad":"{}"}}}}}}"#,
        "x".repeat(1024 * 1024)
    );
    let _ = socket.send(Message::text(huge)).await;
    assert_eq!(close_code(&mut socket, Duration::from_secs(10)).await, 1009);
}

#[tokio::test]
async fn sockets_per_address_and_per_account_are_limited_with_4429() {
    let app = spawn_app_with(|c| {
        c.http.sockets.max_sockets_per_address = 4;
        c.http.sockets.max_sockets_per_account = 2;
    })
    .await;
    let ann = app.register("ann@example.com").await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = connect(&app).await;
        init(&mut s, Some(&ann.access_token)).await;
        assert_eq!(next_json(&mut s).await["type"], "connection_ack");
        held.push(s);
    }
    let mut third = connect(&app).await;
    init(&mut third, Some(&ann.access_token)).await;
    assert_eq!(
        close_code(&mut third, Duration::from_secs(10)).await,
        4429,
        "a third socket of one account"
    );

    // Two anonymous sockets fill the address's four places; the next one is refused.
    for _ in 0..2 {
        let mut s = connect(&app).await;
        init(&mut s, None).await;
        assert_eq!(next_json(&mut s).await["type"], "connection_ack");
        held.push(s);
    }
    let mut fifth = connect(&app).await;
    assert_eq!(
        close_code(&mut fifth, Duration::from_secs(10)).await,
        4429,
        "a fifth socket of one address"
    );

    // A place freed is a place to take again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect(&app).await;
    init(&mut again, None).await;
    assert_eq!(next_json(&mut again).await["type"], "connection_ack");
}
