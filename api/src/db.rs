//! Database connections. One code path for both modes: a `postgres://` URL in the
//! distributed mode, SQLite under `--data-dir` in the embedded one.

use std::{path::Path, time::Duration};

use anyhow::Context;
use migration::{AuthMigrator, BrainMigrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

/// The embedded default: a SQLite file under the data directory.
pub fn sqlite_url(data_dir: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("create data directory {}", data_dir.display()))?;
    let dir = data_dir.canonicalize().context("resolve data directory")?;
    Ok(format!(
        "sqlite://{}?mode=rwc",
        dir.join("rialto.db").display()
    ))
}

/// Connects to `url`. SQLite gets WAL, foreign keys, a busy timeout and a single
/// connection: it admits one writer at a time anyway, and one connection rules out
/// lock-upgrade failures between concurrent transactions.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        opts.max_connections(1)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
    } else {
        opts.max_connections(20);
    }
    Database::connect(opts)
        .await
        .with_context(|| format!("connect to {}", redact(url)))
}

/// Applies the auth and brain migrations (each keeps its own history table).
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    AuthMigrator::up(db, None)
        .await
        .context("apply auth migrations")?;
    BrainMigrator::up(db, None)
        .await
        .context("apply brain migrations")
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
