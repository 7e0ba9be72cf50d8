//! What the matcher's stories share: each story runs on SQLite in memory, then, when
//! `DATABASE_URL` is set, on a fresh PostgreSQL database of its own (dropped afterwards).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;

use migration::{BrainMigrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use uuid::Uuid;

/// Runs `story` on each backend, with a migrated brain schema; the second argument is the
/// PostgreSQL database's URL (for a story that opens its own connections).
pub async fn each_backend<F, Fut>(story: F)
where
    F: Fn(DatabaseConnection, Option<String>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut opts = ConnectOptions::new("sqlite::memory:");
    opts.max_connections(1).min_connections(1);
    let db = Database::connect(opts).await.unwrap();
    BrainMigrator::up(&db, None).await.unwrap();
    story(db.clone(), None).await;
    db.close().await.unwrap();

    let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        return;
    };
    let name = format!("rialto_test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(&url).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    let db_url = format!("{base}/{name}");
    let db = Database::connect(&db_url).await.unwrap();
    BrainMigrator::up(&db, None).await.unwrap();
    story(db.clone(), Some(db_url)).await;
    db.close().await.unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
}
