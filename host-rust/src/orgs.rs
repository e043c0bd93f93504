//! Creating an org: the org row, its reserved `admin` group, its `members`
//! default group and its built-in roles, in the caller's transaction.

use sqlx::{Any, Transaction};
use tessera_core::Manifest;

use crate::reconcile::{ReconcileReport, reconcile_roles};
use crate::store::StoreError;

/// Inserts an org with everything every org has. The caller validates the
/// id and runs this inside the transaction that also writes the audit row.
pub async fn create_org(
    tx: &mut Transaction<'static, Any>,
    manifest: &Manifest,
    id: &str,
    name: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO orgs (id, name, revision, kiosk, created_at) VALUES ($1, $2, 1, 0, $3)",
    )
    .bind(id)
    .bind(name)
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
