//! What the brain's story suites share: a migrated database per backend, the schema over
//! it, callers, and GraphQL helpers.
//!
//! The service and the matcher of every story share one cache (in process; on the
//! PostgreSQL run, Redis under a fresh prefix when `REDIS_URL` is set), so every story reads
//! market data and the catalog through it: a story that compares reads after trades is also
//! a check that the cache never serves stale data.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Request, Variables};
use brain::{BrainSchema, BrainService, build_schema};
use bus::{Cache, LocalCache, RedisCache, RedisOptions};
use common::{Caller, Credential, Identity, Role, Scope};
use matcher::runner::{Matcher, MatcherConfig};
use migration::{AuthMigrator, BrainMigrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use uuid::Uuid;

/// A migrated database and the schema over it.
pub struct Env {
    pub db: DatabaseConnection,
    pub schema: BrainSchema,
    pub service: BrainService,
    /// The cache the service reads through and [`Market::open`]'s matcher writes to.
    pub cache: Arc<dyn Cache>,
}

impl Env {
    /// The same database with the service (and later matchers) on `cache` instead.
    pub fn with_cache(self, cache: Arc<dyn Cache>) -> Self {
        env(self.db, cache)
    }
}

async fn migrate(db: &DatabaseConnection) {
    AuthMigrator::up(db, None).await.unwrap();
    BrainMigrator::up(db, None).await.unwrap();
}

fn env(db: DatabaseConnection, cache: Arc<dyn Cache>) -> Env {
    let service = BrainService::new(db.clone()).with_cache(cache.clone());
    Env {
        schema: build_schema(service.clone(), true),
        service,
        db,
        cache,
    }
}

/// Redis options with short timeouts, so stories about a Redis going away end quickly.
pub fn redis_options(prefix: &str) -> RedisOptions {
    RedisOptions {
        connect_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_millis(500),
        reconnect_max_delay: Duration::from_millis(200),
        pool_size: 2,
        ..RedisOptions::new(prefix)
    }
}

/// The cache of the PostgreSQL run: Redis under a fresh prefix when `REDIS_URL` is set.
async fn shared_cache() -> Arc<dyn Cache> {
    match std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => {
            let prefix = format!("rialto-test:{}:", Uuid::new_v4().simple());
            Arc::new(
                RedisCache::connect(&url, &redis_options(&prefix))
                    .await
                    .expect("connect to REDIS_URL"),
            )
        }
        None => Arc::new(LocalCache::new()),
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
    story(env(db.clone(), Arc::new(LocalCache::new()))).await;
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
    story(env(db.clone(), shared_cache().await)).await;
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
            session: None,
            issued_at: 0,
        },
        expires_at: None,
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

/// A market ACME-USD (tick 0.01, lot 1, minimum 1, maker 10 bps, taker 20 bps) with its
/// matcher running, and two funded traders: Alice holds 100 ACME, Bob 10,000.00 USD.
pub struct Market {
    pub admin: Identity,
    pub alice: Identity,
    pub bob: Identity,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    matcher: Option<tokio::task::JoinHandle<()>>,
}

impl Market {
    pub async fn open(env: &Env) -> Self {
        let admin = session(Role::Admin);
        for (symbol, decimals) in [("USD", 2), ("ACME", 0)] {
            ok(
                env,
                &admin,
                "mutation($i: CreateAssetInput!) { createAsset(input: $i) { id } }",
                json!({ "i": { "symbol": symbol, "name": symbol, "kind": "cash", "decimals": decimals } }),
            )
            .await;
        }
        ok(
            env,
            &admin,
            "mutation($i: CreateMarketInput!) { createMarket(input: $i) { id } }",
            json!({ "i": { "base": "ACME", "quote": "USD", "tickSize": "0.01", "lotSize": "1",
                           "minQuantity": "1", "makerFeeBps": 10, "takerFeeBps": 20 } }),
        )
        .await;
        let (alice, bob) = (session(Role::Trader), session(Role::Trader));
        credit(env, &admin, &alice, "ACME", "100").await;
        credit(env, &admin, &bob, "USD", "10000").await;
        let matcher = Matcher::new(
            env.db.clone(),
            env.service.bus().clone(),
            MatcherConfig::default(),
        )
        .with_cache(env.cache.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let matcher = tokio::spawn(matcher.run(async move {
            let _ = stopped.await;
        }));
        Self {
            admin,
            alice,
            bob,
            stop: Some(stop),
            matcher: Some(matcher),
        }
    }

    /// Stops the matcher and checks every ledger invariant.
    pub async fn close(mut self, env: &Env) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(m) = self.matcher.take() {
            m.await.unwrap();
        }
        let report = brain::audit::run(&env.db).await.unwrap();
        assert!(report.violations.is_empty(), "audit: {report}");
    }
}

pub async fn credit(env: &Env, admin: &Identity, to: &Identity, asset: &str, amount: &str) {
    ok(
        env,
        admin,
        "mutation($u: ID!, $a: String!, $n: Decimal!) { creditBalance(userId: $u, asset: $a, amount: $n) { total } }",
        json!({ "u": to.user_id.to_string(), "a": asset, "n": amount }),
    )
    .await;
}
