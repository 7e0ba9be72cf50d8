//! Builds the application from a typed configuration. `rialto serve`, `rialto auth` and the
//! integration tests all come through [`Application::build`]; tests bind port 0.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use auth::{AuthConfig, AuthService, KeySet};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::{
    db,
    http::{self, AppState, HttpConfig},
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
}

/// A bound, ready-to-run application.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    auth: AuthService,
}

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

        let auth = AuthService::new(conn, keys, config.auth.clone());
        let schema = auth::build_schema(auth.clone(), !config.http.disable_introspection);
        let state = AppState::new(
            auth.clone(),
            schema,
            telemetry::metrics_handle(),
            config.http,
        );
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("bind {}", config.listen))?;
        Ok(Self {
            listener,
            router: http::router(state),
            auth,
        })
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The auth service (tests reach the database and keys through it).
    pub fn auth(&self) -> &AuthService {
        &self.auth
    }

    /// Serves until `shutdown` resolves, then lets open requests finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
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
