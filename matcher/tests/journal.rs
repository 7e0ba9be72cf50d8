//! The journal's fence (decision 0008 §2), on SQLite and on PostgreSQL: a leader appends in
//! sequence; once another takes over, the deposed leader's append is refused and writes
//! nothing; two appenders with the same epoch cannot both extend the same head.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use common::journal;
use engine::venue::Command;
use matcher::journal::{Journal, JournalError, Lease};

mod support;
use support::each_backend;

fn cancel(order: u64) -> Vec<u8> {
    journal::encode(&Command::Cancel { owner: 7, order })
}

#[tokio::test]
async fn a_deposed_leaders_append_is_refused_and_writes_nothing() {
    each_backend(|db, _| async move {
        let journal = Journal::new(db);
        let first = journal.take_over(Some("10.0.0.1:7000")).await.unwrap();
        assert_eq!(first.head, 0, "a new venue's journal is empty");

        // The leader appends a batch of three: sequences 1, 2, 3 under its epoch.
        let first = journal
            .append(first, 1_000, &[cancel(1), cancel(2), cancel(3)])
            .await
            .unwrap();
        assert_eq!(first.head, 3);
        let rows = journal.read_after(0, 100).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(
            rows.iter()
                .all(|r| r.epoch == first.epoch && r.at_ns == 1_000)
        );
        assert_eq!(
            journal::decode(&rows[1].body).unwrap(),
            Command::Cancel { owner: 7, order: 2 }
        );

        // A standby takes over: it sees the head the first leader left.
        let second = journal.take_over(Some("10.0.0.2:7000")).await.unwrap();
        assert_eq!(
            second,
            Lease {
                epoch: first.epoch + 1,
                head: 3
            }
        );

        // The deposed leader does not know yet; its append is refused, whole.
        let refused = journal.append(first, 2_000, &[cancel(4), cancel(5)]).await;
        assert!(
            matches!(refused, Err(JournalError::Fenced { .. })),
            "{refused:?}"
        );
        assert!(journal.read_after(3, 100).await.unwrap().is_empty());

        // The new leader carries on from the head.
        let second = journal.append(second, 3_000, &[cancel(6)]).await.unwrap();
        assert_eq!(second.head, 4);
        let rows = journal.read_after(3, 100).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].seq, rows[0].epoch), (4, second.epoch));

        // A lease of the right epoch but a stale head (a second writer of one epoch, or a
        // retry of a batch that did commit) is refused too: no gap, no overwrite.
        let stale = Lease { head: 3, ..second };
        let refused = journal.append(stale, 4_000, &[cancel(7)]).await;
        assert!(
            matches!(refused, Err(JournalError::Fenced { .. })),
            "{refused:?}"
        );
        assert_eq!(journal.read_after(0, 100).await.unwrap().len(), 4);

        // Reading pages through in order.
        let page = journal.read_after(1, 2).await.unwrap();
        assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
    })
    .await;
}
