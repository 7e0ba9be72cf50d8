//! What every WebSocket at `/graphql` shares, the gateway's and a subgraph's: the limits on
//! what one client may hold open ([`SocketLimits`], [`SocketRegistry`]), the close codes that
//! answer each limit, and the watch that ends a socket when its credential does
//! ([`CredentialWatch`]).
//!
//! Close codes (the README's operator section lists them):
//! - **4403** the credential is invalid, has expired, or was revoked (logout, password
//!   change, a revoked API key) — at `connection_init` or later;
//! - **1012** the server is restarting (drain);
//! - **1009** a message larger than `--ws-max-message-bytes`;
//! - **1013** the client stopped reading and its queue of undelivered messages filled up
//!   (`--ws-max-queued-messages`): reconnect and resynchronise;
//! - **4429** too many: subscriptions on one socket (`--ws-max-subscriptions`), or sockets
//!   from one address (`--ws-max-sockets-per-address`) or of one account
//!   (`--ws-max-sockets-per-account`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use auth::revocation::{Revocation, RevocationList};
use common::{Caller, Identity};
use futures_util::future::BoxFuture;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

/// The credential is invalid, expired or revoked (API.md).
pub const CREDENTIAL_ENDED: u16 = 4403;
/// A message over the size limit (RFC 6455 "message too big").
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// The client fell behind (RFC 6455 "try again later").
pub const SLOW_CONSUMER: u16 = 1013;
/// Too many subscriptions or sockets.
pub const TOO_MANY: u16 = 4429;

/// The read buffer a socket starts with (it grows for a larger message): tungstenite's
/// default of 128 KiB, allocated for every socket, would be most of an idle one's memory.
pub const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Limits on the WebSockets one client may hold, each answered with a close code.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct SocketLimits {
    /// Largest WebSocket message accepted, in bytes (larger: close 1009).
    #[arg(
        long = "ws-max-message-bytes",
        env = "RIALTO_WS_MAX_MESSAGE_BYTES",
        default_value_t = 256 * 1024
    )]
    pub max_message_bytes: usize,

    /// Messages queued for a client that is not reading before its socket is closed (1013).
    #[arg(
        long = "ws-max-queued-messages",
        env = "RIALTO_WS_MAX_QUEUED_MESSAGES",
        default_value_t = 1024
    )]
    pub max_queued_messages: usize,

    /// Subscriptions one socket may hold at once (one more: close 4429).
    #[arg(
        long = "ws-max-subscriptions",
        env = "RIALTO_WS_MAX_SUBSCRIPTIONS",
        default_value_t = 100
    )]
    pub max_subscriptions: usize,

    /// Open sockets from one client address (an IPv6 /64 counts as one; one more: close
    /// 4429).
    #[arg(
        long = "ws-max-sockets-per-address",
        env = "RIALTO_WS_MAX_SOCKETS_PER_ADDRESS",
        default_value_t = 2_000
    )]
    pub max_sockets_per_address: usize,

    /// Open sockets signed in as one account (one more: close 4429).
    #[arg(
        long = "ws-max-sockets-per-account",
        env = "RIALTO_WS_MAX_SOCKETS_PER_ACCOUNT",
        default_value_t = 50
    )]
    pub max_sockets_per_account: usize,
}

impl Default for SocketLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 256 * 1024,
            max_queued_messages: 1024,
            max_subscriptions: 100,
            max_sockets_per_address: 2_000,
            max_sockets_per_account: 50,
        }
    }
}

/// Counts the open sockets per address and per account, so one client cannot hold the
/// server's memory with sockets. Each counted socket holds a [`SocketSlot`] that gives its
/// place back when dropped.
#[derive(Debug, Default)]
pub struct SocketRegistry {
    counts: Mutex<HashMap<Key, usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Address(String),
    Account(Uuid),
}

/// One socket's place in the [`SocketRegistry`].
#[derive(Debug)]
pub struct SocketSlot {
    registry: Arc<SocketRegistry>,
    key: Key,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut counts = self.registry.lock();
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

impl SocketRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, usize>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(self: &Arc<Self>, key: Key, limit: usize) -> Option<SocketSlot> {
        let mut counts = self.lock();
        let n = counts.entry(key.clone()).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(SocketSlot {
            registry: self.clone(),
            key,
        })
    }

    /// A place for one more socket from `address` (its limiter key: an IPv6 /64 is one
    /// address), or `None` when it has `limit` already.
    pub fn take_address(self: &Arc<Self>, address: &str, limit: usize) -> Option<SocketSlot> {
        self.take(Key::Address(common::request::address_key(address)), limit)
    }

    /// A place for one more socket of `account`, or `None` when it has `limit` already.
    pub fn take_account(self: &Arc<Self>, account: Uuid, limit: usize) -> Option<SocketSlot> {
        self.take(Key::Account(account), limit)
    }
}

/// Why a socket's credential ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Its expiry passed.
    Expired,
    /// It was revoked.
    Revoked,
}

impl Ended {
    /// The close reason sent with 4403.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Expired => "Forbidden: the credential expired",
            Self::Revoked => "Forbidden: the credential was revoked",
        }
    }
}

/// Watches one socket's credential: resolves when it expires or is revoked.
pub struct CredentialWatch {
    identity: Option<Identity>,
    deadline: Option<tokio::time::Instant>,
    list: Option<Arc<RevocationList>>,
    announcements: Option<broadcast::Receiver<Revocation>>,
}

impl CredentialWatch {
    /// A watch over the caller a socket was opened as (an anonymous caller never ends).
    pub fn new(caller: &Caller, list: Option<&Arc<RevocationList>>) -> Self {
        let identity = match caller {
            Caller::Known(identity) => Some(identity.clone()),
            _ => None,
        };
        let deadline = identity
            .as_ref()
            .and_then(|i| i.expires_at)
            .map(deadline_of);
        let announcements = identity.as_ref().and(list).map(|l| l.watch());
        Self {
            identity,
            deadline,
            list: list.cloned(),
            announcements,
        }
    }

    /// `Err` when the credential has ended by now: checked before every operation, so a
    /// socket never runs one after its credential's end even if the close is still on its
    /// way.
    pub fn check(&self) -> Result<(), Ended> {
        let Some(identity) = &self.identity else {
            return Ok(());
        };
        if self
            .deadline
            .is_some_and(|d| d <= tokio::time::Instant::now())
        {
            return Err(Ended::Expired);
        }
        if self.list.as_ref().is_some_and(|l| l.is_revoked(identity)) {
            return Err(Ended::Revoked);
        }
        Ok(())
    }

    /// The credential's end, as one future to keep for the socket's whole life (polled from
    /// a `select!` loop by `&mut`): it resolves when the credential expires or is revoked,
    /// never for an anonymous socket. Made once, so a loop that wakes for every message
    /// does not re-arm a timer and re-clone the identity on each turn. It takes the watch's
    /// revocation feed: call it once per watch.
    pub fn ended(&mut self) -> BoxFuture<'static, Ended> {
        let Some(identity) = self.identity.clone() else {
            return Box::pin(std::future::pending());
        };
        let deadline = self.deadline;
        let list = self.list.clone();
        let announcements = self.announcements.take();
        Box::pin(async move {
            let expiry = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let revoked = async {
                let Some(mut rx) = announcements else {
                    return std::future::pending().await;
                };
                loop {
                    match rx.recv().await {
                        Ok(r) if r.applies_to(&identity) => return,
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => {
                            if list.as_ref().is_some_and(|l| l.is_revoked(&identity)) {
                                return;
                            }
                        }
                        Err(RecvError::Closed) => return std::future::pending().await,
                    }
                }
            };
            tokio::select! {
                () = expiry => Ended::Expired,
                () = revoked => Ended::Revoked,
            }
        })
    }

    /// Whether the credential is an API key (re-checked with the auth service every few
    /// seconds, so a key revoked where no bus reaches still closes its sockets).
    pub fn is_api_key(&self) -> bool {
        self.identity
            .as_ref()
            .is_some_and(|i| i.api_key().is_some())
    }
}

/// The instant a credential expiring at `exp` (seconds since the epoch) ends.
fn deadline_of(exp: i64) -> tokio::time::Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let exp_ms = u128::try_from(exp).unwrap_or(0).saturating_mul(1000);
    let left = u64::try_from(exp_ms.saturating_sub(now_ms)).unwrap_or(u64::MAX);
    tokio::time::Instant::now() + Duration::from_millis(left)
}

/// Counts a socket close by code, for `/metrics`.
pub fn count_close(code: u16) {
    metrics::counter!("rialto_websocket_closes_total", "code" => code.to_string()).increment(1);
}

/// Whether a read error from axum's socket was a message over the size limit.
pub fn is_too_big(error: &axum::Error) -> bool {
    let text = error.to_string();
    text.contains("too long") || text.contains("Space limit exceeded") || text.contains("too big")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use common::{Credential, Role, Scope};

    fn caller(expires_at: Option<i64>, session: Uuid) -> Caller {
        Caller::Known(Identity {
            user_id: Uuid::nil(),
            role: Role::Trader,
            scopes: vec![Scope::Read],
            credential: Credential::AccessToken {
                jti: "j".into(),
                session: Some(session),
                issued_at: 0,
            },
            expires_at,
        })
    }

    fn now_secs() -> i64 {
        i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_credential_ends_at_its_expiry_or_its_revocation() {
        let list = Arc::new(RevocationList::new());
        let expired = CredentialWatch::new(&caller(Some(now_secs() - 1), Uuid::nil()), None);
        assert_eq!(expired.check(), Err(Ended::Expired));

        let session = Uuid::new_v4();
        let mut watch = CredentialWatch::new(&caller(Some(now_secs() + 600), session), Some(&list));
        assert_eq!(watch.check(), Ok(()));
        let revoke = list.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            revoke.apply(&Revocation::Sessions {
                user_id: Uuid::nil(),
                session_ids: vec![Uuid::new_v4()],
            });
            revoke.apply(&Revocation::Sessions {
                user_id: Uuid::nil(),
                session_ids: vec![session],
            });
        });
        let ended = tokio::time::timeout(Duration::from_secs(5), watch.ended())
            .await
            .unwrap();
        assert_eq!(ended, Ended::Revoked);
        assert_eq!(watch.check(), Err(Ended::Revoked));

        let mut anonymous = CredentialWatch::new(&Caller::Anonymous, Some(&list));
        assert!(
            tokio::time::timeout(Duration::from_millis(50), anonymous.ended())
                .await
                .is_err()
        );
    }

    #[test]
    fn sockets_are_counted_per_address_and_per_account() {
        let registry = Arc::new(SocketRegistry::default());
        let a = registry.take_address("2001:db8::1", 2).unwrap();
        let _b = registry.take_address("2001:db8::2", 2).unwrap();
        assert!(
            registry.take_address("2001:db8::3", 2).is_none(),
            "one /64 is one address"
        );
        assert!(registry.take_address("10.0.0.1", 2).is_some());
        drop(a);
        assert!(registry.take_address("2001:db8::3", 2).is_some());
        let user = Uuid::new_v4();
        let one = registry.take_account(user, 1).unwrap();
        assert!(registry.take_account(user, 1).is_none());
        drop(one);
        assert!(registry.take_account(user, 1).is_some());
    }
}
