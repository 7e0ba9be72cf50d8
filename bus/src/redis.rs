//! What the Redis bus and cache share: their options and how a fred client is built from them.

use std::time::Duration;

use fred::prelude::{Builder, Config, Options, ReconnectPolicy};

use crate::Error;

/// How the Redis bus and cache connect and behave; [`RedisOptions::new`] has production defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// Put before every channel and key (`rialto:` in production, a unique one per test), so
    /// several deployments or test runs can share one Redis without seeing each other.
    pub prefix: String,
    /// Messages buffered per topic for each local subscriber before it gets
    /// [`BusItem::Lagged`](crate::BusItem::Lagged).
    pub capacity: usize,
    /// Longest wait for a TCP connection (also bounds start-up when Redis is down).
    pub connect_timeout: Duration,
    /// Longest wait for any one command, so nothing hangs on a Redis that stopped answering.
    pub command_timeout: Duration,
    /// Longest pause between reconnection attempts (they back off exponentially from 100 ms).
    pub reconnect_max_delay: Duration,
    /// How often the subscriber connection is pinged: it sends no commands of its own, so
    /// without this a connection that silently stopped delivering would go unnoticed. A failed
    /// ping reconnects it (and subscribers get [`BusItem::Lagged`](crate::BusItem::Lagged)).
    pub heartbeat: Duration,
    /// Connections of the cache's pool.
    pub pool_size: usize,
}

impl RedisOptions {
    /// Defaults under `prefix`: 4096 messages per topic, 5 s to connect, 2 s per command,
    /// reconnect at least every 2 s, a heartbeat every 5 s, 4 cache connections.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            capacity: crate::event_bus::DEFAULT_CAPACITY,
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(2),
            reconnect_max_delay: Duration::from_secs(2),
            heartbeat: Duration::from_secs(5),
            pool_size: 4,
        }
    }

    /// A fred builder for `url` with these timeouts, `TCP_NODELAY` and an endless reconnect
    /// policy; the initial connection still fails fast (fred's `fail_fast`, on by default).
    pub(crate) fn builder(&self, url: &str, pubsub_buffer: usize) -> Result<Builder, Error> {
        let config = Config::from_url(url).map_err(Error::fred)?;
        let mut builder = Builder::from_config(config);
        let connect_timeout = self.connect_timeout;
        let command_timeout = self.command_timeout;
        let max_delay = u32::try_from(self.reconnect_max_delay.as_millis())
            .unwrap_or(u32::MAX)
            .max(100);
        builder
            .with_connection_config(|c| {
                c.connection_timeout = connect_timeout;
                c.internal_command_timeout = command_timeout;
                // Commands are small and each is awaited: never hold one back for Nagle.
                c.tcp.nodelay = Some(true);
            })
            .with_performance_config(|p| {
                p.default_command_timeout = command_timeout;
                p.broadcast_channel_capacity = pubsub_buffer.max(32);
            })
            // 0 attempts = retry for ever; 100 ms doubling up to `max_delay`.
            .set_policy(ReconnectPolicy::new_exponential(0, 100, max_delay, 2));
        Ok(builder)
    }

    /// Per-command options for calls that must error at once rather than queue while the
    /// connection is down: publishing (the outbox retries) and the cache (the database answers).
    pub(crate) fn fail_fast(&self) -> Options {
        Options {
            fail_fast: true,
            timeout: Some(self.command_timeout),
            ..Options::default()
        }
    }
}
