//! Creating an org: the org row, its reserved `admin` group, its `members`
//! default group and its built-in roles, in the caller's transaction.

use sqlx::{Any, Transaction};
use tessera_core::Manifest;

use crate::reconcile::{ReconcileReport, reconcile_roles};
use crate::store::StoreError;

/// Inserts an org with everything every org has. This is the seeding
/// primitive with no gate, audit row or checks: the API is
/// `Admin::create_org`, which validates the id and runs this inside the
/// transaction that also writes the audit row.
///
/// An org id can be reused after a delete; the new org's revision starts
/// above every revision the old one reached, so nothing cached for the old
/// org (keyed by org and revision) is ever served for the new one.
pub async fn create_org(
    tx: &mut Transaction<'static, Any>,
    manifest: &Manifest,
    id: &str,
    name: &str,
    now: i64,
) -> Result<(), StoreError> {
    let (previous,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(MAX(revision), 0) AS BIGINT) FROM audit WHERE org_id = $1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO orgs (id, name, revision, kiosk, created_at) VALUES ($1, $2, $3, 0, $4)",
    )
    .bind(id)
    .bind(name)
    .bind(previous + 1)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO groups (org_id, id, name, name_key, is_default) VALUES ($1, 'admin', 'admin', 'admin', 0), ($1, 'members', 'members', 'members', 1)",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    reconcile_roles(tx, manifest, id, &mut ReconcileReport::default()).await?;
    Ok(())
}
