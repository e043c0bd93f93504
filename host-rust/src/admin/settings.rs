//! Org settings (`GET|PUT /v1/orgs/{org}/settings`): kiosk mode.

use serde_json::json;

use tessera_core::Reach;

use super::AdminError;
use super::write::{Actor, Admin, AdminKey, Affects, Audit, unchanged};
use crate::changes::{Change, Delta, WriteKind};

impl Admin {
    /// Whether the org is in kiosk mode. Reading needs the `manage_access`
    /// admin key, as writing does.
    pub async fn kiosk(&self, actor: &Actor, org: &str) -> Result<bool, AdminError> {
        let mut tx = self.open_read(actor, org, AdminKey::ManageAccess).await?;
        let (kiosk,): (i64,) = sqlx::query_as("SELECT kiosk FROM orgs WHERE id = $1")
            .bind(org)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(kiosk == 1)
    }

    /// Turns kiosk mode (docs/model.md §1.9) on or off.
    pub async fn put_settings(
        &self,
        actor: &Actor,
        org: &str,
        kiosk: bool,
        now: i64,
    ) -> Result<(), AdminError> {
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageAccess).await?;
        let (before,): (i64,) = sqlx::query_as("SELECT kiosk FROM orgs WHERE id = $1")
            .bind(org)
            .fetch_one(&mut *tx)
            .await?;
        if (before == 1) == kiosk {
            return unchanged(tx);
        }
        if !kiosk {
            self.require_kiosk_lift(holder.as_ref())?;
        }
        sqlx::query("UPDATE orgs SET kiosk = $1 WHERE id = $2")
            .bind(i64::from(kiosk))
            .bind(org)
            .execute(&mut *tx)
            .await?;
        let audit = Audit {
            action: "settings.put",
            target: format!("org:{org}"),
            before: Some(json!({ "kiosk": before == 1 })),
            after: Some(json!({ "kiosk": kiosk })),
        };
        let change = Change::new(WriteKind::Org, Reach::Everyone, Delta::None);
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await
    }
}
