//! An org's structure: its node tree, its groups with their nesting, its
//! roles, its hidden entries and its caps: every table but the two that
//! grow with the org's users (assignments and user memberships). Every
//! principal's snapshot draws on it and it is small next to those two
//! (5,000 nodes, 10,000 groups and 2,000 hidden entries and caps against a
//! million assignments), so it is read whole and kept, brought up to date by
//! the writes that change it ([`OrgStructure::apply`]), and
//! the parts one principal needs are picked here in Rust instead of by
//! recursive SQL on every build.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use foldhash::HashMap;

use sqlx::AnyConnection;
use tessera_core::{
    ADMIN_GROUP, CapFact, GroupFact, GroupMemberFact, HiddenFact, Member, NodeFact, NodeKey,
    RoleFact, Selector, Standing,
};

use super::FactsError;
use super::grants::GroupGrants;
use super::rows::{node_key, parse, scope};
use crate::changes::{Change, Delta};

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

impl NodeTree {
    /// The tree of `nodes`, in any order; every parent must be among them.
    fn new(mut nodes: Vec<NodeFact>) -> Result<NodeTree, FactsError> {
        nodes.sort_by(|a, b| a.node.cmp(&b.node));
        let mut tree = NodeTree {
            order: (0..nodes.len()).collect(),
            positions: nodes
                .iter()
                .enumerate()
                .map(|(at, node)| (node.node.clone(), at))
                .collect(),
            children: vec![Vec::new(); nodes.len()],
            parents_at: Vec::with_capacity(nodes.len()),
            nodes: Vec::new(),
        };
        for (at, node) in nodes.iter().enumerate() {
            let parent_at = tree.parent_at(node)?;
            if let Some(children) = parent_at.and_then(|parent_at| tree.children.get_mut(parent_at))
            {
                children.push(at);
            }
            tree.parents_at.push(parent_at);
        }
        tree.nodes = nodes;
        Ok(tree)
    }

    /// The position of `node`'s parent; a parent not in the tree is corrupt.
    fn parent_at(&self, node: &NodeFact) -> Result<Option<usize>, FactsError> {
        match &node.parent {
            Some(parent) => match self.positions.get(parent) {
                Some(&parent_at) => Ok(Some(parent_at)),
                None => Err(FactsError::Corrupt(format!("parent of `{}`", node.node))),
            },
            None => Ok(None),
        }
    }

    /// Registers a new node in place (at the end, in key order in
    /// `order`): no sorting, no re-indexing of the others.
    fn add(&mut self, node: NodeFact) -> Result<(), FactsError> {
        if self.positions.contains_key(&node.node) {
            return Err(FactsError::Corrupt(format!(
                "`{}` registered twice",
                node.node
            )));
        }
        let parent_at = self.parent_at(&node)?;
        let at = self.nodes.len();
        let nodes = &self.nodes;
        let rank = self
            .order
            .partition_point(|&other| nodes.get(other).is_some_and(|other| other.node < node.node));
        self.order.insert(rank, at);
        self.positions.insert(node.node.clone(), at);
        self.parents_at.push(parent_at);
        self.children.push(Vec::new());
        if let Some(children) = parent_at.and_then(|parent_at| self.children.get_mut(parent_at)) {
            children.push(at);
        }
        self.nodes.push(node);
        Ok(())
    }
}

impl Groups {
    fn new(by_id: BTreeMap<String, Group>, parents: HashMap<String, Vec<String>>) -> Groups {
        let defaults = by_id
            .iter()
            .filter(|(_, group)| group.default)
            .map(|(id, _)| id.clone())
            .collect();
        Groups {
            by_id,
            defaults,
            parents,
        }
    }
}

/// Inserts `item` into `items`, kept sorted by id, replacing one with the
/// same id.
fn insert_by_id<T>(items: &mut Vec<T>, item: T, id: impl Fn(&T) -> &Option<String>) {
    match items.binary_search_by(|probe| id(probe).cmp(id(&item))) {
        Ok(at) => {
            if let Some(slot) = items.get_mut(at) {
                *slot = item;
            }
        }
        Err(at) => items.insert(at, item),
    }
}

/// Which nodes of an [`OrgStructure`] a snapshot needs, by position.
pub(crate) struct NodePicks(Vec<bool>);

/// A group as stored.
#[derive(Debug, Clone)]
struct Group {
    name: String,
    default: bool,
}

/// The node tree: every node, indexed both ways, and their key order.
#[derive(Debug, Clone, Default)]
struct NodeTree {
    /// Every node: sorted by key when read, then in the order writes
    /// registered them.
    nodes: Vec<NodeFact>,
    /// The positions in `nodes`, in key order.
    order: Vec<usize>,
    /// A node's position in `nodes` (foldhash, seeded per process: ids are
    /// short, chosen by the org's administrators, and this is
    /// looked up for every scope a principal's rows name).
    positions: HashMap<NodeKey, usize>,
    /// The position of a node's parent, by the node's position.
    parents_at: Vec<Option<usize>>,
    /// The positions of a node's children, by the node's position.
    children: Vec<Vec<usize>>,
}

/// The groups and their nesting.
#[derive(Debug, Clone, Default)]
struct Groups {
    /// Every group by id.
    by_id: BTreeMap<String, Group>,
    /// The ids of the default groups.
    defaults: Vec<String>,
    /// The groups a group is a direct member of, by member group id.
    parents: HashMap<String, Vec<String>>,
}

/// The structure of one org at one revision. Each part is shared, so a
/// structure brought up to date by a write ([`OrgStructure::apply`])
/// copies only the part the write changed.
#[derive(Debug)]
pub(crate) struct OrgStructure {
    tree: Arc<NodeTree>,
    groups: Arc<Groups>,
    /// Every role by id, with its permissions sorted.
    roles: Arc<HashMap<String, RoleFact>>,
    /// Every hidden entry, sorted by id.
    hidden: Arc<Vec<HiddenFact>>,
    /// Every cap, sorted by id.
    caps: Arc<Vec<CapFact>>,
    /// The assignments of the groups builds have read at this revision.
    grants: GroupGrants,
    /// When the structure this one was brought up to date from was read
    /// from the store.
    read_at: Instant,
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
        let mut hidden_facts = Vec::with_capacity(hidden.len());
        for (id, selector, ty, node) in hidden {
            hidden_facts.push(HiddenFact {
                selector: parse(&selector)?,
                node: node_key(ty, node),
                id: Some(id),
            });
        }
        let mut cap_facts = Vec::with_capacity(caps.len());
        for row in caps {
            cap_facts.push(CapFact {
                selector: parse(&row.selector)?,
                scope: scope(row.scope_type, row.scope_id),
                allow: serde_json::from_str(&row.allow)
                    .map_err(|_| FactsError::Corrupt(row.allow.clone()))?,
                id: Some(row.id),
            });
        }
        let nodes = nodes
            .into_iter()
            .map(|(ty, id, parent_type, parent_id)| NodeFact {
                node: node_key(ty, id),
                parent: scope(parent_type, parent_id),
            })
            .collect();
        let mut by_id = BTreeMap::new();
        for (id, name, default) in groups {
            let group = Group {
                name,
                default: default != 0,
            };
            by_id.insert(id, group);
        }
        let mut parents: HashMap<String, Vec<String>> = HashMap::default();
        for (group, member) in nesting {
            parents.entry(member).or_default().push(group);
        }
        let mut role_facts: HashMap<String, RoleFact> = HashMap::default();
        for (id, name, permission) in roles {
            let role = role_facts.entry(id.clone()).or_insert_with(|| RoleFact {
                id,
                name: Some(name),
                permissions: Vec::new(),
            });
            role.permissions.extend(permission);
        }
        for role in role_facts.values_mut() {
            role.permissions.sort_unstable();
        }
        // Sorted here, not by the database's collation: a structure
        // brought up to date inserts by the same order.
        hidden_facts.sort_by(|a, b| a.id.cmp(&b.id));
        cap_facts.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(OrgStructure {
            tree: Arc::new(NodeTree::new(nodes)?),
            groups: Arc::new(Groups::new(by_id, parents)),
            roles: Arc::new(role_facts),
            hidden: Arc::new(hidden_facts),
            caps: Arc::new(cap_facts),
            grants: GroupGrants::default(),
            read_at: Instant::now(),
        })
    }

    /// How long ago the structure was read from the store (structures
    /// brought up to date by writes count from the read they started at).
    pub(crate) fn age(&self) -> Duration {
        self.read_at.elapsed()
    }

    /// This structure after `changes`, the writes that followed it in
    /// order; `None` when one of them says to read the structure again
    /// (or does not fit it: then reading again is right too). The kept
    /// group assignments carry over but for the groups whose assignments
    /// changed.
    pub(crate) fn apply(&self, changes: &[Arc<Change>]) -> Option<OrgStructure> {
        let mut next = OrgStructure {
            tree: Arc::clone(&self.tree),
            groups: Arc::clone(&self.groups),
            roles: Arc::clone(&self.roles),
            hidden: Arc::clone(&self.hidden),
            caps: Arc::clone(&self.caps),
            grants: GroupGrants::default(),
            read_at: self.read_at,
        };
        let mut regranted = BTreeSet::new();
        for change in changes {
            match &change.delta {
                Delta::None => {}
                Delta::Grants(group) => {
                    regranted.insert(group.as_str());
                }
                Delta::NodeAdded(node) => {
                    Arc::make_mut(&mut next.tree).add(node.clone()).ok()?;
                }
                Delta::NodeRemoved(key) => {
                    let mut nodes = next.tree.nodes.clone();
                    nodes.retain(|node| &node.node != key);
                    next.tree = Arc::new(NodeTree::new(nodes).ok()?);
                }
                Delta::Nesting {
                    group,
                    member,
                    added,
                } => {
                    let groups = Arc::make_mut(&mut next.groups);
                    let parents = groups.parents.entry(member.clone()).or_default();
                    parents.retain(|parent| parent != group);
                    if *added {
                        parents.push(group.clone());
                    }
                }
                Delta::HiddenAdded(hidden) => {
                    insert_by_id(Arc::make_mut(&mut next.hidden), hidden.clone(), |h| &h.id);
                }
                Delta::HiddenRemoved(id) => {
                    Arc::make_mut(&mut next.hidden).retain(|h| h.id.as_ref() != Some(id));
                }
                Delta::CapAdded(cap) => {
                    insert_by_id(Arc::make_mut(&mut next.caps), cap.clone(), |c| &c.id);
                }
                Delta::CapRemoved(id) => {
                    Arc::make_mut(&mut next.caps).retain(|c| c.id.as_ref() != Some(id));
                }
                Delta::RoleSet(role) => {
                    Arc::make_mut(&mut next.roles).insert(role.id.clone(), role.clone());
                }
                Delta::RoleRemoved(id) => {
                    Arc::make_mut(&mut next.roles).remove(id);
                }
                Delta::Reread => return None,
            }
        }
        next.grants = self.grants.carried(&regranted);
        Some(next)
    }

    /// The kept assignments of the org's groups.
    pub(crate) fn grants(&self) -> &GroupGrants {
        &self.grants
    }

    /// How many rows the structure holds, with the group assignments kept
    /// so far: its weight in the cache.
    pub(crate) fn rows(&self) -> usize {
        self.tree.nodes.len()
            + self.groups.by_id.len()
            + self.groups.parents.values().map(Vec::len).sum::<usize>()
            + self
                .roles
                .values()
                .map(|role| role.permissions.len() + 1)
                .sum::<usize>()
            + self.hidden.len()
            + self.caps.len()
            + self.grants.rows()
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
            self.groups.defaults.iter().map(String::as_str),
            |group| {
                self.groups
                    .parents
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
        wanted.extend(self.groups.defaults.iter().map(String::as_str));
        wanted
            .into_iter()
            .filter(|id| *id != ADMIN_GROUP)
            .filter_map(|id| {
                let group = self.groups.by_id.get(id)?;
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
                self.groups
                    .parents
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
        let mut walked = vec![false; self.tree.nodes.len()];
        let mut below = Vec::new();
        for node in named {
            let Some(&at) = self.tree.positions.get(node) else {
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
                    below.extend(self.tree.children.get(next).into_iter().flatten());
                }
            }
        }
    }

    /// Marks `node` and its ancestors, if it is registered.
    pub(crate) fn pick_ancestors(&self, node: &NodeKey, picked: &mut NodePicks) {
        if let Some(&at) = self.tree.positions.get(node) {
            self.pick_chain(at, picked);
        }
    }

    /// Marks the node at `at` and its ancestors. A marked node's ancestors
    /// are always marked, so the walk stops at the first one.
    fn pick_chain(&self, mut at: usize, picked: &mut NodePicks) {
        while mark(&mut picked.0, at) {
            match self.tree.parents_at.get(at).copied().flatten() {
                Some(parent_at) => at = parent_at,
                None => break,
            }
        }
    }

    /// No node marked yet.
    pub(crate) fn no_picks(&self) -> NodePicks {
        NodePicks(vec![false; self.tree.nodes.len()])
    }

    /// The marked nodes, in key order.
    pub(crate) fn picked_nodes(&self, picked: &NodePicks) -> Vec<&NodeFact> {
        self.tree
            .order
            .iter()
            .filter(|&&at| picked.0.get(at).copied().unwrap_or(false))
            .filter_map(|&at| self.tree.nodes.get(at))
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
