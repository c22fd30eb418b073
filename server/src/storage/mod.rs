//! One storage interface over two real backends: SQLite (embedded, the default) and PostgreSQL
//! (for several replicas).
//!
//! Each query is written once: both backends accept `$1` placeholders, store times as epoch
//! milliseconds and use the same column types, so `on_pool!` runs the same statement on either
//! pool. Migrations differ only where the dialects do, and live in `migrations/<backend>/`.

mod accounts;
mod api_keys;
mod audit;
mod connectors;
mod migrations;
mod runs;
mod sessions;
mod triggers;
mod workflows;
mod writer;

pub use accounts::{AccessChange, Account, NewAccount};
pub use api_keys::{ApiKeyRecord, NewApiKey};
pub use audit::{AuditEntry, AuditFilter, NewAuditEntry};
pub use connectors::{
    ConnectorRecord, ConnectorSecrets, ConnectorSwap, ConnectorUpdate, ConnectorWrite, WebhookSwap,
};
pub use runs::{
    InsertClaim, NewRun, RunFilter, RunRecord, RunStepRecord, RunWrite, RunWritten, lease_owner,
};
pub use sessions::SessionRecord;
pub use triggers::{
    EventQueued, EventToQueue, HOOK_CACHE_FOR, ScheduledWorkflow, WebhookQueued, WebhookRecord,
};
pub use workflows::{WorkflowRecord, WorkflowUpdate, WorkflowVersionRecord, WorkflowWrite};
pub use writer::{AfterWrite, RunWriter};

use crate::recent::Recent;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::collections::HashSet;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL {0:?}: use sqlite://path/to/file.db or postgres://user@host/db"
    )]
    UnsupportedUrl(String),
    #[error("{what} already exists")]
    Conflict { what: &'static str },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unexpected value in the database: {0}")]
    Corrupt(String),
    #[error("the run writer has stopped")]
    WriterStopped,
    /// The batch this write was in failed as a whole.
    #[error("{0}")]
    Batch(String),
}

impl StoreError {
    /// Whether the database refused a row (a constraint, or text PostgreSQL cannot store: a NUL
    /// character, 22021, or one its encoding lacks, 22P05), rather than failing as a whole.
    pub fn is_a_rows_fault(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(error)) => {
                !matches!(error.kind(), sqlx::error::ErrorKind::Other)
                    || matches!(error.code().as_deref(), Some("22021" | "22P05"))
            }
            _ => false,
        }
    }

    /// Whether a row referred to one that is not there (a run of a workflow deleted
    /// meanwhile): the caller's thing is gone, not the server at fault.
    pub fn is_missing_reference(&self) -> bool {
        matches!(
            self,
            StoreError::Database(sqlx::Error::Database(error))
                if matches!(error.kind(), sqlx::error::ErrorKind::ForeignKeyViolation)
        )
    }
}

/// Whether the database can serve requests: reachable, and every migration this build knows of
/// has been applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub pending_migrations: Vec<i64>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.pending_migrations.is_empty()
    }
}

#[derive(Clone)]
pub struct Store {
    db: Db,
    /// Webhooks found by their token's hash in the last [`HOOK_CACHE_FOR`]: a webhook
    /// call reads nothing else before its run is written. Cleared by every write to a workflow
    /// or a webhook made through this store.
    hooks: Recent<(WebhookRecord, WorkflowRecord)>,
}

#[derive(Clone)]
enum Db {
    Sqlite {
        pool: SqlitePool,
        /// The run writer's own connection (see [`Store::write_runs`]).
        run_writes: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool the store holds; the body is compiled once
/// per backend, so a statement that one dialect rejects fails the conformance tests, not prod.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::storage::Db::Sqlite { pool: $pool, .. } => $body,
            $crate::storage::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Like [`on_pool!`], on the pool of the run writer: on SQLite a pool of its one connection.
macro_rules! on_run_write_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::storage::Db::Sqlite {
                run_writes: $pool, ..
            } => $body,
            $crate::storage::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_run_write_pool;

/// `sqlx::FromRow` for a row struct on both backends, reading each listed field from the column
/// of the same name; `field(flatten)` reads a nested row struct from the same columns. Every
/// field must be listed (the struct literal would not compile otherwise).
macro_rules! from_row {
    ($ty:ident { $($field:ident $(($flatten:ident))?),* $(,)? }) => {
        $crate::storage::from_row!(@impl $ty, sqlx::sqlite::SqliteRow, { $($field $(($flatten))?),* });
        $crate::storage::from_row!(@impl $ty, sqlx::postgres::PgRow, { $($field $(($flatten))?),* });
    };
    (@impl $ty:ident, $row:ty, { $($field:ident $(($flatten:ident))?),* }) => {
        impl<'r> sqlx::FromRow<'r, $row> for $ty {
            fn from_row(row: &'r $row) -> Result<Self, sqlx::Error> {
                Ok(Self {
                    $($field: $crate::storage::from_row!(@field row, $field $(, $flatten)?)),*
                })
            }
        }
    };
    (@field $row:ident, $field:ident) => {
        sqlx::Row::try_get($row, stringify!($field))?
    };
    (@field $row:ident, $field:ident, flatten) => {
        sqlx::FromRow::from_row($row)?
    };
}
pub(crate) use from_row;

impl Store {
    /// Opens the database at `url`. A SQLite file (and its folder) is created if missing.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        match Self::backend_of(url)? {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                if let Some(dir) = options.get_filename().parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    // The database is a file in this process: a ping before each query would
                    // only add a round trip to the connection's thread.
                    .test_before_acquire(false)
                    .connect_with(options.clone())
                    .await?;
                // The run writer always writes on the same connection. From the shared pool it
                // would take each of the eight in turn (sqlx hands out the longest idle), and
                // each would find its page cache emptied, since SQLite drops a connection's
                // cache once another connection has written: the pages every batch touches
                // were read from the file again. With the webhook cache (`HOOK_CACHE_FOR`), on
                // the benchmark's SQLite phase (4 runs each, interleaved): webhooks accepted
                // 4,273 -> 6,024/s, server CPU per run 0.61 -> 0.46 ms; one more connection's
                // cache costs ~2 MB of RSS.
                let run_writes = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .test_before_acquire(false)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(options)
                    .await?;
                Ok(Store {
                    db: Db::Sqlite { pool, run_writes },
                    hooks: Recent::new(HOOK_CACHE_FOR),
                })
            }
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Ok(Store {
                    db: Db::Postgres(pool),
                    hooks: Recent::new(HOOK_CACHE_FOR),
                })
            }
        }
    }

    /// Which backend a URL selects, without connecting.
    pub fn backend_of(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies every migration not yet applied. Forward only; safe to run on every start and
    /// from several replicas at once (sqlx takes a lock on PostgreSQL).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = migrations::migrator(self.backend()).await?;
        on_pool!(self, |pool| migrator.run(pool).await)?;
        Ok(())
    }

    pub async fn readiness(&self) -> Result<Readiness, StoreError> {
        // A fresh database has no migrations table yet: that is "not ready", not an error.
        let table_exists: bool = match &self.db {
            Db::Sqlite { pool, .. } => sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
            )
            .fetch_one(pool)
            .await?,
            Db::Postgres(pool) => {
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(pool)
                    .await?
            }
        };
        let applied: HashSet<i64> = if table_exists {
            on_pool!(self, |pool| sqlx::query_scalar(
                "SELECT version FROM _sqlx_migrations WHERE success"
            )
            .fetch_all(pool)
            .await)?
            .into_iter()
            .collect()
        } else {
            HashSet::new()
        };
        let pending_migrations = migrations::migrator(self.backend())
            .await?
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect();
        Ok(Readiness { pending_migrations })
    }

    pub async fn close(&self) {
        if let Db::Sqlite { run_writes, .. } = &self.db {
            run_writes.close().await;
        }
        on_pool!(self, |pool| pool.close().await);
    }
}

/// Milliseconds since the Unix epoch, the one time representation in the database.
pub fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// A database URL fit for logs and error messages: any password is replaced, whether it is in
/// the user information (`postgres://sb:s3cret@db/sb`, even with a raw `/`, `?`, `#` or `@` in it)
/// or a query parameter (`?password=` and `sslpassword=`, which sqlx also reads). It masks too much
/// rather than too little: the user information ends at the last `@`.
pub fn redact_url(url: &str) -> String {
    let url = mask_password_params(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        return url;
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:******@{host}"),
            None => url.clone(),
        },
        None => url.clone(),
    }
}

/// `url` with the value of each `password` and `sslpassword` query parameter masked.
fn mask_password_params(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(at) = rest.find(['?', '&']) {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let end = rest.find('&').unwrap_or(rest.len());
        let (pair, after) = rest.split_at(end);
        match pair.split_once('=') {
            Some((key, _))
                if key.eq_ignore_ascii_case("password")
                    || key.eq_ignore_ascii_case("sslpassword") =>
            {
                out.push_str(key);
                out.push_str("=******");
            }
            _ => out.push_str(pair),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_their_backend() {
        assert_eq!(
            Store::backend_of("sqlite://data/x.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Store::backend_of("sqlite::memory:").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Store::backend_of("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Store::backend_of("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        let err = Store::backend_of("mysql://root:hunter2@h/db").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn redaction_hides_only_the_password() {
        assert_eq!(
            redact_url("postgres://sb:s3cret@db:5432/sb"),
            "postgres://sb:******@db:5432/sb"
        );
        assert_eq!(redact_url("postgres://sb@db/sb"), "postgres://sb@db/sb");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
        assert_eq!(
            redact_url("postgres://a:b@c@host/db?sslmode=require"),
            "postgres://a:******@host/db?sslmode=require"
        );
        // A password with a raw `/`, `?` or `#` (sqlx refuses the URL, and says so with it).
        for url in ["postgres://sb:pa/ss@db/sb", "postgres://sb:p?w#d@db/sb"] {
            assert_eq!(redact_url(url), "postgres://sb:******@db/sb");
        }
        // The password as a query parameter, which sqlx reads too.
        assert_eq!(
            redact_url("postgres://db/sb?user=sb&password=S3cret&sslmode=require"),
            "postgres://db/sb?user=sb&password=******&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://sb:x@db/sb?sslpassword=k3y&PASSWORD=p@ss"),
            "postgres://sb:******@db/sb?sslpassword=******&PASSWORD=******"
        );
        assert_eq!(
            redact_url("postgres://db/sb?application_name=a@b"),
            "postgres://db/sb?application_name=a@b"
        );
    }
}
