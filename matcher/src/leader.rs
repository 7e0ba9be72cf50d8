//! Which markets this matcher may process. On PostgreSQL, one session-level advisory lock
//! per market, held on a connection of its own: a second matcher fails to take the lock and
//! waits as a hot standby, and takes over the moment the leader's session ends (its process
//! died or it released the lock on shutdown). The embedded mode runs one matcher, which owns
//! every market.

use std::collections::HashSet;

use sea_orm::{DatabaseConnection, sqlx};
use uuid::Uuid;

/// The first key of every matcher lock (`pg_try_advisory_lock(int4, int4)`), so Rialto's
/// locks do not collide with another application's on the same database.
const LOCK_CLASS: i32 = 0x5249_414c; // "RIAL"

/// What this matcher holds.
pub enum Leadership {
    /// One process, no contention: every market is ours.
    Embedded,
    /// PostgreSQL advisory locks on a dedicated connection.
    Postgres {
        /// The connection holding the locks; `None` until the first claim, or after it broke.
        conn: Option<sqlx::PgConnection>,
        /// Markets whose lock we hold.
        held: HashSet<Uuid>,
    },
}

/// The lock's second key: the first four bytes of the market id. Two markets that share it
/// merely share an owner.
fn lock_key(market: Uuid) -> i32 {
    let b = market.as_bytes();
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl Leadership {
    /// Leadership through PostgreSQL advisory locks.
    pub fn postgres() -> Self {
        Self::Postgres {
            conn: None,
            held: HashSet::new(),
        }
    }

    /// Tries to take `market`'s lock without waiting.
    pub async fn try_claim(&mut self, db: &DatabaseConnection, market: Uuid) -> bool {
        let Self::Postgres { conn, held } = self else {
            return true;
        };
        if held.contains(&market) {
            return true;
        }
        if conn.is_none() {
            match db.get_postgres_connection_pool().acquire().await {
                // Detached: a pooled connection would go back to the pool with our locks.
                Ok(c) => *conn = Some(c.detach()),
                Err(e) => {
                    tracing::warn!(error = %e, "no connection for the matcher's locks");
                    return false;
                }
            }
        }
        let Some(c) = conn.as_mut() else {
            return false;
        };
        let got: Result<bool, _> = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(LOCK_CLASS)
            .bind(lock_key(market))
            .fetch_one(&mut *c)
            .await;
        match got {
            Ok(true) => {
                held.insert(market);
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(error = %e, "the matcher's lock connection failed");
                *conn = None;
                held.clear();
                false
            }
        }
    }

    /// Checks the lock connection is alive; if it is not, every lock is gone with it and the
    /// markets are returned so the caller stops processing them.
    pub async fn check(&mut self) -> Vec<Uuid> {
        let Self::Postgres { conn, held } = self else {
            return Vec::new();
        };
        let Some(c) = conn.as_mut() else {
            return held.drain().collect();
        };
        let alive: Result<i32, _> = sqlx::query_scalar("SELECT 1").fetch_one(&mut *c).await;
        if alive.is_ok() {
            return Vec::new();
        }
        tracing::warn!("the matcher's lock connection is gone; giving up its markets");
        *conn = None;
        held.drain().collect()
    }

    /// Releases every lock (clean shutdown: the standby takes over at once).
    pub async fn release(&mut self) {
        if let Self::Postgres { conn, held } = self {
            if let Some(c) = conn.as_mut() {
                let _: Result<bool, _> =
                    sqlx::query_scalar("SELECT pg_advisory_unlock_all() IS NULL")
                        .fetch_one(&mut *c)
                        .await;
            }
            *conn = None;
            held.clear();
        }
    }
}
