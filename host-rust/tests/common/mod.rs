//! Test databases: every store test runs on both SQLite (a temp file) and
//! the machine's Postgres (a database created with a random name and
//! dropped afterwards; the server is shared with CI and other runs).

#![allow(dead_code, reason = "each test binary uses part of the harness")]

use sqlx::any::install_default_drivers;
use sqlx::{AnyConnection, Connection, Executor};
use tessera_host::{Backend, Store};

/// The Postgres server's admin database; override with `TESSERA_TEST_POSTGRES`.
fn postgres_admin_url() -> String {
    std::env::var("TESSERA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh, empty database of one backend.
pub(crate) struct TestDb {
    pub(crate) backend: Backend,
    pub(crate) url: String,
    name: String,
    dir: Option<std::path::PathBuf>,
}

impl TestDb {
    pub(crate) async fn new(backend: Backend) -> TestDb {
        install_default_drivers();
        let name = format!("tessera_t_{}", random_suffix());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}/tessera.db?mode=rwc", dir.display());
                TestDb {
                    backend,
                    url,
                    name,
                    dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let create = format!("CREATE DATABASE {name}");
                let mut conn = AnyConnection::connect(&admin)
                    .await
                    .expect("connect to postgres");
                conn.execute(sqlx::AssertSqlSafe(create))
                    .await
                    .expect("create database");
                conn.close().await.ok();
                let url = match admin.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => panic!("postgres url without a database"),
                };
                TestDb {
                    backend,
                    url,
                    name,
                    dir: None,
                }
            }
        }
    }

    /// A store on this database, migrated.
    pub(crate) async fn store(&self) -> Store {
        let store = Store::connect(&self.url).await.expect("connect");
        store.migrate_up().await.expect("migrate");
        store
    }

    /// Drops the database (call at the end of the test).
    pub(crate) async fn drop(self) {
        match self.backend {
            Backend::Sqlite => {
                if let Some(dir) = &self.dir {
                    std::fs::remove_dir_all(dir).ok();
                }
            }
            Backend::Postgres => {
                let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
                let mut conn = AnyConnection::connect(&postgres_admin_url())
                    .await
                    .expect("connect");
                conn.execute(sqlx::AssertSqlSafe(drop))
                    .await
                    .expect("drop database");
                conn.close().await.ok();
            }
        }
    }
}

/// Runs a test body on both backends.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let db = common::TestDb::new(tessera_host::Backend::Sqlite).await;
                ($body)(&db).await;
                db.drop().await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = common::TestDb::new(tessera_host::Backend::Postgres).await;
                ($body)(&db).await;
                db.drop().await;
            }
        }
    };
}
