//! A database of a benchmark's own: a temp SQLite file, or a randomly
//! named Postgres database on `TESSERA_TEST_POSTGRES`'s server (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped at the end.

use std::path::PathBuf;

use sqlx::any::install_default_drivers;
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};
use tessera_host::Backend;

/// A database of its own, dropped at the end.
pub(crate) struct Database {
    pub(crate) backend: Backend,
    pub(crate) url: String,
    pub(crate) name: String,
    dir: Option<PathBuf>,
}

fn postgres_admin_url() -> String {
    std::env::var("TESSERA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub(crate) fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Database {
    pub(crate) async fn create(backend: Backend) -> Database {
        install_default_drivers();
        let name = format!("tessera_bench_{}", random_hex());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}/tessera.db?mode=rwc", dir.display());
                Database {
                    backend,
                    url,
                    name,
                    dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let mut conn = AnyConnection::connect(&admin).await.expect("postgres");
                conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create database");
                conn.close().await.ok();
                let (server, _) = admin.rsplit_once('/').expect("url with a database");
                let url = format!("{server}/{name}");
                Database {
                    backend,
                    url,
                    name,
                    dir: None,
                }
            }
        }
    }

    pub(crate) async fn drop(self) {
        match self.backend {
            Backend::Sqlite => {
                if let Some(dir) = &self.dir {
                    std::fs::remove_dir_all(dir).ok();
                }
            }
            Backend::Postgres => {
                let mut conn = AnyConnection::connect(&postgres_admin_url())
                    .await
                    .expect("postgres");
                conn.execute(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                )))
                .await
                .expect("drop database");
                conn.close().await.ok();
            }
        }
        println!("dropped {}", self.name);
    }
}
