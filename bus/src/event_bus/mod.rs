//! [`EventBus`]: topics of ordered messages, fanned out to every current subscriber, with an
//! explicit [`BusItem::Lagged`] marker instead of silent loss. Topics (ADR 0005):
//! `market.{SYMBOL}` and `user.{uuid}`.

mod local;
mod redis;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError};

pub use local::LocalBus;
pub use redis::RedisBus;

use crate::Error;

/// Messages buffered per topic for each subscriber unless configured otherwise: a few seconds
/// of a busy market's deltas.
pub const DEFAULT_CAPACITY: usize = 4096;

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusItem {
    /// One published payload, in publish order.
    Message(Bytes),
    /// The subscriber missed messages (it fell behind, or the Redis connection was lost and
    /// restored): it must resync from a snapshot. Later items continue with newer messages.
    Lagged,
}

/// A subscription: the items of one topic, until it is dropped (which unsubscribes).
pub type Subscription = BoxStream<'static, BusItem>;

/// Publish/subscribe between the matcher and the services that push live data (DESIGN.md §1, §5).
/// Object-safe so the composition root picks the implementation: `Arc<dyn EventBus>`.
///
/// Delivery is at most once: a subscriber sees the messages published after its `subscribe`
/// returned, in publish order, or a [`BusItem::Lagged`] where it missed some. Durable truth is
/// the database (the outbox); the bus only makes it live.
pub trait EventBus: Send + Sync + 'static {
    /// Sends `payload` to the current subscribers of `topic` (none is fine). Errors only when
    /// the bus is unreachable; the caller keeps the event and publishes it again later.
    fn publish<'a>(&'a self, topic: &'a str, payload: Bytes) -> BoxFuture<'a, Result<(), Error>>;

    /// Publishes `items` (topic, payload) in their order, as [`EventBus::publish`] of each
    /// would, but in as few round trips as the bus allows: the matcher publishes a whole
    /// batch at once, and one round trip per event was most of its publishing time.
    ///
    /// Returns how many items, from the first, were published: all of them, or fewer when a
    /// failure stopped it (the rest are the caller's to publish again). An error only when
    /// none was.
    ///
    /// The default publishes one item at a time, stopping at the first failure.
    fn publish_many(&self, items: Vec<(String, Bytes)>) -> BoxFuture<'_, Result<usize, Error>> {
        async move {
            let mut published = 0;
            for (topic, payload) in items {
                if let Err(e) = self.publish(&topic, payload).await {
                    if published == 0 {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, published, "publishing stopped part-way");
                    break;
                }
                published += 1;
            }
            Ok(published)
        }
        .boxed()
    }

    /// Starts receiving `topic`. Messages published after this returns are delivered; the
    /// subscription ends when the stream is dropped.
    fn subscribe<'a>(&'a self, topic: &'a str) -> BoxFuture<'a, Result<Subscription, Error>>;

    /// Whether the bus can publish and deliver now, for `/ready`.
    fn ping(&self) -> BoxFuture<'_, Result<(), Error>>;
}

/// The local fan-out both implementations share: one broadcast channel per topic, made on the
/// first subscription and removed when its last subscriber goes.
pub(crate) struct Topics {
    capacity: usize,
    map: Mutex<HashMap<String, broadcast::Sender<BusItem>>>,
}

impl Topics {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, broadcast::Sender<BusItem>>> {
        // The map stays consistent whatever a panicking holder did, so poisoning is ignored.
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A receiver of `name`, and whether the channel had to be made.
    pub(crate) fn subscribe(&self, name: &str) -> (broadcast::Receiver<BusItem>, bool) {
        let mut map = self.lock();
        match map.get(name) {
            Some(tx) => (tx.subscribe(), false),
            None => {
                let (tx, rx) = broadcast::channel(self.capacity);
                map.insert(name.to_owned(), tx);
                (rx, true)
            }
        }
    }

    /// Delivers `item` to the subscribers of `name`, if any.
    pub(crate) fn send(&self, name: &str, item: BusItem) {
        if let Some(tx) = self.lock().get(name) {
            // An error only means every receiver is gone; their release removes the channel.
            let _ = tx.send(item);
        }
    }

    /// Tells every subscriber of every topic that it may have missed messages.
    pub(crate) fn send_lagged_to_all(&self) {
        for tx in self.lock().values() {
            let _ = tx.send(BusItem::Lagged);
        }
    }

    /// Removes `name` if nobody receives it any more; true if it was removed.
    pub(crate) fn remove_if_unused(&self, name: &str) -> bool {
        let mut map = self.lock();
        if map.get(name).is_some_and(|tx| tx.receiver_count() == 0) {
            map.remove(name);
            true
        } else {
            false
        }
    }

    /// The names of all topics that currently have a channel.
    pub(crate) fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }
}

/// Owns a subscription's receiver; on drop, releases the receiver first and then tells the
/// bus, so the bus sees an accurate receiver count. Made as soon as the receiver exists, so a
/// `subscribe` future cancelled half-way still releases its topic.
pub(crate) struct Guard {
    rx: Option<broadcast::Receiver<BusItem>>,
    release: Option<Box<dyn FnOnce() + Send>>,
}

impl Guard {
    /// Wraps `rx`; `release` runs once the receiver is gone.
    pub(crate) fn new(
        rx: broadcast::Receiver<BusItem>,
        release: impl FnOnce() + Send + 'static,
    ) -> Self {
        Self {
            rx: Some(rx),
            release: Some(Box::new(release)),
        }
    }

    /// Drops the receiver without running `release`: the caller cleans up itself.
    pub(crate) fn disarm(mut self) {
        self.rx = None;
        self.release = None;
    }

    /// The [`Subscription`] reading this receiver; a broadcast lag becomes
    /// [`BusItem::Lagged`], and `release` runs when the stream is dropped or ends.
    pub(crate) fn into_stream(self) -> Subscription {
        futures_util::stream::unfold(self, |mut guard| async move {
            let item = match guard.rx.as_mut()?.recv().await {
                Ok(item) => item,
                Err(RecvError::Lagged(_)) => BusItem::Lagged,
                Err(RecvError::Closed) => return None,
            };
            Some((item, guard))
        })
        .boxed()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        drop(self.rx.take());
        if let Some(release) = self.release.take() {
            release();
        }
    }
}
