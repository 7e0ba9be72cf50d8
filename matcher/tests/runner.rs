//! The matcher process on a real database (SQLite, and PostgreSQL when `DATABASE_URL` is
//! set): commands stored as brain stores them are matched, settled in one transaction per
//! batch, published, and survive a restart; on PostgreSQL a standby takes over a market.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{sync::Arc, time::Duration};

use bus::{BusItem, EventBus, LocalBus};
use chrono::Utc;
use common::events::{Envelope, MarketEvent, market_topic, user_topic};
use engine::{
    BookConfig, Side,
    market::{MarketRules, required_hold},
};
use entity::{assets, balances, commands, ledger_entries, market_events, markets, orders, trades};
use futures_util::StreamExt;
use matcher::{
    runner::{Matcher, MatcherConfig, MatcherError},
    settle::add_to_balance,
};
use migration::{BrainMigrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectOptions, ConnectionTrait, Database,
    DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use uuid::Uuid;

mod support;
use support::each_backend;

/// ACME (0 decimals) against USD (2): tick 1 cent, lot 1 ACME; maker 10 bps, taker 20 bps.
struct World {
    db: DatabaseConnection,
    market: Uuid,
    acme: Uuid,
    usd: Uuid,
}

const ALICE: Uuid = Uuid::from_u128(0xA11CE);
const BOB: Uuid = Uuid::from_u128(0xB0B);
const CAROL: Uuid = Uuid::from_u128(0xCA201);

fn rules() -> MarketRules {
    MarketRules {
        book: BookConfig {
            quote_per_tick_lot: 1,
            maker_fee_bps: 10,
            taker_fee_bps: 20,
        },
        lot_size: 1,
    }
}

impl World {
    async fn new(db: DatabaseConnection) -> Self {
        let now = Utc::now();
        let asset = |symbol: &str, decimals| assets::ActiveModel {
            id: Set(Uuid::now_v7()),
            symbol: Set(symbol.into()),
            name: Set(symbol.into()),
            kind: Set("test".into()),
            decimals: Set(decimals),
            created_at: Set(now),
        };
        let acme = asset("ACME", 0).insert(&db).await.unwrap().id;
        let usd = asset("USD", 2).insert(&db).await.unwrap().id;
        let market = markets::ActiveModel {
            id: Set(Uuid::now_v7()),
            symbol: Set("ACME-USD".into()),
            base_asset_id: Set(acme),
            quote_asset_id: Set(usd),
            tick_size: Set(1),
            lot_size: Set(1),
            min_qty: Set(1),
            quote_per_tick_lot: Set(1),
            price_band_bps: Set(1000),
            maker_fee_bps: Set(10),
            taker_fee_bps: Set(20),
            status: Set("open".into()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&db)
        .await
        .unwrap()
        .id;
        Self {
            db,
            market,
            acme,
            usd,
        }
    }

    /// Issues `amount` of an asset to a user, as an admin's credit does.
    async fn fund(&self, user: Uuid, asset: Uuid, amount: i64) {
        let tx = self.db.begin().await.unwrap();
        let id = Uuid::now_v7();
        for (account, who, a) in [
            ("system:issuance", None, -amount),
            ("user:available", Some(user), amount),
        ] {
            entry(&tx, id, account, who, asset, a, "credit", None).await;
        }
        add_to_balance(&tx, user, asset, amount, 0, Utc::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Stores an order the way brain's placeOrder does: hold, order, command, one transaction.
    async fn place(&self, user: Uuid, side: Side, price: i64, qty: i64) -> i64 {
        let hold =
            required_hold(&rules(), side, Some(price as u64), None, qty as u64).unwrap() as i64;
        let asset = if side == Side::Buy {
            self.usd
        } else {
            self.acme
        };
        let now = Utc::now();
        let tx = self.db.begin().await.unwrap();
        add_to_balance(&tx, user, asset, -hold, hold, now)
            .await
            .unwrap();
        let order = orders::ActiveModel {
            id: NotSet,
            user_id: Set(user),
            market_id: Set(self.market),
            client_order_id: Set(None),
            side: Set(if side == Side::Buy { "buy" } else { "sell" }.into()),
            order_type: Set("limit".into()),
            time_in_force: Set("gtc".into()),
            post_only: Set(false),
            price_ticks: Set(Some(price)),
            qty_lots: Set(qty),
            filled_lots: Set(0),
            quote_budget: Set(None),
            held_remaining: Set(hold),
            filled_value: Set(0),
            fees_paid: Set(0),
            status: Set("accepted".into()),
            reason: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&tx)
        .await
        .unwrap();
        let id = Uuid::now_v7();
        entry(
            &tx,
            id,
            "user:available",
            Some(user),
            asset,
            -hold,
            "hold",
            Some(order.id),
        )
        .await;
        entry(
            &tx,
            id,
            "user:held",
            Some(user),
            asset,
            hold,
            "hold",
            Some(order.id),
        )
        .await;
        command(&tx, self.market, "place", Some(order.id), user).await;
        tx.commit().await.unwrap();
        order.id
    }

    async fn cancel(&self, user: Uuid, order: i64) {
        command(&self.db, self.market, "cancel", Some(order), user).await;
    }

    async fn balance(&self, user: Uuid, asset: Uuid) -> (i64, i64) {
        balances::Entity::find_by_id((user, asset))
            .one(&self.db)
            .await
            .unwrap()
            .map_or((0, 0), |b| (b.available, b.held))
    }

    async fn order(&self, id: i64) -> orders::Model {
        orders::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .unwrap()
            .unwrap()
    }

    /// Every ledger transaction balances per asset, and every balance equals its entries.
    async fn assert_ledger_consistent(&self) {
        let entries = ledger_entries::Entity::find().all(&self.db).await.unwrap();
        let mut per_tx = std::collections::BTreeMap::<(Uuid, Uuid), i64>::new();
        let mut per_account = std::collections::BTreeMap::<(Uuid, Uuid, String), i64>::new();
        for e in &entries {
            *per_tx.entry((e.tx_id, e.asset_id)).or_default() += e.amount;
            if let Some(user) = e.user_id {
                *per_account
                    .entry((user, e.asset_id, e.account.clone()))
                    .or_default() += e.amount;
            }
        }
        assert!(per_tx.values().all(|v| *v == 0), "unbalanced: {per_tx:?}");
        for b in balances::Entity::find().all(&self.db).await.unwrap() {
            let sum = |account: &str| {
                per_account
                    .get(&(b.user_id, b.asset_id, account.into()))
                    .copied()
                    .unwrap_or(0)
            };
            assert_eq!(b.available, sum("user:available"), "available of {b:?}");
            assert_eq!(b.held, sum("user:held"), "held of {b:?}");
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn entry(
    db: &impl ConnectionTrait,
    tx_id: Uuid,
    account: &str,
    user: Option<Uuid>,
    asset: Uuid,
    amount: i64,
    kind: &str,
    order: Option<i64>,
) {
    ledger_entries::ActiveModel {
        id: NotSet,
        tx_id: Set(tx_id),
        account: Set(account.into()),
        user_id: Set(user),
        asset_id: Set(asset),
        amount: Set(amount),
        kind: Set(kind.into()),
        order_id: Set(order),
        trade_id: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap();
}

async fn command(
    db: &impl ConnectionTrait,
    market: Uuid,
    kind: &str,
    order: Option<i64>,
    user: Uuid,
) {
    commands::ActiveModel {
        seq: NotSet,
        market_id: Set(market),
        kind: Set(kind.into()),
        order_id: Set(order),
        user_id: Set(user),
        created_at: Set(Utc::now()),
        processed_at: Set(None),
    }
    .insert(db)
    .await
    .unwrap();
}

fn matcher(db: &DatabaseConnection, bus: Arc<dyn EventBus>) -> Matcher {
    Matcher::new(db.clone(), bus, MatcherConfig::default())
}

async fn next_event(sub: &mut bus::Subscription) -> Envelope {
    let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("an event within 5 s")
        .expect("the subscription is open");
    match item {
        BusItem::Message(m) => serde_json::from_slice(&m).unwrap(),
        BusItem::Lagged => panic!("lagged"),
    }
}

/// Steps `m` until it owns a market (a dead leader's lock is freed when the database notices
/// its session is gone), failing after `limit`.
async fn claim_within(m: &mut Matcher, limit: Duration) {
    let started = std::time::Instant::now();
    loop {
        m.process_next_batch().await.unwrap();
        if !m.owned().is_empty() {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "no market claimed within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_traders_cross_and_everything_settles_in_one_batch() {
    each_backend(|db, _| async move {
        let w = World::new(db).await;
        w.fund(ALICE, w.acme, 100).await;
        w.fund(BOB, w.usd, 1_000_000).await;
        let bus: Arc<dyn EventBus> = Arc::new(LocalBus::new());
        let mut tape = bus.subscribe(&market_topic("ACME-USD")).await.unwrap();
        let mut bobs = bus.subscribe(&user_topic(BOB)).await.unwrap();

        let sell = w.place(ALICE, Side::Sell, 10_000, 10).await;
        let buy = w.place(BOB, Side::Buy, 10_100, 4).await;
        let mut m = matcher(&w.db, bus.clone());
        assert_eq!(m.process_next_batch().await.unwrap(), 2);
        assert_eq!(m.process_next_batch().await.unwrap(), 0, "nothing left");

        let t = trades::Entity::find().one(&w.db).await.unwrap().unwrap();
        assert_eq!(
            (t.seq, t.price_ticks, t.qty_lots, t.value),
            (1, 10_000, 4, 40_000)
        );
        assert_eq!(
            (t.buyer_id, t.seller_id, t.maker_fee, t.taker_fee),
            (BOB, ALICE, 40, 80)
        );
        let (sell, buy) = (w.order(sell).await, w.order(buy).await);
        assert_eq!(
            (sell.status.as_str(), sell.filled_lots, sell.held_remaining),
            ("partially_filled", 4, 6)
        );
        assert_eq!(
            (buy.status.as_str(), buy.filled_lots, buy.held_remaining),
            ("filled", 4, 0)
        );
        // Bob paid 400.00 + 0.80 fee and has the rest back (price improvement included).
        assert_eq!(w.balance(BOB, w.usd).await, (1_000_000 - 40_080, 0));
        assert_eq!(w.balance(BOB, w.acme).await, (4, 0));
        assert_eq!(w.balance(ALICE, w.usd).await, (40_000 - 40, 0));
        assert_eq!(w.balance(ALICE, w.acme).await, (90, 6));
        w.assert_ledger_consistent().await;
        let processed = commands::Entity::find()
            .filter(commands::Column::ProcessedAt.is_null())
            .all(&w.db)
            .await
            .unwrap();
        assert!(processed.is_empty());

        // The tape sees the trade then the book; Bob sees his order and balances.
        let first = next_event(&mut tape).await;
        assert!(
            matches!(
                first.event,
                MarketEvent::Trade {
                    price: 10_000,
                    qty: 4,
                    ..
                }
            ),
            "{first:?}"
        );
        let second = next_event(&mut tape).await;
        assert!(matches!(second.event, MarketEvent::Book { .. }));
        assert!(second.event.seq() > first.event.seq());
        // Bob's balances (USD and ACME) come before his order, which is filled.
        let mut kinds = Vec::new();
        for _ in 0..3 {
            let e = next_event(&mut bobs).await.event;
            if let MarketEvent::Order { order, .. } = &e {
                assert_eq!(order.status, "filled");
            }
            kinds.push(e.kind());
        }
        assert_eq!(kinds, ["balance", "balance", "order"]);
        let unpublished = market_events::Entity::find()
            .filter(market_events::Column::PublishedAt.is_null())
            .all(&w.db)
            .await
            .unwrap();
        assert!(unpublished.is_empty(), "{unpublished:?}");
    })
    .await;
}

#[tokio::test]
async fn a_cancel_releases_the_hold_and_a_stranger_cancel_changes_nothing() {
    each_backend(|db, _| async move {
        let w = World::new(db).await;
        w.fund(BOB, w.usd, 100_000).await;
        let buy = w.place(BOB, Side::Buy, 9_000, 5).await;
        let mut m = matcher(&w.db, Arc::new(LocalBus::new()));
        m.process_next_batch().await.unwrap();
        assert_eq!(w.order(buy).await.status, "open");
        assert!(w.balance(BOB, w.usd).await.1 > 0);

        w.cancel(ALICE, buy).await;
        m.process_next_batch().await.unwrap();
        assert_eq!(w.order(buy).await.status, "open");

        w.cancel(BOB, buy).await;
        m.process_next_batch().await.unwrap();
        let o = w.order(buy).await;
        assert_eq!((o.status.as_str(), o.held_remaining), ("cancelled", 0));
        assert_eq!(w.balance(BOB, w.usd).await, (100_000, 0));
        w.assert_ledger_consistent().await;
    })
    .await;
}

#[tokio::test]
async fn a_restarted_matcher_rebuilds_the_book_and_keeps_time_priority() {
    each_backend(|db, _| async move {
        let w = World::new(db).await;
        w.fund(ALICE, w.acme, 100).await;
        w.fund(BOB, w.acme, 100).await;
        w.fund(CAROL, w.usd, 10_000_000).await;
        let bus: Arc<dyn EventBus> = Arc::new(LocalBus::new());
        let first = w.place(ALICE, Side::Sell, 10_000, 3).await;
        let second = w.place(BOB, Side::Sell, 10_000, 3).await;
        {
            let mut m = matcher(&w.db, bus.clone());
            m.process_next_batch().await.unwrap();
        }
        // The first matcher is gone; a new one must know both resting sells, Alice's first.
        let buy = w.place(CAROL, Side::Buy, 10_000, 4).await;
        let mut m = matcher(&w.db, bus);
        assert_eq!(m.process_next_batch().await.unwrap(), 1);
        assert_eq!(w.order(first).await.status, "filled");
        let s = w.order(second).await;
        assert_eq!((s.status.as_str(), s.filled_lots), ("partially_filled", 1));
        assert_eq!(w.order(buy).await.status, "filled");
        let seqs: Vec<i64> = trades::Entity::find()
            .order_by_asc(trades::Column::Seq)
            .all(&w.db)
            .await
            .unwrap()
            .iter()
            .map(|t| t.seq)
            .collect();
        assert_eq!(seqs, vec![1, 2]);
        w.assert_ledger_consistent().await;
    })
    .await;
}

#[tokio::test]
async fn events_left_unpublished_by_a_crash_are_published_on_restart() {
    each_backend(|db, _| async move {
        let w = World::new(db).await;
        w.fund(ALICE, w.acme, 10).await;
        w.place(ALICE, Side::Sell, 10_000, 1).await;
        let mut m = matcher(&w.db, Arc::new(LocalBus::new()));
        m.process_next_batch().await.unwrap();
        drop(m);
        // As if the process died between commit and publish.
        market_events::Entity::update_many()
            .col_expr(
                market_events::Column::PublishedAt,
                sea_orm::sea_query::Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .exec(&w.db)
            .await
            .unwrap();
        let bus: Arc<dyn EventBus> = Arc::new(LocalBus::new());
        let mut tape = bus.subscribe(&market_topic("ACME-USD")).await.unwrap();
        let mut restarted = matcher(&w.db, bus);
        claim_within(&mut restarted, Duration::from_secs(2)).await;
        assert!(restarted.publish_pending().await.unwrap() > 0);
        assert!(matches!(
            next_event(&mut tape).await.event,
            MarketEvent::Book { .. }
        ));
    })
    .await;
}

#[tokio::test]
async fn on_postgres_a_standby_takes_over_when_the_leader_goes() {
    each_backend(|db, url| async move {
        let Some(url) = url else { return };
        let w = World::new(db).await;
        w.fund(ALICE, w.acme, 10).await;
        w.fund(BOB, w.usd, 1_000_000).await;
        let bus: Arc<dyn EventBus> = Arc::new(LocalBus::new());
        let leader_db = Database::connect(&url).await.unwrap();
        let standby_db = Database::connect(&url).await.unwrap();
        let mut leader = matcher(&leader_db, bus.clone());
        let mut standby = matcher(&standby_db, bus.clone());
        w.place(ALICE, Side::Sell, 10_000, 2).await;
        assert_eq!(leader.process_next_batch().await.unwrap(), 1);
        assert_eq!(standby.process_next_batch().await.unwrap(), 0);
        assert!(
            standby.owned().is_empty(),
            "the standby must not own a led market"
        );

        // The leader's process dies: its connections close, its locks go with them.
        drop(leader);
        leader_db.close().await.unwrap();
        let buy = w.place(BOB, Side::Buy, 10_000, 2).await;
        let started = std::time::Instant::now();
        let mut processed = 0;
        while processed == 0 && started.elapsed() < Duration::from_secs(1) {
            processed = standby.process_next_batch().await.unwrap();
            if processed == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        assert_eq!(
            processed, 1,
            "the standby settled the order within a second"
        );
        assert_eq!(w.order(buy).await.status, "filled");
        w.assert_ledger_consistent().await;
    })
    .await;
}

#[tokio::test]
async fn a_batch_whose_commands_another_matcher_settled_is_refused_whole() {
    each_backend(|db, _| async move {
        let w = World::new(db).await;
        w.fund(ALICE, w.acme, 10).await;
        let sell = w.place(ALICE, Side::Sell, 10_000, 1).await;
        let mut m = matcher(&w.db, Arc::new(LocalBus::new()));
        m.process_next_batch().await.unwrap();
        let seq = commands::Entity::find()
            .one(&w.db)
            .await
            .unwrap()
            .unwrap()
            .seq;
        let before = market_events::Entity::find()
            .all(&w.db)
            .await
            .unwrap()
            .len();

        // A matcher that lost its lock tries to write the same command's batch again.
        let ids = matcher::settle::MarketIds {
            id: w.market,
            symbol: "ACME-USD".into(),
            base: w.acme,
            quote: w.usd,
        };
        let tx = w.db.begin().await.unwrap();
        let mut next_seq = 1_000;
        let fx = engine::market::Effects::default();
        let refused =
            matcher::settle::write_batch(&tx, &ids, &fx, &[seq], &mut next_seq, Utc::now()).await;
        assert!(refused.is_err(), "a settled command was settled again");
        tx.rollback().await.unwrap();
        assert_eq!(
            market_events::Entity::find()
                .all(&w.db)
                .await
                .unwrap()
                .len(),
            before
        );
        assert_eq!(w.order(sell).await.status, "open");
    })
    .await;
}

/// More orders and balances in one batch than one statement writes (`CHUNK` is 256): every
/// order, every balance (new rows and existing ones) and every event is still right.
#[tokio::test]
async fn a_batch_larger_than_a_statement_chunk_settles_everything() {
    each_backend(|db, _| async move {
        const PAIRS: u128 = 300;
        let w = World::new(db).await;
        let seller = |i: u128| Uuid::from_u128(0x5E11_0000 + i);
        let buyer = |i: u128| Uuid::from_u128(0xB0_0000 + i);
        let mut sells = Vec::new();
        let mut buys = Vec::new();
        for i in 0..PAIRS {
            w.fund(seller(i), w.acme, 5).await;
            w.fund(buyer(i), w.usd, 100_000).await;
            sells.push(w.place(seller(i), Side::Sell, 10_000, 1).await);
        }
        for i in 0..PAIRS {
            buys.push(w.place(buyer(i), Side::Buy, 10_000, 1).await);
        }
        let mut m = matcher(&w.db, Arc::new(LocalBus::new()));
        assert_eq!(m.process_next_batch().await.unwrap(), 2 * PAIRS as usize);

        let filled = orders::Entity::find()
            .filter(orders::Column::Status.eq("filled"))
            .all(&w.db)
            .await
            .unwrap();
        assert_eq!(filled.len(), 2 * PAIRS as usize);
        for o in &filled {
            assert_eq!(
                (o.filled_lots, o.held_remaining, o.reason.as_deref()),
                (1, 0, None)
            );
        }
        for i in 0..PAIRS {
            // Seller: 1 ACME gone, 100.00 less the 0.10 maker fee in. Buyer: a new ACME row.
            assert_eq!(w.balance(seller(i), w.acme).await, (4, 0));
            assert_eq!(w.balance(seller(i), w.usd).await, (10_000 - 10, 0));
            assert_eq!(w.balance(buyer(i), w.acme).await, (1, 0));
            assert_eq!(w.balance(buyer(i), w.usd).await, (100_000 - 10_020, 0));
        }
        w.assert_ledger_consistent().await;

        // One balance event per moved balance, each what the table holds, in key order.
        let events = market_events::Entity::find()
            .order_by_asc(market_events::Column::Seq)
            .all(&w.db)
            .await
            .unwrap();
        let mut balance_events = Vec::new();
        let mut order_events = 0;
        for e in &events {
            match serde_json::from_str::<MarketEvent>(&e.payload).unwrap() {
                MarketEvent::Balance {
                    user,
                    asset,
                    available,
                    held,
                    ..
                } => {
                    assert_eq!(w.balance(user, asset).await, (available, held));
                    balance_events.push((user, asset));
                }
                MarketEvent::Order { .. } => order_events += 1,
                _ => {}
            }
        }
        assert_eq!(balance_events.len(), 4 * PAIRS as usize);
        assert!(balance_events.is_sorted(), "balance events in key order");
        assert_eq!(order_events, 2 * PAIRS as usize);
        let candles = entity::candles::Entity::find().all(&w.db).await.unwrap();
        assert_eq!(candles.len(), 5);
        for c in candles {
            assert_eq!(
                (c.open, c.high, c.low, c.close, c.volume_lots, c.trade_count),
                (10_000, 10_000, 10_000, 10_000, PAIRS as i64, PAIRS as i64)
            );
        }
    })
    .await;
}

/// The batched balance writes refuse what one upsert per balance refused: taking from a
/// balance that does not exist, and taking more than a balance has. The batch then writes
/// nothing.
#[tokio::test]
async fn a_batch_that_would_overdraw_or_invent_a_balance_is_refused() {
    use engine::market::{Account, Asset, Effects, Posting, PostingKind};
    each_backend(|db, _| async move {
        let w = World::new(db).await;
        w.fund(ALICE, w.acme, 10).await;
        w.fund(BOB, w.usd, 10).await;
        let ids = matcher::settle::MarketIds {
            id: w.market,
            symbol: "ACME-USD".into(),
            base: w.acme,
            quote: w.usd,
        };
        let moving = |account, asset, amount| {
            let posting = |account, amount| Posting {
                account,
                asset,
                amount,
                kind: PostingKind::Release,
                order: 1,
                trade_seq: None,
            };
            Effects {
                ledger: vec![vec![
                    posting(account, amount),
                    posting(Account::Fees, -amount),
                ]],
                ..Effects::default()
            }
        };
        let attempt = |fx: Effects| {
            let w = &w;
            let ids = ids.clone();
            async move {
                let tx = w.db.begin().await.unwrap();
                let mut next_seq = 1;
                let result =
                    matcher::settle::write_batch(&tx, &ids, &fx, &[], &mut next_seq, Utc::now())
                        .await;
                tx.rollback().await.unwrap();
                result
            }
        };

        // Carol has no ACME to take.
        let carol = moving(Account::Available(CAROL.as_u128()), Asset::Base, -1);
        assert!(matches!(
            attempt(carol).await,
            Err(MatcherError::Db(sea_orm::DbErr::RecordNotUpdated))
        ));
        // Alice has 10 ACME, not 11.
        let alice = moving(Account::Available(ALICE.as_u128()), Asset::Base, -11);
        assert!(attempt(alice).await.is_err(), "the CHECK refuses it");
        // Alongside a gain that alone would be fine.
        let mut both = moving(Account::Available(BOB.as_u128()), Asset::Quote, 5);
        both.ledger.extend(
            moving(Account::Held(ALICE.as_u128()), Asset::Base, -1)
                .ledger
                .into_iter(),
        );
        assert!(attempt(both).await.is_err(), "nothing is held for Alice");
        assert_eq!(w.balance(ALICE, w.acme).await, (10, 0));
        assert_eq!(w.balance(BOB, w.usd).await, (10, 0));
        assert_eq!(w.balance(CAROL, w.acme).await, (0, 0));

        // An order the table does not have is not silently skipped.
        let mut ghost = Effects::default();
        let sell = w.place(ALICE, Side::Sell, 10_000, 1).await;
        let mut state = matcher::runner::order_state(&w.order(sell).await).unwrap();
        state.id = 999_999;
        ghost.orders.insert(state.id, state);
        assert!(matches!(
            attempt(ghost).await,
            Err(MatcherError::Db(sea_orm::DbErr::Custom(_)))
        ));
    })
    .await;
}

const DAVE: Uuid = Uuid::from_u128(0xDA7E);

/// The events of `user` published so far, as (status, reason) of their order updates.
async fn order_updates(sub: &mut bus::Subscription) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    while let Ok(Some(BusItem::Message(m))) =
        tokio::time::timeout(Duration::from_millis(50), sub.next()).await
    {
        let e: Envelope = serde_json::from_slice(&m).unwrap();
        if let MarketEvent::Order { order, .. } = e.event {
            out.push((order.status, order.reason));
        }
    }
    out
}

async fn unprocessed(w: &World) -> usize {
    commands::Entity::find()
        .filter(commands::Column::ProcessedAt.is_null())
        .all(&w.db)
        .await
        .unwrap()
        .len()
}

/// Alice can receive 5 more ACME before her balance passes `i64::MAX` and buys 6 in the
/// middle of a batch: her order alone is refused (the batch is split until it is alone), her
/// hold comes back, and the orders before and after it trade.
#[tokio::test]
async fn a_buy_that_would_overflow_its_buyer_is_rejected_alone_and_its_batch_settles() {
    each_backend(|db, _| async move {
        let w = World::new(db).await;
        w.fund(ALICE, w.acme, i64::MAX - 5).await;
        w.fund(ALICE, w.usd, 1_000_000).await;
        w.fund(BOB, w.acme, 10).await;
        w.fund(CAROL, w.usd, 1_000_000).await;
        let bus: Arc<dyn EventBus> = Arc::new(LocalBus::new());
        let mut alices = bus.subscribe(&user_topic(ALICE)).await.unwrap();
        let mut m = matcher(&w.db, bus.clone());
        let offer = w.place(BOB, Side::Sell, 10_000, 10).await;
        assert_eq!(m.process_next_batch().await.unwrap(), 1);

        let first = w.place(CAROL, Side::Buy, 10_000, 2).await;
        let greedy = w.place(ALICE, Side::Buy, 10_000, 6).await;
        let last = w.place(CAROL, Side::Buy, 10_000, 2).await;
        assert_eq!(m.process_next_batch().await.unwrap(), 3, "one step");
        assert_eq!(unprocessed(&w).await, 0);

        let g = w.order(greedy).await;
        assert_eq!(
            (
                g.status.as_str(),
                g.reason.as_deref(),
                g.filled_lots,
                g.held_remaining
            ),
            ("rejected", Some("BALANCE_LIMIT"), 0, 0)
        );
        assert_eq!(w.balance(ALICE, w.usd).await, (1_000_000, 0));
        assert_eq!(w.balance(ALICE, w.acme).await, (i64::MAX - 5, 0));
        assert_eq!(
            order_updates(&mut alices).await,
            [("rejected".to_owned(), Some("BALANCE_LIMIT".to_owned()))]
        );
        for id in [first, last] {
            assert_eq!(w.order(id).await.status, "filled");
        }
        let o = w.order(offer).await;
        assert_eq!((o.status.as_str(), o.filled_lots), ("partially_filled", 4));
        assert_eq!(w.balance(CAROL, w.acme).await, (4, 0));
        w.assert_ledger_consistent().await;
        assert_eq!(m.process_next_batch().await.unwrap(), 0, "nothing retried");
    })
    .await;
}

/// Alice's bid rests first; when Bob sells into it, paying her out would pass the largest
/// amount. Her resting bid is cancelled with the reason (refusing every seller who meets it
/// instead would block the market), and Bob's order trades with the next bid.
#[tokio::test]
async fn a_resting_order_that_cannot_be_paid_out_is_cancelled_and_the_incoming_order_trades_on() {
    each_backend(|db, _| async move {
        let w = World::new(db).await;
        w.fund(ALICE, w.acme, i64::MAX - 5).await;
        w.fund(ALICE, w.usd, 1_000_000).await;
        w.fund(CAROL, w.usd, 1_000_000).await;
        w.fund(BOB, w.acme, 10).await;
        let mut m = matcher(&w.db, Arc::new(LocalBus::new()));
        let greedy = w.place(ALICE, Side::Buy, 10_000, 6).await;
        let modest = w.place(CAROL, Side::Buy, 9_000, 3).await;
        assert_eq!(m.process_next_batch().await.unwrap(), 2);

        // Six would take Alice past the largest amount (she has room for five).
        let sell = w.place(BOB, Side::Sell, 9_000, 6).await;
        assert_eq!(m.process_next_batch().await.unwrap(), 1);
        let g = w.order(greedy).await;
        assert_eq!(
            (
                g.status.as_str(),
                g.reason.as_deref(),
                g.filled_lots,
                g.held_remaining
            ),
            ("cancelled", Some("BALANCE_LIMIT"), 0, 0)
        );
        assert_eq!(w.balance(ALICE, w.usd).await, (1_000_000, 0));
        let m_ = w.order(modest).await;
        assert_eq!((m_.status.as_str(), m_.filled_lots), ("filled", 3));
        let s = w.order(sell).await;
        assert_eq!((s.status.as_str(), s.filled_lots), ("partially_filled", 3));
        assert_eq!(w.balance(CAROL, w.acme).await, (3, 0));
        w.assert_ledger_consistent().await;
    })
    .await;
}

/// Someone deleted Bob's USD balance behind the ledger's back, so neither his trade nor the
/// release of his hold can be written. His command is taken out of the queue alone (his
/// order is left for the audit to report) and Carol's order in the same batch trades.
#[tokio::test]
async fn a_command_the_database_refuses_is_taken_out_alone_and_never_retried_forever() {
    each_backend(|db, _| async move {
        let w = World::new(db).await;
        w.fund(ALICE, w.acme, 10).await;
        w.fund(BOB, w.usd, 1_000_000).await;
        w.fund(CAROL, w.usd, 1_000_000).await;
        let mut m = matcher(&w.db, Arc::new(LocalBus::new()));
        let offer = w.place(ALICE, Side::Sell, 10_000, 2).await;
        assert_eq!(m.process_next_batch().await.unwrap(), 1);

        let broken = w.place(BOB, Side::Buy, 10_000, 1).await;
        balances::Entity::delete_by_id((BOB, w.usd))
            .exec(&w.db)
            .await
            .unwrap();
        let fine = w.place(CAROL, Side::Buy, 10_000, 1).await;
        assert_eq!(m.process_next_batch().await.unwrap(), 2);
        assert_eq!(unprocessed(&w).await, 0);
        assert_eq!(w.order(broken).await.status, "accepted");
        assert_eq!(w.order(fine).await.status, "filled");
        assert_eq!(w.order(offer).await.filled_lots, 1);
        assert_eq!(m.process_next_batch().await.unwrap(), 0);

        // The book goes on: Dave takes the rest of the offer.
        w.fund(DAVE, w.usd, 1_000_000).await;
        let next = w.place(DAVE, Side::Buy, 10_000, 1).await;
        assert_eq!(m.process_next_batch().await.unwrap(), 1);
        assert_eq!(w.order(next).await.status, "filled");
        assert_eq!(w.order(offer).await.status, "filled");
    })
    .await;
}

/// A database that makes the batch wait too long (a lock held elsewhere: `SQLITE_BUSY`, or
/// PostgreSQL's `lock_timeout`) is a transient failure: the step fails, nothing is refused,
/// and the next step settles everything.
#[tokio::test]
async fn a_busy_database_refuses_no_command_and_the_batch_settles_when_it_is_free() {
    // SQLite: a file, so that a second pool can hold its write lock.
    let path = std::env::temp_dir().join(format!("rialto-matcher-{}.db", Uuid::new_v4()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = Database::connect(&url).await.unwrap();
    BrainMigrator::up(&db, None).await.unwrap();
    let mut opts = ConnectOptions::new(&url);
    opts.map_sqlx_sqlite_opts(|o| o.busy_timeout(Duration::from_millis(200)));
    let matcher_db = Database::connect(opts).await.unwrap();
    busy_story(
        db.clone(),
        matcher_db.clone(),
        "UPDATE markets SET status = status",
    )
    .await;
    db.close().await.unwrap();
    matcher_db.close().await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
    }

    // PostgreSQL: the matcher's sessions wait at most 200 ms for a row lock.
    each_backend(|db, url| async move {
        let Some(url) = url else { return };
        let mut opts = ConnectOptions::new(&url);
        opts.map_sqlx_postgres_opts(|o| o.options([("lock_timeout", "200ms")]));
        let matcher_db = Database::connect(opts).await.unwrap();
        busy_story(
            db,
            matcher_db.clone(),
            "SELECT seq FROM commands FOR UPDATE",
        )
        .await;
        matcher_db.close().await.unwrap();
    })
    .await;
}

async fn busy_story(db: DatabaseConnection, matcher_db: DatabaseConnection, hold_lock: &str) {
    let w = World::new(db).await;
    w.fund(ALICE, w.acme, 10).await;
    w.fund(BOB, w.usd, 1_000_000).await;
    let mut m = matcher(&matcher_db, Arc::new(LocalBus::new()));
    let sell = w.place(ALICE, Side::Sell, 10_000, 2).await;
    let buy = w.place(BOB, Side::Buy, 10_000, 2).await;

    let blocker = w.db.begin().await.unwrap();
    blocker.execute_unprepared(hold_lock).await.unwrap();
    let busy = m.process_next_batch().await.unwrap_err();
    assert!(
        busy.is_transient(w.db.get_database_backend()),
        "a busy database is transient: {busy}"
    );
    blocker.rollback().await.unwrap();
    for id in [sell, buy] {
        assert_eq!(w.order(id).await.status, "accepted", "nothing refused");
    }
    assert_eq!(unprocessed(&w).await, 2);

    assert_eq!(m.process_next_batch().await.unwrap(), 2);
    for id in [sell, buy] {
        assert_eq!(w.order(id).await.status, "filled");
    }
    w.assert_ledger_consistent().await;
}
