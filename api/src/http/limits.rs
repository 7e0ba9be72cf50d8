//! Request rate limits at the edge, in two steps around authentication.
//!
//! 1. [`RequestLimiter::admit`], before any credential is looked at: the client address's
//!    budget ([`ADDRESS_FACTOR`] times one account's, so many accounts behind one address
//!    cannot multiply what it may send), and the address's penalty for refused credentials.
//!    A flood of made-up tokens or API keys is stopped here, before it costs a call to auth,
//!    a database lookup or a place in the key cache.
//! 2. [`RequestLimiter::charge`], once the caller is known: a signed-in caller's own budget;
//!    an anonymous caller's share of its address's narrow budget; and a refused credential
//!    also spends from the address's small budget of refused credentials, which when empty
//!    puts the address in the penalty box for as long as it takes to refill.
//!
//! A request costs what it does: one cell per operation, and one per root mutation field, so
//! 64 aliased `placeOrder`s cost 64 ([`crate::gateway::Prepared::cost`]). Over the limit,
//! `/graphql` answers HTTP 429 with `Retry-After` and a `RATE_LIMITED` GraphQL error, before
//! any subgraph is asked. Addresses are keyed by [`common::request::address_key`] (an IPv6
//! /64 is one address).

use std::{
    num::NonZeroU32,
    time::{Duration, Instant},
};

use common::{Caller, RequestMeta, request::address_key};
use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
};
use uuid::Uuid;

/// Past this many tracked keys, stale ones are dropped on the next check.
const RETAIN_AFTER: usize = 100_000;

/// How much wider an address's budget for signed-in traffic is than one account's.
pub const ADDRESS_FACTOR: u32 = 10;

/// Refused credentials one address may present in a burst, and per second after it.
const REFUSED_BURST: u32 = 20;
const REFUSED_PER_SECOND: u32 = 2;

/// API keys one address may have looked up (not yet remembered by the edge) in a burst,
/// and per second after it. A bot's key is remembered for a few seconds after each lookup,
/// so this only stops keys nobody was given.
const LOOKUP_BURST: u32 = 20;
const LOOKUPS_PER_SECOND: u32 = 5;

/// The edge's request limiter.
pub struct RequestLimiter {
    accounts: DefaultKeyedRateLimiter<Uuid>,
    anonymous: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<String>,
    refused: DefaultKeyedRateLimiter<String>,
    lookups: DefaultKeyedRateLimiter<String>,
    /// Addresses that spent their refused-credential budget, until when.
    penalties: quick_cache::sync::Cache<String, Instant>,
    clock: DefaultClock,
}

fn n(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN)
}

impl RequestLimiter {
    /// `per_second` requests a second per caller, with bursts of `burst`.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        let wide =
            |n: NonZeroU32| n.saturating_mul(NonZeroU32::MIN.saturating_add(ADDRESS_FACTOR - 1));
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Self {
            accounts: DefaultKeyedRateLimiter::keyed(quota),
            anonymous: DefaultKeyedRateLimiter::keyed(quota),
            addresses: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(wide(per_second)).allow_burst(wide(burst)),
            ),
            refused: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(n(REFUSED_PER_SECOND)).allow_burst(n(REFUSED_BURST)),
            ),
            lookups: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(n(LOOKUPS_PER_SECOND)).allow_burst(n(LOOKUP_BURST)),
            ),
            penalties: quick_cache::sync::Cache::new(10_000),
            clock: DefaultClock::default(),
        }
    }

    fn tidy(&self) {
        if self.accounts.len() > RETAIN_AFTER {
            self.accounts.retain_recent();
        }
        if self.anonymous.len() > RETAIN_AFTER {
            self.anonymous.retain_recent();
        }
        if self.addresses.len() > RETAIN_AFTER {
            self.addresses.retain_recent();
        }
        if self.refused.len() > RETAIN_AFTER {
            self.refused.retain_recent();
        }
        if self.lookups.len() > RETAIN_AFTER {
            self.lookups.retain_recent();
        }
    }

    fn spend<K: Clone + std::hash::Hash + Eq>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
        cost: usize,
    ) -> Result<(), Duration> {
        let cells = NonZeroU32::new(u32::try_from(cost.max(1)).unwrap_or(u32::MAX))
            .unwrap_or(NonZeroU32::MIN);
        match limiter.check_key_n(key, cells) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(self.clock.now())),
            // More than the whole burst at once: never allowed; come back in a second.
            Err(_) => Err(Duration::from_secs(1)),
        }
    }

    /// Before authentication: spends `operations` cells of the client address's budget, and
    /// refuses an address in the penalty box. `Err` carries how long to wait.
    pub fn admit(&self, meta: &RequestMeta, operations: usize) -> Result<(), Duration> {
        self.tidy();
        let address = address_key(meta.ip.as_deref().unwrap_or("unknown"));
        if let Some(until) = self.penalties.get(&address) {
            let now = Instant::now();
            if until > now {
                return Err(until - now);
            }
            self.penalties.remove(&address);
        }
        self.spend(&self.addresses, &address, operations)
    }

    /// Before a credential check that costs a lookup (an API key the edge does not
    /// remember): spends one of the address's lookup budget. `Err` carries how long to wait.
    pub fn lookup(&self, meta: &RequestMeta) -> Result<(), Duration> {
        let address = address_key(meta.ip.as_deref().unwrap_or("unknown"));
        self.spend(&self.lookups, &address, 1)
    }

    /// After authentication: spends `cost` cells for this caller (its account's budget, or
    /// its address's narrow one when anonymous); a refused credential also spends from the
    /// address's refused-credential budget. `Err` carries how long to wait.
    pub fn charge(&self, caller: &Caller, meta: &RequestMeta, cost: usize) -> Result<(), Duration> {
        let address = address_key(meta.ip.as_deref().unwrap_or("unknown"));
        match caller {
            Caller::Known(identity) => self.spend(&self.accounts, &identity.user_id, cost),
            Caller::Anonymous => self.spend(&self.anonymous, &address, cost),
            Caller::Rejected => {
                if let Err(wait) = self.spend(&self.refused, &address, 1) {
                    metrics::counter!("rialto_edge_refused_credential_penalties_total")
                        .increment(1);
                    self.penalties.insert(address, Instant::now() + wait);
                    return Err(wait);
                }
                self.spend(&self.anonymous, &address, cost)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(ip: &str) -> RequestMeta {
        RequestMeta {
            ip: Some(ip.into()),
            ..Default::default()
        }
    }

    fn account(n: u128) -> Caller {
        Caller::Known(common::Identity {
            user_id: uuid::Uuid::from_u128(n),
            role: common::Role::Trader,
            scopes: vec![],
            credential: common::Credential::AccessToken {
                jti: "j".into(),
                session: None,
                issued_at: 0,
            },
            expires_at: None,
        })
    }

    #[test]
    fn each_caller_has_its_own_budget() {
        let limiter = RequestLimiter::new(NonZeroU32::MIN, NonZeroU32::new(2).unwrap());
        assert!(
            limiter
                .charge(&Caller::Anonymous, &from("10.0.0.1"), 1)
                .is_ok()
        );
        assert!(
            limiter
                .charge(&Caller::Anonymous, &from("10.0.0.1"), 1)
                .is_ok()
        );
        let wait = limiter
            .charge(&Caller::Anonymous, &from("10.0.0.1"), 1)
            .unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(
            limiter
                .charge(&Caller::Anonymous, &from("10.0.0.2"), 1)
                .is_ok()
        );
        assert!(limiter.charge(&account(1), &from("10.0.0.1"), 2).is_ok());
    }

    #[test]
    fn many_accounts_behind_one_address_share_a_wider_budget() {
        let limiter = RequestLimiter::new(NonZeroU32::MIN, NonZeroU32::MIN);
        let meta = from("10.0.0.3");
        for n in 0..u128::from(ADDRESS_FACTOR) {
            assert!(limiter.admit(&meta, 1).is_ok(), "request {n}");
            assert!(limiter.charge(&account(n), &meta, 1).is_ok(), "account {n}");
        }
        assert!(limiter.admit(&meta, 1).is_err(), "the address is spent");
    }

    #[test]
    fn a_request_costs_what_it_does() {
        let limiter =
            RequestLimiter::new(NonZeroU32::new(10).unwrap(), NonZeroU32::new(10).unwrap());
        let meta = from("10.0.0.4");
        assert!(limiter.charge(&account(7), &meta, 8).is_ok());
        assert!(
            limiter.charge(&account(7), &meta, 8).is_err(),
            "16 > a burst of 10"
        );
        assert!(
            limiter.charge(&account(8), &meta, 64).is_err(),
            "never more than the burst"
        );
    }

    #[test]
    fn an_address_presenting_refused_credentials_is_stopped_before_authentication() {
        let limiter = RequestLimiter::new(n(1000), n(1000));
        let meta = from("2001:db8::1");
        let mut refused = 0;
        for _ in 0..100 {
            if limiter.admit(&meta, 1).is_err() {
                break;
            }
            if limiter.charge(&Caller::Rejected, &meta, 1).is_err() {
                refused += 1;
            }
        }
        assert_eq!(refused, 1, "the refused-credential budget ran out once");
        assert!(
            limiter.admit(&from("2001:db8::2"), 1).is_err(),
            "the whole /64 waits in the penalty box"
        );
        assert!(limiter.admit(&from("10.9.9.9"), 1).is_ok());
        assert!(limiter.charge(&account(1), &from("10.9.9.9"), 1).is_ok());
    }
}
