//! Test databases: every store test runs on both SQLite (a temp file) and
//! the machine's Postgres (a database created with a random name and
//! dropped afterwards; the server is shared with CI and other runs).

#![allow(dead_code, reason = "each test binary uses part of the harness")]

use std::collections::BTreeSet;

use sqlx::any::install_default_drivers;
use sqlx::{Any, AnyConnection, Connection, Executor, Transaction};
use tessera_core::{Facts, Manifest, Member, Subject};
use tessera_host::{Backend, Store, create_org, reconcile};

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

fn flag(value: bool) -> i64 {
    i64::from(value)
}

/// Writes facts into the store exactly (the test's stand-in for the admin
/// service, which will replace it once it exists).
pub(crate) async fn import(store: &Store, manifest: &Manifest, facts: &Facts) {
    reconcile(store, manifest, 1).await.unwrap();
    let mut tx: Transaction<'static, Any> = store.pool().begin().await.unwrap();
    create_org(&mut tx, manifest, &facts.org, &facts.org, 1)
        .await
        .unwrap();
    sqlx::query("UPDATE orgs SET kiosk = $1, revision = $2 WHERE id = $3")
        .bind(flag(facts.kiosk))
        .bind(i64::try_from(facts.revision).unwrap())
        .bind(&facts.org)
        .execute(&mut *tx)
        .await
        .unwrap();
    for user in &facts.users {
        sqlx::query("INSERT INTO users (id, name, superuser, active) VALUES ($1, $2, $3, $4)")
            .bind(&user.id)
            .bind(user.name.clone().unwrap_or_else(|| user.id.clone()))
            .bind(flag(user.superuser))
            .bind(flag(user.active))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    for member in &facts.members {
        sqlx::query("INSERT INTO members (org_id, user_id) VALUES ($1, $2)")
            .bind(&facts.org)
            .bind(member)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    // The org's groups are exactly the facts' (plus the reserved `admin`).
    sqlx::query("DELETE FROM groups WHERE org_id = $1 AND id <> 'admin'")
        .bind(&facts.org)
        .execute(&mut *tx)
        .await
        .unwrap();
    for group in &facts.groups {
        let name = group.name.clone().unwrap_or_else(|| group.id.clone());
        sqlx::query("INSERT INTO groups (org_id, id, name, name_key, is_default) VALUES ($1, $2, $3, $4, $5)")
            .bind(&facts.org)
            .bind(&group.id)
            .bind(&name)
            .bind(name.trim().to_lowercase())
            .bind(flag(group.default))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    for edge in &facts.group_members {
        let (user, group) = match &edge.member {
            Member::User(user) => (Some(user.clone()), None),
            Member::Group(group) => (None, Some(group.clone())),
        };
        sqlx::query("INSERT INTO group_members (org_id, group_id, member_user, member_group) VALUES ($1, $2, $3, $4)")
            .bind(&facts.org)
            .bind(&edge.group)
            .bind(user)
            .bind(group)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    for node in &facts.nodes {
        sqlx::query("INSERT INTO nodes (org_id, type, id, parent_type, parent_id) VALUES ($1, $2, $3, $4, $5)")
            .bind(&facts.org)
            .bind(&node.node.ty)
            .bind(&node.node.id)
            .bind(node.parent.as_ref().map(|p| p.ty.clone()))
            .bind(node.parent.as_ref().map(|p| p.id.clone()))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let catalog: BTreeSet<String> = manifest
        .catalog
        .entries()
        .iter()
        .map(|e| e.key.clone())
        .collect();
    for role in &facts.roles {
        let builtin = manifest.builtin(&role.id).is_some();
        if !builtin {
            let name = role.name.clone().unwrap_or_else(|| role.id.clone());
            sqlx::query("INSERT INTO roles (org_id, id, name, name_key, builtin, mode) VALUES ($1, $2, $3, $4, NULL, 'custom')")
                .bind(&facts.org)
                .bind(&role.id)
                .bind(&name)
                .bind(name.trim().to_lowercase())
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        sqlx::query("DELETE FROM role_permissions WHERE org_id = $1 AND role_id = $2")
            .bind(&facts.org)
            .bind(&role.id)
            .execute(&mut *tx)
            .await
            .unwrap();
        for key in &role.permissions {
            if !catalog.contains(key) {
                // A key the manifest dropped: the store keeps it, deprecated.
                sqlx::query("INSERT INTO catalog (key, position, requires, deprecated) VALUES ($1, 1000, '[]', 1) ON CONFLICT (key) DO NOTHING")
                    .bind(key)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            sqlx::query(
                "INSERT INTO role_permissions (org_id, role_id, permission) VALUES ($1, $2, $3)",
            )
            .bind(&facts.org)
            .bind(&role.id)
            .bind(key)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
    }
    for (at, assignment) in facts.assignments.iter().enumerate() {
        let (user, group) = match &assignment.subject {
            Subject::User(user) => (Some(user.clone()), None),
            Subject::Group(group) => (None, Some(group.clone())),
            _ => (None, None),
        };
        let scope = assignment.scope.as_ref();
        sqlx::query(
            "INSERT INTO assignments (org_id, id, subject, subject_user, subject_group, role_id, scope_type, scope_id, scope_key, owner_only, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)",
        )
        .bind(&facts.org)
        .bind(assignment.id.clone().unwrap_or_else(|| format!("a{at}")))
        .bind(assignment.subject.to_string())
        .bind(user)
        .bind(group)
        .bind(&assignment.role)
        .bind(scope.map(|s| s.ty.clone()))
        .bind(scope.map(|s| s.id.clone()))
        .bind(scope.map(ToString::to_string).unwrap_or_default())
        .bind(flag(assignment.owner_only))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    for (at, hidden) in facts.hidden.iter().enumerate() {
        let (user, group) = selector_ids(&hidden.selector);
        sqlx::query("INSERT INTO hidden (org_id, id, selector, selector_user, selector_group, node_type, node_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&facts.org)
            .bind(hidden.id.clone().unwrap_or_else(|| format!("h{at}")))
            .bind(hidden.selector.to_string())
            .bind(user)
            .bind(group)
            .bind(&hidden.node.ty)
            .bind(&hidden.node.id)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    for (at, cap) in facts.caps.iter().enumerate() {
        let (user, group) = selector_ids(&cap.selector);
        let scope = cap.scope.as_ref();
        sqlx::query("INSERT INTO caps (org_id, id, selector, selector_user, selector_group, scope_type, scope_id, allow) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&facts.org)
            .bind(cap.id.clone().unwrap_or_else(|| format!("c{at}")))
            .bind(cap.selector.to_string())
            .bind(user)
            .bind(group)
            .bind(scope.map(|s| s.ty.clone()))
            .bind(scope.map(|s| s.id.clone()))
            .bind(serde_json::to_string(&cap.allow).unwrap())
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

fn selector_ids(selector: &tessera_core::Selector) -> (Option<String>, Option<String>) {
    match selector {
        tessera_core::Selector::User(user) => (Some(user.clone()), None),
        tessera_core::Selector::Group(group) | tessera_core::Selector::NotGroup(group) => {
            (None, Some(group.clone()))
        }
        _ => (None, None),
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
