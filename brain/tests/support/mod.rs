//! What the brain's story suites share: a migrated database per backend, the schema over
//! it, callers, and GraphQL helpers.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;

use async_graphql::{Request, Variables};
use brain::{BrainSchema, BrainService, build_schema};
use common::{Caller, Credential, Identity, Role, Scope};
use migration::{AuthMigrator, BrainMigrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;
use uuid::Uuid;

/// A migrated database and the schema over it.
pub struct Env {
    pub db: DatabaseConnection,
    pub schema: BrainSchema,
    pub service: BrainService,
}

async fn migrate(db: &DatabaseConnection) {
    AuthMigrator::up(db, None).await.unwrap();
    BrainMigrator::up(db, None).await.unwrap();
}

fn env(db: DatabaseConnection) -> Env {
    let service = BrainService::new(db.clone());
    Env {
        schema: build_schema(service.clone(), true),
        service,
        db,
    }
}

/// Runs `story` on a migrated in-memory SQLite database, then, if `DATABASE_URL` is set, on
/// a migrated fresh PostgreSQL database that is dropped afterwards.
pub async fn each_backend<F, Fut>(story: F)
where
    F: Fn(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    // One connection: every pooled connection to `sqlite::memory:` is its own database.
    let mut opts = ConnectOptions::new("sqlite::memory:");
    opts.max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let db = Database::connect(opts).await.unwrap();
    migrate(&db).await;
    story(env(db.clone())).await;
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
    migrate(&db).await;
    story(env(db.clone())).await;
    db.close().await.unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
    admin.close().await.unwrap();
}

/// A signed-in user (a session carries every scope).
pub fn session(role: Role) -> Identity {
    Identity {
        user_id: Uuid::now_v7(),
        role,
        scopes: vec![Scope::Read, Scope::Trade],
        credential: Credential::AccessToken {
            jti: Uuid::new_v4().to_string(),
        },
    }
}

/// The same user through a read-only API key.
pub fn read_key(of: &Identity) -> Identity {
    Identity {
        scopes: vec![Scope::Read],
        credential: Credential::ApiKey { id: Uuid::new_v4() },
        ..of.clone()
    }
}

/// Executes `query` as `caller` and returns the response as JSON.
pub async fn exec(env: &Env, caller: Caller, query: &str, vars: Value) -> Value {
    let req = Request::new(query)
        .variables(Variables::from_json(vars))
        .data(caller);
    serde_json::to_value(env.schema.execute(req).await).unwrap()
}

/// Executes and returns `data`, failing on any error.
pub async fn ok(env: &Env, who: &Identity, query: &str, vars: Value) -> Value {
    let resp = exec(env, Caller::Known(who.clone()), query, vars).await;
    assert!(resp.get("errors").is_none(), "{resp:#}");
    resp["data"].clone()
}

/// The first error's `extensions.code`.
pub fn code(resp: &Value) -> &str {
    resp["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {resp:#}"))
}
