//! The brain use cases, one method each, on [`BrainService`]. Methods own their
//! transaction and their span; they take the caller's [`Identity`] explicitly and know
//! nothing of GraphQL.
//!
//! - [`catalog`]: assets and markets (public reads; listing and halting are admin acts);
//! - [`funding`]: balances (the caller's own, or anyone's for an admin) and admin credits;
//! - [`trading`]: placing and cancelling orders, the caller's orders.
//!
//! Every admin act writes an `admin_actions` row in the same transaction as the act.
//!
//! The public hot reads (the catalog and [`market_data`]) go through the service's
//! [`HotCache`](crate::hot::HotCache); see [`BrainService::with_cache`].

pub mod catalog;
pub mod funding;
pub mod market_data;
mod placing;
pub mod trading;

use std::sync::{Arc, OnceLock};

use bus::{Cache, EventBus};
use chrono::{DateTime, Utc};
use common::{Identity, Role, Scope};
use sea_orm::DatabaseConnection;

use crate::{
    BrainError,
    hot::{Counts, HotCache, Kind},
};

/// The brain service: cheap to clone (the connection is a pooled handle), shared by every
/// request. Built with [`BrainService::new`] so that fields can be added (the event bus,
/// trading state) without touching its callers.
#[derive(Clone)]
pub struct BrainService {
    db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
    hot: HotCache,
    /// The group-commit task of `placeOrder`, started on first use (on the bus in use then).
    placer: Arc<OnceLock<placing::Placer>>,
}

impl std::fmt::Debug for BrainService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrainService").finish_non_exhaustive()
    }
}

impl BrainService {
    /// A service over a database migrated with `BrainMigrator`, with a bus of its own (the
    /// matcher must share it to be woken and heard: see [`BrainService::with_bus`]) and a
    /// cache of its own (which caches only the catalog: market data needs the matcher's
    /// versions, see [`BrainService::with_cache`]).
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            bus: Arc::new(bus::LocalBus::new()),
            hot: HotCache::new(Arc::new(bus::LocalCache::new())),
            placer: Arc::default(),
        }
    }

    /// The same service on the deployment's bus, where the matcher listens and publishes.
    pub fn with_bus(self, bus: Arc<dyn EventBus>) -> Self {
        Self {
            bus,
            placer: Arc::default(),
            ..self
        }
    }

    /// The same service reading hot data through the deployment's `cache`: the one the
    /// matcher writes its market versions to (`Matcher::with_cache`) and every other brain
    /// replica uses, so that each change is seen by all of them. Counts start afresh.
    pub fn with_cache(self, cache: Arc<dyn Cache>) -> Self {
        Self {
            hot: HotCache::new(cache),
            ..self
        }
    }

    /// The cache of the hot reads, for readiness checks.
    pub fn cache(&self) -> &Arc<dyn Cache> {
        self.hot.cache()
    }

    /// How the hot reads of `kind` went since the cache was set: hits, misses, errors.
    pub fn cache_stats(&self, kind: Kind) -> Counts {
        self.hot.counts(kind)
    }

    fn placer(&self) -> &placing::Placer {
        self.placer
            .get_or_init(|| placing::Placer::spawn(self.db.clone(), self.bus.clone()))
    }

    pub(crate) fn hot(&self) -> &HotCache {
        &self.hot
    }

    /// The event bus.
    pub fn bus(&self) -> &Arc<dyn EventBus> {
        &self.bus
    }

    /// The database, for readiness checks and for use cases in other modules.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    fn now() -> DateTime<Utc> {
        Utc::now()
    }
}

/// Admin acts (listing, halting, crediting, reading another account) need the admin role
/// and a signed-in session: an API key, whatever its scopes, never administers. A key lives
/// on in a bot's configuration for months, and one that leaks must not mint money.
///
/// # Errors
/// [`BrainError::Forbidden`] otherwise.
pub fn require_admin(caller: &Identity) -> Result<(), BrainError> {
    if caller.role != Role::Admin {
        return Err(BrainError::Forbidden("only an admin may do this"));
    }
    if !caller.is_session() {
        return Err(BrainError::Forbidden(
            "admin acts need a signed-in session, never an API key",
        ));
    }
    Ok(())
}

/// Reading account data needs the `read` scope (sessions carry it; API keys may not).
///
/// # Errors
/// [`BrainError::Forbidden`] otherwise.
pub fn require_read(caller: &Identity) -> Result<(), BrainError> {
    if caller.has_scope(Scope::Read) {
        Ok(())
    } else {
        Err(BrainError::Forbidden(
            "this credential may not read account data",
        ))
    }
}

#[cfg(test)]
mod tests {
    use common::Credential;
    use uuid::Uuid;

    use super::*;

    fn who(role: Role, scopes: Vec<Scope>) -> Identity {
        Identity {
            user_id: Uuid::new_v4(),
            role,
            scopes,
            credential: Credential::ApiKey { id: Uuid::new_v4() },
            expires_at: None,
        }
    }

    fn signed_in(role: Role) -> Identity {
        Identity {
            credential: Credential::AccessToken {
                jti: Uuid::new_v4().to_string(),
                session: Some(Uuid::new_v4()),
                issued_at: 0,
            },
            ..who(role, vec![Scope::Read, Scope::Trade])
        }
    }

    #[test]
    fn only_an_admin_signed_in_may_administer() {
        assert!(require_admin(&signed_in(Role::Admin)).is_ok());
        assert!(require_admin(&signed_in(Role::Trader)).is_err());
        assert!(require_admin(&who(Role::Admin, vec![Scope::Read, Scope::Trade])).is_err());
        assert!(require_admin(&who(Role::Admin, vec![Scope::Read])).is_err());
        assert!(require_admin(&who(Role::Trader, vec![Scope::Read, Scope::Trade])).is_err());
    }

    #[test]
    fn another_accounts_balances_are_for_an_admin_signed_in() {
        let someone = Uuid::new_v4();
        let admin_key = who(Role::Admin, vec![Scope::Read, Scope::Trade]);
        assert!(BrainService::may_see_balances(
            Some(&signed_in(Role::Admin)),
            someone
        ));
        assert!(!BrainService::may_see_balances(Some(&admin_key), someone));
        assert!(BrainService::may_see_balances(
            Some(&admin_key),
            admin_key.user_id
        ));
        assert!(!BrainService::may_see_balances(
            Some(&signed_in(Role::Trader)),
            someone
        ));
        assert!(!BrainService::may_see_balances(None, someone));
    }

    #[test]
    fn reading_account_data_needs_the_read_scope() {
        assert!(require_read(&who(Role::Trader, vec![Scope::Read])).is_ok());
        assert!(require_read(&who(Role::Trader, vec![Scope::Trade])).is_err());
    }
}
