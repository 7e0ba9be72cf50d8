//! `spawn_app()` and a small GraphQL client for the stories.

use std::path::PathBuf;

use api::{
    http::HttpConfig,
    startup::{AppConfig, Application, Role, Storage},
};
use auth::AuthConfig;
use entity::session_logs;
use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait,
    IsolationLevel, QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery staple";

/// A running application and what a test needs to poke at it.
pub struct TestApp {
    pub addr: String,
    pub client: reqwest::Client,
    /// The application's database, for assertions on stored rows.
    pub db: DatabaseConnection,
    pub data_dir: PathBuf,
    /// The Postgres database of this test, if any (else SQLite under `data_dir`).
    pub database_url: Option<String>,
    /// The auth service in the app (counters the stories check).
    pub auth: auth::AuthService,
    _tmp: tempfile::TempDir,
}

/// A fresh PostgreSQL database on the `DATABASE_URL` server, or `None` for SQLite.
pub async fn fresh_database() -> Option<String> {
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let name = format!("rialto_test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(&url)
        .await
        .expect("connect to DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let (base, _) = url
        .rsplit_once('/')
        .expect("DATABASE_URL has a database path");
    Some(format!("{base}/{name}"))
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The internal secret test gateways and subgraphs share.
pub const INTERNAL_SECRET: &str = "test-internal-secret-0123456789abcdef";

/// The auth subgraph alone (`rialto auth`), trusting contexts signed with [`INTERNAL_SECRET`].
pub async fn spawn_auth_subgraph() -> TestApp {
    spawn_app_with(|c| {
        c.role = Role::AuthSubgraph {
            internal_secret: Some(INTERNAL_SECRET.to_string().into()),
        }
    })
    .await
}

/// Spawns the app after letting the test adjust its configuration.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut AppConfig)) -> TestApp {
    spawn(adjust, false).await
}

/// Spawns `rialto serve --demo`: the app with its demo market seeded and its bots running.
pub async fn spawn_demo_app() -> TestApp {
    spawn(|_| {}, true).await
}

/// Spawns `rialto serve --demo` after letting the test adjust its configuration.
pub async fn spawn_demo_app_with(adjust: impl FnOnce(&mut AppConfig)) -> TestApp {
    spawn(adjust, true).await
}

async fn spawn(adjust: impl FnOnce(&mut AppConfig), demo: bool) -> TestApp {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data_dir = tmp.path().to_path_buf();
    let database_url = fresh_database().await;
    let mut config = AppConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        storage: Storage::Embedded {
            data_dir: data_dir.clone(),
            database_url: database_url.clone(),
        },
        migrate: true,
        auth: AuthConfig::default(),
        http: HttpConfig::default(),
        role: Role::All,
        limits: Default::default(),
        trading: Default::default(),
        extra_subgraphs: Vec::new(),
    };
    adjust(&mut config);
    let mut app = Application::build(config).await.expect("build app");
    let addr = format!("http://{}", app.local_addr().unwrap());
    let auth = app.auth().expect("auth runs in-process").clone();
    let db = auth.db().clone();
    if demo {
        app.start_demo().await.expect("start the demo");
    }
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        db,
        data_dir,
        database_url,
        auth,
        _tmp: tmp,
    }
}

/// A signed-in user as the tests hold it.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl Session {
    fn from_payload(p: &Value) -> Self {
        Self {
            user_id: p["user"]["id"].as_str().unwrap().to_string(),
            email: p["user"]["email"].as_str().unwrap().to_string(),
            access_token: p["accessToken"].as_str().unwrap().to_string(),
            refresh_token: p["refreshToken"].as_str().unwrap().to_string(),
        }
    }
}

pub const PAYLOAD: &str =
    "accessToken refreshToken accessTokenExpiresAt user { id email displayName role }";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.addr)
    }

    /// POSTs a GraphQL operation; returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value, bearer: Option<&str>) -> Value {
        let mut req = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let resp = req.send().await.expect("send");
        assert!(resp.status().is_success(), "HTTP {}", resp.status());
        resp.json().await.expect("json body")
    }

    pub async fn register(&self, email: &str) -> Session {
        let body = self.try_register(email, PASSWORD).await;
        assert_no_errors(&body);
        Session::from_payload(&body["data"]["register"])
    }

    pub async fn try_register(&self, email: &str, password: &str) -> Value {
        self.gql(
            &format!("mutation($i: RegisterInput!) {{ register(input: $i) {{ {PAYLOAD} }} }}"),
            json!({ "i": { "email": email, "password": password, "displayName": "Test Trader" } }),
            None,
        )
        .await
    }

    pub async fn try_login(&self, email: &str, password: &str) -> Value {
        self.gql(
            &format!("mutation($i: LoginInput!) {{ login(input: $i) {{ {PAYLOAD} }} }}"),
            json!({ "i": { "email": email, "password": password } }),
            None,
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Session {
        let body = self.try_login(email, password).await;
        assert_no_errors(&body);
        Session::from_payload(&body["data"]["login"])
    }

    pub async fn try_refresh(&self, refresh_token: &str) -> Value {
        self.gql(
            &format!("mutation($t: String!) {{ refresh(refreshToken: $t) {{ {PAYLOAD} }} }}"),
            json!({ "t": refresh_token }),
            None,
        )
        .await
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let resp = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("send");
        resp.text().await.expect("metrics text")
    }

    /// How many orders `bearer`'s account has (up to 100): what a test counts to prove an
    /// order was, or was not, placed.
    pub async fn my_order_count(&self, bearer: &str) -> usize {
        let body = self
            .gql(
                "{ myOrders(first: 100) { edges { node { id } } } }",
                json!({}),
                Some(bearer),
            )
            .await;
        assert_no_errors(&body);
        body["data"]["myOrders"]["edges"]
            .as_array()
            .expect("a list of orders")
            .len()
    }

    /// GETs a JSON document (health, readiness, JWKS).
    pub async fn get_json(&self, path: &str) -> Value {
        let resp = self.client.get(self.url(path)).send().await.expect("send");
        resp.json().await.expect("json body")
    }

    pub async fn me(&self, bearer: &str) -> Value {
        self.gql(
            "{ me { id email displayName role createdAt } }",
            json!({}),
            Some(bearer),
        )
        .await
    }

    /// The kinds of session-log rows for a user, oldest first.
    pub async fn session_log(&self, user_id: Option<&str>) -> Vec<String> {
        let mut q = session_logs::Entity::find()
            .order_by_asc(session_logs::Column::At)
            .order_by_asc(session_logs::Column::Id);
        q = match user_id {
            Some(id) => q.filter(session_logs::Column::UserId.eq(Uuid::parse_str(id).unwrap())),
            None => q.filter(session_logs::Column::UserId.is_null()),
        };
        q.all(&self.db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.kind)
            .collect()
    }

    /// The full session-log rows for a user, oldest first.
    pub async fn session_rows(&self, user_id: &str) -> Vec<session_logs::Model> {
        session_logs::Entity::find()
            .filter(session_logs::Column::UserId.eq(Uuid::parse_str(user_id).unwrap()))
            .order_by_asc(session_logs::Column::At)
            .all(&self.db)
            .await
            .unwrap()
    }
}

pub fn assert_no_errors(body: &Value) {
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
}

/// The `extensions.code` of the first error.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

/// The ledger invariants on one consistent snapshot while the bots trade on.
pub async fn assert_audit_passes(app: &TestApp) {
    let snapshot = match app.db.get_database_backend() {
        DbBackend::Postgres => app
            .db
            .begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await
            .unwrap(),
        _ => app.db.begin().await.unwrap(),
    };
    let report = brain::audit::run(&snapshot).await.unwrap();
    snapshot.rollback().await.unwrap();
    assert!(report.violations.is_empty(), "audit: {report}");
}

/// Starts the real `rialto` binary with `args` (which include `--listen 127.0.0.1:0`) and
/// `--data-dir data_dir`, on the embedded default whatever the environment says, and waits
/// for the address it writes to `--address-file`; a child that exits first fails the test
/// with its output.
pub async fn start_rialto(
    args: &[&str],
    data_dir: &std::path::Path,
    envs: &[(&str, &str)],
) -> fixtures::process::Running {
    let address_file = data_dir.join("rialto.address");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_rialto"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--address-file")
        .arg(&address_file)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    fixtures::process::Running::start(
        &format!("rialto {}", args.join(" ")),
        cmd,
        fixtures::process::Announce::File(address_file),
        std::time::Duration::from_secs(60),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}
