//! Registered nodes (docs/model.md §1.4): registering, re-parenting (trusted
//! backend or superuser only) and deleting, never as a side effect.

use serde_json::json;
use tessera_core::{NodeFact, NodeKey, Reach};

use super::AdminError;
use super::export::{DocNode, registered_nodes};
use super::lookup::{may_be_cut, node_path};
use super::quotas::Counted;
use super::write::{Actor, Admin, AdminKey, Affects, Audit, unchanged};
use crate::changes::{Change, Delta, WriteKind};
use crate::missing::Missing;

impl Admin {
    /// `GET /v1/orgs/{org}/nodes`: every registered node with its parent,
    /// parents first (by depth, then key), the tree a console draws. With
    /// an actor, reading needs the `manage_members` admin key (assignments
    /// name nodes as their scopes) or the `manage_access` one (nodes,
    /// hidden entries and caps are its).
    pub async fn list_nodes(&self, actor: &Actor, org: &str) -> Result<Vec<DocNode>, AdminError> {
        let mut tx = match self.open_read(actor, org, AdminKey::ManageMembers).await {
            Err(AdminError::Forbidden(members)) => {
                match self.open_read(actor, org, AdminKey::ManageAccess).await {
                    Err(AdminError::Forbidden(access)) if members != access => {
                        return Err(AdminError::Forbidden(format!("{members}, and {access}")));
                    }
                    opened => opened?,
                }
            }
            opened => opened?,
        };
        let nodes = registered_nodes(&mut tx, org).await?;
        tx.commit().await?;
        Ok(nodes)
    }

    /// `PUT /v1/orgs/{org}/nodes/{type}/{id}` `{"parent": "site:7" | null}`.
    pub async fn put_node(
        &self,
        actor: &Actor,
        org: &str,
        node: &NodeKey,
        parent: Option<&NodeKey>,
        now: i64,
    ) -> Result<(), AdminError> {
        let types = &self.manifest.types;
        let Some(ty) = types.index(&node.ty) else {
            return Err(AdminError::bad(
                "type",
                format!("type `{}` is not declared", node.ty),
            ));
        };
        let (mut tx, _) = self.open_write(actor, org, AdminKey::ManageAccess).await?;
        // The chain above the node: its parent's, when it has one.
        let (parent_ty, above) = match parent {
            None => (None, Vec::new()),
            Some(parent) => {
                let Some(chain) = node_path(&mut tx, org, parent).await? else {
                    return Err(AdminError::bad(
                        "parent",
                        format!("parent `{parent}` is not registered"),
                    ));
                };
                (types.index(&parent.ty), chain)
            }
        };
        if !types.allows(parent_ty, ty) {
            let under = parent.map_or_else(|| "the org".to_owned(), ToString::to_string);
            return Err(AdminError::bad(
                "parent",
                format!("`{}` may not sit under {under}", node.ty),
            ));
        }
        let current: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT parent_type, parent_id FROM nodes WHERE org_id = $1 AND type = $2 AND id = $3",
        )
        .bind(org)
        .bind(&node.ty)
        .bind(&node.id)
        .fetch_optional(&mut *tx)
        .await?;
        let wanted = parent.map(|p| (p.ty.clone(), p.id.clone()));
        let (before, change) = match current {
            Some((parent_type, parent_id)) => {
                let before = parent_type.zip(parent_id);
                if before == wanted {
                    return unchanged(tx);
                }
                // Re-parenting changes which caps and hidden entries apply
                // below the node: only the backend or a superuser may.
                self.require_superuser(&mut tx, actor).await?;
                if let Some(parent) = parent
                    && node_path(&mut tx, org, parent)
                        .await?
                        .is_some_and(|path| path.contains(&node.to_string()))
                {
                    return Err(AdminError::bad(
                        "parent",
                        format!("`{node}` cannot sit under its own descendant"),
                    ));
                }
                sqlx::query("UPDATE nodes SET parent_type = $1, parent_id = $2 WHERE org_id = $3 AND type = $4 AND id = $5")
                    .bind(parent.map(|p| p.ty.clone()))
                    .bind(parent.map(|p| p.id.clone()))
                    .bind(org)
                    .bind(&node.ty)
                    .bind(&node.id)
                    .execute(&mut *tx)
                    .await?;
                // A move changes the chains of a whole subtree: rare
                // enough to reach everyone.
                let change = Change::everything(WriteKind::Node);
                (
                    Some(json!({ "parent": before.map(|(ty, id)| format!("{ty}:{id}")) })),
                    change,
                )
            }
            None => {
                self.require_room(&mut tx, org, Counted::Nodes).await?;
                sqlx::query("INSERT INTO nodes (org_id, type, id, parent_type, parent_id) VALUES ($1, $2, $3, $4, $5)")
                    .bind(org)
                    .bind(&node.ty)
                    .bind(&node.id)
                    .bind(parent.map(|p| p.ty.clone()))
                    .bind(parent.map(|p| p.id.clone()))
                    .execute(&mut *tx)
                    .await?;
                let mut chain = above;
                chain.push(node.to_string());
                let added = NodeFact {
                    node: node.clone(),
                    parent: parent.cloned(),
                };
                let change =
                    Change::new(WriteKind::Node, leaf_reach(&chain), Delta::NodeAdded(added));
                (None, change)
            }
        };
        let audit = Audit {
            action: "node.put",
            target: node.to_string(),
            before,
            after: Some(json!({ "parent": parent.map(ToString::to_string) })),
        };
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await
    }

    /// `DELETE /v1/orgs/{org}/nodes/{type}/{id}`: only a node with no
    /// children and no policy; restrictions are lifted explicitly.
    pub async fn delete_node(
        &self,
        actor: &Actor,
        org: &str,
        node: &NodeKey,
        now: i64,
    ) -> Result<(), AdminError> {
        let (mut tx, _) = self.open_write(actor, org, AdminKey::ManageAccess).await?;
        let Some(chain) = node_path(&mut tx, org, node).await? else {
            return Err(AdminError::NotFound(Missing::new(
                "node",
                &node.to_string(),
            )));
        };
        let (uses,): (i64,) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM nodes WHERE org_id = $1 AND parent_type = $2 AND parent_id = $3)
                  + (SELECT COUNT(*) FROM assignments WHERE org_id = $1 AND scope_type = $2 AND scope_id = $3)
                  + (SELECT COUNT(*) FROM hidden WHERE org_id = $1 AND node_type = $2 AND node_id = $3)
                  + (SELECT COUNT(*) FROM caps WHERE org_id = $1 AND scope_type = $2 AND scope_id = $3)",
        )
        .bind(org)
        .bind(&node.ty)
        .bind(&node.id)
        .fetch_one(&mut *tx)
        .await?;
        if uses > 0 {
            return Err(AdminError::NodeInUse(node.to_string()));
        }
        sqlx::query("DELETE FROM nodes WHERE org_id = $1 AND type = $2 AND id = $3")
            .bind(org)
            .bind(&node.ty)
            .bind(&node.id)
            .execute(&mut *tx)
            .await?;
        let audit = Audit {
            action: "node.delete",
            target: node.to_string(),
            before: Some(json!({ "registered": true })),
            after: None,
        };
        let change = Change::new(
            WriteKind::Node,
            leaf_reach(&chain),
            Delta::NodeRemoved(node.clone()),
        );
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await
    }
}

/// Whom registering or deleting the leaf at the end of `chain` (`type:id`
/// strings, from the top) reaches. A chain that may not be whole (empty,
/// cut at the lookup's depth limit, or with a key that does not parse)
/// reaches everyone.
fn leaf_reach(chain: &[String]) -> Reach {
    let keys: Vec<NodeKey> = chain.iter().filter_map(|key| key.parse().ok()).collect();
    let whole = !keys.is_empty() && keys.len() == chain.len() && !may_be_cut(chain);
    if whole {
        Reach::leaf(&keys)
    } else {
        Reach::Everyone
    }
}
