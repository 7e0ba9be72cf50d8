//! The bus of the distributed mode: Redis pub/sub through fred, fanned out locally.
//!
//! One [`SubscriberClient`] (one connection) carries every subscription of the process; its
//! messages are fanned out to per-topic broadcast channels, so a slow local subscriber gets
//! [`BusItem::Lagged`] exactly as with [`LocalBus`](super::LocalBus) and never slows the
//! others. Publishing uses its own connection: one connection keeps the publishes of this
//! process in order even when they are not awaited one by one.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fred::clients::SubscriberClient;
use fred::prelude::{Client, ClientLike, EventInterface, Options, PubsubInterface};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Mutex as AsyncMutex, mpsc};
use tokio::task::JoinHandle;

use super::{BusItem, EventBus, Guard, Subscription, Topics};
use crate::{Error, RedisOptions};

/// [`EventBus`] on Redis pub/sub, every channel named `{prefix}{topic}`.
///
/// Survives Redis restarts: fred reconnects with backoff, the bus subscribes its channels
/// again and then gives every subscriber [`BusItem::Lagged`] (messages published meanwhile
/// are lost). While Redis is unreachable `publish` errors at once. Clones share connections.
#[derive(Clone)]
pub struct RedisBus {
    inner: Arc<Inner>,
}

/// Owned by the bus handles and the live subscriptions; dropping the last one closes the
/// connections.
struct Inner {
    core: Arc<Core>,
    prefix: String,
    publisher: Client,
    fail_fast: Options,
    release_tx: mpsc::UnboundedSender<String>,
    tasks: Vec<JoinHandle<()>>,
}

/// Most commands of one publishing pipeline: a large outbox backlog goes in several, each
/// well within the command timeout.
const PIPELINE_LEN: usize = 1024;

/// What the background tasks need.
struct Core {
    topics: Topics,
    subscriber: SubscriberClient,
    /// Serialises SUBSCRIBE/UNSUBSCRIBE with the local channel map, so a channel is in the map
    /// exactly when Redis has (or is being asked for) the subscription.
    sub_lock: AsyncMutex<()>,
    retry_delay: Duration,
}

impl RedisBus {
    /// Connects the publishing and the subscribing connection to `url`; fails (within
    /// `options.connect_timeout`) if Redis cannot be reached.
    pub async fn connect(url: &str, options: &RedisOptions) -> Result<Self, Error> {
        // fred's own pub/sub buffer feeds the fan-out task; a lag there is reported too.
        let builder = options.builder(url, options.capacity.max(1024))?;
        let publisher = builder.build().map_err(Error::fred)?;
        let subscriber = builder.build_subscriber_client().map_err(Error::fred)?;
        publisher.init().await.map_err(Error::fred)?;
        if let Err(e) = subscriber.init().await {
            let _ = publisher.quit().await;
            return Err(Error::fred(e));
        }
        // Both receivers are taken after the first connection, so its "reconnect" event (fred
        // sends one on the first connection too) does not reach the subscribers as a lag.
        let messages = subscriber.message_rx();
        let reconnects = subscriber.reconnect_rx();

        let core = Arc::new(Core {
            topics: Topics::new(options.capacity),
            subscriber,
            sub_lock: AsyncMutex::new(()),
            retry_delay: Duration::from_millis(200),
        });
        let (release_tx, release_rx) = mpsc::unbounded_channel();
        let tasks = vec![
            tokio::spawn(fan_out(Arc::clone(&core), messages)),
            tokio::spawn(resubscribe_on_reconnect(Arc::clone(&core), reconnects)),
            tokio::spawn(release_unused(Arc::clone(&core), release_rx)),
            tokio::spawn(heartbeat(Arc::clone(&core), options.heartbeat)),
        ];
        Ok(Self {
            inner: Arc::new(Inner {
                core,
                prefix: options.prefix.clone(),
                publisher,
                fail_fast: options.fail_fast(),
                release_tx,
                tasks,
            }),
        })
    }

    fn channel(&self, topic: &str) -> String {
        format!("{}{topic}", self.inner.prefix)
    }

    /// Publishes `items` in one pipeline: how many, from the first, Redis took, and the
    /// error that stopped the rest, if any.
    async fn publish_pipeline(&self, items: &[(String, Bytes)]) -> (usize, Option<Error>) {
        let pipeline = self
            .inner
            .publisher
            .pipeline()
            .with_options(&self.inner.fail_fast);
        for (topic, payload) in items {
            // Only queues the command; nothing is sent yet.
            let queued: Result<(), _> =
                pipeline.publish(self.channel(topic), payload.clone()).await;
            if let Err(e) = queued {
                return (0, Some(Error::fred(e)));
            }
        }
        let results = pipeline.try_all::<i64>().await;
        let ok = results
            .iter()
            .take_while(|r| r.is_ok())
            .count()
            .min(items.len());
        if ok == items.len() {
            return (ok, None);
        }
        let error = results.into_iter().find_map(Result::err).map_or_else(
            || Error::Redis("a pipeline answered too few replies".into()),
            Error::fred,
        );
        (ok, Some(error))
    }
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

impl EventBus for RedisBus {
    fn publish<'a>(&'a self, topic: &'a str, payload: Bytes) -> BoxFuture<'a, Result<(), Error>> {
        async move {
            let _receivers: i64 = self
                .inner
                .publisher
                .with_options(&self.inner.fail_fast)
                .publish(self.channel(topic), payload)
                .await
                .map_err(Error::fred)?;
            Ok(())
        }
        .boxed()
    }

    /// One pipeline (one write, one round trip) per [`PIPELINE_LEN`] items, on the one
    /// publishing connection, so the order of the items is kept.
    fn publish_many(&self, items: Vec<(String, Bytes)>) -> BoxFuture<'_, Result<usize, Error>> {
        async move {
            let mut published = 0;
            for chunk in items.chunks(PIPELINE_LEN) {
                let (ok, error) = self.publish_pipeline(chunk).await;
                published += ok;
                if let Some(error) = error {
                    if published == 0 {
                        return Err(error);
                    }
                    tracing::debug!(error = %error, published, "publishing stopped part-way");
                    break;
                }
            }
            Ok(published)
        }
        .boxed()
    }

    fn subscribe<'a>(&'a self, topic: &'a str) -> BoxFuture<'a, Result<Subscription, Error>> {
        async move {
            let channel = self.channel(topic);
            let core = &self.inner.core;
            let serial = core.sub_lock.lock().await;
            let (rx, created) = core.topics.subscribe(&channel);
            let guard = {
                let inner = Arc::clone(&self.inner);
                let channel = channel.clone();
                // The release task checks the receiver count, so a late release is harmless.
                Guard::new(rx, move || {
                    let _ = inner.release_tx.send(channel);
                })
            };
            // The channel is in the map before Redis confirms, so nothing sent after the
            // confirmation is missed.
            if created && let Err(e) = core.subscriber.subscribe(channel.as_str()).await {
                guard.disarm();
                core.topics.remove_if_unused(&channel);
                return Err(Error::fred(e));
            }
            drop(serial);
            Ok(guard.into_stream())
        }
        .boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), Error>> {
        async move {
            let () = self
                .inner
                .publisher
                .with_options(&self.inner.fail_fast)
                .ping(None)
                .await
                .map_err(Error::fred)?;
            if self.inner.core.subscriber.is_connected() {
                Ok(())
            } else {
                Err(Error::Unavailable(
                    "the subscriber connection is down".into(),
                ))
            }
        }
        .boxed()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let publisher = self.publisher.clone();
        let subscriber = self.core.subscriber.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = subscriber.quit().await;
                let _ = publisher.quit().await;
            });
        }
    }
}

/// Delivers every Redis message to the local subscribers of its channel.
async fn fan_out(
    core: Arc<Core>,
    mut messages: tokio::sync::broadcast::Receiver<fred::types::Message>,
) {
    loop {
        match messages.recv().await {
            Ok(message) => match message.value.into_bytes() {
                Some(payload) => core
                    .topics
                    .send(&message.channel, BusItem::Message(payload)),
                None => tracing::warn!(channel = %message.channel, "non-bytes pub/sub message"),
            },
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "bus fan-out fell behind Redis; subscribers must resync"
                );
                core.topics.send_lagged_to_all();
            }
            Err(RecvError::Closed) => break,
        }
    }
}

/// How often a failed re-subscription is retried on a connection that stays up.
const RESUBSCRIBE_ATTEMPTS: u32 = 5;

/// After fred reconnects: subscribes the current channels again, then tells every subscriber
/// it may have missed messages while the connection was down.
async fn resubscribe_on_reconnect(
    core: Arc<Core>,
    mut reconnects: tokio::sync::broadcast::Receiver<fred::types::config::Server>,
) {
    loop {
        match reconnects.recv().await {
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => break,
        }
        let serial = core.sub_lock.lock().await;
        let channels = core.topics.names();
        let mut stuck = false;
        if !channels.is_empty() {
            tracing::info!(
                channels = channels.len(),
                "Redis reconnected; subscribing again"
            );
            stuck = true;
            for attempt in 1..=RESUBSCRIBE_ATTEMPTS {
                match core.subscriber.subscribe(channels.clone()).await {
                    Ok(()) => {
                        stuck = false;
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, attempt, "resubscribing after a reconnection");
                        // Lost again: the next reconnection event retries.
                        if !core.subscriber.is_connected() {
                            stuck = false;
                            break;
                        }
                        tokio::time::sleep(core.retry_delay).await;
                    }
                }
            }
        }
        core.topics.send_lagged_to_all();
        drop(serial);
        if stuck {
            // Connected but unable to subscribe: start over on a fresh connection rather than
            // leave subscribers waiting on channels Redis does not send.
            if let Err(e) = core.subscriber.force_reconnection().await {
                tracing::warn!(error = %e, "forcing the bus subscriber to reconnect");
            }
        }
    }
}

/// Pings the subscriber connection every `every`; a failed ping forces a reconnection, which
/// subscribes again and reports [`BusItem::Lagged`].
async fn heartbeat(core: Arc<Core>, every: Duration) {
    let mut ticks = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        // While fred is already reconnecting there is nothing to add.
        if !core.subscriber.is_connected() {
            continue;
        }
        if let Err(e) = core.subscriber.ping::<()>(None).await {
            tracing::warn!(error = %e, "bus subscriber heartbeat failed; reconnecting");
            if let Err(e) = core.subscriber.force_reconnection().await {
                tracing::warn!(error = %e, "forcing the bus subscriber to reconnect");
            }
        }
    }
}

/// Unsubscribes from Redis the channels whose last local subscriber went away.
async fn release_unused(core: Arc<Core>, mut released: mpsc::UnboundedReceiver<String>) {
    while let Some(channel) = released.recv().await {
        let _serial = core.sub_lock.lock().await;
        if core.topics.remove_if_unused(&channel)
            && let Err(e) = core.subscriber.unsubscribe(channel.as_str()).await
        {
            // Harmless: messages of a channel without local subscribers are dropped.
            tracing::warn!(%channel, error = %e, "unsubscribing from Redis");
        }
    }
}
