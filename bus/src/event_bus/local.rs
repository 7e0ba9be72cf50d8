//! The in-process bus of the embedded mode: tokio broadcast channels, no I/O.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, ready};

use super::{BusItem, DEFAULT_CAPACITY, EventBus, Guard, Subscription, Topics};
use crate::Error;

/// [`EventBus`] within one process: a broadcast channel per topic. A subscriber more than
/// `capacity` messages behind gets [`BusItem::Lagged`] and then the newest retained messages.
/// Clones share the same topics.
#[derive(Clone)]
pub struct LocalBus {
    topics: Arc<Topics>,
}

impl LocalBus {
    /// A bus buffering [`DEFAULT_CAPACITY`] messages per topic.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// A bus buffering `capacity` (at least 1) messages per topic for each subscriber.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            topics: Arc::new(Topics::new(capacity)),
        }
    }
}

impl Default for LocalBus {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LocalBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBus")
            .field("capacity", &self.topics.capacity)
            .finish_non_exhaustive()
    }
}

impl EventBus for LocalBus {
    fn publish<'a>(&'a self, topic: &'a str, payload: Bytes) -> BoxFuture<'a, Result<(), Error>> {
        self.topics.send(topic, BusItem::Message(payload));
        ready(Ok(())).boxed()
    }

    fn subscribe<'a>(&'a self, topic: &'a str) -> BoxFuture<'a, Result<Subscription, Error>> {
        let (rx, _) = self.topics.subscribe(topic);
        let topics = Arc::clone(&self.topics);
        let name = topic.to_owned();
        let guard = Guard::new(rx, move || {
            topics.remove_if_unused(&name);
        });
        ready(Ok(guard.into_stream())).boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), Error>> {
        ready(Ok(())).boxed()
    }
}
