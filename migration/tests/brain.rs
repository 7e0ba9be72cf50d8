//! The brain migrator (decision record 0005, "Tables") on SQLite and, when `DATABASE_URL` is
//! set, on a fresh PostgreSQL database created for each story (`rialto_test_<uuid>`, dropped
//! afterwards; CI's cleanup catches leftovers of a failed run).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;

use chrono::Utc;
use entity::{
    admin_actions, assets, balances, candles, commands, ledger_entries, market_events, markets,
    orders, trades,
};
use migration::{AuthMigrator, BrainMigrator, MigratorTrait, SchemaManager};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ConnectionTrait, Database,
    DatabaseConnection, DbBackend, DbErr, EntityTrait, SqlErr, Statement,
};
use uuid::Uuid;

/// Every table of the brain migrator.
const TABLES: [&str; 12] = [
    "assets",
    "markets",
    "balances",
    "orders",
    "commands",
    "trades",
    "ledger_entries",
    "candles",
    "market_events",
    "admin_actions",
    "journal",
    "core_leader",
];

/// Runs `story` on a migrated in-memory SQLite database, then, if `DATABASE_URL` is set, on a
/// migrated fresh PostgreSQL database that is dropped afterwards.
async fn each_backend<F, Fut>(story: F)
where
    F: Fn(DatabaseConnection) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = Database::connect("sqlite::memory:").await.unwrap();
    BrainMigrator::up(&db, None).await.unwrap();
    story(db.clone()).await;
    db.close().await.unwrap();

    let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        return;
    };
    let name = format!("rialto_test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(&url)
        .await
        .expect("connect to DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (base, _) = url
        .rsplit_once('/')
        .expect("DATABASE_URL has a database path");
    let db = Database::connect(format!("{base}/{name}")).await.unwrap();
    BrainMigrator::up(&db, None).await.unwrap();
    story(db.clone()).await;
    db.close().await.unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
    admin.close().await.unwrap();
}

/// Two assets and a market between them.
struct Seed {
    base: Uuid,
    quote: Uuid,
    market: Uuid,
}

async fn seed(db: &DatabaseConnection) -> Seed {
    let now = Utc::now();
    let mut ids = Vec::new();
    for (symbol, decimals) in [("BTC", 8), ("USD", 2)] {
        let id = Uuid::new_v4();
        assets::ActiveModel {
            id: Set(id),
            symbol: Set(symbol.to_string()),
            name: Set(symbol.to_string()),
            kind: Set("crypto".to_string()),
            decimals: Set(decimals),
            created_at: Set(now),
        }
        .insert(db)
        .await
        .unwrap();
        ids.push(id);
    }
    let market = Uuid::new_v4();
    markets::ActiveModel {
        id: Set(market),
        symbol: Set("BTC-USD".to_string()),
        base_asset_id: Set(ids[0]),
        quote_asset_id: Set(ids[1]),
        tick_size: Set(1),
        lot_size: Set(100_000),
        min_qty: Set(100_000),
        quote_per_tick_lot: Set(1),
        price_band_bps: Set(1_000),
        maker_fee_bps: Set(10),
        taker_fee_bps: Set(20),
        status: Set("open".to_string()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    Seed {
        base: ids[0],
        quote: ids[1],
        market,
    }
}

/// A resting limit BUY, its id left to the database.
fn order(market: Uuid, user: Uuid, client_order_id: Option<&str>) -> orders::ActiveModel {
    let now = Utc::now();
    orders::ActiveModel {
        id: NotSet,
        user_id: Set(user),
        market_id: Set(market),
        client_order_id: Set(client_order_id.map(str::to_string)),
        side: Set("buy".to_string()),
        order_type: Set("limit".to_string()),
        time_in_force: Set("gtc".to_string()),
        post_only: Set(false),
        price_ticks: Set(Some(10_125)),
        qty_lots: Set(5),
        filled_lots: Set(0),
        quote_budget: Set(None),
        held_remaining: Set(50_726),
        filled_value: Set(0),
        fees_paid: Set(0),
        status: Set("open".to_string()),
        reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

fn balance(user: Uuid, asset: Uuid, available: i64, held: i64) -> balances::ActiveModel {
    balances::ActiveModel {
        user_id: Set(user),
        asset_id: Set(asset),
        available: Set(available),
        held: Set(held),
        updated_at: Set(Utc::now()),
    }
}

fn trade(market: Uuid, seq: i64, maker: i64, taker: i64) -> trades::ActiveModel {
    trades::ActiveModel {
        id: NotSet,
        market_id: Set(market),
        seq: Set(seq),
        price_ticks: Set(10_125),
        qty_lots: Set(1),
        value: Set(10_125),
        maker_order_id: Set(maker),
        taker_order_id: Set(taker),
        buyer_id: Set(Uuid::new_v4()),
        seller_id: Set(Uuid::new_v4()),
        taker_side: Set("buy".to_string()),
        maker_fee: Set(11),
        taker_fee: Set(21),
        executed_at: Set(Utc::now()),
    }
}

fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

async fn has_tables(db: &DatabaseConnection) -> Vec<bool> {
    let manager = SchemaManager::new(db);
    let mut found = Vec::new();
    for table in TABLES {
        found.push(manager.has_table(table).await.unwrap());
    }
    found
}

#[tokio::test]
async fn the_migrator_applies_down_and_up_again_beside_auth() {
    each_backend(|db| async move {
        assert_eq!(has_tables(&db).await, [true; 12]);
        // Auth shares the database; each keeps its own history.
        AuthMigrator::up(&db, None).await.unwrap();
        assert!(
            SchemaManager::new(&db)
                .has_table("seaql_migrations_brain")
                .await
                .unwrap()
        );
        assert!(
            SchemaManager::new(&db)
                .has_table("seaql_migrations_auth")
                .await
                .unwrap()
        );

        // Rows in every table must not stop the way down.
        let s = seed(&db).await;
        let id = order(s.market, Uuid::new_v4(), None)
            .insert(&db)
            .await
            .unwrap()
            .id;
        trade(s.market, 1, id, id).insert(&db).await.unwrap();

        BrainMigrator::down(&db, None).await.unwrap();
        assert_eq!(has_tables(&db).await, [false; 12]);
        assert!(SchemaManager::new(&db).has_table("users").await.unwrap());
        assert!(
            BrainMigrator::get_pending_migrations(&db)
                .await
                .unwrap()
                .len()
                == BrainMigrator::migrations().len()
        );
        assert!(
            AuthMigrator::get_pending_migrations(&db)
                .await
                .unwrap()
                .is_empty()
        );

        BrainMigrator::up(&db, None).await.unwrap();
        assert_eq!(has_tables(&db).await, [true; 12]);
        assert!(
            BrainMigrator::get_pending_migrations(&db)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn a_negative_balance_is_refused() {
    each_backend(|db| async move {
        let s = seed(&db).await;
        let user = Uuid::new_v4();
        let err = balance(user, s.quote, -1, 0).insert(&db).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("ck_balances_available_non_negative"),
            "{err}"
        );
        let err = balance(user, s.quote, 0, -1).insert(&db).await.unwrap_err();
        assert!(
            err.to_string().contains("ck_balances_held_non_negative"),
            "{err}"
        );

        // Zero is fine, and so is an update down to zero; below zero is not.
        let row = balance(user, s.quote, 0, 0).insert(&db).await.unwrap();
        let mut active: balances::ActiveModel = row.into();
        active.available = Set(-5);
        assert!(active.update(&db).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn a_client_order_id_is_unique_per_user_but_null_ones_never_collide() {
    each_backend(|db| async move {
        let s = seed(&db).await;
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        order(s.market, alice, Some("c-1"))
            .insert(&db)
            .await
            .unwrap();
        let err = order(s.market, alice, Some("c-1"))
            .insert(&db)
            .await
            .unwrap_err();
        assert!(is_unique_violation(&err), "{err}");
        // Another user may reuse it.
        order(s.market, bob, Some("c-1")).insert(&db).await.unwrap();
        // Orders without a client id never collide.
        order(s.market, alice, None).insert(&db).await.unwrap();
        order(s.market, alice, None).insert(&db).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_trade_sequence_number_is_unique_per_market() {
    each_backend(|db| async move {
        let s = seed(&db).await;
        let id = order(s.market, Uuid::new_v4(), None)
            .insert(&db)
            .await
            .unwrap()
            .id;
        trade(s.market, 1, id, id).insert(&db).await.unwrap();
        let err = trade(s.market, 1, id, id).insert(&db).await.unwrap_err();
        assert!(is_unique_violation(&err), "{err}");
        trade(s.market, 2, id, id).insert(&db).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn bigint_ids_are_assigned_on_insert() {
    each_backend(|db| async move {
        if db.get_database_backend() == DbBackend::Sqlite {
            // SQLite's 64-bit rowid, never reused.
            let sql: String = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT sql FROM sqlite_master WHERE name = 'orders'",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get("", "sql")
                .unwrap();
            assert!(sql.contains("PRIMARY KEY AUTOINCREMENT"), "{sql}");
        }
        let s = seed(&db).await;
        let user = Uuid::new_v4();
        let first = order(s.market, user, None).insert(&db).await.unwrap();
        let second = order(s.market, user, None).insert(&db).await.unwrap();
        assert!(
            first.id > 0 && second.id > first.id,
            "{} {}",
            first.id,
            second.id
        );
        let read = orders::Entity::find_by_id(second.id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read, second);

        // The other BIGINT-keyed tables.
        let now = Utc::now();
        let command = commands::ActiveModel {
            seq: NotSet,
            market_id: Set(s.market),
            kind: Set("place".to_string()),
            order_id: Set(Some(first.id)),
            user_id: Set(user),
            created_at: Set(now),
            processed_at: Set(None),
        }
        .insert(&db)
        .await
        .unwrap();
        assert!(command.seq > 0);
        let t = trade(s.market, 1, first.id, second.id)
            .insert(&db)
            .await
            .unwrap();
        assert!(t.id > 0);
        let entry = ledger_entries::ActiveModel {
            id: NotSet,
            tx_id: Set(Uuid::now_v7()),
            account: Set("user:held".to_string()),
            user_id: Set(Some(user)),
            asset_id: Set(s.base),
            amount: Set(-5),
            kind: Set("trade".to_string()),
            order_id: Set(Some(first.id)),
            trade_id: Set(Some(t.id)),
            created_at: Set(now),
        }
        .insert(&db)
        .await
        .unwrap();
        assert!(entry.id > 0);
        let event = market_events::ActiveModel {
            id: NotSet,
            market_id: Set(s.market),
            seq: Set(1),
            kind: Set("trade".to_string()),
            user_id: Set(None),
            payload: Set("{}".to_string()),
            created_at: Set(now),
            published_at: Set(None),
        }
        .insert(&db)
        .await
        .unwrap();
        assert!(event.id > 0);
        let act = admin_actions::ActiveModel {
            id: NotSet,
            admin_id: Set(Uuid::new_v4()),
            action: Set("credit".to_string()),
            target: Set(user.to_string()),
            detail: Set("{}".to_string()),
            created_at: Set(now),
        }
        .insert(&db)
        .await
        .unwrap();
        assert!(act.id > 0);
    })
    .await;
}

#[tokio::test]
async fn amounts_of_two_to_the_62_round_trip() {
    each_backend(|db| async move {
        let s = seed(&db).await;
        let big = 1_i64 << 62;
        let user = Uuid::new_v4();
        balance(user, s.base, big, i64::MAX)
            .insert(&db)
            .await
            .unwrap();
        let read = balances::Entity::find_by_id((user, s.base))
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((read.available, read.held), (big, i64::MAX));

        let tx = Uuid::now_v7();
        let entry = ledger_entries::ActiveModel {
            id: NotSet,
            tx_id: Set(tx),
            account: Set("system:issuance".to_string()),
            user_id: Set(None),
            asset_id: Set(s.base),
            amount: Set(-big),
            kind: Set("credit".to_string()),
            order_id: Set(None),
            trade_id: Set(None),
            created_at: Set(Utc::now()),
        }
        .insert(&db)
        .await
        .unwrap();
        let read = ledger_entries::Entity::find_by_id(entry.id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((read.tx_id, read.amount), (tx, -big));

        // A candle, found again by its three-part key.
        let open_time = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let candle = candles::ActiveModel {
            market_id: Set(s.market),
            interval: Set("1m".to_string()),
            open_time: Set(open_time),
            open: Set(big),
            high: Set(i64::MAX),
            low: Set(1),
            close: Set(big),
            volume_lots: Set(big),
            trade_count: Set(3),
        }
        .insert(&db)
        .await
        .unwrap();
        let read = candles::Entity::find_by_id((s.market, "1m".to_string(), open_time))
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read, candle);
    })
    .await;
}

#[tokio::test]
async fn references_to_unknown_rows_are_refused() {
    each_backend(|db| async move {
        let s = seed(&db).await;
        // A balance of an unknown asset.
        let err = balance(Uuid::new_v4(), Uuid::new_v4(), 1, 0)
            .insert(&db)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.sql_err(),
                Some(SqlErr::ForeignKeyConstraintViolation(_))
            ),
            "{err}"
        );
        // An order on an unknown market.
        let err = order(Uuid::new_v4(), Uuid::new_v4(), None)
            .insert(&db)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.sql_err(),
                Some(SqlErr::ForeignKeyConstraintViolation(_))
            ),
            "{err}"
        );
        // But a balance of a user this database has never heard of is fine: users live with
        // the auth service.
        balance(Uuid::new_v4(), s.quote, 1, 0)
            .insert(&db)
            .await
            .unwrap();
    })
    .await;
}
