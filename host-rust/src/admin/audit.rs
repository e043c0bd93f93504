//! Reading the audit trail (`GET /v1/orgs/{org}/audit?after=`).

use serde::Serialize;
use serde_json::Value;

use super::AdminError;
use super::write::{Actor, Admin, AdminKey};

/// One audit row, oldest first; `id` is the cursor for `after`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Monotonic id.
    pub id: i64,
    /// The acting user; `null` for the trusted backend or reconcile.
    pub actor: Option<String>,
    /// What was done (`member.put`, `role.create`, ...).
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// The state before (JSON), if any.
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The state after (JSON), if any.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    /// The org revision the write produced.
    pub revision: Option<i64>,
    /// Unix seconds.
    pub at: i64,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    actor: Option<String>,
    action: String,
    target: String,
    before: Option<String>,
    after: Option<String>,
    revision: Option<i64>,
    at: i64,
}

/// At most this many rows a page.
pub const AUDIT_PAGE: i64 = 500;

impl Admin {
    /// The org's audit rows after `after` (exclusive), oldest first, at most
    /// [`AUDIT_PAGE`]; only this org's, never those of a deleted org that
    /// had the same id. Reading the trail needs `manage_members`, like the
    /// writes it mostly records.
    pub async fn audit(
        &self,
        actor: &Actor,
        org: &str,
        after: i64,
    ) -> Result<Vec<AuditEntry>, AdminError> {
        let mut tx = self.open_read(actor, org, AdminKey::ManageMembers).await?;
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, actor, action, target, before, after, revision, at FROM audit
              WHERE org_id = $1 AND id > $2
                AND id >= (SELECT COALESCE(MAX(id), 0) FROM audit WHERE org_id = $1 AND action = 'org.create')
              ORDER BY id LIMIT $3",
        )
        .bind(org)
        .bind(after)
        .bind(AUDIT_PAGE)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let parse = |text: Option<String>| text.and_then(|text| serde_json::from_str(&text).ok());
        Ok(rows
            .into_iter()
            .map(|row| AuditEntry {
                id: row.id,
                actor: row.actor,
                action: row.action,
                target: row.target,
                before: parse(row.before),
                after: parse(row.after),
                revision: row.revision,
                at: row.at,
            })
            .collect())
    }
}
