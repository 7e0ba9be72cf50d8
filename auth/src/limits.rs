//! Login throttling, per account and per client address, on governor's GCRA limiter.
//!
//! Every attempt spends a cell before any password is checked: that keeps an attacker from
//! burning argon2 time, and caps guesses against one account whatever the address. A
//! limiter lives in the process; replicas each keep their own (a Redis-backed limiter comes
//! with the distributed deployment).

use std::num::NonZeroU32;

use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
};

use crate::error::AuthError;

/// Limiters keyed by account (normalised email) and by client address.
pub struct LoginThrottle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle").finish_non_exhaustive()
    }
}

/// Past this many tracked keys, stale ones are dropped on the next check.
const RETAIN_AFTER: usize = 10_000;

impl LoginThrottle {
    /// `per_account` and `per_ip` attempts a minute, each also the burst.
    pub fn new(per_account: NonZeroU32, per_ip: NonZeroU32) -> Self {
        Self {
            per_account: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_account)),
            per_ip: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_ip)),
            clock: DefaultClock::default(),
        }
    }

    fn check(&self, limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), AuthError> {
        if limiter.len() > RETAIN_AFTER {
            limiter.retain_recent();
        }
        limiter
            .check_key(&key.to_string())
            .map_err(|not_until| AuthError::RateLimited {
                retry_after_secs: not_until.wait_time_from(self.clock.now()).as_secs().max(1),
            })
    }

    /// Spends one attempt for this client address (sign-up, login).
    pub fn check_ip(&self, ip: Option<&str>) -> Result<(), AuthError> {
        match ip {
            Some(ip) => self.check(&self.per_ip, ip),
            None => Ok(()),
        }
    }

    /// Spends one attempt for this account (login, password change).
    pub fn check_account(&self, email: &str) -> Result<(), AuthError> {
        self.check(&self.per_account, email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_throttled_after_its_burst_whatever_the_address() {
        let t = LoginThrottle::new(NonZeroU32::new(3).unwrap(), NonZeroU32::new(100).unwrap());
        for _ in 0..3 {
            t.check_account("ann@example.com").unwrap();
        }
        let err = t.check_account("ann@example.com").unwrap_err();
        assert!(
            matches!(err, AuthError::RateLimited { retry_after_secs } if retry_after_secs >= 1)
        );
        assert!(
            t.check_account("bob@example.com").is_ok(),
            "other accounts are unaffected"
        );
    }

    #[test]
    fn an_address_is_throttled_after_its_burst() {
        let t = LoginThrottle::new(NonZeroU32::new(100).unwrap(), NonZeroU32::new(2).unwrap());
        t.check_ip(Some("10.0.0.1")).unwrap();
        t.check_ip(Some("10.0.0.1")).unwrap();
        assert!(t.check_ip(Some("10.0.0.1")).is_err());
        assert!(t.check_ip(Some("10.0.0.2")).is_ok());
    }
}
