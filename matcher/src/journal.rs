//! The journal (decision 0008 §2): the venue core's accepted commands, appended in batches by
//! the one leader, fenced by its epoch. Whatever a deposed leader still believes, the
//! database refuses its append: every append moves `core_leader.journal_head` from where the
//! appender last left it, under the appender's epoch, in the same transaction as the rows.
//!
//! PostgreSQL appends a whole batch in **one statement of fixed text** (arrays through
//! `unnest`), so the statement stays prepared whatever the batch size, and costs one round
//! trip and one commit. SQLite appends inside one transaction with a prepared insert per row
//! (in process, a row costs microseconds).

use engine::venue::{Core, CoreError};
use sea_orm::{DatabaseConnection, DbBackend, sqlx};

/// Why the journal could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Another leader took over (or this one's idea of the head is stale): the append was
    /// refused and nothing was written. The caller must stop leading.
    #[error("the journal is fenced: epoch {epoch} no longer leads at head {head}")]
    Fenced {
        /// The epoch that tried.
        epoch: i64,
        /// The head it expected.
        head: i64,
    },
    /// The database failed.
    #[error("journal storage: {0}")]
    Db(#[from] sqlx::Error),
    /// Only PostgreSQL and SQLite hold a journal.
    #[error("the journal needs PostgreSQL or SQLite")]
    Backend,
    /// A stored entry this Rialto cannot read.
    #[error("journal entry {seq}: {error}")]
    Entry {
        /// Where.
        seq: i64,
        /// What is wrong with it.
        error: common::journal::JournalError,
    },
    /// Replaying an entry broke the core's invariants: the journal and the core disagree.
    #[error("replaying journal entry {seq}: {error}")]
    Replay {
        /// Where.
        seq: i64,
        /// What broke.
        error: CoreError,
    },
    /// An entry the core refuses on replay was accepted when it was appended: the journal
    /// and the state it is replayed onto disagree.
    #[error("journal entry {seq} was accepted when appended but is refused on replay")]
    Diverged {
        /// Where.
        seq: i64,
    },
}

/// The right to append: an epoch, and where the journal ends as this leader knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// This leader's epoch.
    pub epoch: i64,
    /// The last sequence in the journal.
    pub head: i64,
}

/// One stored command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Its sequence (an order placed by it has this id).
    pub seq: i64,
    /// The epoch of the leader that appended it.
    pub epoch: i64,
    /// The batch's time, nanoseconds since the Unix epoch.
    pub at_ns: i64,
    /// The command, as `common::journal` encodes it.
    pub body: Vec<u8>,
}

/// The journal of one database.
#[derive(Clone)]
pub struct Journal {
    db: DatabaseConnection,
}

const APPEND_PG: &str = "WITH fence AS (\
       UPDATE core_leader SET journal_head = $3 \
       WHERE id = 1 AND epoch = $1 AND journal_head = $2 RETURNING 1) \
     INSERT INTO journal (seq, epoch, at_ns, body) \
     SELECT s, $1, $4, b FROM unnest($5::int8[], $6::bytea[]) AS t(s, b) \
     WHERE EXISTS (SELECT 1 FROM fence)";
const FENCE: &str =
    "UPDATE core_leader SET journal_head = $3 WHERE id = 1 AND epoch = $1 AND journal_head = $2";
const INSERT_ONE: &str = "INSERT INTO journal (seq, epoch, at_ns, body) VALUES ($1, $2, $3, $4)";
const TAKE_OVER: &str = "UPDATE core_leader SET epoch = epoch + 1, leader_address = $1 \
     WHERE id = 1 RETURNING epoch, journal_head";
const READ_AFTER: &str =
    "SELECT seq, epoch, at_ns, body FROM journal WHERE seq > $1 ORDER BY seq LIMIT $2";

impl Journal {
    /// The journal in `db` (migrated by the brain migrator).
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Becomes the leader: bumps the epoch (so every earlier leader's next append is
    /// refused) and records `address` for brain to connect to. Call it only while holding
    /// the venue's leadership lock. Returns the lease to append with, at the journal's head:
    /// the caller must first read what was appended up to there.
    ///
    /// # Errors
    /// The database failed.
    pub async fn take_over(&self, address: Option<&str>) -> Result<Lease, JournalError> {
        let (epoch, head): (i64, i64) = match self.db.get_database_backend() {
            DbBackend::Postgres => {
                sqlx::query_as(TAKE_OVER)
                    .bind(address)
                    .fetch_one(self.db.get_postgres_connection_pool())
                    .await?
            }
            DbBackend::Sqlite => {
                sqlx::query_as(TAKE_OVER)
                    .bind(address)
                    .fetch_one(self.db.get_sqlite_connection_pool())
                    .await?
            }
            _ => return Err(JournalError::Backend),
        };
        Ok(Lease { epoch, head })
    }

    /// Appends `bodies` after the lease's head, stamped `at_ns`, in one transaction; returns
    /// the lease moved to the new head. An empty batch appends nothing.
    ///
    /// # Errors
    /// [`JournalError::Fenced`] when another leader took over or the head moved: nothing was
    /// written. A database failure: nothing was written either (one transaction), and the
    /// caller may retry with the same lease.
    pub async fn append(
        &self,
        lease: Lease,
        at_ns: i64,
        bodies: &[Vec<u8>],
    ) -> Result<Lease, JournalError> {
        if bodies.is_empty() {
            return Ok(lease);
        }
        let count = i64::try_from(bodies.len()).unwrap_or(i64::MAX);
        let head = lease.head.saturating_add(count);
        let fenced = JournalError::Fenced {
            epoch: lease.epoch,
            head: lease.head,
        };
        match self.db.get_database_backend() {
            DbBackend::Postgres => {
                let seqs: Vec<i64> = (lease.head + 1..=head).collect();
                let written = sqlx::query(APPEND_PG)
                    .bind(lease.epoch)
                    .bind(lease.head)
                    .bind(head)
                    .bind(at_ns)
                    .bind(&seqs)
                    .bind(bodies)
                    .execute(self.db.get_postgres_connection_pool())
                    .await?
                    .rows_affected();
                if written != bodies.len() as u64 {
                    return Err(fenced);
                }
            }
            DbBackend::Sqlite => {
                let mut tx = self.db.get_sqlite_connection_pool().begin().await?;
                let moved = sqlx::query(FENCE)
                    .bind(lease.epoch)
                    .bind(lease.head)
                    .bind(head)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if moved != 1 {
                    return Err(fenced);
                }
                for (seq, body) in (lease.head + 1..=head).zip(bodies) {
                    sqlx::query(INSERT_ONE)
                        .bind(seq)
                        .bind(lease.epoch)
                        .bind(at_ns)
                        .bind(body)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            _ => return Err(JournalError::Backend),
        }
        Ok(Lease {
            epoch: lease.epoch,
            head,
        })
    }

    /// Applies every entry after `after` to `core`, in pages of `page` rows, and returns the
    /// last sequence applied (`after` if there was none). This is how a standby follows the
    /// leader and how a recovering leader brings the projection's state up to the head. The
    /// core's batch collects what the entries changed, for the projection.
    ///
    /// # Errors
    /// A database failure, an entry that does not decode, or one the core refuses or cannot
    /// apply: every entry was accepted when appended, so a refusal means the core did not
    /// start from the state the journal continues.
    pub async fn replay(
        &self,
        core: &mut Core,
        after: i64,
        page: i64,
    ) -> Result<i64, JournalError> {
        let mut last = after;
        loop {
            let rows = self.read_after(last, page).await?;
            let Some(end) = rows.last().map(|r| r.seq) else {
                return Ok(last);
            };
            for row in rows {
                let command =
                    common::journal::decode(&row.body).map_err(|error| JournalError::Entry {
                        seq: row.seq,
                        error,
                    })?;
                let (seq, ts) = (row.seq.unsigned_abs(), row.at_ns.unsigned_abs());
                match core.apply(&command, seq, ts) {
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) => return Err(JournalError::Diverged { seq: row.seq }),
                    Err(error) => {
                        return Err(JournalError::Replay {
                            seq: row.seq,
                            error,
                        });
                    }
                }
            }
            last = end;
        }
    }

    /// Up to `limit` rows after `seq`, in order: what a standby tails and a recovering leader
    /// replays.
    ///
    /// # Errors
    /// The database failed.
    pub async fn read_after(&self, seq: i64, limit: i64) -> Result<Vec<Row>, JournalError> {
        let rows: Vec<(i64, i64, i64, Vec<u8>)> = match self.db.get_database_backend() {
            DbBackend::Postgres => {
                sqlx::query_as(READ_AFTER)
                    .bind(seq)
                    .bind(limit)
                    .fetch_all(self.db.get_postgres_connection_pool())
                    .await?
            }
            DbBackend::Sqlite => {
                sqlx::query_as(READ_AFTER)
                    .bind(seq)
                    .bind(limit)
                    .fetch_all(self.db.get_sqlite_connection_pool())
                    .await?
            }
            _ => return Err(JournalError::Backend),
        };
        Ok(rows
            .into_iter()
            .map(|(seq, epoch, at_ns, body)| Row {
                seq,
                epoch,
                at_ns,
                body,
            })
            .collect())
    }
}
