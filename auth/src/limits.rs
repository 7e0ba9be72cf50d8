//! Login and sign-up throttling, and the bound on concurrent password hashing.
//!
//! Every attempt spends from its limits before any password is checked: that keeps an
//! attacker from burning argon2 time. A login spends from three fixed-window counters, in
//! this order, and the first one that is spent refuses it:
//!
//! 1. the client address (any account): `login_attempts_per_ip` a minute;
//! 2. the account from that address: `login_attempts_per_account` a minute, so guessing one
//!    account from one address is slow, yet only that address is refused: the owner signs
//!    in from their own;
//! 3. the account from everywhere: `login_attempts_per_account_total` a minute, looser, the
//!    cap on a guesser spread over many addresses.
//!
//! A sign-up spends the address's attempts and, once its input is valid, one of the
//! address's `registrations_per_address` an hour: registering a taken email says so, and
//! that bounds how fast one address can learn which emails have accounts.
//!
//! Addresses are keyed by [`common::request::address_key`] (an IPv6 address by its /64);
//! accounts by a hash of the normalised email, so no email lands in Redis. The counters live
//! in the [`Cache`] the service is given ([`Throttle::with_shared`]): on Redis every replica
//! shares them. When that cache fails, the limits count in this process until it answers
//! again, with a warning in the log: an outage neither locks everyone out nor lifts the
//! limits.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bus::{Cache, Counter, LocalCache};
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{AuthConfig, error::AuthError};

/// Window of the login limits.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);
/// Window of the sign-up limit.
pub const REGISTRATION_WINDOW: Duration = Duration::from_secs(3600);

/// While the shared cache fails, it is tried again at most this often: a Redis that stopped
/// answering costs one command timeout a second, not one per attempt.
const RETRY_SHARED_AFTER: Duration = Duration::from_secs(1);

/// Counters the in-process cache keeps at most (least useful dropped first); each is a few
/// dozen bytes.
const LOCAL_COUNTERS: usize = 50_000;

/// The login and sign-up limits of one auth service.
pub struct Throttle {
    shared: Option<Arc<dyn Cache>>,
    local: LocalCache,
    /// When the shared cache last failed, in milliseconds since `started` (plus one; 0 while
    /// it answers): the outage is logged once, and the cache skipped for a while.
    failed_at: AtomicU64,
    started: Instant,
    retry_shared_after: Duration,
    per_address: u64,
    per_account_address: u64,
    per_account: u64,
    registrations_per_address: u64,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("shared", &self.shared.is_some())
            .field("per_address", &self.per_address)
            .field("per_account_address", &self.per_account_address)
            .field("per_account", &self.per_account)
            .field("registrations_per_address", &self.registrations_per_address)
            .finish_non_exhaustive()
    }
}

/// A limiter key for an account: a hash of its normalised email, short and not personal.
fn account_key(email: &str) -> String {
    hex::encode(&Sha256::digest(email.as_bytes())[..16])
}

/// A limiter key for a client address; `-` when the address is unknown (calls that do not
/// come through the HTTP edge).
fn address_key(ip: Option<&str>) -> String {
    ip.map_or_else(|| "-".to_owned(), common::request::address_key)
}

impl Throttle {
    /// The limits of `config`, counted in this process.
    pub fn new(config: &AuthConfig) -> Self {
        Self {
            shared: None,
            local: LocalCache::with_capacity(LOCAL_COUNTERS),
            failed_at: AtomicU64::new(0),
            started: Instant::now(),
            retry_shared_after: RETRY_SHARED_AFTER,
            per_address: u64::from(config.login_attempts_per_ip.get()),
            per_account_address: u64::from(config.login_attempts_per_account.get()),
            per_account: u64::from(config.login_attempts_per_account_total.get()),
            registrations_per_address: u64::from(config.registrations_per_address.get()),
        }
    }

    /// Counts in `cache` (Redis, shared by every replica) instead, and in this process only
    /// while `cache` fails.
    #[must_use]
    pub fn with_shared(mut self, cache: Arc<dyn Cache>) -> Self {
        self.shared = Some(cache);
        self
    }

    /// Adds one to the counter `key`: in the shared cache, or in this process when there is
    /// none or it fails.
    async fn count(&self, key: &str, window: Duration) -> Counter {
        if let Some(shared) = &self.shared {
            let now = u64::try_from(self.started.elapsed().as_millis())
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            let failed_at = self.failed_at.load(Ordering::Relaxed);
            let retry_after = u64::try_from(self.retry_shared_after.as_millis()).unwrap_or(0);
            if failed_at == 0 || now.saturating_sub(failed_at) >= retry_after {
                match shared.increment(key, window).await {
                    Ok(counter) => {
                        if self.failed_at.swap(0, Ordering::Relaxed) != 0 {
                            tracing::info!(
                                "the shared cache answers again: login limits are shared"
                            );
                        }
                        return counter;
                    }
                    Err(error) => {
                        if self.failed_at.swap(now, Ordering::Relaxed) == 0 {
                            tracing::warn!(
                                %error,
                                "the shared cache failed: login limits count in this process until it is back"
                            );
                        }
                    }
                }
            }
            metrics::counter!("rialto_auth_throttle_fallbacks_total").increment(1);
        }
        // The in-process cache never fails; were it to, the attempt counts as the first.
        self.local.increment(key, window).await.unwrap_or(Counter {
            count: 1,
            resets_in: window,
        })
    }

    /// Spends one from `key`'s `limit` per `window`; refused once it is spent.
    async fn spend(&self, key: &str, limit: u64, window: Duration) -> Result<(), AuthError> {
        let counter = self.count(key, window).await;
        if counter.count <= limit {
            return Ok(());
        }
        metrics::counter!("rialto_auth_throttled_total").increment(1);
        Err(AuthError::RateLimited {
            retry_after_secs: u64::try_from(counter.resets_in.as_millis().div_ceil(1000))
                .unwrap_or(u64::MAX)
                .max(1),
        })
    }

    /// Spends one password attempt against the account `email` (normalised) from `ip`
    /// (login, password change): per address, per account and address, per account.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`] with the seconds until the spent window ends.
    pub async fn check_login(&self, email: &str, ip: Option<&str>) -> Result<(), AuthError> {
        let address = address_key(ip);
        let account = account_key(email);
        if ip.is_some() {
            self.spend(
                &format!("auth:login:addr:{address}"),
                self.per_address,
                LOGIN_WINDOW,
            )
            .await?;
        }
        self.spend(
            &format!("auth:login:acct-addr:{account}:{address}"),
            self.per_account_address,
            LOGIN_WINDOW,
        )
        .await?;
        self.spend(
            &format!("auth:login:acct:{account}"),
            self.per_account,
            LOGIN_WINDOW,
        )
        .await
    }

    /// Spends one attempt of the address `ip`, whatever it attempts (sign-up).
    ///
    /// # Errors
    /// [`AuthError::RateLimited`].
    pub async fn check_address(&self, ip: Option<&str>) -> Result<(), AuthError> {
        match ip {
            Some(_) => {
                let key = format!("auth:login:addr:{}", address_key(ip));
                self.spend(&key, self.per_address, LOGIN_WINDOW).await
            }
            None => Ok(()),
        }
    }

    /// Spends one sign-up of the address `ip`.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`] with the seconds until the hour's window ends.
    pub async fn check_registration(&self, ip: Option<&str>) -> Result<(), AuthError> {
        match ip {
            Some(_) => {
                let key = format!("auth:register:addr:{}", address_key(ip));
                self.spend(&key, self.registrations_per_address, REGISTRATION_WINDOW)
                    .await
            }
            None => Ok(()),
        }
    }
}

/// At most so many password hashes (argon2id, 19 MiB each) at once; past it a caller is
/// answered `RATE_LIMITED` at once rather than queued, so memory and CPU stay bounded
/// whatever arrives.
#[derive(Debug, Clone)]
pub struct HashingPermits {
    semaphore: Arc<Semaphore>,
}

impl HashingPermits {
    /// `permits` concurrent hashes.
    pub fn new(permits: std::num::NonZeroU32) -> Self {
        Self {
            semaphore: Arc::new(Semaphore::new(
                usize::try_from(permits.get()).unwrap_or(usize::MAX),
            )),
        }
    }

    /// A permit to hash, held until dropped.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`] (retry after 1 s) when every permit is taken.
    pub fn try_acquire(&self) -> Result<OwnedSemaphorePermit, AuthError> {
        Arc::clone(&self.semaphore)
            .try_acquire_owned()
            .map_err(|_| {
                metrics::counter!("rialto_auth_hashing_refused_total").increment(1);
                AuthError::RateLimited {
                    retry_after_secs: 1,
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use bus::testing::FlakyCache;

    use super::*;

    fn limits(per_address: u32, per_account_address: u32, per_account: u32) -> Throttle {
        Throttle::new(&AuthConfig {
            login_attempts_per_ip: NonZeroU32::new(per_address).unwrap(),
            login_attempts_per_account: NonZeroU32::new(per_account_address).unwrap(),
            login_attempts_per_account_total: NonZeroU32::new(per_account).unwrap(),
            registrations_per_address: NonZeroU32::new(2).unwrap(),
            ..AuthConfig::default()
        })
    }

    fn is_limited(result: Result<(), AuthError>) -> bool {
        matches!(result, Err(AuthError::RateLimited { retry_after_secs }) if retry_after_secs >= 1)
    }

    #[tokio::test]
    async fn an_account_spent_from_one_address_is_still_open_from_another() {
        let t = limits(100, 3, 100);
        for _ in 0..3 {
            t.check_login("ann@example.com", Some("198.51.100.1"))
                .await
                .unwrap();
        }
        assert!(is_limited(
            t.check_login("ann@example.com", Some("198.51.100.1")).await
        ));
        t.check_login("ann@example.com", Some("203.0.113.9"))
            .await
            .unwrap();
        t.check_login("bob@example.com", Some("198.51.100.1"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_account_is_capped_across_all_addresses() {
        let t = limits(100, 3, 5);
        for i in 0..5 {
            t.check_login("ann@example.com", Some(&format!("198.51.100.{i}")))
                .await
                .unwrap();
        }
        assert!(is_limited(
            t.check_login("ann@example.com", Some("198.51.100.200"))
                .await
        ));
    }

    #[tokio::test]
    async fn an_address_is_capped_across_accounts_and_an_ipv6_64_is_one_address() {
        let t = limits(2, 10, 100);
        t.check_login("a@example.com", Some("2001:db8:1:2::1"))
            .await
            .unwrap();
        t.check_login("b@example.com", Some("2001:db8:1:2::2"))
            .await
            .unwrap();
        assert!(is_limited(
            t.check_login("c@example.com", Some("2001:db8:1:2:ffff::3"))
                .await
        ));
        t.check_login("c@example.com", Some("2001:db8:1:3::1"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn sign_ups_are_capped_per_address() {
        let t = limits(100, 10, 100);
        t.check_registration(Some("192.0.2.1")).await.unwrap();
        t.check_registration(Some("192.0.2.1")).await.unwrap();
        let refused = t.check_registration(Some("192.0.2.1")).await;
        assert!(
            matches!(refused, Err(AuthError::RateLimited { retry_after_secs }) if retry_after_secs > 3000),
            "the window is an hour: {refused:?}"
        );
        t.check_registration(Some("192.0.2.2")).await.unwrap();
    }

    #[tokio::test]
    async fn a_failing_shared_cache_falls_back_to_counting_in_process() {
        let shared = Arc::new(FlakyCache::default());
        let mut t = limits(100, 2, 100).with_shared(shared.clone());
        // Try the shared cache on every attempt, so its return is seen at once.
        t.retry_shared_after = Duration::ZERO;
        t.check_login("ann@example.com", Some("192.0.2.1"))
            .await
            .unwrap();
        shared.set_down(true);
        // Not locked out…
        t.check_login("ann@example.com", Some("192.0.2.1"))
            .await
            .unwrap();
        t.check_login("ann@example.com", Some("192.0.2.1"))
            .await
            .unwrap();
        // …nor unlimited.
        assert!(is_limited(
            t.check_login("ann@example.com", Some("192.0.2.1")).await
        ));
        shared.set_down(false);
        // Back on the shared count, which saw one attempt.
        t.check_login("ann@example.com", Some("192.0.2.1"))
            .await
            .unwrap();
        assert!(is_limited(
            t.check_login("ann@example.com", Some("192.0.2.1")).await
        ));
    }

    #[tokio::test]
    async fn a_failed_shared_cache_is_left_alone_for_a_while() {
        let shared = Arc::new(FlakyCache::default());
        let t = limits(100, 10, 100).with_shared(shared.clone());
        let at_address = || shared.inner.get("auth:login:addr:192.0.2.1");
        t.check_login("ann@example.com", Some("192.0.2.1"))
            .await
            .unwrap();
        shared.set_down(true);
        t.check_login("ann@example.com", Some("192.0.2.1"))
            .await
            .unwrap();
        shared.set_down(false);
        // Within a second of the failure the attempt counts in process, without waiting on
        // the shared cache.
        t.check_login("ann@example.com", Some("192.0.2.1"))
            .await
            .unwrap();
        assert_eq!(at_address().await.unwrap().as_deref(), Some("1"));
    }

    #[test]
    fn hashing_permits_refuse_past_their_bound_and_come_back() {
        let permits = HashingPermits::new(NonZeroU32::new(1).unwrap());
        let held = permits.try_acquire().unwrap();
        assert!(matches!(
            permits.try_acquire(),
            Err(AuthError::RateLimited {
                retry_after_secs: 1
            })
        ));
        drop(held);
        let _again = permits.try_acquire().unwrap();
    }
}
