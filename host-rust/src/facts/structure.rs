//! An org's structure: its node tree, its groups with their nesting, its
//! roles, its hidden entries and its caps: every table but the two that
//! grow with the org's users (assignments and user memberships). Every
//! principal's snapshot draws on it and it is small next to those two
//! (5,000 nodes, 10,000 groups and 2,000 hidden entries and caps against a
//! million assignments), so it is read whole, once per org revision, and
//! the parts one principal needs are picked here in Rust instead of by
//! recursive SQL on every build.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::HashMap;

use sqlx::AnyConnection;
use tessera_core::{
    ADMIN_GROUP, CapFact, GroupFact, GroupMemberFact, HiddenFact, Member, NodeFact, NodeKey,
    RoleFact, Selector, Standing,
};

use super::FactsError;
use super::grants::GroupGrants;
use super::rows::{node_key, parse, scope};

/// Every node of the org. Bind: $1 org.
pub(super) const NODES: &str =
    "SELECT type, id, parent_type, parent_id FROM nodes WHERE org_id = $1";

/// Every group of the org. Bind: $1 org.
pub(super) const GROUPS: &str = "SELECT id, name, is_default FROM groups WHERE org_id = $1";

/// Every group-in-group membership of the org (not user memberships, which
/// grow with the users and are read per principal). Bind: $1 org.
pub(super) const NESTING: &str = "SELECT group_id, member_group FROM group_members
  WHERE org_id = $1 AND member_group IS NOT NULL";

/// Every role of the org with its stored permissions. Bind: $1 org.
pub(super) const ROLES: &str = "SELECT r.id, r.name, rp.permission FROM roles r
   LEFT JOIN role_permissions rp ON rp.org_id = r.org_id AND rp.role_id = r.id
  WHERE r.org_id = $1 ORDER BY r.id, rp.permission";

/// Every hidden entry of the org, by id (also the admin API's listing).
/// Bind: $1 org.
pub(crate) const HIDDEN: &str =
    "SELECT id, selector, node_type, node_id FROM hidden WHERE org_id = $1 ORDER BY id";

/// Every cap of the org, by id, as [`CapRow`]s (also the admin API's
/// listing). Bind: $1 org.
pub(crate) const CAPS: &str =
    "SELECT id, selector, scope_type, scope_id, allow FROM caps WHERE org_id = $1 ORDER BY id";

/// A `caps` row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CapRow {
    pub(crate) id: String,
    pub(crate) selector: String,
    pub(crate) scope_type: Option<String>,
    pub(crate) scope_id: Option<String>,
    /// The allowed keys, a JSON array.
    pub(crate) allow: String,
}

/// Which nodes of an [`OrgStructure`] a snapshot needs, by position.
pub(crate) struct NodePicks(Vec<bool>);

/// A group as stored.
#[derive(Debug)]
struct Group {
    name: String,
    default: bool,
}

/// The structure of one org at one revision.
#[derive(Debug, Default)]
pub(crate) struct OrgStructure {
    /// Every node, sorted by key.
    nodes: Vec<NodeFact>,
    /// A node's position in `nodes` (foldhash, seeded per process: ids are
    /// short, chosen by the org's administrators, and this is
    /// looked up for every scope a principal's rows name).
    positions: HashMap<NodeKey, usize>,
    /// The position of a node's parent, by the node's position.
    parents_at: Vec<Option<usize>>,
    /// The positions of a node's children, by the node's position.
    children: Vec<Vec<usize>>,
    /// Every group by id.
    groups: BTreeMap<String, Group>,
    /// The ids of the default groups.
    defaults: Vec<String>,
    /// The groups a group is a direct member of, by member group id.
    parents: HashMap<String, Vec<String>>,
    /// Every role by id, with its permissions sorted.
    roles: HashMap<String, RoleFact>,
    /// Every hidden entry, sorted by id.
    hidden: Vec<HiddenFact>,
    /// Every cap, sorted by id.
    caps: Vec<CapFact>,
    /// The assignments of the groups builds have read at this revision.
    grants: GroupGrants,
    /// The rows read from the store (see [`OrgStructure::rows`]).
    read_rows: usize,
}

impl OrgStructure {
    /// Reads the org's structure on `conn` (six queries, each reading the
    /// org's rows of one table: run them in a transaction).
    pub(crate) async fn load(
        conn: &mut AnyConnection,
        org: &str,
    ) -> Result<OrgStructure, FactsError> {
        let nodes: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(NODES)
            .bind(org)
            .fetch_all(&mut *conn)
            .await?;
        let groups: Vec<(String, String, i64)> = sqlx::query_as(GROUPS)
            .bind(org)
            .fetch_all(&mut *conn)
            .await?;
        let nesting: Vec<(String, String)> = sqlx::query_as(NESTING)
            .bind(org)
            .fetch_all(&mut *conn)
            .await?;
        let roles: Vec<(String, String, Option<String>)> = sqlx::query_as(ROLES)
            .bind(org)
            .fetch_all(&mut *conn)
            .await?;
        let hidden: Vec<(String, String, String, String)> = sqlx::query_as(HIDDEN)
            .bind(org)
            .fetch_all(&mut *conn)
            .await?;
        let caps: Vec<CapRow> = sqlx::query_as(CAPS).bind(org).fetch_all(&mut *conn).await?;
        let mut structure = OrgStructure::default();
        for (id, selector, ty, node) in hidden {
            structure.hidden.push(HiddenFact {
                selector: parse(&selector)?,
                node: node_key(ty, node),
                id: Some(id),
            });
        }
        for row in caps {
            structure.caps.push(CapFact {
                selector: parse(&row.selector)?,
                scope: scope(row.scope_type, row.scope_id),
                allow: serde_json::from_str(&row.allow)
                    .map_err(|_| FactsError::Corrupt(row.allow.clone()))?,
                id: Some(row.id),
            });
        }
        structure.index_nodes(nodes)?;
        structure.groups = groups
            .into_iter()
            .map(|(id, name, default)| {
                let group = Group {
                    name,
                    default: default != 0,
                };
                (id, group)
            })
            .collect();
        structure.defaults = structure
            .groups
            .iter()
            .filter(|(_, group)| group.default)
            .map(|(id, _)| id.clone())
            .collect();
        for (group, member) in nesting {
            structure.parents.entry(member).or_default().push(group);
        }
        for (id, name, permission) in roles {
            let role = structure
                .roles
                .entry(id.clone())
                .or_insert_with(|| RoleFact {
                    id,
                    name: Some(name),
                    permissions: Vec::new(),
                });
            role.permissions.extend(permission);
        }
        structure.read_rows = structure.count_read_rows();
        Ok(structure)
    }

    fn index_nodes(
        &mut self,
        rows: Vec<(String, String, Option<String>, Option<String>)>,
    ) -> Result<(), FactsError> {
        let mut nodes: Vec<NodeFact> = rows
            .into_iter()
            .map(|(ty, id, parent_type, parent_id)| NodeFact {
                node: node_key(ty, id),
                parent: scope(parent_type, parent_id),
            })
            .collect();
        nodes.sort_by(|a, b| a.node.cmp(&b.node));
        self.positions = nodes
            .iter()
            .enumerate()
            .map(|(at, node)| (node.node.clone(), at))
            .collect();
        self.children = vec![Vec::new(); nodes.len()];
        self.parents_at = Vec::with_capacity(nodes.len());
        for (at, node) in nodes.iter().enumerate() {
            let parent_at = match &node.parent {
                Some(parent) => match self.positions.get(parent) {
                    Some(&parent_at) => Some(parent_at),
                    None => return Err(FactsError::Corrupt(format!("parent of `{}`", node.node))),
                },
                None => None,
            };
            if let Some(children) = parent_at.and_then(|parent_at| self.children.get_mut(parent_at))
            {
                children.push(at);
            }
            self.parents_at.push(parent_at);
        }
        self.nodes = nodes;
        Ok(())
    }

    /// The kept assignments of the org's groups.
    pub(crate) fn grants(&self) -> &GroupGrants {
        &self.grants
    }

    /// How many rows the structure holds, with the group assignments kept
    /// so far: its weight in the cache.
    pub(crate) fn rows(&self) -> usize {
        self.read_rows + self.grants.rows()
    }

    /// How many rows [`OrgStructure::load`] read.
    fn count_read_rows(&self) -> usize {
        self.nodes.len()
            + self.groups.len()
            + self.parents.values().map(Vec::len).sum::<usize>()
            + self
                .roles
                .values()
                .map(|role| role.permissions.len() + 1)
                .sum::<usize>()
            + self.hidden.len()
            + self.caps.len()
    }

    /// The principal's effective groups, by the compiler's own rule.
    pub(crate) fn effective_groups(
        &self,
        direct: &[String],
        member: bool,
        superuser: bool,
    ) -> BTreeSet<String> {
        tessera_core::member_groups(
            Standing { member, superuser },
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

    /// The groups a snapshot needs, sorted by id: the effective ones, every
    /// default group, and the groups `not_group` selectors name. The
    /// reserved `admin` group is implicit and never listed.
    pub(crate) fn group_facts<'a>(
        &'a self,
        effective: &'a BTreeSet<String>,
        named: impl Iterator<Item = &'a str>,
    ) -> Vec<GroupFact> {
        let mut wanted: BTreeSet<&str> = effective.iter().map(String::as_str).collect();
        wanted.extend(named);
        wanted.extend(self.defaults.iter().map(String::as_str));
        wanted
            .into_iter()
            .filter(|id| *id != ADMIN_GROUP)
            .filter_map(|id| {
                let group = self.groups.get(id)?;
                Some(GroupFact {
                    id: id.to_owned(),
                    name: Some(group.name.clone()),
                    default: group.default,
                })
            })
            .collect()
    }

    /// The nesting edges out of the effective groups, by containing group.
    pub(crate) fn nesting_facts(&self, effective: &BTreeSet<String>) -> Vec<GroupMemberFact> {
        let mut edges: Vec<GroupMemberFact> = effective
            .iter()
            .flat_map(|member| {
                self.parents
                    .get(member)
                    .into_iter()
                    .flatten()
                    .map(|group| GroupMemberFact {
                        group: group.clone(),
                        member: Member::Group(member.clone()),
                    })
            })
            .collect();
        edges.sort_by(|a, b| a.group.cmp(&b.group));
        edges
    }

    /// Marks the `named` nodes, their ancestors and their descendants.
    /// Names that are not registered are skipped: compiling reports them.
    pub(crate) fn pick_around<'a>(
        &self,
        named: impl Iterator<Item = &'a NodeKey>,
        picked: &mut NodePicks,
    ) {
        // Subtrees already walked; a node picked as an ancestor has not had
        // its subtree walked yet.
        let mut walked = vec![false; self.nodes.len()];
        let mut below = Vec::new();
        for node in named {
            let Some(&at) = self.positions.get(node) else {
                continue;
            };
            if walked.get(at).copied().unwrap_or(true) {
                continue;
            }
            self.pick_chain(at, picked);
            below.push(at);
            while let Some(next) = below.pop() {
                if mark(&mut walked, next) {
                    mark(&mut picked.0, next);
                    below.extend(self.children.get(next).into_iter().flatten());
                }
            }
        }
    }

    /// Marks `node` and its ancestors, if it is registered.
    pub(crate) fn pick_ancestors(&self, node: &NodeKey, picked: &mut NodePicks) {
        if let Some(&at) = self.positions.get(node) {
            self.pick_chain(at, picked);
        }
    }

    /// Marks the node at `at` and its ancestors. A marked node's ancestors
    /// are always marked, so the walk stops at the first one.
    fn pick_chain(&self, mut at: usize, picked: &mut NodePicks) {
        while mark(&mut picked.0, at) {
            match self.parents_at.get(at).copied().flatten() {
                Some(parent_at) => at = parent_at,
                None => break,
            }
        }
    }

    /// No node marked yet.
    pub(crate) fn no_picks(&self) -> NodePicks {
        NodePicks(vec![false; self.nodes.len()])
    }

    /// The marked nodes, in key order.
    pub(crate) fn picked_nodes(&self, picked: &NodePicks) -> Vec<&NodeFact> {
        self.nodes
            .iter()
            .zip(&picked.0)
            .filter_map(|(node, picked)| picked.then_some(node))
            .collect()
    }

    /// The marked nodes, in key order, copied.
    pub(crate) fn node_facts(&self, picked: &NodePicks) -> Vec<NodeFact> {
        self.picked_nodes(picked).into_iter().cloned().collect()
    }

    /// The hidden entries whose selector can select `principal` in its
    /// `effective` groups (the core decides the rest).
    pub(crate) fn hidden_facts(
        &self,
        principal: &str,
        effective: &BTreeSet<String>,
    ) -> Vec<HiddenFact> {
        self.hidden
            .iter()
            .filter(|hidden| may_select(&hidden.selector, principal, effective))
            .cloned()
            .collect()
    }

    /// The caps whose selector can select `principal` in its `effective`
    /// groups (the core decides the rest).
    pub(crate) fn cap_facts(&self, principal: &str, effective: &BTreeSet<String>) -> Vec<CapFact> {
        self.caps
            .iter()
            .filter(|cap| may_select(&cap.selector, principal, effective))
            .cloned()
            .collect()
    }

    /// The roles `wanted` names, sorted by id.
    pub(crate) fn role_facts<'a>(&self, wanted: impl Iterator<Item = &'a str>) -> Vec<RoleFact> {
        let wanted: BTreeSet<&str> = wanted.collect();
        wanted
            .into_iter()
            .filter_map(|id| self.roles.get(id).cloned())
            .collect()
    }
}

/// Whether a selector can select `principal`: user and group selectors are
/// settled here; the rest (`everyone`, `anonymous`, `authenticated`,
/// `members`, `not_group`) depend on facts the core weighs, so they stay.
fn may_select(selector: &Selector, principal: &str, effective: &BTreeSet<String>) -> bool {
    match selector {
        Selector::User(user) => user == principal,
        Selector::Group(group) => effective.contains(group),
        Selector::Everyone
        | Selector::Anonymous
        | Selector::Authenticated
        | Selector::Members
        | Selector::NotGroup(_) => true,
    }
}

/// Sets the flag at `at`; whether it was clear before.
fn mark(flags: &mut [bool], at: usize) -> bool {
    flags
        .get_mut(at)
        .is_some_and(|flag| !std::mem::replace(flag, true))
}
