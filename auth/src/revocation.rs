//! Credentials that stopped being valid before they expire: a session ended by logout, a
//! password change or refresh-token reuse, and a revoked API key.
//!
//! An access token is checked by its signature alone, so without this a logged-out session's
//! token (and every WebSocket opened with it) would go on working until it expires. The auth
//! service records each revocation in its [`RevocationList`] before the act returns, and
//! publishes it on the bus ([`REVOCATION_TOPIC`]) so every gateway replica adds it to its own
//! list. The edge refuses a revoked credential on HTTP, and each open socket listens to the
//! list ([`RevocationList::watch`]) and closes (4403) when its credential is named.
//!
//! Entries are kept for [`RETENTION`], longer than any access token lives: after that a
//! revoked session's tokens have expired anyway, and a revoked key is refused by the
//! database (or the gateway's five-second key cache) on its own.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use common::Identity;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

/// The bus topic revocations travel on.
pub const REVOCATION_TOPIC: &str = "auth.revocations";

/// How long a revocation is remembered: well past the longest access-token lifetime.
pub const RETENTION: Duration = Duration::from_secs(6 * 3600);

/// Past this many entries, expired ones are dropped on the next insert.
const PRUNE_AFTER: usize = 10_000;

/// One revocation, as the bus carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Revocation {
    /// Sessions (refresh-token families) of one user ended: a logout, a password change
    /// (every session of the account), or a refresh-token reuse.
    Sessions {
        /// Their owner.
        user_id: Uuid,
        /// The sessions.
        session_ids: Vec<Uuid>,
    },
    /// An API key was revoked.
    ApiKey {
        /// Its owner.
        user_id: Uuid,
        /// The key.
        key_id: Uuid,
    },
}

impl Revocation {
    /// Whether this revocation ends `identity`'s credential.
    pub fn applies_to(&self, identity: &Identity) -> bool {
        match self {
            Self::Sessions {
                user_id,
                session_ids,
            } => {
                *user_id == identity.user_id
                    && identity.session().is_some_and(|s| session_ids.contains(&s))
            }
            Self::ApiKey { user_id, key_id } => {
                *user_id == identity.user_id && identity.api_key() == Some(*key_id)
            }
        }
    }
}

/// The revocations this process knows of, and a channel that announces each new one.
#[derive(Debug)]
pub struct RevocationList {
    /// Revoked session and key ids, with when they were recorded.
    revoked: Mutex<HashMap<Uuid, Instant>>,
    announce: broadcast::Sender<Revocation>,
}

impl Default for RevocationList {
    fn default() -> Self {
        Self::new()
    }
}

impl RevocationList {
    /// An empty list.
    pub fn new() -> Self {
        Self {
            revoked: Mutex::new(HashMap::new()),
            announce: broadcast::channel(256).0,
        }
    }

    /// Records a revocation and tells every watcher.
    pub fn apply(&self, revocation: &Revocation) {
        let now = Instant::now();
        {
            let mut revoked = self.revoked.lock().unwrap_or_else(PoisonError::into_inner);
            if revoked.len() > PRUNE_AFTER {
                revoked.retain(|_, at| now.duration_since(*at) < RETENTION);
            }
            match revocation {
                Revocation::Sessions { session_ids, .. } => {
                    for id in session_ids {
                        revoked.insert(*id, now);
                    }
                }
                Revocation::ApiKey { key_id, .. } => {
                    revoked.insert(*key_id, now);
                }
            }
        }
        metrics::counter!("rialto_auth_revocations_total").increment(1);
        // No receiver is fine: no socket is open.
        let _ = self.announce.send(revocation.clone());
    }

    /// Whether `identity`'s session or API key has been revoked.
    pub fn is_revoked(&self, identity: &Identity) -> bool {
        let Some(id) = identity.session().or_else(|| identity.api_key()) else {
            return false;
        };
        let revoked = self.revoked.lock().unwrap_or_else(PoisonError::into_inner);
        revoked.get(&id).is_some_and(|at| at.elapsed() < RETENTION)
    }

    /// Every revocation recorded from now on (a receiver that falls behind gets
    /// `RecvError::Lagged` and should check [`Self::is_revoked`] again).
    pub fn watch(&self) -> broadcast::Receiver<Revocation> {
        self.announce.subscribe()
    }
}

/// Keeps `list` current with the revocations other replicas announce on `bus`, until the
/// process ends. A subscription that fails or ends is made again after a pause; messages
/// missed meanwhile are the ones the five-second key re-check and token expiry catch.
pub fn follow(bus: std::sync::Arc<dyn bus::EventBus>, list: std::sync::Arc<RevocationList>) {
    use futures_util::StreamExt;
    tokio::spawn(async move {
        loop {
            match bus.subscribe(REVOCATION_TOPIC).await {
                Ok(mut stream) => {
                    while let Some(item) = stream.next().await {
                        let bus::BusItem::Message(payload) = item else {
                            continue;
                        };
                        match serde_json::from_slice::<Revocation>(&payload) {
                            Ok(r) => list.apply(&r),
                            Err(e) => tracing::warn!(error = %e, "an unreadable revocation"),
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "subscribing to revocations failed"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use common::{Credential, Role, Scope};

    fn session_identity(user: Uuid, session: Uuid) -> Identity {
        Identity {
            user_id: user,
            role: Role::Trader,
            scopes: vec![Scope::Read, Scope::Trade],
            credential: Credential::AccessToken {
                jti: "j".into(),
                session: Some(session),
                issued_at: 0,
            },
            expires_at: Some(0),
        }
    }

    #[test]
    fn a_revoked_session_or_key_is_known_and_announced() {
        let list = RevocationList::new();
        let mut watch = list.watch();
        let (user, session, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let identity = session_identity(user, session);
        assert!(!list.is_revoked(&identity));
        let revocation = Revocation::Sessions {
            user_id: user,
            session_ids: vec![session],
        };
        list.apply(&revocation);
        assert!(list.is_revoked(&identity));
        assert!(!list.is_revoked(&session_identity(user, other)));
        let heard = watch.try_recv().unwrap();
        assert!(heard.applies_to(&identity));
        assert!(!heard.applies_to(&session_identity(user, other)));

        let key = Uuid::new_v4();
        let by_key = Identity {
            credential: Credential::ApiKey { id: key },
            expires_at: None,
            ..identity
        };
        assert!(!list.is_revoked(&by_key));
        list.apply(&Revocation::ApiKey {
            user_id: user,
            key_id: key,
        });
        assert!(list.is_revoked(&by_key));
    }

    #[test]
    fn revocations_round_trip_on_the_wire() {
        let r = Revocation::ApiKey {
            user_id: Uuid::nil(),
            key_id: Uuid::nil(),
        };
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"kind\":\"api_key\""), "{text}");
        assert_eq!(serde_json::from_str::<Revocation>(&text).unwrap(), r);
    }
}
