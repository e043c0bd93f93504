//! Who and where an org's answers can be about (docs/http.md §6.11): the
//! users `who-can` asks about and the registered nodes an access map
//! draws. Reading them is reading the org's members, so it takes the
//! `manage_members` admin key, as listing assignments does.

use std::collections::BTreeMap;

use tessera_core::NodeKey;

use super::err::AdminError;
use super::write::{Actor, Admin, AdminKey};
use crate::store::{StoreError, Tx};

/// A user an answer may be about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The user id.
    pub id: String,
    /// The display name.
    pub name: String,
}

/// [`Admin::audience`] in a transaction (a preview reads the users a
/// write it holds makes members).
pub(crate) async fn audience_rows(
    tx: &mut Tx,
    org: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Candidate>, AdminError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT u.id, u.name FROM users u
         WHERE u.active = 1 AND u.id > $2
           AND (u.superuser = 1
                OR EXISTS (SELECT 1 FROM members m WHERE m.org_id = $1 AND m.user_id = u.id)
                OR EXISTS (SELECT 1 FROM assignments a WHERE a.org_id = $1
                           AND a.subject IN ('@everyone', '@authenticated')))
         ORDER BY u.id LIMIT $3",
    )
    .bind(org)
    .bind(after.unwrap_or(""))
    .bind(i64::from(limit))
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| Candidate { id, name })
        .collect())
}

/// [`Admin::node_tree`] in a transaction.
pub(crate) async fn node_rows(
    tx: &mut Tx,
    org: &str,
) -> Result<Vec<(NodeKey, Option<NodeKey>)>, AdminError> {
    let rows: Vec<(String, String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT type, id, parent_type, parent_id FROM nodes WHERE org_id = $1")
            .bind(org)
            .fetch_all(&mut **tx)
            .await?;
    let key = |kind: &str, id: &str| {
        format!("{kind}:{id}")
            .parse::<NodeKey>()
            .map_err(|_| AdminError::Store(StoreError::Corrupt(format!("node {kind}:{id}"))))
    };
    rows.into_iter()
        .map(|(kind, id, parent_kind, parent_id)| {
            let parent = match (parent_kind, parent_id) {
                (Some(kind), Some(id)) => Some(key(&kind, &id)?),
                _ => None,
            };
            Ok((key(&kind, &id)?, parent))
        })
        .collect()
}

impl Admin {
    /// The active users who may be allowed something in `org`, by id,
    /// after `after`, at most `limit`: its members and the superusers, and
    /// every active user when an `@everyone` or `@authenticated`
    /// assignment reaches non-members.
    pub async fn audience(
        &self,
        actor: &Actor,
        org: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Candidate>, AdminError> {
        let mut tx = self.open_read(actor, org, AdminKey::ManageMembers).await?;
        let rows = audience_rows(&mut tx, org, after, limit).await?;
        tx.rollback().await?;
        Ok(rows)
    }

    /// The org's registered nodes with their parents, in no order.
    pub async fn node_tree(
        &self,
        actor: &Actor,
        org: &str,
    ) -> Result<Vec<(NodeKey, Option<NodeKey>)>, AdminError> {
        let mut tx = self.open_read(actor, org, AdminKey::ManageMembers).await?;
        let rows = node_rows(&mut tx, org).await?;
        tx.rollback().await?;
        Ok(rows)
    }
}

/// Each node's path from the top (`type:id` segments), by node key; the
/// order of a path's length then its key puts parents first.
pub(crate) fn node_paths(tree: &[(NodeKey, Option<NodeKey>)]) -> BTreeMap<String, Vec<String>> {
    let parents: BTreeMap<String, Option<String>> = tree
        .iter()
        .map(|(node, parent)| (node.to_string(), parent.as_ref().map(ToString::to_string)))
        .collect();
    parents
        .keys()
        .map(|node| {
            let mut path = vec![node.clone()];
            let mut at = node;
            // The store refuses cycles; the bound only guards the loop.
            while let Some(Some(parent)) = parents.get(at) {
                if path.len() > parents.len() {
                    break;
                }
                path.insert(0, parent.clone());
                at = parent;
            }
            (node.clone(), path)
        })
        .collect()
}

/// [`node_paths`] as a list, parents first (by depth, then key).
pub(crate) fn parents_first(tree: &[(NodeKey, Option<NodeKey>)]) -> Vec<(String, Vec<String>)> {
    let mut nodes: Vec<(String, Vec<String>)> = node_paths(tree).into_iter().collect();
    nodes.sort_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| a.0.cmp(&b.0)));
    nodes
}
