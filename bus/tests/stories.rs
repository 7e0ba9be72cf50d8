//! The bus and cache stories, run against the in-process implementations and, when
//! `REDIS_URL` is set, against Redis with a unique key prefix per test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use bus::{BusItem, Error, RedisBus, RedisCache};
use fred::prelude::{ClientLike, PubsubInterface};
use futures_util::StreamExt;
use support::{
    Backend, Proxy, backends, closed_port_url, eventually, expect_message, msg, next, options,
    redis_url, unique_prefix,
};

// ---------------------------------------------------------------------------------------------
// Bus

// Multi-threaded, as in the services.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_receives_messages_in_publish_order() {
    for backend in backends() {
        let bus = backend.bus(&unique_prefix(), 4096).await;
        let mut sub = bus.subscribe("market.ACME").await.unwrap();
        for i in 0..200 {
            bus.publish("market.ACME", msg(&i.to_string()))
                .await
                .unwrap();
        }
        for i in 0..200 {
            expect_message(&mut sub, &i.to_string(), backend.name()).await;
        }
    }
}

/// A batch published at once arrives as if published one by one: every message, each
/// topic in order, and the count says all of them went (more than one Redis pipeline's worth).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_published_at_once_arrives_in_order_on_every_topic() {
    for backend in backends() {
        let bus = backend.bus(&unique_prefix(), 8192).await;
        let mut acme = bus.subscribe("market.ACME").await.unwrap();
        let mut other = bus.subscribe("market.OTHER").await.unwrap();
        let items: Vec<(String, bytes::Bytes)> = (0..2500)
            .map(|i| {
                let topic = if i % 3 == 0 {
                    "market.OTHER"
                } else {
                    "market.ACME"
                };
                (topic.to_owned(), msg(&i.to_string()))
            })
            .collect();
        assert_eq!(
            bus.publish_many(items).await.unwrap(),
            2500,
            "{}",
            backend.name()
        );
        assert_eq!(bus.publish_many(Vec::new()).await.unwrap(), 0);
        for i in (0..2500).filter(|i| i % 3 != 0) {
            expect_message(&mut acme, &i.to_string(), backend.name()).await;
        }
        for i in (0..2500).filter(|i| i % 3 == 0) {
            expect_message(&mut other, &i.to_string(), backend.name()).await;
        }
    }
}

#[tokio::test]
async fn two_subscribers_both_receive_every_message() {
    for backend in backends() {
        let bus = backend.bus(&unique_prefix(), 4096).await;
        let mut first = bus.subscribe("market.ACME").await.unwrap();
        let mut second = bus.subscribe("market.ACME").await.unwrap();
        for text in ["a", "b", "c"] {
            bus.publish("market.ACME", msg(text)).await.unwrap();
        }
        for text in ["a", "b", "c"] {
            expect_message(&mut first, text, backend.name()).await;
            expect_message(&mut second, text, backend.name()).await;
        }
    }
}

#[tokio::test]
async fn a_subscriber_of_another_topic_receives_nothing() {
    for backend in backends() {
        let bus = backend.bus(&unique_prefix(), 4096).await;
        let mut acme = bus.subscribe("market.ACME").await.unwrap();
        let mut other = bus.subscribe("market.OTHER").await.unwrap();
        bus.publish("market.OTHER", msg("other-1")).await.unwrap();
        bus.publish("market.OTHER", msg("other-2")).await.unwrap();
        bus.publish("market.ACME", msg("acme-1")).await.unwrap();
        // Had the OTHER messages leaked, they would come first.
        expect_message(&mut acme, "acme-1", backend.name()).await;
        expect_message(&mut other, "other-1", backend.name()).await;
        expect_message(&mut other, "other-2", backend.name()).await;
        bus.publish("market.OTHER", msg("other-3")).await.unwrap();
        expect_message(&mut other, "other-3", backend.name()).await;
    }
}

#[tokio::test]
async fn publishing_without_subscribers_succeeds() {
    for backend in backends() {
        let bus = backend.bus(&unique_prefix(), 16).await;
        bus.publish("user.nobody", msg("hello")).await.unwrap();
        bus.ping().await.unwrap();
    }
}

#[tokio::test]
async fn a_dropped_subscription_does_not_block_publishing() {
    for backend in backends() {
        let bus = backend.bus(&unique_prefix(), 8).await;
        let mut stays = bus.subscribe("market.ACME").await.unwrap();
        let dropped = bus.subscribe("market.ACME").await.unwrap();
        drop(dropped);
        let gone = bus.subscribe("market.GONE").await.unwrap();
        drop(gone);
        // Far more than the buffer: nobody reads GONE, and publishing must not wait for anyone.
        tokio::time::timeout(Duration::from_secs(10), async {
            for i in 0..100 {
                bus.publish("market.GONE", msg(&i.to_string()))
                    .await
                    .unwrap();
            }
        })
        .await
        .expect("publishing does not block");
        // The remaining subscriber of ACME still receives.
        bus.publish("market.ACME", msg("still")).await.unwrap();
        expect_message(&mut stays, "still", backend.name()).await;
        // And a new subscription of the dropped topic works.
        let mut again = bus.subscribe("market.GONE").await.unwrap();
        bus.publish("market.GONE", msg("again")).await.unwrap();
        expect_message(&mut again, "again", backend.name()).await;
    }
}

#[tokio::test]
async fn a_slow_subscriber_gets_lagged_then_continues_with_newer_messages() {
    const CAPACITY: usize = 8;
    const COUNT: usize = 50;
    for backend in backends() {
        let bus = backend.bus(&unique_prefix(), CAPACITY).await;
        let mut slow = bus.subscribe("market.ACME").await.unwrap();
        // A reader that keeps up tells when every message has reached the local fan-out.
        let mut fast = bus.subscribe("market.ACME").await.unwrap();
        let last = (COUNT - 1).to_string();
        let fast_done = tokio::spawn(async move {
            loop {
                if next(&mut fast).await == BusItem::Message(msg(&last)) {
                    break;
                }
            }
        });
        for i in 0..COUNT {
            bus.publish("market.ACME", msg(&i.to_string()))
                .await
                .unwrap();
        }
        fast_done.await.unwrap();

        assert_eq!(next(&mut slow).await, BusItem::Lagged, "{}", backend.name());
        // Then the newest retained messages, in order, ending with the last one.
        let mut seen = Vec::new();
        while seen.last() != Some(&(COUNT - 1)) {
            match next(&mut slow).await {
                BusItem::Message(m) => {
                    seen.push(std::str::from_utf8(&m).unwrap().parse::<usize>().unwrap());
                }
                BusItem::Lagged => panic!("{}: lagged twice", backend.name()),
            }
        }
        assert!(seen.len() <= CAPACITY, "{}: {seen:?}", backend.name());
        assert!(
            seen.windows(2).all(|w| w[1] == w[0] + 1),
            "{}: {seen:?}",
            backend.name()
        );
        // And newer messages keep coming.
        bus.publish("market.ACME", msg("newer")).await.unwrap();
        expect_message(&mut slow, "newer", backend.name()).await;
    }
}

#[tokio::test]
async fn prefixes_isolate_two_buses() {
    for backend in backends() {
        let a = backend.bus(&unique_prefix(), 64).await;
        let b = backend.bus(&unique_prefix(), 64).await;
        let mut sub_a = a.subscribe("market.ACME").await.unwrap();
        let mut sub_b = b.subscribe("market.ACME").await.unwrap();
        b.publish("market.ACME", msg("from-b")).await.unwrap();
        a.publish("market.ACME", msg("from-a")).await.unwrap();
        b.publish("market.ACME", msg("from-b-2")).await.unwrap();
        expect_message(&mut sub_a, "from-a", backend.name()).await;
        expect_message(&mut sub_b, "from-b", backend.name()).await;
        expect_message(&mut sub_b, "from-b-2", backend.name()).await;
    }
}

#[tokio::test]
async fn redis_buses_with_the_same_prefix_talk_across_connections() {
    let Some(url) = redis_url() else { return };
    let backend = Backend::Redis(url);
    let prefix = unique_prefix();
    let publisher = backend.bus(&prefix, 64).await;
    let subscriber = backend.bus(&prefix, 64).await;
    let mut sub = subscriber.subscribe("user.42").await.unwrap();
    publisher.publish("user.42", msg("balance")).await.unwrap();
    expect_message(&mut sub, "balance", "redis").await;
}

#[tokio::test]
async fn redis_unsubscribes_when_the_last_local_subscriber_goes() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix();
    let bus = RedisBus::connect(&url, &options(&prefix, 64))
        .await
        .unwrap();
    let observer =
        fred::prelude::Builder::from_config(fred::prelude::Config::from_url(&url).unwrap())
            .build()
            .unwrap();
    observer.init().await.unwrap();
    let channel = format!("{prefix}market.ACME");
    let subscribers = || async {
        let reply: Vec<fred::prelude::Value> =
            observer.pubsub_numsub(channel.as_str()).await.unwrap();
        reply
            .get(1)
            .and_then(fred::prelude::Value::as_i64)
            .unwrap_or(-1)
    };

    let first = bus.subscribe_boxed("market.ACME").await;
    let second = bus.subscribe_boxed("market.ACME").await;
    // One Redis subscription for the whole process, however many local subscribers.
    assert_eq!(subscribers().await, 1);
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(subscribers().await, 1, "one local subscriber is left");
    drop(second);
    eventually("Redis subscription released", || async {
        subscribers().await == 0
    })
    .await;
    observer.quit().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Cache

#[tokio::test]
async fn cache_set_get_delete() {
    for backend in backends() {
        let cache = backend.cache(&unique_prefix()).await;
        cache
            .set("ticker.ACME", "101.25".into(), None)
            .await
            .unwrap();
        assert_eq!(
            cache.get("ticker.ACME").await.unwrap().as_deref(),
            Some("101.25")
        );
        cache
            .set("ticker.ACME", "101.50".into(), None)
            .await
            .unwrap();
        assert_eq!(
            cache.get("ticker.ACME").await.unwrap().as_deref(),
            Some("101.50")
        );
        cache.delete("ticker.ACME").await.unwrap();
        assert_eq!(
            cache.get("ticker.ACME").await.unwrap(),
            None,
            "{}",
            backend.name()
        );
        // Deleting an absent key is fine.
        cache.delete("ticker.ACME").await.unwrap();
        cache.ping().await.unwrap();
    }
}

#[tokio::test]
async fn a_cache_miss_is_none() {
    for backend in backends() {
        let cache = backend.cache(&unique_prefix()).await;
        assert_eq!(
            cache.get("never.set").await.unwrap(),
            None,
            "{}",
            backend.name()
        );
    }
}

#[tokio::test]
async fn cache_entries_expire_after_their_ttl() {
    for backend in backends() {
        let cache = backend.cache(&unique_prefix()).await;
        cache
            .set("book.ACME", "snapshot".into(), Some(Duration::from_secs(1)))
            .await
            .unwrap();
        cache.set("markets", "all".into(), None).await.unwrap();
        assert_eq!(
            cache.get("book.ACME").await.unwrap().as_deref(),
            Some("snapshot")
        );
        eventually("the entry expires", || async {
            cache.get("book.ACME").await.unwrap().is_none()
        })
        .await;
        // An entry without TTL stays.
        assert_eq!(cache.get("markets").await.unwrap().as_deref(), Some("all"));
        // A zero TTL removes the key.
        cache
            .set("markets", "gone".into(), Some(Duration::ZERO))
            .await
            .unwrap();
        assert_eq!(
            cache.get("markets").await.unwrap(),
            None,
            "{}",
            backend.name()
        );
    }
}

#[tokio::test]
async fn cache_prefixes_isolate_two_caches() {
    for backend in backends() {
        let a = backend.cache(&unique_prefix()).await;
        let b = backend.cache(&unique_prefix()).await;
        // A TTL so the shared Redis does not keep test keys.
        let ttl = Some(Duration::from_secs(60));
        a.set("k", "a".into(), ttl).await.unwrap();
        assert_eq!(b.get("k").await.unwrap(), None, "{}", backend.name());
        b.set("k", "b".into(), ttl).await.unwrap();
        assert_eq!(a.get("k").await.unwrap().as_deref(), Some("a"));
    }
}

#[tokio::test]
async fn the_local_cache_stays_bounded() {
    let cache = bus::LocalCache::with_capacity(100);
    for i in 0..10_000 {
        bus::Cache::set(&cache, &i.to_string(), "v".into(), None)
            .await
            .unwrap();
    }
    let mut kept = 0;
    for i in 0..10_000 {
        if bus::Cache::get(&cache, &i.to_string())
            .await
            .unwrap()
            .is_some()
        {
            kept += 1;
        }
    }
    assert!(kept <= 200, "kept {kept}");
}

#[tokio::test]
async fn a_counter_counts_up_within_its_window_then_starts_again() {
    for backend in backends() {
        let cache = backend.cache(&unique_prefix()).await;
        let window = Duration::from_millis(800);
        let first = cache.increment("login.ann", window).await.unwrap();
        assert_eq!(first.count, 1, "{}", backend.name());
        assert!(first.resets_in <= window && first.resets_in > Duration::ZERO);
        assert_eq!(cache.increment("login.ann", window).await.unwrap().count, 2);
        let third = cache.increment("login.ann", window).await.unwrap();
        assert_eq!(third.count, 3);
        assert!(
            third.resets_in <= first.resets_in,
            "later increments keep the window's end"
        );
        assert_eq!(
            cache.increment("login.bob", window).await.unwrap().count,
            1,
            "each key counts alone"
        );
        eventually("the window ends", || async {
            cache.get("login.ann").await.unwrap().is_none()
        })
        .await;
        assert_eq!(
            cache.increment("login.ann", window).await.unwrap().count,
            1,
            "{}: a new window starts from one",
            backend.name()
        );
    }
}

// Multi-threaded, as in the services: replicas increment the same counter at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_from_two_clients_each_count_once() {
    for backend in backends() {
        let prefix = unique_prefix();
        // Two clients of one cache: two Redis pools under one prefix, or one local cache.
        let a = backend.cache(&prefix).await;
        let b = match backend {
            Backend::Local => a.clone(),
            Backend::Redis(_) => backend.cache(&prefix).await,
        };
        let window = Duration::from_secs(60);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..200 {
            let cache = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.spawn(async move { cache.increment("login.shared", window).await.unwrap() });
        }
        let mut counts = Vec::new();
        while let Some(counter) = tasks.join_next().await {
            counts.push(counter.unwrap().count);
        }
        counts.sort_unstable();
        assert_eq!(
            counts,
            (1..=200).collect::<Vec<u64>>(),
            "{}: every increment saw a distinct count",
            backend.name()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Redis down

#[tokio::test]
async fn connecting_to_a_redis_that_is_not_there_errors_quickly() {
    let url = closed_port_url();
    let opts = options(&unique_prefix(), 16);
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        (
            RedisBus::connect(&url, &opts).await.map(drop),
            RedisCache::connect(&url, &opts).await.map(drop),
            bus::connect_redis(&url, "rialto:").await.map(drop),
        )
    })
    .await
    .expect("an answer, not a hang");
    assert!(
        matches!(outcome.0, Err(Error::Unavailable(_))),
        "{:?}",
        outcome.0
    );
    assert!(
        matches!(outcome.1, Err(Error::Unavailable(_))),
        "{:?}",
        outcome.1
    );
    assert!(outcome.2.is_err());
}

#[tokio::test]
async fn a_bad_redis_url_is_a_config_error() {
    let outcome = RedisBus::connect("redis://127.0.0.1:notaport", &options("p:", 16)).await;
    assert!(matches!(outcome, Err(Error::Config(_))), "{outcome:?}");
}

#[tokio::test]
async fn a_redis_outage_errors_fast_then_resubscribes_and_reports_lagged() {
    let Some(url) = redis_url() else { return };
    let proxy = Proxy::start(&url).await;
    let opts = options(&unique_prefix(), 64);
    let bus = RedisBus::connect(&proxy.url(), &opts).await.unwrap();
    let cache = RedisCache::connect(&proxy.url(), &opts).await.unwrap();
    let mut sub = bus.subscribe_boxed("market.ACME").await;
    bus.publish_str("market.ACME", "before").await.unwrap();
    expect_message(&mut sub, "before", "redis").await;
    bus::Cache::set(&cache, "k", "v".into(), Some(Duration::from_secs(60)))
        .await
        .unwrap();

    proxy.down();
    eventually("publish fails while Redis is away", || async {
        bus.publish_str("market.ACME", "during").await.is_err()
    })
    .await;
    eventually("the cache fails while Redis is away", || async {
        bus::Cache::get(&cache, "k").await.is_err()
    })
    .await;
    assert!(bus::EventBus::ping(&bus).await.is_err());
    assert!(bus::Cache::ping(&cache).await.is_err());
    assert!(
        matches!(
            bus::Cache::increment(&cache, "c", Duration::from_secs(60)).await,
            Err(Error::Unavailable(_))
        ),
        "a counter fails at once too, so its caller can fall back"
    );

    let batch = vec![("market.ACME".to_owned(), msg("during"))];
    assert!(
        bus::EventBus::publish_many(&bus, batch).await.is_err(),
        "a batch of which nothing went out is an error"
    );

    proxy.up();
    eventually("publish works again", || async {
        bus.publish_str("market.ACME", "probe").await.is_ok()
    })
    .await;
    eventually("the cache works again", || async {
        bus::Cache::get(&cache, "k").await == Ok(Some("v".into()))
    })
    .await;
    // The subscriber is told it may have missed messages…
    loop {
        if next(&mut sub).await == BusItem::Lagged {
            break;
        }
    }
    // …and receives the messages published after the re-subscription.
    bus.publish_str("market.ACME", "after").await.unwrap();
    loop {
        match next(&mut sub).await {
            BusItem::Message(m) if m == msg("after") => break,
            _ => {}
        }
    }
    bus::EventBus::ping(&bus).await.unwrap();
}

#[tokio::test]
async fn a_quiet_redis_subscription_stays_healthy() {
    let Some(url) = redis_url() else { return };
    let backend = Backend::Redis(url);
    let bus = backend.bus(&unique_prefix(), 64).await;
    let mut sub = bus.subscribe("market.ACME").await.unwrap();
    // Many heartbeats (every 50 ms in the tests) pass without a message…
    tokio::time::sleep(Duration::from_millis(500)).await;
    bus.publish("market.ACME", msg("hello")).await.unwrap();
    // …and none of them was taken for a lost connection.
    expect_message(&mut sub, "hello", "redis").await;
}

#[tokio::test]
async fn a_silently_stalled_subscriber_connection_is_noticed_and_reported_lagged() {
    let Some(url) = redis_url() else { return };
    let proxy = Proxy::start(&url).await;
    let prefix = unique_prefix();
    let through_proxy = RedisBus::connect(&proxy.url(), &options(&prefix, 64))
        .await
        .unwrap();
    let direct = RedisBus::connect(&url, &options(&prefix, 64))
        .await
        .unwrap();
    let mut sub = through_proxy.subscribe_boxed("market.ACME").await;
    direct.publish_str("market.ACME", "before").await.unwrap();
    expect_message(&mut sub, "before", "redis").await;

    // A partition: the connection stays open, but what Redis sends is lost.
    proxy.freeze(true);
    direct.publish_str("market.ACME", "lost").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await; // a few heartbeats go unanswered
    proxy.freeze(false);

    // Nothing arrives before the marker: the loss is reported, not silent.
    assert_eq!(next(&mut sub).await, BusItem::Lagged);
    // Messages flow again (another marker may come first if it reconnected more than once).
    let deadline = tokio::time::Instant::now() + support::PATIENCE;
    loop {
        direct.publish_str("market.ACME", "after").await.unwrap();
        let item = tokio::time::timeout(Duration::from_millis(200), sub.next()).await;
        match item {
            Ok(Some(BusItem::Message(m))) if m == msg("after") => break,
            Ok(None) => panic!("the subscription ended"),
            _ => assert!(
                tokio::time::Instant::now() < deadline,
                "no message after the stall"
            ),
        }
    }
}

/// Shorthands for the Redis-only stories that hold a concrete [`RedisBus`].
trait RedisBusExt {
    async fn subscribe_boxed(&self, topic: &str) -> bus::Subscription;
    async fn publish_str(&self, topic: &str, text: &str) -> Result<(), Error>;
}

impl RedisBusExt for RedisBus {
    async fn subscribe_boxed(&self, topic: &str) -> bus::Subscription {
        bus::EventBus::subscribe(self, topic).await.unwrap()
    }

    async fn publish_str(&self, topic: &str, text: &str) -> Result<(), Error> {
        bus::EventBus::publish(self, topic, msg(text)).await
    }
}
