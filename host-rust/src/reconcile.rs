//! Reconcile (docs/manifest.md §4): make the store agree with the manifest, in one
//! transaction under a lock, so that replicas starting together converge
//! with no duplicate rows and no moment where an immutable role is empty.
//!
//! - the catalog is upserted in canonical order; keys gone from the
//!   manifest are marked deprecated (never deleted: operator roles may
//!   still name them, and they grant nothing);
//! - immutable built-ins are set to exactly the manifest's set in every
//!   org (tampering repaired); editable built-ins are created once, with
//!   the manifest's set, and never touched again;
//! - the revision of every org whose roles changed is bumped, and of every
//!   org when the catalog hash changed;
//! - running it twice changes nothing the second time.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{Any, Transaction};
use tessera_core::{Manifest, RoleMode};

use crate::ids::hex;
use crate::store::{Backend, Store, StoreError};

/// The advisory lock key reconciles take on Postgres ("tessera" in ASCII).
const RECONCILE_LOCK: i64 = 0x0074_6573_7365_7261;

/// What a reconcile changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Rows written (0 when the store already agreed).
    pub writes: u64,
    /// Whether the catalog hash changed.
    pub catalog_changed: bool,
    /// Orgs whose revision was bumped.
    pub bumped: Vec<String>,
}

/// Reconciles the manifest into the store. `now` is unix seconds.
pub async fn reconcile(
    store: &Store,
    manifest: &Manifest,
    now: i64,
) -> Result<ReconcileReport, StoreError> {
    let mut tx = match store.backend() {
        // SQLite: take the write lock up front, so two reconciles serialize.
        Backend::Sqlite => store.pool().begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => {
            let mut tx = store.pool().begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(RECONCILE_LOCK)
                .execute(&mut *tx)
                .await?;
            tx
        }
    };
    let mut report = ReconcileReport::default();
    report.catalog_changed = upsert_catalog(&mut tx, manifest, &mut report).await?;
    let orgs: Vec<(String,)> = sqlx::query_as("SELECT id FROM orgs ORDER BY id")
        .fetch_all(&mut *tx)
        .await?;
    for (org,) in orgs {
        let changed = reconcile_roles(&mut tx, manifest, &org, &mut report).await?;
        if changed || report.catalog_changed {
            bump(&mut tx, store.backend(), &org, now, &mut report).await?;
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// Returns whether the catalog hash changed.
async fn upsert_catalog(
    tx: &mut Transaction<'static, Any>,
    manifest: &Manifest,
    report: &mut ReconcileReport,
) -> Result<bool, StoreError> {
    let stored: Vec<(String, i64, String, Option<String>, i64)> =
        sqlx::query_as("SELECT key, position, requires, description, deprecated FROM catalog")
            .fetch_all(&mut **tx)
            .await?;
    let stored: BTreeMap<String, (i64, String, Option<String>, bool)> = stored
        .into_iter()
        .map(|(key, position, requires, description, deprecated)| {
            (key, (position, requires, description, deprecated != 0))
        })
        .collect();
    let catalog = &manifest.catalog;
    for (position, entry) in catalog.entries().iter().enumerate() {
        let requires: Vec<&str> = entry
            .requires
            .iter()
            .map(|r| catalog.key(*r as usize))
            .collect();
        let requires = serde_json::to_string(&requires).unwrap_or_else(|_| "[]".to_owned());
        let description = manifest.descriptions.get(position).cloned().flatten();
        let wanted = (
            position as i64,
            requires.clone(),
            description.clone(),
            false,
        );
        match stored.get(&entry.key) {
            Some(current) if *current == wanted => {}
            Some(_) => {
                sqlx::query(
                    "UPDATE catalog SET position = $1, requires = $2, description = $3, deprecated = 0 WHERE key = $4",
                )
                .bind(position as i64)
                .bind(requires)
                .bind(description)
                .bind(&entry.key)
                .execute(&mut **tx)
                .await?;
                report.writes += 1;
            }
            None => {
                sqlx::query("INSERT INTO catalog (key, position, requires, description, deprecated) VALUES ($1, $2, $3, $4, 0)")
                    .bind(&entry.key)
                    .bind(position as i64)
                    .bind(requires)
                    .bind(description)
                    .execute(&mut **tx)
                    .await?;
                report.writes += 1;
            }
        }
    }
    for (key, (_, _, _, deprecated)) in &stored {
        if !deprecated && catalog.permission(key).is_none() {
            sqlx::query("UPDATE catalog SET deprecated = 1 WHERE key = $1")
                .bind(key)
                .execute(&mut **tx)
                .await?;
            report.writes += 1;
        }
    }
    let hash = hex(&manifest.catalog_hash());
    let current: Option<(String,)> =
        sqlx::query_as("SELECT value FROM meta WHERE key = 'catalog_hash'")
            .fetch_optional(&mut **tx)
            .await?;
    let changed = current.as_ref().is_none_or(|(value,)| *value != hash);
    if changed {
        let sql = if current.is_some() {
            "UPDATE meta SET value = $1 WHERE key = 'catalog_hash'"
        } else {
            "INSERT INTO meta (key, value) VALUES ('catalog_hash', $1)"
        };
        sqlx::query(sql).bind(&hash).execute(&mut **tx).await?;
        report.writes += 1;
    }
    Ok(changed)
}

/// A new built-in is named by its key. A custom role the operator already
/// named so (case-insensitively) is renamed `<name> (custom <id>)` rather
/// than failing the reconcile on the org's own data; the org's reconcile
/// audit row and revision bump record the change.
async fn free_builtin_name(
    tx: &mut Transaction<'static, Any>,
    org: &str,
    key: &str,
    report: &mut ReconcileReport,
) -> Result<(), StoreError> {
    let taken: Option<(String, String)> = sqlx::query_as(
        "SELECT id, name FROM roles WHERE org_id = $1 AND name_key = $2 AND builtin IS NULL",
    )
    .bind(org)
    .bind(key.trim().to_lowercase())
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((id, name)) = taken {
        let renamed = format!("{name} (custom {id})");
        sqlx::query("UPDATE roles SET name = $1, name_key = $2 WHERE org_id = $3 AND id = $4")
            .bind(&renamed)
            .bind(renamed.to_lowercase())
            .bind(org)
            .bind(&id)
            .execute(&mut **tx)
            .await?;
        report.writes += 1;
    }
    Ok(())
}

/// Creates missing built-ins and repairs immutable ones in one org; returns
/// whether anything changed.
pub(crate) async fn reconcile_roles(
    tx: &mut Transaction<'static, Any>,
    manifest: &Manifest,
    org: &str,
    report: &mut ReconcileReport,
) -> Result<bool, StoreError> {
    let before = report.writes;
    let existing: Vec<(String, String)> =
        sqlx::query_as("SELECT builtin, mode FROM roles WHERE org_id = $1 AND builtin IS NOT NULL")
            .bind(org)
            .fetch_all(&mut **tx)
            .await?;
    let existing: std::collections::BTreeMap<String, String> = existing.into_iter().collect();
    for role in &manifest.roles {
        let wanted: BTreeSet<String> = manifest
            .catalog
            .keys(&role.permissions)
            .into_iter()
            .collect();
        let mode = match role.mode {
            RoleMode::Immutable => "immutable",
            RoleMode::Editable => "editable",
        };
        // A manifest may change a built-in's mode: the store follows, so the
        // admin service refuses edits the resolver would ignore.
        if existing.get(&role.key).is_some_and(|stored| stored != mode) {
            sqlx::query("UPDATE roles SET mode = $1 WHERE org_id = $2 AND builtin = $3")
                .bind(mode)
                .bind(org)
                .bind(&role.key)
                .execute(&mut **tx)
                .await?;
            report.writes += 1;
        }
        if !existing.contains_key(&role.key) {
            free_builtin_name(tx, org, &role.key, report).await?;
            sqlx::query("INSERT INTO roles (org_id, id, name, name_key, builtin, mode) VALUES ($1, $2, $2, $3, $2, $4)")
                .bind(org)
                .bind(&role.key)
                .bind(role.key.trim().to_lowercase())
                .bind(mode)
                .execute(&mut **tx)
                .await?;
            report.writes += 1;
            set_permissions(tx, org, &role.key, &BTreeSet::new(), &wanted, report).await?;
        } else if role.mode == RoleMode::Immutable {
            let held: Vec<(String,)> = sqlx::query_as(
                "SELECT permission FROM role_permissions WHERE org_id = $1 AND role_id = $2",
            )
            .bind(org)
            .bind(&role.key)
            .fetch_all(&mut **tx)
            .await?;
            let held: BTreeSet<String> = held.into_iter().map(|(key,)| key).collect();
            set_permissions(tx, org, &role.key, &held, &wanted, report).await?;
        }
    }
    Ok(report.writes > before)
}

/// Makes a role's permission rows go from `held` to `wanted`.
async fn set_permissions(
    tx: &mut Transaction<'static, Any>,
    org: &str,
    role: &str,
    held: &BTreeSet<String>,
    wanted: &BTreeSet<String>,
    report: &mut ReconcileReport,
) -> Result<(), StoreError> {
    for key in held.difference(wanted) {
        sqlx::query(
            "DELETE FROM role_permissions WHERE org_id = $1 AND role_id = $2 AND permission = $3",
        )
        .bind(org)
        .bind(role)
        .bind(key)
        .execute(&mut **tx)
        .await?;
        report.writes += 1;
    }
    for key in wanted.difference(held) {
        sqlx::query(
            "INSERT INTO role_permissions (org_id, role_id, permission) VALUES ($1, $2, $3)",
        )
        .bind(org)
        .bind(role)
        .bind(key)
        .execute(&mut **tx)
        .await?;
        report.writes += 1;
    }
    Ok(())
}

/// Bumps an org's revision and records why.
async fn bump(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    org: &str,
    now: i64,
    report: &mut ReconcileReport,
) -> Result<(), StoreError> {
    let (revision,): (i64,) =
        sqlx::query_as("UPDATE orgs SET revision = revision + 1 WHERE id = $1 RETURNING revision")
            .bind(org)
            .fetch_one(&mut **tx)
            .await?;
    sqlx::query("INSERT INTO audit (org_id, actor, action, target, revision, at) VALUES ($1, NULL, 'reconcile', $1, $2, $3)")
        .bind(org)
        .bind(revision)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    crate::store::announce_revision(tx, backend, Some((org, revision)), None).await?;
    report.writes += 2;
    report.bumped.push(org.to_owned());
    Ok(())
}
