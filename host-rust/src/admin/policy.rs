//! Hidden entries and caps (docs/model.md §1.8, docs/model.md §1.9): adding them only takes away,
//! so it needs only the gate; removing them gives back, so it needs what
//! the entry withholds (a visible node; every withheld key at the scope).

use serde::Serialize;
use serde_json::json;
use tessera_core::{CapFact, HiddenFact, NodeKey, Selector};

use super::AdminError;
use super::lookup::node_path;
use super::quotas::Counted;
use super::write::{Actor, Admin, AdminKey, Affects, Audit};
use crate::changes::{Change, Delta};
use crate::facts::{CAPS, CapRow, HIDDEN};
use crate::missing::Missing;
use crate::store::Tx;

/// A hidden entry as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HiddenView {
    /// Entry id.
    pub id: String,
    /// Who it hides the node from.
    pub selector: String,
    /// The hidden node.
    pub node: String,
}

/// A cap as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CapView {
    /// Cap id.
    pub id: String,
    /// Who it limits.
    pub selector: String,
    /// Its scope (`null`: the org root).
    pub scope: Option<String>,
    /// The keys still allowed, in catalog order.
    pub allow: Vec<String>,
}

/// The selector's referenced ids, checked to exist in this org.
async fn selector_ids(
    tx: &mut Tx,
    org: &str,
    selector: &Selector,
) -> Result<(Option<String>, Option<String>), AdminError> {
    match selector {
        Selector::User(user) => {
            let found: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(&mut **tx)
                .await?;
            found.ok_or_else(|| AdminError::NotFound(Missing::new("user", user)))?;
            Ok((Some(user.clone()), None))
        }
        Selector::Group(group) | Selector::NotGroup(group) => {
            let found: Option<(i64,)> =
                sqlx::query_as("SELECT 1 FROM groups WHERE org_id = $1 AND id = $2")
                    .bind(org)
                    .bind(group)
                    .fetch_optional(&mut **tx)
                    .await?;
            found.ok_or_else(|| AdminError::NotFound(Missing::new("group", group)))?;
            Ok((None, Some(group.clone())))
        }
        _ => Ok((None, None)),
    }
}

async fn require_path(tx: &mut Tx, org: &str, node: &NodeKey) -> Result<Vec<String>, AdminError> {
    node_path(tx, org, node)
        .await?
        .ok_or_else(|| AdminError::NotFound(Missing::new("node", &node.to_string())))
}

impl Admin {
    /// `GET /v1/orgs/{org}/hidden`: every hidden entry of the org, by id.
    /// With an actor, reading needs the `manage_access` admin key, as writing does
    /// (an unknown actor is `FORBIDDEN`).
    pub async fn list_hidden(
        &self,
        actor: &Actor,
        org: &str,
    ) -> Result<Vec<HiddenView>, AdminError> {
        let mut tx = self.open_read(actor, org, AdminKey::ManageAccess).await?;
        let rows: Vec<(String, String, String, String)> =
            sqlx::query_as(HIDDEN).bind(org).fetch_all(&mut *tx).await?;
        tx.rollback().await?;
        Ok(rows
            .into_iter()
            .map(|(id, selector, ty, node_id)| HiddenView {
                id,
                selector,
                node: NodeKey { ty, id: node_id }.to_string(),
            })
            .collect())
    }

    /// `GET /v1/orgs/{org}/caps`: every cap of the org, by id, each
    /// allowing the keys the catalog still has, in catalog order.
    /// With an actor, reading needs the `manage_access` admin key, as writing does
    /// (an unknown actor is `FORBIDDEN`).
    pub async fn list_caps(&self, actor: &Actor, org: &str) -> Result<Vec<CapView>, AdminError> {
        let mut tx = self.open_read(actor, org, AdminKey::ManageAccess).await?;
        let rows: Vec<CapRow> = sqlx::query_as(CAPS).bind(org).fetch_all(&mut *tx).await?;
        tx.rollback().await?;
        rows.into_iter().map(|row| self.cap_view(row)).collect()
    }

    /// A stored cap as the API shows it.
    fn cap_view(&self, row: CapRow) -> Result<CapView, AdminError> {
        let stored: Vec<String> = serde_json::from_str(&row.allow)
            .map_err(|_| AdminError::Store(crate::store::StoreError::Corrupt(row.allow.clone())))?;
        let catalog = &self.manifest.catalog;
        Ok(CapView {
            id: row.id,
            selector: row.selector,
            scope: row
                .scope_type
                .zip(row.scope_id)
                .map(|(ty, id)| NodeKey { ty, id }.to_string()),
            allow: catalog.keys(&catalog.bits_of_known(stored.iter().map(String::as_str))),
        })
    }

    /// An undeclared node type is malformed input (`BAD_REQUEST`, docs/admin.md §5), not
    /// a missing node.
    fn require_type(&self, node: &NodeKey) -> Result<(), AdminError> {
        match self.manifest.types.index(&node.ty) {
            Some(_) => Ok(()),
            None => Err(AdminError::bad(
                "node",
                format!("type `{}` is not declared", node.ty),
            )),
        }
    }

    /// `POST /v1/orgs/{org}/hidden` `{"selector", "node"}`.
    pub async fn create_hidden(
        &self,
        actor: &Actor,
        org: &str,
        selector: &Selector,
        node: &NodeKey,
        now: i64,
    ) -> Result<HiddenView, AdminError> {
        self.require_type(node)?;
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageAccess).await?;
        require_path(&mut tx, org, node).await?;
        self.may_restrict(&mut tx, holder.as_ref(), actor, org, selector)
            .await?;
        let hideable = self
            .manifest
            .types
            .index(&node.ty)
            .is_some_and(|ty| self.manifest.types.hideable(ty));
        if !hideable {
            return Err(AdminError::NotHideable(node.ty.clone()));
        }
        let (user, group) = selector_ids(&mut tx, org, selector).await?;
        let existing: Option<(String,)> =
            sqlx::query_as("SELECT id FROM hidden WHERE org_id = $1 AND selector = $2 AND node_type = $3 AND node_id = $4")
                .bind(org)
                .bind(selector.to_string())
                .bind(&node.ty)
                .bind(&node.id)
                .fetch_optional(&mut *tx)
                .await?;
        let view = |id: String| HiddenView {
            id,
            selector: selector.to_string(),
            node: node.to_string(),
        };
        if let Some((id,)) = existing {
            return Ok(view(id));
        }
        let id = super::batch::entry_id("h")?;
        self.require_room(&mut tx, org, Counted::Hidden).await?;
        sqlx::query(
            "INSERT INTO hidden (org_id, id, selector, selector_user, selector_group, node_type, node_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(org)
        .bind(&id)
        .bind(selector.to_string())
        .bind(user)
        .bind(group)
        .bind(&node.ty)
        .bind(&node.id)
        .execute(&mut *tx)
        .await?;
        let view = view(id);
        let audit = Audit {
            action: "hidden.create",
            target: format!("hidden:{}", view.id),
            before: None,
            after: Some(json!(view)),
        };
        let added = HiddenFact {
            id: Some(view.id.clone()),
            selector: selector.clone(),
            node: node.clone(),
        };
        let change = Change::policy(&view.selector, Delta::HiddenAdded(added));
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await?;
        Ok(view)
    }

    /// `DELETE /v1/orgs/{org}/hidden/{id}`: the node must be visible to the
    /// actor (nobody un-hides what they cannot see).
    pub async fn delete_hidden(
        &self,
        actor: &Actor,
        org: &str,
        id: &str,
        now: i64,
    ) -> Result<(), AdminError> {
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageAccess).await?;
        let row: Option<(String, String, String)> = sqlx::query_as(
            "SELECT selector, node_type, node_id FROM hidden WHERE org_id = $1 AND id = $2",
        )
        .bind(org)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((selector, ty, node_id)) = row else {
            return Err(AdminError::NotFound(Missing::new("hidden", id)));
        };
        let node = NodeKey { ty, id: node_id };
        let path = require_path(&mut tx, org, &node).await?;
        Self::require_visible(holder.as_ref(), &path)?;
        sqlx::query("DELETE FROM hidden WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let audit = Audit {
            action: "hidden.delete",
            target: format!("hidden:{id}"),
            before: Some(json!({ "selector": selector, "node": node.to_string() })),
            after: None,
        };
        let change = Change::policy(&selector, Delta::HiddenRemoved(id.to_owned()));
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await
    }

    /// `POST /v1/orgs/{org}/caps` `{"selector", "scope", "allow"}`.
    pub async fn create_cap(
        &self,
        actor: &Actor,
        org: &str,
        selector: &Selector,
        scope: Option<&NodeKey>,
        allow: &[String],
        now: i64,
    ) -> Result<CapView, AdminError> {
        if let Some(scope) = scope {
            self.require_type(scope)?;
        }
        let catalog = &self.manifest.catalog;
        let bits = catalog
            .bits_of(allow.iter().map(String::as_str))
            .map_err(|key| AdminError::UnknownPermission(key.to_owned()))?;
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageAccess).await?;
        if let Some(scope) = scope {
            require_path(&mut tx, org, scope).await?;
        }
        let (user, group) = selector_ids(&mut tx, org, selector).await?;
        self.may_restrict(&mut tx, holder.as_ref(), actor, org, selector)
            .await?;
        // Only a root cap narrows the org-root sets the guarded roles are
        // held at.
        let guarded = match scope {
            None => self.guarded_before(&mut tx, holder.as_ref(), org).await?,
            Some(_) => None,
        };
        let view = CapView {
            id: super::batch::entry_id("c")?,
            selector: selector.to_string(),
            scope: scope.map(ToString::to_string),
            allow: catalog.keys(&bits),
        };
        self.require_room(&mut tx, org, Counted::Caps).await?;
        sqlx::query(
            "INSERT INTO caps (org_id, id, selector, selector_user, selector_group, scope_type, scope_id, allow) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(org)
        .bind(&view.id)
        .bind(&view.selector)
        .bind(user)
        .bind(group)
        .bind(scope.map(|s| s.ty.clone()))
        .bind(scope.map(|s| s.id.clone()))
        .bind(json!(view.allow).to_string())
        .execute(&mut *tx)
        .await?;
        self.guarded_after(&mut tx, org, guarded).await?;
        let audit = Audit {
            action: "cap.create",
            target: format!("cap:{}", view.id),
            before: None,
            after: Some(json!(view)),
        };
        let added = CapFact {
            id: Some(view.id.clone()),
            selector: selector.clone(),
            scope: scope.cloned(),
            allow: view.allow.clone(),
        };
        let change = Change::policy(&view.selector, Delta::CapAdded(added));
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await?;
        Ok(view)
    }

    /// `DELETE /v1/orgs/{org}/caps/{id}`: needs every key the cap withholds,
    /// at its scope.
    pub async fn delete_cap(
        &self,
        actor: &Actor,
        org: &str,
        id: &str,
        now: i64,
    ) -> Result<(), AdminError> {
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageAccess).await?;
        let row: Option<(String, Option<String>, Option<String>, String)> = sqlx::query_as(
            "SELECT selector, scope_type, scope_id, allow FROM caps WHERE org_id = $1 AND id = $2",
        )
        .bind(org)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((selector, scope_type, scope_id, allow)) = row else {
            return Err(AdminError::NotFound(Missing::new("cap", id)));
        };
        let allowed: Vec<String> = serde_json::from_str(&allow)
            .map_err(|_| AdminError::Store(crate::store::StoreError::Corrupt(allow.clone())))?;
        let scope = scope_type.zip(scope_id).map(|(ty, id)| NodeKey { ty, id });
        let path = match &scope {
            Some(scope) => require_path(&mut tx, org, scope).await?,
            None => Vec::new(),
        };
        self.require_cap_lift(holder.as_ref(), &allowed, &path)?;
        sqlx::query("DELETE FROM caps WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let audit = Audit {
            action: "cap.delete",
            target: format!("cap:{id}"),
            before: Some(
                json!({ "selector": selector, "scope": scope.map(|s| s.to_string()), "allow": allowed }),
            ),
            after: None,
        };
        let change = Change::policy(&selector, Delta::CapRemoved(id.to_owned()));
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await
    }
}
