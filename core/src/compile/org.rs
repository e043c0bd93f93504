//! One org's facts indexed for compiling, with every reference checked so
//! that the later steps never meet a dangling id.

use super::{CompileError, Lent};
use crate::manifest::Manifest;
use crate::model::{
    ADMIN_GROUP, ANONYMOUS, AssignmentFact, Bits, CapFact, Facts, FxBuildHasher, HiddenFact,
    Member, NodeFact, NodeKey, Selector, Subject, is_valid_node_id, is_valid_user_id,
};

/// The compiler's maps: keyed by short ids, hashed with the Fx-style hash
/// (see [`FxBuildHasher`]).
pub(super) type HashMap<K, V> = std::collections::HashMap<K, V, FxBuildHasher>;
/// See [`HashMap`].
pub(super) type HashSet<K> = std::collections::HashSet<K, FxBuildHasher>;

/// A role with its set resolved against the catalog.
pub(super) struct Role<'a> {
    pub(super) name: &'a str,
    pub(super) permissions: Bits,
}

/// A registered node.
pub(super) struct Node<'a> {
    pub(super) key: &'a NodeKey,
    pub(super) ty: u32,
    pub(super) parent: Option<usize>,
    pub(super) children: Vec<usize>,
}

/// The principal as the org sees it.
pub(super) struct Principal<'a> {
    pub(super) id: &'a str,
    pub(super) name: &'a str,
    pub(super) superuser: bool,
    pub(super) active: bool,
    pub(super) member: bool,
}

/// The indexed facts.
pub(super) struct Org<'a> {
    pub(super) manifest: &'a Manifest,
    pub(super) facts: &'a Facts,
    /// Keys every hash table of the compile ([`crate::CompileRequest::hash_seed`]).
    pub(super) hasher: FxBuildHasher,
    members: HashSet<&'a str>,
    /// Group id → display name; includes the implicit `admin`.
    group_names: HashMap<&'a str, &'a str>,
    pub(super) default_groups: Vec<&'a str>,
    /// Group id → the groups it is directly a member of.
    pub(super) group_parents: HashMap<&'a str, Vec<&'a str>>,
    /// User id → the groups it is directly a member of.
    pub(super) user_groups: HashMap<&'a str, Vec<&'a str>>,
    pub(super) nodes: Vec<Node<'a>>,
    node_index: HashMap<&'a NodeKey, usize>,
    /// `facts.assignments`, then the lent ones.
    pub(super) assignments: Vec<&'a AssignmentFact>,
    pub(super) roles: HashMap<&'a str, Role<'a>>,
}

fn invalid(message: String) -> CompileError {
    CompileError::InvalidFacts(message)
}

impl<'a> Org<'a> {
    /// Indexes `facts` together with the nodes and assignments `lent`.
    pub(super) fn new(
        manifest: &'a Manifest,
        facts: &'a Facts,
        lent: &Lent<'a>,
        hash_seed: u64,
    ) -> Result<Self, CompileError> {
        let node_count = facts.nodes.len() + lent.nodes.len();
        let hasher = FxBuildHasher::new(hash_seed);
        let mut org = Org {
            manifest,
            facts,
            hasher,
            members: HashSet::with_hasher(hasher),
            group_names: HashMap::with_hasher(hasher),
            default_groups: Vec::new(),
            group_parents: HashMap::with_hasher(hasher),
            user_groups: HashMap::with_hasher(hasher),
            nodes: Vec::with_capacity(node_count),
            node_index: HashMap::with_capacity_and_hasher(node_count, hasher),
            roles: HashMap::with_hasher(hasher),
            assignments: facts
                .assignments
                .iter()
                .chain(lent.assignments.iter().copied())
                .collect(),
        };
        org.group_names.insert(ADMIN_GROUP, ADMIN_GROUP);
        org.index_users()?;
        org.index_groups()?;
        let node_facts: Vec<&'a NodeFact> = facts
            .nodes
            .iter()
            .chain(lent.nodes.iter().copied())
            .collect();
        org.index_nodes(&node_facts)?;
        org.index_roles()?;
        org.check_policy()?;
        Ok(org)
    }

    fn index_users(&mut self) -> Result<(), CompileError> {
        let mut seen = HashSet::with_hasher(self.hasher);
        for user in &self.facts.users {
            if !is_valid_user_id(&user.id) || !seen.insert(user.id.as_str()) {
                return Err(invalid(format!(
                    "user `{}` is invalid or listed twice",
                    user.id
                )));
            }
        }
        for member in &self.facts.members {
            if !seen.contains(member.as_str()) {
                return Err(invalid(format!("member `{member}` is not a user")));
            }
            self.members.insert(member);
        }
        Ok(())
    }

    fn index_groups(&mut self) -> Result<(), CompileError> {
        for group in &self.facts.groups {
            let name = group.name.as_deref().unwrap_or(&group.id);
            if !is_valid_node_id(&group.id) || self.group_names.insert(&group.id, name).is_some() {
                return Err(invalid(format!(
                    "group `{}` is invalid, reserved or listed twice",
                    group.id
                )));
            }
            if group.default {
                self.default_groups.push(&group.id);
            }
        }
        // docs/model.md §1.3: an org always has a default group, so a group-less
        // member never falls through to "no group, no restriction".
        if self.default_groups.is_empty() {
            return Err(invalid("the org has no default group".to_owned()));
        }
        for edge in &self.facts.group_members {
            if !self.group_names.contains_key(edge.group.as_str()) || edge.group == ADMIN_GROUP {
                return Err(invalid(format!(
                    "group `{}` does not exist or is reserved",
                    edge.group
                )));
            }
            match &edge.member {
                Member::User(user) => {
                    if !self.members.contains(user.as_str()) {
                        return Err(invalid(format!(
                            "group member `{user}` is not an org member"
                        )));
                    }
                    self.user_groups.entry(user).or_default().push(&edge.group);
                }
                Member::Group(group) => {
                    if !self.group_names.contains_key(group.as_str()) {
                        return Err(invalid(format!(
                            "group member `group:{group}` does not exist"
                        )));
                    }
                    self.group_parents
                        .entry(group)
                        .or_default()
                        .push(&edge.group);
                }
            }
        }
        Ok(())
    }

    fn index_nodes(&mut self, node_facts: &[&'a NodeFact]) -> Result<(), CompileError> {
        let types = &self.manifest.types;
        for fact in node_facts.iter().copied() {
            let ty = types
                .index(&fact.node.ty)
                .ok_or_else(|| invalid(format!("node `{}` has an undeclared type", fact.node)))?;
            if self
                .node_index
                .insert(&fact.node, self.nodes.len())
                .is_some()
            {
                return Err(invalid(format!("node `{}` is listed twice", fact.node)));
            }
            self.nodes.push(Node {
                key: &fact.node,
                ty,
                parent: None,
                children: Vec::new(),
            });
        }
        for (at, fact) in node_facts.iter().enumerate() {
            let parent = match &fact.parent {
                None => None,
                Some(parent) => Some(self.node(parent).ok_or_else(|| {
                    invalid(format!(
                        "node `{}` has unregistered parent `{parent}`",
                        fact.node
                    ))
                })?),
            };
            let parent_ty = parent.and_then(|p| self.nodes.get(p)).map(|p| p.ty);
            let ty = self.nodes.get(at).map_or(u32::MAX, |node| node.ty);
            if !types.allows(parent_ty, ty) {
                return Err(invalid(format!(
                    "node `{}` may not sit under its parent",
                    fact.node
                )));
            }
            if let Some(node) = self.nodes.get_mut(at) {
                node.parent = parent;
            }
            if let Some(parent) = parent.and_then(|p| self.nodes.get_mut(p)) {
                parent.children.push(at);
            }
        }
        for at in 0..self.nodes.len() {
            if self.ancestors(at).count() > self.nodes.len() {
                return Err(invalid("the node parents form a cycle".to_owned()));
            }
        }
        // Node keys are unique, so an unstable sort is deterministic.
        for node in &mut self.nodes {
            node.children
                .sort_unstable_by_key(|child| node_facts.get(*child).map(|fact| &fact.node));
        }
        Ok(())
    }

    fn index_roles(&mut self) -> Result<(), CompileError> {
        for role in &self.facts.roles {
            let permissions = self
                .manifest
                .role_permissions(&role.id, Some(&role.permissions));
            let name = role.name.as_deref().unwrap_or(&role.id);
            if self
                .roles
                .insert(&role.id, Role { name, permissions })
                .is_some()
            {
                return Err(invalid(format!("role `{}` is listed twice", role.id)));
            }
        }
        for builtin in &self.manifest.roles {
            self.roles.entry(&builtin.key).or_insert_with(|| Role {
                name: &builtin.key,
                permissions: self.manifest.role_permissions(&builtin.key, None),
            });
        }
        Ok(())
    }

    fn check_policy(&self) -> Result<(), CompileError> {
        for assignment in self.assignments.iter().copied() {
            self.check_assignment(assignment)?;
        }
        for hidden in &self.facts.hidden {
            self.check_hidden(hidden)?;
        }
        for cap in &self.facts.caps {
            self.check_cap(cap)?;
        }
        Ok(())
    }

    fn check_scope(&self, scope: Option<&NodeKey>) -> Result<(), CompileError> {
        match scope {
            Some(key) if self.node(key).is_none() => {
                Err(invalid(format!("scope `{key}` is not a registered node")))
            }
            _ => Ok(()),
        }
    }

    fn check_assignment(&self, assignment: &AssignmentFact) -> Result<(), CompileError> {
        if !self.roles.contains_key(assignment.role.as_str()) {
            return Err(invalid(format!(
                "assignment names unknown role `{}`",
                assignment.role
            )));
        }
        match &assignment.subject {
            Subject::User(user) if !self.members.contains(user.as_str()) => {
                return Err(invalid(format!(
                    "assignment subject `{user}` is not a member"
                )));
            }
            Subject::Group(group) if !self.group_names.contains_key(group.as_str()) => {
                return Err(invalid(format!(
                    "assignment subject `group:{group}` does not exist"
                )));
            }
            _ => {}
        }
        self.check_scope(assignment.scope.as_ref())
    }

    fn check_selector(&self, selector: &Selector) -> Result<(), CompileError> {
        match selector {
            Selector::Group(group) | Selector::NotGroup(group)
                if !self.group_names.contains_key(group.as_str()) =>
            {
                Err(invalid(format!(
                    "selector `{selector}` names an unknown group"
                )))
            }
            _ => Ok(()),
        }
    }

    fn check_hidden(&self, hidden: &HiddenFact) -> Result<(), CompileError> {
        self.check_selector(&hidden.selector)?;
        let at = self
            .node(&hidden.node)
            .ok_or_else(|| invalid(format!("hidden node `{}` is not registered", hidden.node)))?;
        let ty = self.nodes.get(at).map_or(u32::MAX, |node| node.ty);
        if !self.manifest.types.hideable(ty) {
            return Err(invalid(format!(
                "node `{}` is not of a hideable type",
                hidden.node
            )));
        }
        Ok(())
    }

    fn check_cap(&self, cap: &CapFact) -> Result<(), CompileError> {
        self.check_selector(&cap.selector)?;
        self.check_scope(cap.scope.as_ref())
    }

    /// The principal; `anonymous` always exists.
    pub(super) fn principal(&self, id: &'a str) -> Result<Principal<'a>, CompileError> {
        if id == ANONYMOUS {
            return Ok(Principal {
                id: ANONYMOUS,
                name: ANONYMOUS,
                superuser: false,
                active: true,
                member: false,
            });
        }
        let user = self
            .facts
            .users
            .iter()
            .find(|user| user.id == id)
            .ok_or_else(|| CompileError::UnknownPrincipal(id.to_owned()))?;
        Ok(Principal {
            id: &user.id,
            name: user.name.as_deref().unwrap_or(&user.id),
            superuser: user.superuser,
            active: user.active,
            member: self.members.contains(user.id.as_str()),
        })
    }

    /// The index of a registered node.
    pub(super) fn node(&self, key: &NodeKey) -> Option<usize> {
        self.node_index.get(key).copied()
    }

    /// A group's display name.
    pub(super) fn group_name(&self, id: &str) -> Option<&'a str> {
        self.group_names.get(id).copied()
    }

    /// The strict ancestors of a node, nearest first (bounded, cycle-safe).
    pub(super) fn ancestors(&self, at: usize) -> impl Iterator<Item = usize> + '_ {
        let mut next = self.nodes.get(at).and_then(|node| node.parent);
        let mut steps = 0;
        std::iter::from_fn(move || {
            let current = next?;
            steps += 1;
            if steps > self.nodes.len() + 1 {
                return None;
            }
            next = self.nodes.get(current).and_then(|node| node.parent);
            Some(current)
        })
    }
}
