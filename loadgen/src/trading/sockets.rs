//! The subscriptions of a trading run: each trader's `myOrders` (settlement and fill
//! events, fed to the [`Tracker`]) and one `trades(market)` (counted).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Instant,
};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::{
    plan::{Ids, Tag},
    tracker::{Seen, Tracker},
};
use client::ws::{self, Kind, ServerMessage, Socket};

/// The `myOrders` selection: `clientOrderId` ties an event to the order sent.
pub const MY_ORDERS: &str =
    "subscription LoadgenMyOrders { myOrders { id clientOrderId status filledQuantity } }";

/// The `trades` selection.
pub const TRADES: &str = "subscription LoadgenTrades($m: String!) { trades(market: $m) { id } }";

const ORDERS_ID: &str = "orders";
const TRADES_ID: &str = "trades";

/// Counters the sockets share.
#[derive(Debug, Default)]
pub struct SocketStats {
    /// `error` messages, `next` payloads with errors (for example a subscriber that fell
    /// behind), ended subscriptions and closed sockets.
    pub errors: AtomicU64,
    /// `trades` events inside the measured window.
    pub trades_in_window: AtomicU64,
    /// `myOrders` events that named none of this run's orders (a maker's later fill, a
    /// seed's events): expected, counted for curiosity.
    pub other_events: AtomicU64,
}

/// Which traders' subscriptions have delivered a probe's event (proof that they are live:
/// the gateway subscribes upstream asynchronously).
#[derive(Debug)]
pub struct Probes {
    seen: Vec<AtomicBool>,
}

impl Probes {
    /// For `traders` traders.
    pub fn new(traders: usize) -> Self {
        Self {
            seen: (0..traders).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Whether trader `t`'s subscription delivered a probe.
    pub fn seen(&self, t: usize) -> bool {
        self.seen.get(t).is_some_and(|s| s.load(Ordering::Acquire))
    }

    fn mark(&self, t: u64) {
        if let Some(s) = usize::try_from(t).ok().and_then(|t| self.seen.get(t)) {
            s.store(true, Ordering::Release);
        }
    }
}

/// An order update as `myOrders` carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderUpdate {
    /// The `clientOrderId` given at placement.
    pub client_order_id: String,
    /// The order's state.
    pub seen: Seen,
}

/// The order in a `myOrders` `next` payload, if it has a `clientOrderId`.
pub fn order_update(payload: &Value) -> Option<OrderUpdate> {
    let order = &payload["data"]["myOrders"];
    Some(OrderUpdate {
        client_order_id: order["clientOrderId"].as_str()?.to_owned(),
        seen: Seen::new(order["status"].as_str()?, order["filledQuantity"].as_str()?),
    })
}

/// Opens a trader's socket and subscribes to `myOrders`.
///
/// # Errors
/// The server refuses the socket or the token.
pub async fn subscribe_orders(url: &str, token: &str) -> anyhow::Result<Socket> {
    let mut socket = ws::connect(url, Some(token)).await?;
    socket
        .send(Message::text(ws::subscribe(
            ORDERS_ID,
            MY_ORDERS,
            &json!({}),
        )))
        .await?;
    Ok(socket)
}

/// Opens an anonymous socket and subscribes to `trades(market)`.
///
/// # Errors
/// The server refuses the socket.
pub async fn subscribe_trades(url: &str, market: &str) -> anyhow::Result<Socket> {
    let mut socket = ws::connect(url, None).await?;
    socket
        .send(Message::text(ws::subscribe(
            TRADES_ID,
            TRADES,
            &json!({ "m": market }),
        )))
        .await?;
    Ok(socket)
}

/// What a trader's `myOrders` reader feeds.
#[derive(Clone)]
pub struct OrdersSink {
    /// This run's ids.
    pub ids: Ids,
    /// Orders in flight.
    pub tracker: Arc<Tracker>,
    /// Probe sightings.
    pub probes: Arc<Probes>,
    /// Shared counters.
    pub stats: Arc<SocketStats>,
}

/// Reads a `myOrders` socket until it closes, or until `stop` says true: then it completes
/// the subscription and closes the socket as a polite client does.
pub async fn read_orders(socket: Socket, sink: OrdersSink, stop: watch::Receiver<bool>) {
    let stats = sink.stats.clone();
    drive(socket, &stats, ORDERS_ID, stop, |message, at| {
        if message.id.as_deref() != Some(ORDERS_ID) {
            return;
        }
        let Some(update) = order_update(&message.payload) else {
            sink.stats.other_events.fetch_add(1, Ordering::Relaxed);
            return;
        };
        match sink.ids.parse(&update.client_order_id) {
            Some(Tag::Order(k)) => sink.tracker.event(k, at, update.seen),
            Some(Tag::Probe { trader, .. }) => sink.probes.mark(trader),
            Some(Tag::Seed(_)) | None => {
                sink.stats.other_events.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
    .await;
}

/// Reads a `trades` socket until it closes or `stop`, counting the events inside the
/// tracker's window.
pub async fn read_trades(
    socket: Socket,
    stats: Arc<SocketStats>,
    tracker: Arc<Tracker>,
    stop: watch::Receiver<bool>,
) {
    let counter = stats.clone();
    drive(socket, &stats, TRADES_ID, stop, |message, at| {
        if message.id.as_deref() == Some(TRADES_ID) && tracker.in_window(at) {
            counter.trades_in_window.fetch_add(1, Ordering::Relaxed);
        }
    })
    .await;
}

/// The protocol loop: answers pings, counts errors, hands each good `next` (with the instant
/// its frame was read) to `on_next`; on `stop`, sends `complete` for `subscription` and
/// closes.
async fn drive(
    mut socket: Socket,
    stats: &SocketStats,
    subscription: &str,
    mut stop: watch::Receiver<bool>,
    mut on_next: impl FnMut(&ServerMessage, Instant),
) {
    let error = || {
        stats.errors.fetch_add(1, Ordering::Relaxed);
    };
    loop {
        let frame = tokio::select! {
            frame = socket.next() => frame,
            // A dropped sender disables this branch: read until the socket ends.
            Ok(()) = stop.changed() => {
                close(socket, subscription).await;
                return;
            }
        };
        let Some(frame) = frame else { break };
        let at = Instant::now();
        let text = match frame {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let Ok(message) = ServerMessage::decode(text.as_str()) else {
            error();
            continue;
        };
        match message.kind {
            Kind::Ping => {
                if socket.send(Message::text(ws::pong())).await.is_err() {
                    break;
                }
            }
            Kind::Next if message.errors().is_some() => error(),
            Kind::Next => on_next(&message, at),
            // The subscription is over: what it would have delivered is reported as lost.
            Kind::Error | Kind::Complete => error(),
            Kind::ConnectionAck | Kind::Pong | Kind::Unknown => {}
        }
    }
    // The socket ended before the run did.
    error();
}

/// `complete`, then a close handshake (bounded: the run is over either way).
async fn close(mut socket: Socket, subscription: &str) {
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        socket
            .send(Message::text(ws::complete(subscription)))
            .await?;
        socket.close(None).await?;
        while socket.next().await.is_some() {}
        Ok::<_, tokio_tungstenite::tungstenite::Error>(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_event_names_its_client_order_id_and_state() {
        let payload = json!({ "data": { "myOrders": {
            "id": "42", "clientOrderId": "r1-7", "status": "FILLED", "filledQuantity": "1" } } });
        let update = order_update(&payload).unwrap();
        assert_eq!(update.client_order_id, "r1-7");
        assert!(update.seen.filled && update.seen.done);
        let anonymous = json!({ "data": { "myOrders": {
            "id": "43", "clientOrderId": null, "status": "OPEN", "filledQuantity": "0" } } });
        assert_eq!(order_update(&anonymous), None);
    }
}
