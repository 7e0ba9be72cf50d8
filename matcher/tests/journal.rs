//! The journal's fence (decision 0008 §2), on SQLite and on PostgreSQL: a leader appends in
//! sequence; once another takes over, the deposed leader's append is refused and writes
//! nothing; two appenders with the same epoch cannot both extend the same head.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use common::journal;
use engine::{
    BookConfig, Side, TimeInForce,
    market::MarketRules,
    venue::{Command, Core, Listing, NewOrder},
};
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

/// A small day of trading: two assets, a market, credits, crossing and resting orders, a
/// cancel, one refused order (never journaled), and a retry (not journaled either).
fn a_day_of_trading() -> Vec<Command> {
    let (usd, acme, market) = (0xC0, 0xAC, 0x4D);
    let order = |owner, side, price, qty, cid: Option<&str>| {
        Command::Place(NewOrder {
            market,
            owner,
            client_order_id: cid.map(Into::into),
            side,
            price: Some(price),
            quote_budget: None,
            qty,
            tif: TimeInForce::Gtc,
            post_only: false,
        })
    };
    vec![
        Command::ListAsset {
            asset: usd,
            supply_cap: i64::MAX,
        },
        Command::ListAsset {
            asset: acme,
            supply_cap: 1_000_000,
        },
        Command::ListMarket(Listing {
            market,
            rules: MarketRules {
                book: BookConfig {
                    quote_per_tick_lot: 1,
                    maker_fee_bps: 10,
                    taker_fee_bps: 20,
                },
                lot_size: 1,
            },
            base: acme,
            quote: usd,
            open: true,
        }),
        Command::Credit {
            owner: 1,
            asset: usd,
            amount: 100_000,
        },
        Command::Credit {
            owner: 2,
            asset: acme,
            amount: 500,
        },
        order(2, Side::Sell, 101, 50, None),
        order(2, Side::Sell, 103, 50, Some("ask-2")),
        order(1, Side::Buy, 102, 80, Some("bid-1")),
        order(1, Side::Buy, 102, 80, Some("bid-1")), // a retry: the first order comes back
        order(1, Side::Buy, 1_000_000, 1_000, None), // cannot pay: refused
        order(1, Side::Buy, 99, 10, None),
        Command::Cancel { owner: 1, order: 9 },
        Command::SetOpen {
            market,
            open: false,
        },
    ]
}

#[tokio::test]
async fn replaying_the_journal_from_empty_rebuilds_the_venue_exactly() {
    each_backend(|db, _| async move {
        let journal = Journal::new(db);
        let mut lease = journal.take_over(None).await.unwrap();

        // The leader applies each command with the next free sequence, journals what it
        // accepted (a refusal or a retry changes nothing and takes no sequence), one batch
        // per three commands.
        let mut leader = Core::new();
        let mut pending = Vec::new();
        let commands = a_day_of_trading();
        for (batch, chunk) in commands.chunks(3).enumerate() {
            let at = 1_000 * (batch as i64 + 1);
            for c in chunk {
                let seq = lease.head + pending.len() as i64 + 1;
                if let Ok(answer) = leader.apply(c, seq as u64, at as u64).unwrap()
                    && answer.changed_state()
                {
                    pending.push(journal::encode(c));
                }
            }
            lease = journal.append(lease, at, &pending).await.unwrap();
            pending.clear();
        }
        assert_eq!(lease.head, 11, "11 of the 13 commands changed the venue");

        // A standby that replays from empty, a page at a time, reaches the same venue.
        let mut standby = Core::new();
        let last = journal.replay(&mut standby, 0, 4).await.unwrap();
        assert_eq!(last, lease.head);
        standby.audit().unwrap();
        assert!(
            standby.snapshot() == leader.snapshot(),
            "the replayed venue differs"
        );
        assert_eq!(
            standby.balance(1, 0xAC).available,
            50,
            "the fill at 101 is in it (the ask at 103 did not cross)"
        );

        // Replaying onto a venue that already has the entries is a divergence, not a silent
        // double application.
        let twice = journal.replay(&mut standby, 0, 100).await;
        assert!(
            matches!(twice, Err(JournalError::Diverged { .. })),
            "{twice:?}"
        );
    })
    .await;
}
