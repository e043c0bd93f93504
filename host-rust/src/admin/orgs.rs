//! Creating orgs (a global write: superuser actors only).

use serde_json::json;
use tessera_core::{Reach, is_valid_node_id};

use super::AdminError;
use super::write::{Actor, Admin, Affects, Audit};
use crate::changes::{Change, Delta, WriteKind};
use crate::missing::Missing;
use crate::store::Tx;

impl Admin {
    /// `POST /v1/orgs`: the org with its `admin` and `members` groups and
    /// its built-in roles.
    pub async fn create_org(
        &self,
        actor: &Actor,
        id: &str,
        name: &str,
        now: i64,
    ) -> Result<(), AdminError> {
        if !is_valid_node_id(id) {
            return Err(AdminError::bad(
                "id",
                format!("`{id}` is not a valid org id"),
            ));
        }
        if name.trim().is_empty() {
            return Err(AdminError::bad("name", "an org needs a name".to_owned()));
        }
        let mut tx = self.open_global(actor).await?;
        let exists: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM orgs WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(AdminError::NameTaken(id.to_owned()));
        }
        crate::orgs::create_org(&mut tx, &self.manifest, id, name.trim(), now).await?;
        let audit = Audit {
            action: "org.create",
            target: format!("org:{id}"),
            before: None,
            after: Some(json!({ "id": id, "name": name.trim() })),
        };
        let change = Change::new(WriteKind::Org, Reach::Everyone, Delta::None);
        self.finish(tx, actor, Affects::Org(id, Box::new(change)), audit, now)
            .await
    }
}

impl Admin {
    /// Renames an org (a global write: superuser actors only).
    pub async fn rename_org(
        &self,
        actor: &Actor,
        id: &str,
        name: &str,
        now: i64,
    ) -> Result<(), AdminError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AdminError::bad("name", "an org needs a name".to_owned()));
        }
        let mut tx = self.open_global(actor).await?;
        let before: Option<(String,)> = sqlx::query_as("SELECT name FROM orgs WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((before,)) = before else {
            return Err(AdminError::NotFound(Missing::new("org", id)));
        };
        if before == name {
            return Ok(());
        }
        sqlx::query("UPDATE orgs SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let audit = Audit {
            action: "org.rename",
            target: format!("org:{id}"),
            before: Some(json!({ "name": before })),
            after: Some(json!({ "name": name })),
        };
        let change = Change::new(WriteKind::Org, Reach::Everyone, Delta::None);
        self.finish(tx, actor, Affects::Org(id, Box::new(change)), audit, now)
            .await
    }

    /// Deletes an org and everything in it (a global write: superuser
    /// actors only). The audit trail outlives it.
    pub async fn delete_org(&self, actor: &Actor, id: &str, now: i64) -> Result<(), AdminError> {
        let mut tx = self.open_global(actor).await?;
        let deleted: Option<(i64,)> =
            sqlx::query_as("DELETE FROM orgs WHERE id = $1 RETURNING revision")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((last,)) = deleted else {
            return Err(AdminError::NotFound(Missing::new("org", id)));
        };
        unbind_tokens(&mut tx, id).await?;
        let audit = Audit {
            action: "org.delete",
            target: format!("org:{id}"),
            before: Some(json!({ "id": id })),
            after: None,
        };
        let affects = Affects::Deleted {
            org: id,
            revision: last + 1,
        };
        self.finish(tx, actor, affects, audit, now).await
    }
}

/// A deleted org's token bindings go with it, so a token bound to `id`
/// never reaches an org created later with the same id. A token left bound
/// to no org would act in every org: it is revoked instead.
async fn unbind_tokens(tx: &mut Tx, org: &str) -> Result<(), AdminError> {
    let bound: Vec<(String,)> =
        sqlx::query_as("SELECT token_id FROM api_token_orgs WHERE org_id = $1")
            .bind(org)
            .fetch_all(&mut **tx)
            .await?;
    sqlx::query("DELETE FROM api_token_orgs WHERE org_id = $1")
        .bind(org)
        .execute(&mut **tx)
        .await?;
    for (token,) in bound {
        sqlx::query(
            "DELETE FROM api_tokens WHERE id = $1
               AND NOT EXISTS (SELECT 1 FROM api_token_orgs WHERE token_id = $1)",
        )
        .bind(&token)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
