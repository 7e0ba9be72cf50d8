//! Test support (feature `testing`): a private `redis-server` that a test can kill, and a
//! cache that can be switched off, to show what happens when Redis goes away. Never
//! compiled into the services.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use futures_util::{FutureExt, future::BoxFuture};

use crate::{Cache, Error, LocalCache, cache::Counter};

/// A cache that can be switched off, like a Redis behind a network blip: while `down` is
/// set every call fails at once.
#[derive(Default)]
pub struct FlakyCache {
    /// What answers while it is up.
    pub inner: LocalCache,
    /// Whether it is down now.
    pub down: AtomicBool,
}

impl FlakyCache {
    /// Switches it off (`true`) or on again.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::Relaxed);
    }

    fn fail<'a, R: Send + 'a>(&self) -> Option<BoxFuture<'a, Result<R, Error>>> {
        self.down
            .load(Ordering::Relaxed)
            .then(|| futures_util::future::ready(Err(Error::Unavailable("blip".into()))).boxed())
    }
}

impl Cache for FlakyCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, Error>> {
        self.fail().unwrap_or_else(|| self.inner.get(key))
    }
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: String,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.fail()
            .unwrap_or_else(|| self.inner.set(key, value, ttl))
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        self.fail().unwrap_or_else(|| self.inner.delete(key))
    }
    fn increment<'a>(
        &'a self,
        key: &'a str,
        window: Duration,
    ) -> BoxFuture<'a, Result<Counter, Error>> {
        self.fail()
            .unwrap_or_else(|| self.inner.increment(key, window))
    }
    fn ping(&self) -> BoxFuture<'_, Result<(), Error>> {
        self.fail().unwrap_or_else(|| self.inner.ping())
    }
}

/// The `redis-server` binary, if this machine has one.
pub fn redis_server() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let fixed = ["/usr/bin", "/usr/sbin", "/usr/local/bin"].map(PathBuf::from);
    on_path
        .into_iter()
        .chain(fixed)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
}

/// A private Redis, killed when dropped (also when a story fails).
pub struct PrivateRedis {
    child: Option<Child>,
    port: u16,
}

impl PrivateRedis {
    /// Starts one on a free port and waits until it listens.
    ///
    /// # Panics
    /// When it cannot start or does not listen within 5 s: a test helper.
    pub async fn start(binary: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let redis = Self {
            child: Some(child),
            port,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return redis;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not listen on {port}");
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL), as an outage would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
