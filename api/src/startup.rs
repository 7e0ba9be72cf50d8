//! Builds the application from a typed configuration: this is the composition root, the one
//! place that picks the seams' implementations (in-process or remote subgraph transport,
//! local or remote credential checks). `rialto serve`, `rialto auth`, `rialto gateway` and the
//! integration tests all come through here; tests bind port 0.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use auth::{AuthConfig, AuthService, KeySet};
use axum::serve::ListenerExt as _;
use brain::BrainService;
use common::ContextSigner;
use matcher::runner::{Matcher, MatcherConfig};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;

use crate::{
    compose::{self, SubgraphSource, Supergraph},
    db,
    edge::{Authenticator, remote::RemoteAuth},
    execute::{
        RequestContext, SubgraphRequest, SubgraphTransport,
        local::{LocalSubgraph, LocalTransport},
        remote::{RemoteSubgraph, RemoteTransport},
    },
    gateway::{Gateway, GatewayConfig, Limits},
    http::{self, AppState, Endpoint, HttpConfig, Readiness},
    telemetry,
};

/// Where the database and keys come from.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Embedded: SQLite and generated keys under a data directory (unless a database URL
    /// or a signing key is configured).
    Embedded {
        /// The data directory.
        data_dir: PathBuf,
        /// A database URL that overrides the SQLite file.
        database_url: Option<String>,
    },
    /// Distributed: a database URL; keys must come from configuration.
    External {
        /// The database URL.
        database_url: String,
    },
}

/// What the process serves at `/graphql`.
#[derive(Debug, Clone, Default)]
pub enum Role {
    /// Everything in one process: the gateway over in-process subgraphs (`rialto serve`).
    #[default]
    All,
    /// The auth subgraph alone, behind a gateway (`rialto auth`). With a secret it trusts
    /// the contexts a gateway signs with it.
    AuthSubgraph {
        /// The internal secret shared with the gateway.
        internal_secret: Option<SecretString>,
    },
}

/// Everything the application needs, built from the command line or in a test.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Address to bind (`127.0.0.1:0` in tests).
    pub listen: SocketAddr,
    /// Database and key storage.
    pub storage: Storage,
    /// Apply migrations on start.
    pub migrate: bool,
    /// The auth service's settings.
    pub auth: AuthConfig,
    /// The HTTP edge's settings.
    pub http: HttpConfig,
    /// What to serve.
    pub role: Role,
    /// Operation limits of the gateway.
    pub limits: Limits,
    /// The bus, the cache and the matcher of [`Role::All`].
    pub trading: TradingConfig,
    /// More in-process subgraphs for the gateway of [`Role::All`], after the built-in ones
    /// (`(name, URL printed in the supergraph, subgraph)`); tests compose fixtures this way.
    pub extra_subgraphs: Vec<(String, String, LocalSubgraph)>,
}

/// Where trading's events and cache live, and whether this process runs the matcher.
#[derive(Debug, Clone, clap::Args)]
pub struct TradingConfig {
    /// Redis for the event bus and cache (distributed mode), where the login and sign-up
    /// limits are counted too (shared by every replica); in process when unset.
    #[arg(long = "redis-url", env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so deployments can share a Redis.
    #[arg(
        long = "redis-prefix",
        env = "RIALTO_REDIS_PREFIX",
        default_value = "rialto:"
    )]
    pub redis_prefix: String,
    /// Do not run the matcher in this process (a separate `rialto matcher` does; needs
    /// Redis so that the two hear each other).
    #[arg(long = "no-matcher", env = "RIALTO_NO_MATCHER")]
    pub no_matcher: bool,
}

impl Default for TradingConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            redis_prefix: "rialto:".into(),
            no_matcher: false,
        }
    }
}

impl TradingConfig {
    /// The event bus and cache: Redis when configured, else in process.
    ///
    /// # Errors
    /// Redis is configured but unreachable.
    pub async fn connect(&self) -> anyhow::Result<(Arc<dyn bus::EventBus>, Arc<dyn bus::Cache>)> {
        match &self.redis_url {
            Some(url) => bus::connect_redis(url, &self.redis_prefix)
                .await
                .context("connect to REDIS_URL"),
            None => Ok(bus::local()),
        }
    }
}

/// `rialto gateway`: the gateway alone, over subgraphs elsewhere.
#[derive(Debug, Clone)]
pub struct GatewayAppConfig {
    /// Address to bind.
    pub listen: SocketAddr,
    /// `(name, GraphQL URL)` of each subgraph, in preference order. The one named `auth`
    /// also checks credentials.
    pub subgraphs: Vec<(String, String)>,
    /// The secret shared with the subgraphs (signs each request's context).
    pub internal_secret: SecretString,
    /// Expected `iss` of access tokens.
    pub token_issuer: String,
    /// Expected `aud` of access tokens.
    pub token_audience: String,
    /// Longest wait for one subgraph call.
    pub upstream_timeout: Duration,
    /// How long to wait for the subgraphs to come up at start.
    pub startup_timeout: Duration,
    /// The HTTP edge's settings.
    pub http: HttpConfig,
    /// Operation limits.
    pub limits: Limits,
    /// Redis whose bus carries the auth service's revocations (logout, password change,
    /// revoked API keys), so this replica closes the affected sockets at once; without it
    /// they close when their token expires or, for an API key, within the key cache's
    /// lifetime.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel (the auth service's).
    pub redis_prefix: String,
    /// Lifetime of the contexts signed for the subgraphs (tests shorten it).
    pub context_ttl: Duration,
}

/// `rialto brain`: the brain subgraph alone.
#[derive(Debug, Clone)]
pub struct BrainAppConfig {
    /// Address to bind.
    pub listen: SocketAddr,
    /// The database URL.
    pub database_url: String,
    /// Apply migrations on start.
    pub migrate: bool,
    /// The secret shared with the gateway; `None` trusts no gateway context.
    pub internal_secret: Option<SecretString>,
    /// Redis for the event bus and cache, shared with the matcher.
    pub redis_url: String,
    /// Prefix of every Redis key and channel.
    pub redis_prefix: String,
    /// The HTTP edge's settings.
    pub http: HttpConfig,
}

/// A bound, ready-to-run application.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// The web app's build, served at `/` ([`Application::with_web`]).
    web: Option<PathBuf>,
    /// Whether the demo runs ([`Application::start_demo`]): `/demo.json` lists its logins.
    demo: bool,
    auth: Option<AuthService>,
    supergraph: Option<Arc<Supergraph>>,
    /// The matcher of `rialto serve`, started by [`Application::run_until`].
    matcher: Option<Matcher>,
    /// Closes the WebSockets on shutdown and waits for them (see [`http::Drain`]).
    drain: http::Drain,
    /// How long the drain may wait for sockets to close.
    drain_timeout: Duration,
}

/// The default URLs of the distributed services, printed in a supergraph made in-process.
pub const DEFAULT_AUTH_URL: &str = "http://127.0.0.1:4001/graphql";
/// The brain subgraph's default URL in the distributed mode.
pub const DEFAULT_BRAIN_URL: &str = "http://127.0.0.1:4002/graphql";

impl Application {
    /// Connects, migrates (if asked), loads keys and binds the listener.
    pub async fn build(config: AppConfig) -> anyhow::Result<Self> {
        let (url, key_dir) = match &config.storage {
            Storage::Embedded {
                data_dir,
                database_url,
            } => (
                match database_url {
                    Some(url) => url.clone(),
                    None => db::sqlite_url(data_dir)?,
                },
                Some(data_dir.join("keys")),
            ),
            Storage::External { database_url } => (database_url.clone(), None),
        };
        let conn = db::connect(&url).await?;
        if config.migrate {
            db::migrate(&conn).await?;
        }
        let keys = load_keys(&config.auth, key_dir)?;
        tracing::info!(kid = keys.signing_kid(), "access tokens signed with EdDSA");
        // The bus and cache of `rialto serve`: in process, or Redis when configured.
        let trading = match &config.role {
            Role::All => Some(config.trading.connect().await?),
            Role::AuthSubgraph { .. } => None,
        };
        // Login and sign-up limits count in Redis when it is configured, so every replica
        // shares them (each falls back to counting alone while Redis fails); else in process.
        let limits: Option<Arc<dyn bus::Cache>> = match (&config.trading.redis_url, &trading) {
            (None, _) => None,
            (Some(_), Some((_, cache))) => Some(cache.clone()),
            (Some(url), None) => Some(Arc::new(
                bus::RedisCache::connect(
                    url,
                    &bus::RedisOptions::new(&config.trading.redis_prefix),
                )
                .await
                .context("connect to REDIS_URL")?,
            )),
        };
        let auth = match limits {
            Some(shared) => {
                AuthService::new_shared(conn.clone(), keys, config.auth.clone(), shared)
            }
            None => AuthService::new(conn.clone(), keys, config.auth.clone()),
        };
        // `rialto auth` with Redis announces its revocations there, so every gateway replica
        // closes a logged-out session's or a revoked key's sockets at once.
        if let (Role::AuthSubgraph { .. }, Some(url)) = (&config.role, &config.trading.redis_url) {
            let bus =
                bus::RedisBus::connect(url, &bus::RedisOptions::new(&config.trading.redis_prefix))
                    .await
                    .context("connect to REDIS_URL")?;
            auth.announce_on(Arc::new(bus));
        }

        let mut matcher = None;
        let (endpoint, supergraph) = match &config.role {
            Role::All => {
                // The matcher runs beside the gateway (unless told not to) and shares the
                // bus with brain (wake-ups one way, events the other).
                let (bus, cache) = trading.clone().context("the bus and cache of serve")?;
                // Revocations are announced on the bus; with Redis, other replicas' too.
                auth.announce_on(bus.clone());
                if config.trading.redis_url.is_some() {
                    auth::revocation::follow(bus.clone(), auth.revocations().clone());
                }
                // Brain and the matcher share the cache: the matcher's batches bump the
                // versions under which brain's hot reads are kept.
                let brain = BrainService::new(conn.clone())
                    .with_bus(bus.clone())
                    .with_cache(cache.clone());
                if !config.trading.no_matcher {
                    matcher = Some(
                        Matcher::new(conn.clone(), bus, MatcherConfig::default())
                            .with_cache(cache.clone()),
                    );
                }
                let (transport, sources) =
                    in_process(&auth, &brain, &config.extra_subgraphs).await?;
                let supergraph = Arc::new(compose::compose(&sources)?);
                let gateway = Gateway::new(
                    supergraph.clone(),
                    transport,
                    GatewayConfig {
                        introspection: !config.http.disable_introspection,
                        limits: config.limits,
                        ..GatewayConfig::default()
                    },
                );
                (Endpoint::Gateway(Arc::new(gateway)), Some(supergraph))
            }
            Role::AuthSubgraph { internal_secret } => {
                let signer = context_signer(internal_secret.as_ref())?;
                (
                    Endpoint::Subgraph(http::Subgraph {
                        schema: http::SubgraphSchema::Auth(
                            auth::build_schema(auth.clone(), !config.http.disable_introspection),
                            auth.clone(),
                        ),
                        signer,
                    }),
                    None,
                )
            }
        };
        let state = AppState::new(
            endpoint,
            Authenticator::Local(auth.clone()),
            Some(auth.clone()),
            Readiness::Database {
                db: conn.clone(),
                bus: trading.as_ref().map(|(bus, _)| bus.clone()),
                cache: trading.map(|(_, cache)| cache),
            },
            telemetry::metrics_handle(),
            config.http,
        );
        let mut app = Self::bind(config.listen, state, Some(auth), supergraph).await?;
        app.matcher = matcher;
        Ok(app)
    }

    /// Builds `rialto brain`: the brain subgraph alone, over the deployment's database and
    /// Redis (which carries the matcher's wake-ups and events), behind a gateway.
    pub async fn build_brain(config: BrainAppConfig) -> anyhow::Result<Self> {
        let conn = db::connect(&config.database_url).await?;
        if config.migrate {
            db::migrate(&conn).await?;
        }
        let (bus, cache) = bus::connect_redis(&config.redis_url, &config.redis_prefix)
            .await
            .context("connect to REDIS_URL")?;
        let brain = BrainService::new(conn.clone())
            .with_bus(bus.clone())
            .with_cache(cache.clone());
        let endpoint = Endpoint::Subgraph(http::Subgraph {
            schema: http::SubgraphSchema::Brain(
                brain::build_schema(brain.clone(), !config.http.disable_introspection),
                brain,
            ),
            signer: context_signer(config.internal_secret.as_ref())?,
        });
        let state = AppState::new(
            endpoint,
            // No credentials are checked here: callers come through the gateway, whose
            // signed context names them; a direct caller is anonymous (public reads only).
            Authenticator::None,
            None,
            Readiness::Database {
                db: conn,
                bus: Some(bus),
                cache: Some(cache),
            },
            telemetry::metrics_handle(),
            config.http,
        );
        Self::bind(config.listen, state, None, None).await
    }

    /// Builds `rialto gateway`: fetches every subgraph's SDL (waiting for them to come up),
    /// composes, and binds.
    pub async fn build_gateway(config: GatewayAppConfig) -> anyhow::Result<Self> {
        let signer = ContextSigner::new(config.internal_secret.expose_secret().as_bytes())
            .context("RIALTO_INTERNAL_SECRET")?
            .with_ttl(config.context_ttl);
        let remote: Vec<RemoteSubgraph> = config
            .subgraphs
            .iter()
            .map(|(name, url)| RemoteSubgraph {
                name: name.clone(),
                url: url.clone(),
            })
            .collect();
        let transport = Arc::new(RemoteTransport::new(
            remote.clone(),
            signer.clone(),
            config.upstream_timeout,
        )?);
        let sources = fetch_sdls(transport.as_ref(), &remote, config.startup_timeout).await?;
        let supergraph = Arc::new(compose::compose(&sources)?);
        tracing::info!(
            subgraphs = ?config.subgraphs.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            "supergraph composed"
        );
        let authenticator = match config.subgraphs.iter().find(|(n, _)| n == "auth") {
            Some((_, url)) => {
                let remote_auth = RemoteAuth::new(
                    &base_url(url),
                    signer.clone(),
                    &config.token_issuer,
                    &config.token_audience,
                    config.upstream_timeout,
                )?;
                if let Err(e) = remote_auth.refresh_keys().await {
                    tracing::warn!(error = %e, "could not fetch the JWKS yet; will retry on use");
                }
                if let Some(url) = &config.redis_url {
                    let (bus, _) = bus::connect_redis(url, &config.redis_prefix)
                        .await
                        .context("connect to REDIS_URL")?;
                    auth::revocation::follow(bus, remote_auth.revocations().clone());
                }
                Authenticator::Remote(Box::new(remote_auth))
            }
            None => {
                tracing::warn!("no subgraph named auth: every presented credential is refused");
                Authenticator::None
            }
        };
        let gateway = Gateway::new(
            supergraph.clone(),
            transport,
            GatewayConfig {
                introspection: !config.http.disable_introspection,
                limits: config.limits,
                ..GatewayConfig::default()
            },
        );
        let readiness = Readiness::Subgraphs {
            urls: config
                .subgraphs
                .iter()
                .map(|(_, u)| format!("{}/health", base_url(u)))
                .collect(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()?,
        };
        let state = AppState::new(
            Endpoint::Gateway(Arc::new(gateway)),
            authenticator,
            None,
            readiness,
            telemetry::metrics_handle(),
            config.http,
        );
        Self::bind(config.listen, state, None, Some(supergraph)).await
    }

    async fn bind(
        listen: SocketAddr,
        state: AppState,
        auth: Option<AuthService>,
        supergraph: Option<Arc<Supergraph>>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("bind {listen}"))?;
        Ok(Self {
            listener,
            drain: state.drain.clone(),
            drain_timeout: Duration::from_secs(state.http.drain_timeout_secs),
            state,
            web: None,
            demo: false,
            auth,
            supergraph,
            matcher: None,
        })
    }

    /// Serves the web app's build in `dir` at `/` (`rialto serve`, `rialto gateway`); a page
    /// says how to build it when `dir` has none.
    pub fn with_web(mut self, dir: PathBuf) -> Self {
        self.web = Some(dir);
        self
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The auth service, when it runs in this process (tests reach the database through it).
    pub fn auth(&self) -> Option<&AuthService> {
        self.auth.as_ref()
    }

    /// Starts the demo market (`rialto serve --demo`, see [`crate::demo`]) against this
    /// server's own `/graphql`; its bots begin once the server serves.
    ///
    /// # Errors
    /// Without the auth service in this process, or when its accounts cannot be made.
    pub async fn start_demo(&mut self) -> anyhow::Result<()> {
        self.demo = true;
        let auth = self
            .auth
            .as_ref()
            .context("the demo needs auth in this process (rialto serve)")?;
        let url = format!("http://{}/graphql", self.local_addr()?);
        crate::demo::start(auth, url).await
    }

    /// The composed supergraph, when this process runs a gateway.
    pub fn supergraph(&self) -> Option<&Arc<Supergraph>> {
        self.supergraph.as_ref()
    }

    /// Serves until `shutdown` resolves, then drains: no new connections, open requests
    /// finish, open WebSockets are closed with 1012 so their clients reconnect elsewhere
    /// (bounded by `--drain-timeout-secs`), and only then does the matcher stop.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let service = http::router(self.state, self.web.as_deref(), self.demo)
            .into_make_service_with_connect_info::<SocketAddr>();
        // The matcher stops after the server has drained: no request is left waiting on it.
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let matcher = self.matcher.map(|m| {
            tokio::spawn(m.run(async move {
                let _ = stopped.await;
            }))
        });
        // Small responses and WebSocket frames go out at once: with Nagle's algorithm a
        // frame written after another waits for the client's delayed ACK (up to 40 ms).
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        let drain = self.drain.clone();
        let served = axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                shutdown.await;
                drain.begin();
            })
            .await;
        self.drain.wait(self.drain_timeout).await;
        tracing::info!("drained");
        let _ = stop.send(());
        if let Some(m) = matcher {
            let _ = m.await;
        }
        served?;
        Ok(())
    }
}

/// The verifier of gateway contexts, from the shared secret; without one a subgraph trusts
/// no context and accepts direct credentials only.
fn context_signer(secret: Option<&SecretString>) -> anyhow::Result<Option<ContextSigner>> {
    let signer = secret
        .map(|s| ContextSigner::new(s.expose_secret().as_bytes()))
        .transpose()
        .context("RIALTO_INTERNAL_SECRET")?;
    if signer.is_none() {
        tracing::warn!(
            "no internal secret: gateway contexts are not trusted, only direct credentials"
        );
    }
    Ok(signer)
}

/// `http://host:port/graphql` → `http://host:port`.
fn base_url(url: &str) -> String {
    url.trim_end_matches('/')
        .trim_end_matches("/graphql")
        .to_string()
}

/// The subgraphs of `rialto serve`, in-process, with their SDL.
async fn in_process(
    auth: &AuthService,
    brain: &BrainService,
    extra: &[(String, String, LocalSubgraph)],
) -> anyhow::Result<(Arc<dyn SubgraphTransport>, Vec<SubgraphSource>)> {
    let auth_for_loader = auth.clone();
    let brain_for_loader = brain.clone();
    let mut subgraphs = vec![
        (
            "auth".to_string(),
            DEFAULT_AUTH_URL.to_string(),
            LocalSubgraph::with_prepare(auth::build_schema(auth.clone(), true), move |req, _| {
                req.data(auth::schema::user_loader(&auth_for_loader))
            }),
        ),
        (
            "brain".to_string(),
            DEFAULT_BRAIN_URL.to_string(),
            LocalSubgraph::with_prepare(brain::build_schema(brain.clone(), true), move |req, _| {
                req.data(brain::schema::balance_loader(&brain_for_loader))
            }),
        ),
    ];
    subgraphs.extend(extra.iter().cloned());
    let transport = Arc::new(LocalTransport::new(
        subgraphs.iter().map(|(_, _, s)| s.clone()).collect(),
    ));
    let mut sources = Vec::new();
    for (i, (name, url, _)) in subgraphs.iter().enumerate() {
        sources.push(SubgraphSource {
            name: name.to_string(),
            url: url.to_string(),
            sdl: fetch_sdl(transport.as_ref(), i, name).await?,
        });
    }
    Ok((transport, sources))
}

/// The supergraph of the embedded subgraphs, without a database of their own (for `rialto
/// supergraph`): an in-memory SQLite stands in.
pub async fn embedded_supergraph() -> anyhow::Result<Supergraph> {
    let conn = db::connect("sqlite::memory:").await?;
    let keys = KeySet::new(&auth::keys::generate_key(), &[], "rialto", "rialto-api")?;
    let auth = AuthService::new(conn.clone(), keys, AuthConfig::default());
    let brain = BrainService::new(conn);
    let (_, sources) = in_process(&auth, &brain, &[]).await?;
    Ok(compose::compose(&sources)?)
}

/// The supergraph of subgraphs at these URLs (for `rialto supergraph --subgraph ...`).
pub async fn remote_supergraph(
    subgraphs: &[(String, String)],
    timeout: Duration,
) -> anyhow::Result<Supergraph> {
    // `_service` needs no caller: a throwaway signer will do (subgraphs ignore its contexts).
    let signer = ContextSigner::new(&rand_secret())?;
    let remote: Vec<RemoteSubgraph> = subgraphs
        .iter()
        .map(|(name, url)| RemoteSubgraph {
            name: name.clone(),
            url: url.clone(),
        })
        .collect();
    let transport = RemoteTransport::new(remote.clone(), signer, timeout)?;
    let sources = fetch_sdls(&transport, &remote, timeout).await?;
    Ok(compose::compose(&sources)?)
}

fn rand_secret() -> Vec<u8> {
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(uuid::Uuid::new_v4().as_bytes())
        .copied()
        .collect()
}

async fn fetch_sdls(
    transport: &dyn SubgraphTransport,
    subgraphs: &[RemoteSubgraph],
    wait: Duration,
) -> anyhow::Result<Vec<SubgraphSource>> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut sources = Vec::new();
    for (i, sub) in subgraphs.iter().enumerate() {
        let sdl = loop {
            match fetch_sdl(transport, i, &sub.name).await {
                Ok(sdl) => break sdl,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::info!(subgraph = sub.name, error = %e, "waiting for the subgraph");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Err(e),
            }
        };
        sources.push(SubgraphSource {
            name: sub.name.clone(),
            url: sub.url.clone(),
            sdl,
        });
    }
    Ok(sources)
}

async fn fetch_sdl(
    transport: &dyn SubgraphTransport,
    graph: usize,
    name: &str,
) -> anyhow::Result<String> {
    let response = transport
        .fetch(
            graph,
            SubgraphRequest {
                query: Arc::from("{ _service { sdl } }"),
                variables: Default::default(),
                context: Arc::new(RequestContext::default()),
            },
        )
        .await
        .with_context(|| format!("fetch the SDL of subgraph {name}"))?;
    response
        .data
        .as_ref()
        .and_then(|d| d.get("_service"))
        .and_then(|s| s.get("sdl"))
        .and_then(|s| s.as_str())
        .map(str::to_string)
        .with_context(|| {
            format!(
                "subgraph {name} answered no `_service {{ sdl }}`: {:?}",
                response.errors
            )
        })
}

fn load_keys(config: &AuthConfig, key_dir: Option<PathBuf>) -> anyhow::Result<KeySet> {
    match (&config.signing_key, key_dir) {
        (Some(pem), _) => KeySet::from_pem(
            pem.expose_secret(),
            config.retired_public_keys.as_deref(),
            &config.issuer,
            &config.audience,
        ),
        (None, Some(dir)) => KeySet::load_or_create(&dir, &config.issuer, &config.audience),
        (None, None) => anyhow::bail!(
            "no JWT signing key: set RIALTO_JWT_SIGNING_KEY (`rialto keys generate` prints one)"
        ),
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; draining");
}
