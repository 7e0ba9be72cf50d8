//! Request rate limits at the edge, per identity (the account behind a token or API key) and
//! per client address. Anonymous callers share their address's budget; signed-in callers
//! have their own, and their address also has a wider one ([`ADDRESS_FACTOR`] times), so many
//! accounts behind one address cannot multiply what that address may send. Over the limit,
//! `/graphql` answers HTTP 429 with `Retry-After` and a `RATE_LIMITED` GraphQL error, before
//! any subgraph is asked.

use std::{num::NonZeroU32, time::Duration};

use common::{Caller, RequestMeta};
use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
};

/// Past this many tracked keys, stale ones are dropped on the next check.
const RETAIN_AFTER: usize = 100_000;

/// How much wider an address's budget for signed-in traffic is than one account's.
pub const ADDRESS_FACTOR: u32 = 10;

/// The edge's request limiter.
pub struct RequestLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl RequestLimiter {
    /// `per_second` requests a second per key, with bursts of `burst`.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        let wide =
            |n: NonZeroU32| n.saturating_mul(NonZeroU32::MIN.saturating_add(ADDRESS_FACTOR - 1));
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            ),
            addresses: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(wide(per_second)).allow_burst(wide(burst)),
            ),
            clock: DefaultClock::default(),
        }
    }

    /// Spends one request for this caller; `Err` carries how long to wait.
    pub fn check(&self, caller: &Caller, meta: &RequestMeta) -> Result<(), Duration> {
        let address = meta.ip.as_deref().unwrap_or("unknown");
        let key = match caller {
            Caller::Known(identity) => format!("user:{}", identity.user_id),
            _ => format!("ip:{address}"),
        };
        if self.limiter.len() > RETAIN_AFTER {
            self.limiter.retain_recent();
        }
        if self.addresses.len() > RETAIN_AFTER {
            self.addresses.retain_recent();
        }
        let wait = |not_until: governor::NotUntil<_>| not_until.wait_time_from(self.clock.now());
        self.limiter.check_key(&key).map_err(wait)?;
        if matches!(caller, Caller::Known(_)) {
            self.addresses
                .check_key(&address.to_string())
                .map_err(wait)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_has_its_own_budget() {
        let limiter = RequestLimiter::new(NonZeroU32::MIN, NonZeroU32::new(2).unwrap());
        let from = |ip: &str| RequestMeta {
            ip: Some(ip.into()),
            ..Default::default()
        };
        assert!(limiter.check(&Caller::Anonymous, &from("10.0.0.1")).is_ok());
        assert!(limiter.check(&Caller::Anonymous, &from("10.0.0.1")).is_ok());
        let wait = limiter
            .check(&Caller::Anonymous, &from("10.0.0.1"))
            .unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(limiter.check(&Caller::Anonymous, &from("10.0.0.2")).is_ok());
    }

    #[test]
    fn many_accounts_behind_one_address_share_a_wider_budget() {
        let limiter = RequestLimiter::new(NonZeroU32::MIN, NonZeroU32::MIN);
        let meta = RequestMeta {
            ip: Some("10.0.0.3".into()),
            ..Default::default()
        };
        let account = |n: u128| {
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
        };
        for n in 0..u128::from(ADDRESS_FACTOR) {
            assert!(limiter.check(&account(n), &meta).is_ok(), "account {n}");
        }
        assert!(
            limiter.check(&account(99), &meta).is_err(),
            "the address is spent"
        );
    }
}
