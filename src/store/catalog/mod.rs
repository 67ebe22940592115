//! The catalog: photographers, events, grants, the entry tree, audit log and lock-out counters.
//!
//! One code path for SQLite (embedded default) and PostgreSQL (scaled out) through sqlx's `Any`
//! driver: queries are checked at run time (compile-time checking binds to one backend), use `$N`
//! placeholders (both backends accept them) and only portable SQL. Each backend has its own
//! migration folder. Times are BIGINT milliseconds.

// First: `people` defines the grant query macro the others use.
#[macro_use]
pub(crate) mod people;
pub mod admin_queries;
pub(crate) mod audit;
pub(crate) mod entries;
pub(crate) mod keys;
mod lockout;
pub(crate) mod superseded;

pub use audit::{AuditQuery, AuditRecord, AuditRow};
pub use entries::{EntryKind, EntryRow, ListingRow, Ns};
pub use keys::KeyRow;
pub use lockout::{Attempt, AttemptLimits};
pub use people::{EventRow, GrantRow, PhotographerRow};

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

use crate::base::error::{CoreError, CoreResult};

pub type Tx = Transaction<'static, Any>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Catalog {
    pool: AnyPool,
    backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Catalog {
    /// Connects, applies pending migrations and returns a ready catalog. The error says which
    /// database could not be reached and why, in one sentence.
    pub async fn connect(url: &str, max_connections: Option<u32>) -> CoreResult<Catalog> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(CoreError::Catalog(format!(
                "unsupported catalog.url {:?}: use sqlite://PATH or postgres://…",
                redact_url(url)
            )));
        };
        let mut url = url.to_string();
        if backend == Backend::Sqlite {
            if let Some(path) = url.strip_prefix("sqlite://") {
                let path = path.split('?').next().unwrap_or(path);
                if let Some(dir) = std::path::Path::new(path).parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        CoreError::Catalog(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
        }
        let opts = AnyConnectOptions::from_str(&url).map_err(|e| {
            CoreError::Catalog(format!("invalid catalog.url {:?}: {e}", redact_url(&url)))
        })?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.unwrap_or(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            }))
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL: readers never block the writer. FULL: a committed upload survives
                        // a power cut. busy_timeout: writers queue instead of failing.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(|e| {
                CoreError::Catalog(format!(
                    "cannot open the catalog at {}: {e}",
                    redact_url(&url)
                ))
            })?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .map_err(|e| CoreError::Catalog(format!("catalog migration failed: {e}")))?;
        Ok(Catalog { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so two writers queue on busy_timeout instead of deadlocking on a
    /// read-to-write upgrade.
    pub async fn begin_write(&self) -> CoreResult<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// A cheap round trip, for `/readyz` and `ftpgate check`.
    pub async fn ping(&self) -> CoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A named secret shared by every replica (e.g. the HTTPFs key MAC key), created on first use.
    pub async fn setting_or_init(
        &self,
        name: &str,
        init: impl FnOnce() -> String,
    ) -> CoreResult<String> {
        let candidate = init();
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(&candidate)
        .execute(&self.pool)
        .await?;
        let (value,): (String,) = sqlx::query_as("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(value)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The result of an INSERT whose key may already exist: a unique violation becomes
/// `AlreadyExists` (so callers can say which thing exists), anything else a catalog error.
pub(crate) fn inserted(r: Result<sqlx::any::AnyQueryResult, sqlx::Error>) -> CoreResult<()> {
    match r {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(db))
            if db.is_unique_violation() || db.message().contains("UNIQUE constraint failed") =>
        {
            Err(CoreError::AlreadyExists)
        }
        Err(e) => Err(e.into()),
    }
}

/// Hides a password in a database URL before it reaches an error message or a log line.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((creds, host)) = rest.split_once('@')
        && let Some((user, _pw)) = creds.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}
