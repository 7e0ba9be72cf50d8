//! Request rate limits at the edge, per identity (the account behind a token or API key) or,
//! for anonymous callers, per client address. Over the limit, `POST /graphql` answers HTTP 429
//! with `Retry-After` and a `RATE_LIMITED` GraphQL error, before any resolver runs.

use std::{num::NonZeroU32, time::Duration};

use common::{Caller, RequestMeta};
use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
};

/// Past this many tracked keys, stale ones are dropped on the next check.
const RETAIN_AFTER: usize = 100_000;

/// The edge's request limiter.
pub struct RequestLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl RequestLimiter {
    /// `per_second` requests a second per key, with bursts of `burst`.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            ),
            clock: DefaultClock::default(),
        }
    }

    /// Spends one request for this caller; `Err` carries how long to wait.
    pub fn check(&self, caller: &Caller, meta: &RequestMeta) -> Result<(), Duration> {
        let key = match caller {
            Caller::Known(identity) => format!("user:{}", identity.user_id),
            _ => format!("ip:{}", meta.ip.as_deref().unwrap_or("unknown")),
        };
        if self.limiter.len() > RETAIN_AFTER {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
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
}
