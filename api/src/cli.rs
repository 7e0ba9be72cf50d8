//! The `rialto` command line. Every option also reads an environment variable.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use anyhow::Context;
use auth::{AuthConfig, AuthService, KeySet};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::{
    db,
    http::HttpConfig,
    startup::{AppConfig, Application, Storage, shutdown_signal},
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
    /// Run the auth service alone (distributed mode): needs DATABASE_URL and
    /// RIALTO_JWT_SIGNING_KEY.
    Auth(AuthArgs),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
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
    pub db: DbArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub auth: AuthConfig,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub http: HttpConfig,
}

/// Options of `rialto auth`.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// Address to listen on.
    #[arg(long, env = "RIALTO_LISTEN", default_value = "127.0.0.1:4001")]
    pub listen: SocketAddr,

    /// Database URL (postgres://...).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,

    /// Apply migrations on start (otherwise run `rialto migrate` first).
    #[arg(long, env = "RIALTO_MIGRATE", default_value_t = false)]
    pub migrate: bool,

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
            let app = Application::build(AppConfig {
                listen: args.listen,
                storage: Storage::Embedded {
                    data_dir: args.db.data_dir.clone(),
                    database_url: args.db.auth_url(),
                },
                migrate: true,
                auth: args.auth,
                http: args.http,
            })
            .await?;
            let addr = app.local_addr()?;
            tracing::info!(%addr, "Rialto is up: GraphiQL at http://{addr}/graphql");
            app.run_until(shutdown_signal()).await
        }
        Command::Auth(args) => {
            let app = Application::build(AppConfig {
                listen: args.listen,
                storage: Storage::External {
                    database_url: args.database_url,
                },
                migrate: args.migrate,
                auth: args.auth,
                http: args.http,
            })
            .await?;
            tracing::info!(addr = %app.local_addr()?, "auth service up");
            app.run_until(shutdown_signal()).await
        }
        Command::Migrate(db_args) => {
            let conn = db_args.connect_auth().await?;
            db::migrate(&conn).await?;
            tracing::info!("migrations applied");
            Ok(())
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
