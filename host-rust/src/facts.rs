//! Loading exactly the facts one (org, principal) needs, with a fixed
//! number of queries whatever the org's size (no N+1 over groups or
//! assignments): the principal's effective groups are computed in SQL by a
//! recursive query, and every later query is restricted to them.
//!
//! The result is a [`Facts`] that tessera-core compiles to the same
//! snapshot as the org's complete facts would: it holds the principal, its
//! groups (and the edges between them), every default group, and the
//! policy rows whose subject or selector can apply to the principal, with
//! the nodes those rows name, their ancestors and their descendants.

use std::collections::BTreeSet;

use sqlx::{Any, Transaction};
use tessera_core::{
    ANONYMOUS, AssignmentFact, CapFact, Facts, GroupFact, GroupMemberFact, HiddenFact, Member,
    NodeFact, NodeKey, RoleFact, UserFact,
};
use thiserror::Error;

use crate::store::StoreError;

/// Why facts could not be loaded.
#[derive(Debug, Error)]
pub enum FactsError {
    /// No such org (`NOT_FOUND`).
    #[error("org `{0}` does not exist")]
    UnknownOrg(String),
    /// No such user (`NOT_FOUND`).
    #[error("principal `{0}` does not exist")]
    UnknownPrincipal(String),
    /// A stored row that does not parse (never written by the store).
    #[error("stored row is malformed: {0}")]
    Corrupt(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for FactsError {
    fn from(err: sqlx::Error) -> Self {
        FactsError::Store(StoreError::Database(err))
    }
}

/// The principal's effective group ids: direct groups, or every default
/// group for a member with none, plus `admin` for superusers, then every
/// group containing one of them, transitively (`UNION` makes it cycle-safe).
/// Binds: $1 org, $2 user id, $3 member (0/1), $4 superuser (0/1).
const EFFECTIVE_GROUPS: &str = "
WITH RECURSIVE
  direct(id) AS (
    SELECT group_id FROM group_members WHERE org_id = $1 AND member_user = $2
  ),
  seeds(id) AS (
    SELECT id FROM direct
    UNION
    SELECT id FROM groups
     WHERE org_id = $1 AND is_default = 1 AND $3 = 1 AND NOT EXISTS (SELECT 1 FROM direct)
    UNION
    SELECT 'admin' WHERE $4 = 1
  ),
  effective(id) AS (
    SELECT id FROM seeds
    UNION
    SELECT gm.group_id FROM group_members gm JOIN effective e ON gm.member_group = e.id
     WHERE gm.org_id = $1
  )";

fn parse<T: std::str::FromStr>(text: &str) -> Result<T, FactsError> {
    text.parse()
        .map_err(|_| FactsError::Corrupt(text.to_owned()))
}

fn node_key(ty: String, id: String) -> NodeKey {
    NodeKey { ty, id }
}

fn scope(ty: Option<String>, id: Option<String>) -> Option<NodeKey> {
    ty.zip(id).map(|(ty, id)| node_key(ty, id))
}

/// A read-only transaction in which every statement sees one state of the
/// store: Postgres runs each statement of a READ COMMITTED transaction on a
/// fresh snapshot, so the loader's queries could mix two revisions.
pub(crate) async fn read_transaction(
    store: &crate::store::Store,
) -> Result<Transaction<'static, Any>, StoreError> {
    let mut tx = store.pool().begin().await?;
    if store.backend() == crate::store::Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// Loads the facts `principal` (a user id or `anonymous`) needs in `org`,
/// plus the chains of the subtree roots of a subtree snapshot.
pub async fn load_facts(
    tx: &mut Transaction<'static, Any>,
    org: &str,
    principal: &str,
    under: &[NodeKey],
) -> Result<Facts, FactsError> {
    let Some((revision, kiosk)) =
        sqlx::query_as::<_, (i64, i64)>("SELECT revision, kiosk FROM orgs WHERE id = $1")
            .bind(org)
            .fetch_optional(&mut **tx)
            .await?
    else {
        return Err(FactsError::UnknownOrg(org.to_owned()));
    };
    let mut facts = Facts {
        org: org.to_owned(),
        revision: u64::try_from(revision).unwrap_or(0),
        kiosk: kiosk != 0,
        ..Facts::default()
    };
    if principal != ANONYMOUS {
        let user: Option<(String, String, i64, i64)> =
            sqlx::query_as("SELECT id, name, superuser, active FROM users WHERE id = $1")
                .bind(principal)
                .fetch_optional(&mut **tx)
                .await?;
        let Some((id, name, superuser, active)) = user else {
            return Err(FactsError::UnknownPrincipal(principal.to_owned()));
        };
        let member: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM members WHERE org_id = $1 AND user_id = $2")
                .bind(org)
                .bind(principal)
                .fetch_optional(&mut **tx)
                .await?;
        facts.users.push(UserFact {
            id: id.clone(),
            name: Some(name),
            superuser: superuser != 0,
            active: active != 0,
        });
        if member.is_some() {
            facts.members.push(id);
        }
    }
    load_groups(tx, principal, &mut facts).await?;
    load_policy(tx, principal, &mut facts).await?;
    load_nodes(tx, principal, &mut facts).await?;
    for root in under {
        load_chain(tx, root, &mut facts).await?;
    }
    load_roles(tx, &mut facts).await?;
    Ok(facts)
}

/// Assignments whose subject can apply to the principal, as three
/// disjoint index-served branches joined by `UNION ALL`; `{cols}` is the
/// select list, `{extra}` more conditions.
fn assignments_applying(cols: &str, extra: &str) -> String {
    format!(
        "SELECT {cols} FROM assignments a WHERE a.org_id = $1 AND a.subject_user = $2 {extra}
    UNION ALL
    SELECT {cols} FROM assignments a WHERE a.org_id = $1 AND a.subject_group IN (SELECT id FROM effective) {extra}
    UNION ALL
    SELECT {cols} FROM assignments a WHERE a.org_id = $1 AND a.subject IN ('@everyone', '@authenticated', '@members')
       AND (a.subject <> '@authenticated' OR $2 <> 'anonymous') AND (a.subject <> '@members' OR $3 = 1) {extra}"
    )
}

/// Hidden entries and caps whose selector can select the principal
/// (`not_group` rows are all loaded: whether they apply is the core's call),
/// as four disjoint branches.
fn selector_applying(table: &str, alias: &str, cols: &str, extra: &str) -> String {
    format!(
        "SELECT {cols} FROM {table} {alias} WHERE {alias}.org_id = $1 AND {alias}.selector_user = $2 {extra}
    UNION ALL
    SELECT {cols} FROM {table} {alias} WHERE {alias}.org_id = $1 AND {alias}.selector_group IN (SELECT id FROM effective)
       AND {alias}.selector NOT LIKE 'not_group:%' {extra}
    UNION ALL
    SELECT {cols} FROM {table} {alias} WHERE {alias}.org_id = $1
       AND {alias}.selector IN ('everyone', 'anonymous', 'authenticated', 'members') {extra}
    UNION ALL
    SELECT {cols} FROM {table} {alias} WHERE {alias}.org_id = $1 AND {alias}.selector LIKE 'not_group:%' {extra}"
    )
}

/// Groups the principal's snapshot needs: its effective groups, every
/// default group, and groups `not_group` selectors name.
const GROUPS: &str = "SELECT g.id, g.name, g.is_default FROM groups g WHERE g.org_id = $1 AND g.id IN (SELECT id FROM effective)
 UNION
 SELECT g.id, g.name, g.is_default FROM groups g WHERE g.org_id = $1 AND g.is_default = 1
 UNION
 SELECT g.id, g.name, g.is_default FROM groups g WHERE g.org_id = $1 AND g.id IN (
   SELECT selector_group FROM hidden WHERE org_id = $1 AND selector LIKE 'not_group:%'
   UNION SELECT selector_group FROM caps WHERE org_id = $1 AND selector LIKE 'not_group:%')
 ORDER BY 1";

/// Membership edges out of the principal and its effective groups.
const GROUP_EDGES: &str =
    "SELECT gm.group_id, gm.member_user, gm.member_group FROM group_members gm
  WHERE gm.org_id = $1 AND gm.member_user = $2
 UNION ALL
 SELECT gm.group_id, gm.member_user, gm.member_group FROM group_members gm
  WHERE gm.org_id = $1 AND gm.member_group IN (SELECT id FROM effective)
 ORDER BY 1";

/// A subtree root and its ancestors. Binds: $1 org, $2 type, $3 id.
const CHAIN: &str = "WITH RECURSIVE up(type, id) AS (
    SELECT $2, $3
    UNION
    SELECT n.parent_type, n.parent_id FROM nodes n JOIN up ON n.type = up.type AND n.id = up.id
     WHERE n.org_id = $1 AND n.parent_type IS NOT NULL)
 SELECT n.type, n.id, n.parent_type, n.parent_id FROM nodes n
   JOIN up ON n.type = up.type AND n.id = up.id WHERE n.org_id = $1";

/// Every role of the org with its stored permissions. Bind: $1 org.
const ROLES: &str = "SELECT r.id, r.name, rp.permission FROM roles r
   LEFT JOIN role_permissions rp ON rp.org_id = r.org_id AND rp.role_id = r.id
  WHERE r.org_id = $1 ORDER BY r.id, rp.permission";

fn assignments_sql() -> String {
    format!(
        "{} ORDER BY 1",
        assignments_applying(
            "a.id, a.subject, a.role_id, a.scope_type, a.scope_id, a.owner_only",
            ""
        )
    )
}

fn hidden_sql() -> String {
    format!(
        "{} ORDER BY 1",
        selector_applying(
            "hidden",
            "h",
            "h.id, h.selector, h.node_type, h.node_id",
            ""
        )
    )
}

fn caps_sql() -> String {
    format!(
        "{} ORDER BY 1",
        selector_applying(
            "caps",
            "c",
            "c.id, c.selector, c.scope_type, c.scope_id, c.allow",
            ""
        )
    )
}

/// The nodes the loaded policy names, their ancestors and descendants, in
/// one recursive query seeded by the same conditions as the policy queries.
fn nodes_sql() -> String {
    format!(
        ",
  named(type, id) AS (
    {assignments}
    UNION {hidden}
    UNION {caps}
  ),
  up(type, id, parent_type, parent_id) AS (
    SELECT n.type, n.id, n.parent_type, n.parent_id FROM named
      JOIN nodes n ON n.org_id = $1 AND n.type = named.type AND n.id = named.id
    UNION
    SELECT n.type, n.id, n.parent_type, n.parent_id FROM up
      JOIN nodes n ON n.org_id = $1 AND n.type = up.parent_type AND n.id = up.parent_id
  ),
  down(type, id, parent_type, parent_id) AS (
    SELECT n.type, n.id, n.parent_type, n.parent_id FROM named
      JOIN nodes n ON n.org_id = $1 AND n.type = named.type AND n.id = named.id
    UNION
    SELECT n.type, n.id, n.parent_type, n.parent_id FROM down
      JOIN nodes n ON n.org_id = $1 AND n.parent_type = down.type AND n.parent_id = down.id
  )
SELECT type, id, parent_type, parent_id FROM up
UNION
SELECT type, id, parent_type, parent_id FROM down",
        assignments =
            assignments_applying("a.scope_type, a.scope_id", "AND a.scope_type IS NOT NULL"),
        hidden = selector_applying("hidden", "h", "h.node_type, h.node_id", ""),
        caps = selector_applying(
            "caps",
            "c",
            "c.scope_type, c.scope_id",
            "AND c.scope_type IS NOT NULL"
        ),
    )
}

/// `sql` after the recursive prefix that defines the principal's
/// `effective` group ids (binds as [`LoaderBinds::Principal`]).
#[doc(hidden)]
pub fn with_effective_groups(sql: &str) -> String {
    format!("{EFFECTIVE_GROUPS} {sql}")
}

/// How a loader query is bound.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoaderBinds {
    /// $1 org, $2 principal, $3 member (0/1), $4 superuser (0/1).
    Principal,
    /// $1 org, $2 node type, $3 node id.
    Chain,
    /// $1 org.
    Org,
}

/// The loader's queries after the org, user and member lookups, by name,
/// as `load_facts` runs them: what the seed benchmark `EXPLAIN`s.
#[doc(hidden)]
pub fn loader_queries() -> Vec<(&'static str, String, LoaderBinds)> {
    let principal = |sql: &str| with_effective_groups(sql);
    vec![
        ("groups", principal(GROUPS), LoaderBinds::Principal),
        (
            "group edges",
            principal(GROUP_EDGES),
            LoaderBinds::Principal,
        ),
        (
            "assignments",
            principal(&assignments_sql()),
            LoaderBinds::Principal,
        ),
        ("hidden", principal(&hidden_sql()), LoaderBinds::Principal),
        ("caps", principal(&caps_sql()), LoaderBinds::Principal),
        ("nodes", principal(&nodes_sql()), LoaderBinds::Principal),
        (
            "subtree chain (only with `under`)",
            CHAIN.to_owned(),
            LoaderBinds::Chain,
        ),
        ("roles", ROLES.to_owned(), LoaderBinds::Org),
    ]
}

/// Runs `sql` (after the effective-groups prefix) with the four binds.
async fn fetch<T>(
    tx: &mut Transaction<'static, Any>,
    sql: &str,
    facts: &Facts,
    principal: &str,
) -> Result<Vec<T>, FactsError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let member = i64::from(!facts.members.is_empty());
    let superuser = i64::from(facts.users.first().is_some_and(|user| user.superuser));
    Ok(
        sqlx::query_as(sqlx::AssertSqlSafe(with_effective_groups(sql)))
            .bind(facts.org.clone())
            .bind(principal.to_owned())
            .bind(member)
            .bind(superuser)
            .fetch_all(&mut **tx)
            .await?,
    )
}

async fn load_groups(
    tx: &mut Transaction<'static, Any>,
    principal: &str,
    facts: &mut Facts,
) -> Result<(), FactsError> {
    let groups: Vec<(String, String, i64)> = fetch(tx, GROUPS, facts, principal).await?;
    facts.groups = groups
        .into_iter()
        .filter(|(id, _, _)| id != tessera_core::ADMIN_GROUP)
        .map(|(id, name, default)| GroupFact {
            id,
            name: Some(name),
            default: default != 0,
        })
        .collect();
    let edges: Vec<(String, Option<String>, Option<String>)> =
        fetch(tx, GROUP_EDGES, facts, principal).await?;
    for (group, user, member_group) in edges {
        let member = match (user, member_group) {
            (Some(user), None) => Member::User(user),
            (None, Some(group)) => Member::Group(group),
            _ => return Err(FactsError::Corrupt(format!("membership of `{group}`"))),
        };
        facts.group_members.push(GroupMemberFact { group, member });
    }
    Ok(())
}

/// An `assignments` row as loaded.
#[derive(sqlx::FromRow)]
struct AssignmentRow {
    id: String,
    subject: String,
    role_id: String,
    scope_type: Option<String>,
    scope_id: Option<String>,
    owner_only: i64,
}

/// A `caps` row as loaded.
#[derive(sqlx::FromRow)]
struct CapRow {
    id: String,
    selector: String,
    scope_type: Option<String>,
    scope_id: Option<String>,
    allow: String,
}

async fn load_policy(
    tx: &mut Transaction<'static, Any>,
    principal: &str,
    facts: &mut Facts,
) -> Result<(), FactsError> {
    let assignments: Vec<AssignmentRow> = fetch(tx, &assignments_sql(), facts, principal).await?;
    for row in assignments {
        facts.assignments.push(AssignmentFact {
            id: Some(row.id),
            subject: parse(&row.subject)?,
            role: row.role_id,
            scope: scope(row.scope_type, row.scope_id),
            owner_only: row.owner_only != 0,
        });
    }
    let hidden: Vec<(String, String, String, String)> =
        fetch(tx, &hidden_sql(), facts, principal).await?;
    for (id, selector, ty, node) in hidden {
        facts.hidden.push(HiddenFact {
            id: Some(id),
            selector: parse(&selector)?,
            node: node_key(ty, node),
        });
    }
    let caps: Vec<CapRow> = fetch(tx, &caps_sql(), facts, principal).await?;
    for row in caps {
        facts.caps.push(CapFact {
            id: Some(row.id),
            selector: parse(&row.selector)?,
            scope: scope(row.scope_type, row.scope_id),
            allow: serde_json::from_str(&row.allow)
                .map_err(|_| FactsError::Corrupt(row.allow.clone()))?,
        });
    }
    Ok(())
}

/// The nodes the loaded policy names, their ancestors and descendants, in
/// one recursive query seeded by the same conditions as `load_policy`.
async fn load_nodes(
    tx: &mut Transaction<'static, Any>,
    principal: &str,
    facts: &mut Facts,
) -> Result<(), FactsError> {
    let nodes: Vec<(String, String, Option<String>, Option<String>)> =
        fetch(tx, &nodes_sql(), facts, principal).await?;
    // The core wants parents listed before children only for readability;
    // sort by depth-independent key for a stable order.
    let mut nodes: Vec<NodeFact> = nodes
        .into_iter()
        .map(|(ty, id, parent_type, parent_id)| NodeFact {
            node: node_key(ty, id),
            parent: scope(parent_type, parent_id),
        })
        .collect();
    nodes.sort_by(|a, b| a.node.cmp(&b.node));
    facts.nodes = nodes;
    Ok(())
}

/// A subtree root and its ancestors, if not loaded already (one query per
/// root; a snapshot names a handful at most). An unregistered root loads
/// nothing, and compiling then reports it.
async fn load_chain(
    tx: &mut Transaction<'static, Any>,
    root: &NodeKey,
    facts: &mut Facts,
) -> Result<(), FactsError> {
    if facts.nodes.iter().any(|node| node.node == *root) {
        return Ok(());
    }
    let chain: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(CHAIN)
        .bind(facts.org.clone())
        .bind(root.ty.clone())
        .bind(root.id.clone())
        .fetch_all(&mut **tx)
        .await?;
    for (ty, id, parent_type, parent_id) in chain {
        let node = node_key(ty, id);
        if !facts.nodes.iter().any(|known| known.node == node) {
            facts.nodes.push(NodeFact {
                node,
                parent: scope(parent_type, parent_id),
            });
        }
    }
    Ok(())
}

/// The roles the loaded assignments name, with their stored permissions.
async fn load_roles(
    tx: &mut Transaction<'static, Any>,
    facts: &mut Facts,
) -> Result<(), FactsError> {
    let wanted: BTreeSet<&str> = facts.assignments.iter().map(|a| a.role.as_str()).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(ROLES)
        .bind(facts.org.clone())
        .fetch_all(&mut **tx)
        .await?;
    let mut roles: Vec<RoleFact> = Vec::new();
    for (id, name, permission) in rows {
        if !wanted.contains(id.as_str()) {
            continue;
        }
        if roles.last().is_none_or(|role| role.id != id) {
            roles.push(RoleFact {
                id,
                name: Some(name),
                permissions: Vec::new(),
            });
        }
        if let (Some(role), Some(permission)) = (roles.last_mut(), permission) {
            role.permissions.push(permission);
        }
    }
    facts.roles = roles;
    Ok(())
}
