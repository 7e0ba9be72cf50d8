//! A federated stack for the stories: the gateway over the auth subgraph and the three
//! fixture subgraphs, either as real processes ([`Mode::Remote`]: `rialto auth`,
//! `fixture-subgraph` ×3, `rialto gateway`, each on port 0 with the address it announces
//! read back, see `fixtures::process`) or in one process with the in-process transport
//! ([`Mode::InProcess`]: `rialto serve`'s gateway with the fixtures added).

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
    time::Duration,
};

use api::{
    execute::local::LocalSubgraph,
    startup::{AppConfig, Application, Role, Storage},
};
use fixtures::{
    Fixture,
    process::{Announce, Running},
    request::Forwarded,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::process::Command;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

pub const PASSWORD: &str = "correct horse battery staple";
pub const SECRET: &str = "gateway-test-secret-0123456789abcdef";

/// Which transport the gateway uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Real processes, HTTP and WebSocket between them.
    Remote,
    /// One process, subgraph schemas executed directly.
    InProcess,
}

/// A child process on the address it announced, killed when the test drops it.
pub struct Proc {
    pub running: Running,
    pub url: String,
    /// Holds the child's address file.
    _dir: Option<tempfile::TempDir>,
}

impl Proc {
    /// Kills the process (as a crash would) and waits until it is gone.
    pub async fn kill(&mut self) {
        self.running.kill().await;
    }
}

/// A running stack.
pub struct Stack {
    /// The gateway's base URL (`http://127.0.0.1:port`).
    pub gateway: String,
    /// The auth process's database (remote mode), to restart it on the same data.
    auth_db: Option<String>,
    pub client: reqwest::Client,
    pub procs: Vec<(String, Proc)>,
    _tmp: tempfile::TempDir,
}

fn target_dir() -> PathBuf {
    // .../target/debug/deps/gateway-<hash> → .../target/debug
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target directory")
        .to_path_buf()
}

/// The `fixture-subgraph` binary. `cargo test --workspace` builds it (the fixtures crate's
/// own tests need it); for `cargo test -p api` alone it is built on first use.
pub fn fixture_bin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let path = target_dir().join("fixture-subgraph");
            if path.exists() {
                return path;
            }
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "fixtures",
                    "--bin",
                    "fixture-subgraph",
                ])
                .status()
                .expect("run cargo build for the fixtures");
            assert!(status.success(), "building fixture-subgraph failed");
            assert!(path.exists(), "no {}", path.display());
            path
        })
        .clone()
}

pub fn rialto_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rialto"))
}

/// The signing key every remote stack's auth process starts with.
pub fn first_key() -> ed25519_dalek::SigningKey {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    ed25519_dalek::SigningKey::from_bytes(KEY.get_or_init(|| auth::keys::generate_key().to_bytes()))
}

/// How long a child may take to announce its address (a cold debug build of `rialto auth
/// --migrate` on a busy machine takes seconds).
const START_WITHIN: Duration = Duration::from_secs(60);

/// Waits for `/health` to answer; a process that exits meanwhile fails the test at once,
/// with its output.
async fn wait_healthy(client: &reqwest::Client, base: &str, proc: &Running, name: &str) {
    tokio::time::timeout(START_WITHIN, async {
        loop {
            if let Some(status) = proc.exited() {
                panic!(
                    "{name} exited ({status}) before it was healthy; its output:\n{}",
                    proc.output.text()
                );
            }
            if let Ok(r) = client.get(format!("{base}/health")).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{name} at {base} did not become healthy; its output:\n{}",
            proc.output.text()
        )
    });
}

/// Starts a fixture subgraph process on port 0 and reads the address it announces.
pub async fn spawn_fixture(f: Fixture) -> Proc {
    let mut cmd = Command::new(fixture_bin());
    cmd.arg(f.name())
        .args(["--listen", "127.0.0.1:0"])
        .env("RIALTO_INTERNAL_SECRET", SECRET)
        .env("RUST_LOG", "warn");
    let running = Running::start(
        &format!("fixture-subgraph {f}"),
        cmd,
        Announce::Line("LISTENING "),
        START_WITHIN,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    Proc {
        url: format!("{}/graphql", running.base_url()),
        running,
        _dir: None,
    }
}

/// Starts `rialto` with these arguments on port 0 and waits for `/health`.
pub async fn spawn_rialto(
    args: &[&str],
    envs: &[(&str, String)],
    client: &reqwest::Client,
) -> Proc {
    spawn_rialto_at("127.0.0.1:0", args, envs, client).await
}

/// Starts `rialto` listening on `listen` and waits for `/health`. The address is read back
/// from `--address-file`, so `listen` may have port 0 (the usual case), or name the address
/// of a process this test stopped a moment ago (a restart where its clients know it).
pub async fn spawn_rialto_at(
    listen: &str,
    args: &[&str],
    envs: &[(&str, String)],
    client: &reqwest::Client,
) -> Proc {
    let dir = tempfile::tempdir().expect("temp dir");
    let address_file = dir.path().join("address");
    let mut cmd = Command::new(rialto_bin());
    cmd.args(args)
        .args(["--listen", listen])
        .arg("--address-file")
        .arg(&address_file)
        .env_remove("DATABASE_URL")
        // `rialto auth` counts login limits in REDIS_URL: only under a prefix a test chose.
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "warn");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let name = format!("rialto {}", args.first().copied().unwrap_or_default());
    let running = Running::start(&name, cmd, Announce::File(address_file), START_WITHIN)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let base = running.base_url();
    wait_healthy(client, &base, &running, &name).await;
    Proc {
        running,
        url: format!("{base}/graphql"),
        _dir: Some(dir),
    }
}

/// A fresh PostgreSQL database on the `DATABASE_URL` server, or a SQLite file in `dir`.
pub async fn database_url(dir: &Path) -> String {
    match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => {
            use sea_orm::ConnectionTrait;
            let name = format!("rialto_test_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(&url).await.expect("connect");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create database");
            let (base, _) = url.rsplit_once('/').expect("a database path");
            format!("{base}/{name}")
        }
        None => format!("sqlite://{}/auth.db?mode=rwc", dir.display()),
    }
}

impl Stack {
    /// A stack of processes the test started itself, `gateway` its base URL.
    pub fn over(gateway: &str, procs: Vec<(String, Proc)>, tmp: tempfile::TempDir) -> Self {
        Self {
            gateway: gateway.to_string(),
            auth_db: None,
            client: reqwest::Client::new(),
            procs,
            _tmp: tmp,
        }
    }

    /// The whole stack in `mode`, with extra `rialto gateway` arguments in remote mode.
    pub async fn start(mode: Mode) -> Self {
        Self::start_with(mode, &[]).await
    }

    pub async fn start_with(mode: Mode, gateway_args: &[&str]) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let client = reqwest::Client::new();
        match mode {
            Mode::Remote => {
                let key = auth::keys::private_pem(&first_key()).unwrap();
                let db = database_url(tmp.path()).await;
                let auth_env = [
                    ("DATABASE_URL", db.clone()),
                    ("RIALTO_JWT_SIGNING_KEY", key),
                    ("RIALTO_INTERNAL_SECRET", SECRET.to_string()),
                ];
                let (auth_proc, catalog, reviews, inventory) = tokio::join!(
                    spawn_rialto(&["auth", "--migrate"], &auth_env, &client),
                    spawn_fixture(Fixture::Catalog),
                    spawn_fixture(Fixture::Reviews),
                    spawn_fixture(Fixture::Inventory),
                );
                let mut args: Vec<String> = vec!["gateway".into()];
                for (name, p) in [
                    ("auth", &auth_proc),
                    ("catalog", &catalog),
                    ("reviews", &reviews),
                    ("inventory", &inventory),
                ] {
                    args.push("--subgraph".into());
                    args.push(format!("{name}={}", p.url));
                }
                args.extend(gateway_args.iter().map(|s| s.to_string()));
                let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let gw = spawn_rialto(
                    &arg_refs,
                    &[("RIALTO_INTERNAL_SECRET", SECRET.to_string())],
                    &client,
                )
                .await;
                let gateway = gw.url.trim_end_matches("/graphql").to_string();
                Self {
                    gateway,
                    auth_db: Some(db),
                    client,
                    procs: vec![
                        ("auth".into(), auth_proc),
                        ("catalog".into(), catalog),
                        ("reviews".into(), reviews),
                        ("inventory".into(), inventory),
                        ("gateway".into(), gw),
                    ],
                    _tmp: tmp,
                }
            }
            Mode::InProcess => {
                let extra = vec![
                    (
                        "catalog".to_string(),
                        "http://catalog/graphql".to_string(),
                        local(fixtures::catalog::schema()),
                    ),
                    (
                        "reviews".to_string(),
                        "http://reviews/graphql".to_string(),
                        local(fixtures::reviews::schema()),
                    ),
                    (
                        "inventory".to_string(),
                        "http://inventory/graphql".to_string(),
                        local(fixtures::inventory::schema()),
                    ),
                ];
                let db = match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
                    Some(_) => Some(database_url(tmp.path()).await),
                    None => None,
                };
                let app = Application::build(AppConfig {
                    listen: "127.0.0.1:0".parse().unwrap(),
                    storage: Storage::Embedded {
                        data_dir: tmp.path().to_path_buf(),
                        database_url: db,
                    },
                    migrate: true,
                    auth: Default::default(),
                    http: Default::default(),
                    role: Role::All,
                    limits: Default::default(),
                    trading: Default::default(),
                    extra_subgraphs: extra,
                })
                .await
                .expect("build the in-process stack");
                let gateway = format!("http://{}", app.local_addr().unwrap());
                tokio::spawn(app.run_until(std::future::pending()));
                Self {
                    gateway,
                    auth_db: None,
                    client,
                    procs: Vec::new(),
                    _tmp: tmp,
                }
            }
        }
    }

    /// Restarts the auth process (remote mode) on its address and data with another signing
    /// key, the previous ones retired but still verifying.
    pub async fn restart_auth(&mut self, signing_pem: &str, retired_public_pems: &str) {
        let db = self.auth_db.clone().expect("remote mode");
        let client = self.client.clone();
        let auth = self.proc("auth");
        let listen = auth.running.addr.to_string();
        auth.kill().await;
        let fresh = spawn_rialto_at(
            &listen,
            &["auth"],
            &[
                ("DATABASE_URL", db),
                ("RIALTO_JWT_SIGNING_KEY", signing_pem.to_string()),
                (
                    "RIALTO_JWT_RETIRED_PUBLIC_KEYS",
                    retired_public_pems.to_string(),
                ),
                ("RIALTO_INTERNAL_SECRET", SECRET.to_string()),
            ],
            &client,
        )
        .await;
        *self.proc("auth") = fresh;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway)
    }

    /// The process serving `name` (remote mode).
    pub fn proc(&mut self, name: &str) -> &mut Proc {
        &mut self
            .procs
            .iter_mut()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no process {name}"))
            .1
    }

    /// POSTs an operation; the whole body.
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

    /// POSTs an operation; the body as text (to check field order).
    pub async fn raw(&self, query: &str) -> String {
        self.client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("send")
            .text()
            .await
            .expect("text body")
    }

    /// Announces a body of `len` bytes and returns the status the gateway answers before
    /// reading any of it (a client streaming 10 MB would only see its pipe closed).
    pub async fn status_for_body_of(&self, len: usize) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.gateway.trim_start_matches("http://");
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /graphql HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n"
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        text.split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// Registers a trader; (user id, access token).
    pub async fn register(&self, email: &str) -> (String, String) {
        let body = self
            .gql(
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }",
                json!({ "i": { "email": email, "password": PASSWORD, "displayName": "Trader" } }),
                None,
            )
            .await;
        assert_no_errors(&body);
        (
            body["data"]["register"]["user"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
            body["data"]["register"]["accessToken"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    }

    /// Gateway metrics text (remote mode: the gateway process alone).
    pub async fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

fn local<E: async_graphql::Executor>(schema: E) -> LocalSubgraph {
    LocalSubgraph::with_prepare(schema, |req, ctx| {
        req.data(Forwarded {
            request_id: ctx.meta.request_id.clone(),
            traceparent: ctx.traceparent.clone(),
        })
    })
}

pub fn assert_no_errors(body: &Value) {
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
}

/// The value of a counter with these labels in a Prometheus text, 0 when absent.
pub fn counter(metrics: &str, name: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` client socket, initialised (and acknowledged).
pub async fn ws_connect(stack: &Stack, bearer: Option<&str>) -> Socket {
    let url = stack.gateway.replace("http://", "ws://") + "/graphql";
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let payload = match bearer {
        Some(b) => json!({ "authorization": format!("Bearer {b}") }),
        None => json!({}),
    };
    ws_send(
        &mut socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(ws_next(&mut socket).await["type"], "connection_ack");
    socket
}

pub async fn ws_send(socket: &mut Socket, v: Value) {
    socket.send(Message::text(v.to_string())).await.unwrap();
}

/// The next protocol message (pings answered, skipped).
pub async fn ws_next(socket: &mut Socket) -> Value {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    if v["type"] == "ping" {
                        ws_send(socket, json!({ "type": "pong" })).await;
                        continue;
                    }
                    return v;
                }
                Some(Ok(Message::Close(frame))) => {
                    return json!({ "type": "closed", "frame": format!("{frame:?}") });
                }
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            }
        }
    })
    .await
    .expect("a message within 20 s")
}
