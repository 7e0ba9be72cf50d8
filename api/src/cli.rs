//! The `rialto` command line. Every option also reads an environment variable.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use anyhow::Context;
use auth::{AuthConfig, AuthService, KeySet};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::{
    db,
    gateway::Limits,
    http::HttpConfig,
    startup::{
        self, AppConfig, Application, BrainAppConfig, GatewayAppConfig, Role, Storage,
        TradingConfig, shutdown_signal,
    },
    telemetry::{self, LogFormat},
};

/// Rialto: a real-time trading platform (continuous limit order book over GraphQL).
#[derive(Debug, Parser)]
#[command(name = "rialto", version, about, long_about = None)]
pub struct Cli {
    /// Log line format.
    #[arg(long, env = "RIALTO_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything in one process on the embedded default (SQLite under --data-dir),
    /// or on DATABASE_URL when set. Serves GraphQL (GraphiQL in a browser) at /graphql.
    Serve(ServeArgs),
    /// Run the auth subgraph alone (distributed mode): needs DATABASE_URL and
    /// RIALTO_JWT_SIGNING_KEY; RIALTO_INTERNAL_SECRET to trust the gateway; REDIS_URL to
    /// share the login limits between replicas.
    Auth(AuthArgs),
    /// Run the brain subgraph alone (distributed mode): markets, balances, orders and market
    /// data; needs DATABASE_URL and REDIS_URL (shared with the matcher), and
    /// RIALTO_INTERNAL_SECRET to trust the gateway.
    Brain(BrainArgs),
    /// Run the federated gateway alone (distributed mode) over subgraphs elsewhere:
    /// `--subgraph auth=http://auth:4001/graphql --subgraph brain=...`.
    Gateway(GatewayArgs),
    /// Run a matcher alone (distributed mode): matches and settles the markets whose lock it
    /// gets; a second one waits as a hot standby. Needs DATABASE_URL and REDIS_URL.
    Matcher(MatcherArgs),
    /// Print the composed supergraph SDL (join v0.3), for Hive Gateway or Apollo Router.
    Supergraph(SupergraphArgs),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Check the ledger's invariants (DESIGN.md §4.5); exits non-zero and names each
    /// violation.
    Audit(DbArgs),
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Access-token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// Where the database is.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Data directory of the embedded mode (SQLite database, generated signing keys).
    #[arg(long, env = "RIALTO_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Database URL (postgres://...); the embedded SQLite file when unset.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Database URL of the auth service's tables, when they live apart (overrides
    /// DATABASE_URL for auth).
    #[arg(long, env = "AUTH_DATABASE_URL", hide_env_values = true)]
    pub auth_database_url: Option<String>,
}

impl DbArgs {
    fn auth_url(&self) -> Option<String> {
        self.auth_database_url
            .clone()
            .or_else(|| self.database_url.clone())
    }

    async fn connect_auth(&self) -> anyhow::Result<sea_orm::DatabaseConnection> {
        let url = match self.auth_url() {
            Some(url) => url,
            None => db::sqlite_url(&self.data_dir)?,
        };
        db::connect(&url).await
    }
}

/// Options of `rialto serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "RIALTO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub announce: AnnounceArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub auth: AuthConfig,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub http: HttpConfig,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub limits: Limits,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub trading: TradingConfig,

    /// Seed a demo market (a cash asset, three listed assets, funded demo traders whose
    /// logins are printed) and keep it alive with a market-maker bot trading through the API.
    #[arg(long, env = "RIALTO_DEMO")]
    pub demo: bool,

    /// The web app's build (`npm --prefix web run build` makes `web/dist`), served at `/`.
    #[arg(long = "web-dir", env = "RIALTO_WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,
}

/// How a server tells who started it where it listens.
#[derive(Debug, Clone, Args)]
pub struct AnnounceArgs {
    /// Once listening, write the bound address (`127.0.0.1:43817` and a newline) to this
    /// file: with `--listen 127.0.0.1:0` the system picks a free port, and a supervisor or a
    /// test reads it here instead of guessing a free port beforehand.
    #[arg(long = "address-file", env = "RIALTO_ADDRESS_FILE")]
    pub address_file: Option<PathBuf>,
}

impl AnnounceArgs {
    /// Writes `addr` to the address file, if one was asked for: to a temporary file beside
    /// it, then renamed, so a reader never sees half a line.
    fn announce(&self, addr: SocketAddr) -> anyhow::Result<()> {
        let Some(path) = &self.address_file else {
            return Ok(());
        };
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        std::fs::write(&partial, format!("{addr}\n"))
            .and_then(|()| std::fs::rename(&partial, path))
            .with_context(|| format!("writing the address file {}", path.display()))
    }
}

/// Options of `rialto matcher`.
#[derive(Debug, Args)]
pub struct MatcherArgs {
    /// Database URL (postgres://...): the matcher takes each market's advisory lock there.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub redis: RedisArgs,
}

/// The Redis of the distributed mode, which brain and the matcher must share.
#[derive(Debug, Args)]
pub struct RedisArgs {
    /// Redis URL: where brain wakes the matcher and the matcher publishes its events.
    #[arg(long = "redis-url", env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: String,

    /// Prefix of every Redis key and channel (the same for brain and the matcher).
    #[arg(
        long = "redis-prefix",
        env = "RIALTO_REDIS_PREFIX",
        default_value = "rialto:"
    )]
    pub redis_prefix: String,
}

/// What every subgraph process (`rialto auth`, `rialto brain`) takes.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// Database URL (postgres://...).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,

    /// Apply migrations on start (otherwise run `rialto migrate` first).
    #[arg(long, env = "RIALTO_MIGRATE", default_value_t = false)]
    pub migrate: bool,

    /// Secret shared with the gateway (at least 32 bytes): the service trusts the caller a
    /// context signed with it names. Without it, gateway contexts are ignored.
    #[arg(long, env = "RIALTO_INTERNAL_SECRET", hide_env_values = true)]
    pub internal_secret: Option<secrecy::SecretString>,
}

/// Options of `rialto brain`.
#[derive(Debug, Args)]
pub struct BrainArgs {
    /// Address to listen on.
    #[arg(long, env = "RIALTO_LISTEN", default_value = "127.0.0.1:4002")]
    pub listen: SocketAddr,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub announce: AnnounceArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub service: ServiceArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub redis: RedisArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub http: HttpConfig,
}

/// A `name=URL` pair.
fn subgraph_arg(s: &str) -> Result<(String, String), String> {
    let (name, url) = s
        .split_once('=')
        .ok_or_else(|| format!("expected name=URL, got {s:?}"))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!("bad subgraph name {name:?}"));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "the URL of {name} must start with http:// or https://"
        ));
    }
    Ok((name.to_string(), url.to_string()))
}

/// Options of `rialto gateway`.
#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// Address to listen on.
    #[arg(long, env = "RIALTO_LISTEN", default_value = "127.0.0.1:4000")]
    pub listen: SocketAddr,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub announce: AnnounceArgs,

    /// A subgraph, `name=URL` (repeatable; order is preference). The one named `auth`
    /// also checks credentials.
    #[arg(long = "subgraph", env = "RIALTO_SUBGRAPHS", value_delimiter = ',', value_parser = subgraph_arg, required = true)]
    pub subgraphs: Vec<(String, String)>,

    /// Secret shared with the subgraphs (at least 32 bytes): signs the caller's context.
    #[arg(long, env = "RIALTO_INTERNAL_SECRET", hide_env_values = true)]
    pub internal_secret: secrecy::SecretString,

    /// Expected issuer of access tokens.
    #[arg(
        long = "jwt-issuer",
        env = "RIALTO_JWT_ISSUER",
        default_value = "rialto"
    )]
    pub token_issuer: String,

    /// Expected audience of access tokens.
    #[arg(
        long = "jwt-audience",
        env = "RIALTO_JWT_AUDIENCE",
        default_value = "rialto-api"
    )]
    pub token_audience: String,

    /// Longest wait for one subgraph call, in seconds.
    #[arg(
        long = "upstream-timeout-secs",
        env = "RIALTO_UPSTREAM_TIMEOUT_SECS",
        default_value_t = 10
    )]
    pub upstream_timeout_secs: u64,

    /// How long to wait at start for the subgraphs to answer, in seconds.
    #[arg(
        long = "startup-timeout-secs",
        env = "RIALTO_STARTUP_TIMEOUT_SECS",
        default_value_t = 60
    )]
    pub startup_timeout_secs: u64,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub http: HttpConfig,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub limits: Limits,

    /// Redis on which the auth service announces revocations (logout, password change,
    /// revoked API keys), so this gateway closes the affected WebSockets at once; without
    /// it they close when their token expires, or for an API key within 5 s.
    #[arg(long = "redis-url", env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key and channel (the same as the auth service's).
    #[arg(
        long = "redis-prefix",
        env = "RIALTO_REDIS_PREFIX",
        default_value = "rialto:"
    )]
    pub redis_prefix: String,

    /// Lifetime of the context the gateway signs for each subgraph call, in seconds (it is
    /// signed again for every call, so only tests need to change it).
    #[arg(
        long = "internal-context-ttl-secs",
        env = "RIALTO_INTERNAL_CONTEXT_TTL_SECS",
        default_value_t = 60,
        hide = true
    )]
    pub internal_context_ttl_secs: u64,

    /// The web app's build, served at `/` by every gateway replica (the container image
    /// has it at `/usr/share/rialto/web`).
    #[arg(long = "web-dir", env = "RIALTO_WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,
}

/// Options of `rialto supergraph`.
#[derive(Debug, Args)]
pub struct SupergraphArgs {
    /// Compose these running subgraphs (`name=URL`, repeatable) instead of the built-in
    /// ones (which are printed with the distributed mode's default URLs).
    #[arg(long = "subgraph", value_delimiter = ',', value_parser = subgraph_arg)]
    pub subgraphs: Vec<(String, String)>,
}

/// Options of `rialto auth`.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// Address to listen on.
    #[arg(long, env = "RIALTO_LISTEN", default_value = "127.0.0.1:4001")]
    pub listen: SocketAddr,

    /// Redis where the login and sign-up limits are counted, so every replica shares them
    /// (while it fails, each replica counts alone); in process when unset.
    #[arg(long = "redis-url", env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key (the deployment's, shared with brain and the matcher).
    #[arg(
        long = "redis-prefix",
        env = "RIALTO_REDIS_PREFIX",
        default_value = "rialto:"
    )]
    pub redis_prefix: String,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub announce: AnnounceArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub service: ServiceArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub auth: AuthConfig,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub http: HttpConfig,
}

/// `rialto admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user (or reset an existing user's password and role). The first admin
    /// comes from here.
    CreateUser(CreateUserArgs),
}

/// Options of `rialto admin create-user`.
#[derive(Debug, Args)]
pub struct CreateUserArgs {
    /// Email of the account.
    #[arg(long)]
    pub email: String,
    /// Password (8–128 characters, not a common one).
    #[arg(long, env = "RIALTO_ADMIN_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Role of the account.
    #[arg(long, value_enum, default_value_t = RoleArg::Trader)]
    pub role: RoleArg,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArgs,
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// A trader.
    Trader,
    /// An administrator.
    Admin,
}

/// `rialto keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new Ed25519 signing key (PKCS#8 PEM) for RIALTO_JWT_SIGNING_KEY, and its
    /// public key for RIALTO_JWT_RETIRED_PUBLIC_KEYS after a later rotation.
    Generate,
    /// Rotate the embedded mode's signing key under --data-dir: the old key keeps verifying
    /// the tokens it signed until they expire. Restart the server to use the new key.
    Rotate {
        /// Data directory of the embedded mode.
        #[arg(long, env = "RIALTO_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
    },
}

/// Parses the command line and runs it; the exit code says how it went.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init_logging(cli.log_format);
    match execute(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "rialto failed");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let mut app = Application::build(AppConfig {
                listen: args.listen,
                storage: Storage::Embedded {
                    data_dir: args.db.data_dir.clone(),
                    database_url: args.db.auth_url(),
                },
                migrate: true,
                auth: args.auth,
                http: args.http,
                role: Role::All,
                limits: args.limits,
                trading: args.trading,
                extra_subgraphs: Vec::new(),
            })
            .await?
            .with_web(args.web_dir);
            let addr = app.local_addr()?;
            if args.demo {
                app.start_demo().await?;
            }
            tracing::info!(%addr, "Rialto is up: GraphiQL at http://{addr}/graphql");
            args.announce.announce(addr)?;
            app.run_until(shutdown_signal()).await
        }
        Command::Auth(args) => {
            let app = Application::build(AppConfig {
                listen: args.listen,
                storage: Storage::External {
                    database_url: args.service.database_url,
                },
                migrate: args.service.migrate,
                auth: args.auth,
                http: args.http,
                role: Role::AuthSubgraph {
                    internal_secret: args.service.internal_secret,
                },
                limits: Limits::default(),
                // Only its Redis: the auth subgraph runs no matcher and carries no events.
                trading: TradingConfig {
                    redis_url: args.redis_url,
                    redis_prefix: args.redis_prefix,
                    ..TradingConfig::default()
                },
                extra_subgraphs: Vec::new(),
            })
            .await?;
            let addr = app.local_addr()?;
            tracing::info!(%addr, "auth service up");
            args.announce.announce(addr)?;
            app.run_until(shutdown_signal()).await
        }
        Command::Brain(args) => {
            let app = Application::build_brain(BrainAppConfig {
                listen: args.listen,
                database_url: args.service.database_url,
                migrate: args.service.migrate,
                internal_secret: args.service.internal_secret,
                redis_url: args.redis.redis_url,
                redis_prefix: args.redis.redis_prefix,
                http: args.http,
            })
            .await?;
            let addr = app.local_addr()?;
            tracing::info!(%addr, "brain service up");
            args.announce.announce(addr)?;
            app.run_until(shutdown_signal()).await
        }
        Command::Gateway(args) => {
            let app = Application::build_gateway(GatewayAppConfig {
                listen: args.listen,
                subgraphs: args.subgraphs,
                internal_secret: args.internal_secret,
                token_issuer: args.token_issuer,
                token_audience: args.token_audience,
                upstream_timeout: std::time::Duration::from_secs(args.upstream_timeout_secs),
                startup_timeout: std::time::Duration::from_secs(args.startup_timeout_secs),
                http: args.http,
                limits: args.limits,
                redis_url: args.redis_url,
                redis_prefix: args.redis_prefix,
                context_ttl: std::time::Duration::from_secs(args.internal_context_ttl_secs),
            })
            .await?
            .with_web(args.web_dir);
            let addr = app.local_addr()?;
            tracing::info!(%addr, "gateway up");
            args.announce.announce(addr)?;
            app.run_until(shutdown_signal()).await
        }
        Command::Supergraph(args) => {
            let supergraph = if args.subgraphs.is_empty() {
                startup::embedded_supergraph().await?
            } else {
                startup::remote_supergraph(&args.subgraphs, std::time::Duration::from_secs(10))
                    .await?
            };
            #[allow(clippy::print_stdout)]
            {
                print!("{}", supergraph.sdl());
            }
            Ok(())
        }
        Command::Migrate(db_args) => {
            let conn = db_args.connect_auth().await?;
            db::migrate(&conn).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Matcher(args) => {
            let conn = db::connect(&args.database_url).await?;
            let (bus, cache) = bus::connect_redis(&args.redis.redis_url, &args.redis.redis_prefix)
                .await
                .context("connect to REDIS_URL")?;
            tracing::info!("matcher up; claiming markets");
            matcher::runner::Matcher::new(conn, bus, matcher::runner::MatcherConfig::default())
                .with_cache(cache)
                .run(shutdown_signal())
                .await;
            Ok(())
        }
        Command::Audit(db_args) => {
            let conn = db_args.connect_auth().await?;
            let report = brain::audit::run(&conn).await.context("read the ledger")?;
            #[allow(clippy::print_stdout)]
            {
                println!("{report}");
            }
            if report.violations.is_empty() {
                Ok(())
            } else {
                anyhow::bail!("{} ledger violation(s)", report.violations.len())
            }
        }
        Command::Admin(AdminCommand::CreateUser(args)) => {
            let conn = args.db.connect_auth().await?;
            db::migrate(&conn).await?;
            // Creating a user signs no token, so a throwaway key set will do.
            let keys = KeySet::new(&auth::keys::generate_key(), &[], "rialto", "rialto-api")?;
            let service = AuthService::new(conn, keys, AuthConfig::default());
            let role = match args.role {
                RoleArg::Trader => common::Role::Trader,
                RoleArg::Admin => common::Role::Admin,
            };
            let user = service
                .create_user(&args.email, &args.password, role)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            #[allow(clippy::print_stdout)]
            {
                println!(
                    "user {} ({}) is {}",
                    user.email,
                    user.id,
                    user.role.as_str()
                );
            }
            Ok(())
        }
        Command::Keys(KeysCommand::Generate) => {
            let key = auth::keys::generate_key();
            #[allow(clippy::print_stdout)]
            {
                println!("# kid {}", auth::keys::thumbprint(&key.verifying_key()));
                print!("{}", auth::keys::private_pem(&key)?);
                print!("{}", auth::keys::public_pem(&key.verifying_key())?);
            }
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate { data_dir }) => {
            let kid = KeySet::rotate_dir(&data_dir.join("keys")).context("rotate keys")?;
            #[allow(clippy::print_stdout)]
            {
                println!("new signing key {kid}; restart the server to use it");
            }
            Ok(())
        }
    }
}
