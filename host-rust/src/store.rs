//! The SQL store: one connection pool over SQLite or Postgres (sqlx's `Any`
//! driver with runtime queries, so nothing needs a live database to build),
//! and the migrations for each.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Connection, Executor};
use thiserror::Error;

use crate::changes::Change;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (one process).
    Sqlite,
    /// PostgreSQL (replicas share it).
    Postgres,
}

impl Backend {
    /// The collation that orders text as bytes, the order Rust compares
    /// strings in: a page of ids ordered by the database must continue
    /// where Rust says the last one was (Postgres' default collation
    /// need not be byte order).
    pub(crate) fn byte_order(self) -> &'static str {
        match self {
            Backend::Sqlite => "BINARY",
            Backend::Postgres => "\"C\"",
        }
    }
}

/// A store failure. The database's own text never reaches an API caller.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A URL that names neither `sqlite:` nor `postgres:`.
    #[error("unsupported database url (expected sqlite: or postgres:)")]
    UnsupportedUrl,
    /// The database failed or refused.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration error")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The operating system gave no randomness (key or token generation).
    #[error("no randomness available")]
    Randomness,
    /// A stored row the store itself could not have written.
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    /// A stored signing key that is not 32 bytes.
    #[error("signing key `{0}` is malformed")]
    CorruptKey(String),
}

impl StoreError {
    /// Whether the database refused a text value it cannot store (Postgres
    /// rejects NUL characters, SQLSTATE 22021): bad input, not a failure.
    pub(crate) fn is_unstorable_text(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(err)) => {
                err.code().as_deref() == Some("22021")
            }
            _ => false,
        }
    }

    /// Whether the database could not be reached or could not take the
    /// request now (a lost connection, an exhausted pool, Postgres shutting
    /// down or starting, SQLite's file locked by another process past the
    /// busy timeout): the host is unavailable, not broken, and a retry may
    /// succeed. A write refused this way was not applied, unless the
    /// connection was lost while it committed.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed,
            ) => true,
            StoreError::Database(sqlx::Error::Database(err)) => {
                let code = err.code();
                let code = code.as_deref().unwrap_or("");
                if err
                    .try_downcast_ref::<sqlx::sqlite::SqliteError>()
                    .is_some()
                {
                    // SQLITE_BUSY, with its extended codes.
                    matches!(code.parse::<i32>().map(|code| code & 0xff), Ok(5))
                } else {
                    // Lost or refused connections, too many connections, a
                    // read-only standby after a failover, shutdown and
                    // start-up; not 08P01, a protocol violation (a bug).
                    matches!(
                        code,
                        "08000" | "08001" | "08003" | "08004" | "08006" | "53300" | "25006"
                    ) || matches!(code, "57P01" | "57P02" | "57P03")
                }
            }
            _ => false,
        }
    }
}

impl FromStr for Backend {
    type Err = StoreError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

/// How long a pooled connection may sit idle before it is pinged when
/// drawn again.
const PING_AFTER_IDLE: Duration = Duration::from_secs(5);

/// How long drawing a connection may take before the request is refused
/// as unavailable (longer than SQLite's 5 s busy timeout, so a lock held
/// by another process surfaces as `SQLITE_BUSY` first).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(6);

/// A transaction on the store: what every admin write runs in.
pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// A connected store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects (without migrating). SQLite connections get foreign keys on
    /// and WAL; `sqlite:` URLs should carry `?mode=rwc` to create the file.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend: Backend = url.parse()?;
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                // One writer at a time anyway; more connections only contend.
                Backend::Sqlite => 4,
                Backend::Postgres => 16,
            })
            // A request waits at most this long for a connection: with the
            // database down or saturated it answers 503 UNAVAILABLE instead
            // of hanging for sqlx's default 30 s.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // sqlx pings every connection it hands out by default: a round
            // trip before every snapshot build's two statements. Only a
            // connection that sat idle may have been cut (a server restart,
            // a proxy's timeout), so only those are pinged.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            });
        let options = match backend {
            Backend::Sqlite => options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")
                        .await?;
                    Ok(())
                })
            }),
            // The host's statements are short, index-driven reads and
            // writes. On a large org Postgres' cost estimates switch its JIT
            // on, which measured ~200 ms of compiling for a 45 ms page of
            // who-can (BENCHMARKS.md).
            Backend::Postgres => options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("SET jit = off").await?;
                    Ok(())
                })
            }),
        };
        let pool = options.connect(url).await?;
        Ok(Store { pool, backend })
    }

    /// The database kind.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the store's modules.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies every pending migration.
    pub async fn migrate_up(&self) -> Result<(), StoreError> {
        self.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Reverts migrations down to (and excluding) `target` (0: everything).
    pub async fn migrate_down(&self, target: i64) -> Result<(), StoreError> {
        self.migrator().undo(&self.pool, target).await?;
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The Postgres channel revision bumps are announced on (see
/// [`announce_revision`]).
pub(crate) const REVISION_CHANNEL: &str = "tessera_revisions";

/// Announces a revision bump to every server listening on Postgres
/// (`"<revision> <org> <change as JSON>"`, `"<revision> <org>"` for a bump
/// that says nothing of what changed, `"* "` when every org was bumped).
/// Sent in the write's transaction, so it goes out only if the write
/// commits. SQLite has no other servers to tell.
pub(crate) async fn announce_revision(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    bumped: Option<(&str, i64)>,
    change: Option<&Change>,
) -> Result<(), sqlx::Error> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    let payload = match bumped {
        Some((org, revision)) => {
            let change = change
                .and_then(|change| serde_json::to_string(change).ok())
                .filter(|json| json.len() + org.len() + 24 <= NOTIFY_BYTES)
                .map(|json| format!(" {json}"))
                .unwrap_or_default();
            format!("{revision} {org}{change}")
        }
        None => "* ".to_owned(),
    };
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(REVISION_CHANNEL)
        .bind(payload)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Postgres refuses a `NOTIFY` payload of 8,000 bytes or more: a change
/// that does not fit is announced without it (replicas rebuild).
const NOTIFY_BYTES: usize = 7_900;
