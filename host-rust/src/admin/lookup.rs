//! What the admin rules read of an org's structure inside a write's
//! transaction: default groups, a group's closure, a user's effective
//! groups, a node's path, and who a group change reaches.

use std::collections::{BTreeMap, BTreeSet};

use tessera_core::{NodeKey, Standing};

use super::AdminError;
use crate::store::StoreError;
use crate::store::Tx;

/// The org's default groups.
pub(crate) async fn default_groups(tx: &mut Tx, org: &str) -> Result<Vec<String>, AdminError> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM groups WHERE org_id = $1 AND is_default = 1 ORDER BY id")
            .bind(org)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// An org's groups as the effective-group rule reads them: which are
/// default, and which groups contain each group.
struct Graph {
    defaults: Vec<String>,
    parents: BTreeMap<String, Vec<String>>,
}

impl Graph {
    async fn load(tx: &mut Tx, org: &str) -> Result<Self, AdminError> {
        let defaults = default_groups(tx, org).await?;
        let edges: Vec<(String, String)> = sqlx::query_as(
            "SELECT member_group, group_id FROM group_members
              WHERE org_id = $1 AND member_group IS NOT NULL",
        )
        .bind(org)
        .fetch_all(&mut **tx)
        .await?;
        let mut parents: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (child, parent) in edges {
            parents.entry(child).or_default().push(parent);
        }
        Ok(Graph { defaults, parents })
    }

    /// The effective groups of a member whose explicit groups are `direct`,
    /// by core's rule ([`tessera_core::member_groups`]; `admin` left out:
    /// membership writes never change it).
    fn effective(&self, direct: &[String]) -> BTreeSet<String> {
        let standing = Standing {
            member: true,
            superuser: false,
        };
        tessera_core::member_groups(
            standing,
            direct.iter().map(String::as_str),
            self.defaults.iter().map(String::as_str),
            |group| {
                self.parents
                    .get(group)
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
            },
        )
        .into_iter()
        .map(str::to_owned)
        .collect()
    }
}

/// The group and every group containing it, transitively: what a
/// principal joining it joins.
pub(crate) async fn group_closure(
    tx: &mut Tx,
    org: &str,
    id: &str,
) -> Result<BTreeSet<String>, AdminError> {
    Ok(Graph::load(tx, org).await?.effective(&[id.to_owned()]))
}

/// What a member with no explicit group is in: every default group and
/// every group containing one, transitively.
pub(crate) async fn default_closure(
    tx: &mut Tx,
    org: &str,
) -> Result<BTreeSet<String>, AdminError> {
    Ok(Graph::load(tx, org).await?.effective(&[]))
}

/// A member user's effective groups (docs/model.md §1.3).
pub(crate) async fn user_groups(
    tx: &mut Tx,
    org: &str,
    user: &str,
) -> Result<BTreeSet<String>, AdminError> {
    let direct: Vec<(String,)> =
        sqlx::query_as("SELECT group_id FROM group_members WHERE org_id = $1 AND member_user = $2")
            .bind(org)
            .bind(user)
            .fetch_all(&mut **tx)
            .await?;
    let direct: Vec<String> = direct.into_iter().map(|(id,)| id).collect();
    Ok(Graph::load(tx, org).await?.effective(&direct))
}

/// How far up a node path query climbs: far beyond any real tree, only
/// there so a corrupt parent chain cannot make the query run forever.
const MAX_NODE_DEPTH: i64 = 10_000;

/// Whether a chain [`node_path`] answered may lack its top: it reached
/// the depth limit.
pub(crate) fn may_be_cut(chain: &[String]) -> bool {
    i64::try_from(chain.len()).map_or(true, |len| len > MAX_NODE_DEPTH)
}

/// A node's chain from the top (`type:id` strings, ending with the node),
/// or `None` when the node is not registered in the org: the one node-path
/// query of the admin service. It walks up one parent at a time, each a
/// lookup by primary key: a recursive query would let Postgres keep a plan
/// made while the table was small, which scans the whole table at each
/// level once an apply has grown it inside its one transaction.
pub(crate) async fn node_path(
    tx: &mut Tx,
    org: &str,
    node: &NodeKey,
) -> Result<Option<Vec<String>>, AdminError> {
    let Some(mut parent) = parent_of(tx, org, &node.ty, &node.id).await? else {
        return Ok(None);
    };
    // A corrupt, cyclic chain goes round to the depth limit from what it
    // read once.
    let mut read: BTreeMap<(String, String), Option<(String, String)>> = BTreeMap::new();
    read.insert((node.ty.clone(), node.id.clone()), parent.clone());
    let mut chain = vec![node.to_string()];
    let mut depth = 0;
    while let Some(at) = parent
        && depth < MAX_NODE_DEPTH
    {
        chain.push(format!("{}:{}", at.0, at.1));
        depth += 1;
        parent = match read.get(&at) {
            Some(known) => known.clone(),
            None => {
                let above = parent_of(tx, org, &at.0, &at.1).await?.flatten();
                read.insert(at, above.clone());
                above
            }
        };
    }
    chain.reverse();
    Ok(Some(chain))
}

/// A node's parent (`Some(None)` at the top), or `None` when the node is
/// not registered.
async fn parent_of(
    tx: &mut Tx,
    org: &str,
    ty: &str,
    id: &str,
) -> Result<Option<Option<(String, String)>>, AdminError> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT parent_type, parent_id FROM nodes WHERE org_id = $1 AND type = $2 AND id = $3",
    )
    .bind(org)
    .bind(ty)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(ty, id)| ty.zip(id)))
}

/// The path of a scope that policy names: empty for the org root; a node
/// policy names must be registered, so a missing one is a corrupt store.
pub(crate) async fn scope_path(
    tx: &mut Tx,
    org: &str,
    node: Option<&(String, String)>,
) -> Result<Vec<String>, AdminError> {
    let Some((ty, id)) = node else {
        return Ok(Vec::new());
    };
    let key = NodeKey {
        ty: ty.clone(),
        id: id.clone(),
    };
    node_path(tx, org, &key).await?.ok_or_else(|| {
        AdminError::Store(StoreError::Corrupt(format!(
            "policy names unregistered node `{key}`"
        )))
    })
}

/// The users whose effective groups include `group`: the users a change
/// to `group`'s nesting reaches. Every member's groups are computed by the
/// same rule as [`user_groups`], so the two cannot disagree.
pub(crate) async fn group_users(
    tx: &mut Tx,
    org: &str,
    group: &str,
) -> Result<BTreeSet<String>, AdminError> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT m.user_id, gm.group_id FROM members m
           LEFT JOIN group_members gm ON gm.org_id = m.org_id AND gm.member_user = m.user_id
          WHERE m.org_id = $1
         UNION
         SELECT gm.member_user, gm.group_id FROM group_members gm
          WHERE gm.org_id = $1 AND gm.member_user IS NOT NULL",
    )
    .bind(org)
    .fetch_all(&mut **tx)
    .await?;
    let mut direct: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (user, joined) in rows {
        let groups = direct.entry(user).or_default();
        groups.extend(joined);
    }
    let graph = Graph::load(tx, org).await?;
    // Members share few distinct sets of explicit groups (every group-less
    // member has the empty one): each set is resolved once.
    let mut reaches: BTreeMap<Vec<String>, bool> = BTreeMap::new();
    let mut users = BTreeSet::new();
    for (user, mut groups) in direct {
        groups.sort_unstable();
        groups.dedup();
        let reached = match reaches.get(&groups) {
            Some(reached) => *reached,
            None => {
                let reached = graph.effective(&groups).contains(group);
                reaches.insert(groups, reached);
                reached
            }
        };
        if reached {
            users.insert(user);
        }
    }
    Ok(users)
}

/// The org's members with no explicit group (they are in the default
/// groups): the users a default flag moves.
pub(crate) async fn groupless_members(
    tx: &mut Tx,
    org: &str,
) -> Result<BTreeSet<String>, AdminError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT m.user_id FROM members m
          WHERE m.org_id = $1
            AND NOT EXISTS (SELECT 1 FROM group_members x
                             WHERE x.org_id = $1 AND x.member_user = m.user_id)",
    )
    .bind(org)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}
