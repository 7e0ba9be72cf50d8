//! What the story tests share: the backends to run against, short helpers, and a TCP proxy
//! that can cut the connection to the real Redis (fault injection, not a mock).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bus::{BusItem, Cache, EventBus, LocalBus, LocalCache, RedisBus, RedisCache, RedisOptions};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// Longest wait for anything that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Where a story runs: always in process, and on Redis when `REDIS_URL` is set.
pub enum Backend {
    Local,
    Redis(String),
}

pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Local];
    if let Some(url) = redis_url() {
        all.push(Backend::Redis(url));
    }
    all
}

pub fn redis_url() -> Option<String> {
    std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// A prefix no other test (or earlier run) uses.
pub fn unique_prefix() -> String {
    format!("rialto-test:{}:", uuid::Uuid::new_v4().simple())
}

/// Options with short timeouts, so failure stories finish quickly.
pub fn options(prefix: &str, capacity: usize) -> RedisOptions {
    RedisOptions {
        capacity,
        connect_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_secs(1),
        reconnect_max_delay: Duration::from_millis(200),
        // Frequent, so every Redis story also checks that heartbeats cause no spurious lag.
        heartbeat: Duration::from_millis(50),
        pool_size: 2,
        ..RedisOptions::new(prefix)
    }
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::Redis(_) => "redis",
        }
    }

    pub async fn bus(&self, prefix: &str, capacity: usize) -> Arc<dyn EventBus> {
        match self {
            Backend::Local => Arc::new(LocalBus::with_capacity(capacity)),
            Backend::Redis(url) => Arc::new(
                RedisBus::connect(url, &options(prefix, capacity))
                    .await
                    .expect("connect the Redis bus"),
            ),
        }
    }

    pub async fn cache(&self, prefix: &str) -> Arc<dyn Cache> {
        match self {
            Backend::Local => Arc::new(LocalCache::with_capacity(1000)),
            Backend::Redis(url) => Arc::new(
                RedisCache::connect(url, &options(prefix, 16))
                    .await
                    .expect("connect the Redis cache"),
            ),
        }
    }
}

pub fn msg(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// The next item, failing the test if none comes in time or the stream ended.
pub async fn next(sub: &mut bus::Subscription) -> BusItem {
    tokio::time::timeout(PATIENCE, sub.next())
        .await
        .expect("an item in time")
        .expect("the subscription to stay open")
}

/// Asserts the next item is the message `text`.
pub async fn expect_message(sub: &mut bus::Subscription, text: &str, backend: &str) {
    assert_eq!(next(sub).await, BusItem::Message(msg(text)), "{backend}");
}

/// Waits (polling) until `check` is true, failing the test after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An address where nothing listens (bound, then released).
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("redis://{addr}")
}

/// A TCP proxy to Redis whose link can be cut (`down`: listener closed, connections reset)
/// and restored (`up`: listening again on the same port), to play a Redis restart; or frozen
/// (bytes silently dropped, connections kept), to play a network partition.
pub struct Proxy {
    addr: SocketAddr,
    upstream: String,
    frozen: Arc<AtomicBool>,
    accept: Mutex<Option<JoinHandle<()>>>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

/// Copies `from` to `to`, dropping what arrives while `frozen`.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    frozen: &AtomicBool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !frozen.load(Ordering::SeqCst) && to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

impl Proxy {
    pub async fn start(redis_url: &str) -> Self {
        let authority = redis_url
            .trim_start_matches("redis://")
            .split('/')
            .next()
            .unwrap_or_default();
        let upstream = authority.rsplit('@').next().unwrap_or_default().to_owned();
        let mut proxy = Self {
            addr: "127.0.0.1:0".parse().expect("addr"),
            upstream,
            frozen: Arc::new(AtomicBool::new(false)),
            accept: Mutex::new(None),
            links: Arc::new(Mutex::new(Vec::new())),
        };
        proxy.addr = proxy.listen(proxy.addr);
        proxy
    }

    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    fn listen(&self, addr: SocketAddr) -> SocketAddr {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket.bind(addr).expect("bind the proxy");
        let bound = socket.local_addr().expect("addr");
        let listener = socket.listen(64).expect("listen");
        let upstream = self.upstream.clone();
        let links = Arc::clone(&self.links);
        let frozen = Arc::clone(&self.frozen);
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let frozen = Arc::clone(&frozen);
                let link = tokio::spawn(async move {
                    if let Ok(outbound) = TcpStream::connect(upstream).await {
                        let (in_read, in_write) = inbound.into_split();
                        let (out_read, out_write) = outbound.into_split();
                        tokio::select! {
                            () = pump(in_read, out_write, &frozen) => {}
                            () = pump(out_read, in_write, &frozen) => {}
                        }
                    }
                });
                links.lock().expect("links").push(link);
            }
        });
        *self.accept.lock().expect("accept") = Some(accept);
        bound
    }

    /// Stops listening and resets every connection.
    pub fn down(&self) {
        if let Some(accept) = self.accept.lock().expect("accept").take() {
            accept.abort();
        }
        for link in self.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }

    /// Drops (`true`) or forwards again (`false`) every byte, keeping the connections open.
    pub fn freeze(&self, frozen: bool) {
        self.frozen.store(frozen, Ordering::SeqCst);
    }

    /// Listens again on the same port.
    pub fn up(&self) {
        self.listen(self.addr);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.down();
    }
}
