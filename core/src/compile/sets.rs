//! DESIGN §2 steps 8–11 for the root and every known node: same-subject
//! narrowing, caps (kiosk included), token scopes, requires closure, and
//! the hidden cascade.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::groups::Context;
use super::org::Org;
use crate::model::{Bits, Subject};
use crate::snapshot::{
    CapUse, GrantUse, KnownNode, NodeProvenance, Provenance, ProvenanceRole, ScopeSets,
};

/// The compiled part of a payload.
pub(super) struct Compiled {
    pub(super) root: ScopeSets,
    pub(super) nodes: Vec<KnownNode>,
    pub(super) root_roles: Vec<String>,
    pub(super) provenance: Option<Provenance>,
}

/// An applicable cap: where it is, what it allows, its id.
struct Cap {
    id: String,
    scope: Option<usize>,
    allow: Bits,
}

/// Everything `scope_sets` reads, built once.
struct Policy<'o, 'a> {
    org: &'o Org<'a>,
    context: &'o Context<'a>,
    /// Subject → scope → indices into `facts.assignments`.
    grants: BTreeMap<&'a Subject, HashMap<Option<usize>, Vec<usize>>>,
    caps: Vec<Cap>,
    hidden: HashSet<usize>,
    token_scopes: Option<&'o Bits>,
    /// Org node index → known node index.
    known: HashMap<usize, u32>,
    /// Role id → provenance role index, filled as roles are used.
    roles: HashMap<&'a str, u32>,
    /// Whether to record provenance (opt-in: it is the bulkiest part).
    tracing: bool,
}

pub(super) fn compile_sets(
    org: &Org<'_>,
    context: &Context<'_>,
    known: &[usize],
    token_scopes: Option<&Bits>,
    provenance: bool,
) -> Compiled {
    let mut policy = Policy::new(org, context, known, token_scopes, provenance);
    let mut root_provenance = NodeProvenance {
        grants: Vec::new(),
        caps: Vec::new(),
    };
    let root = policy.scope_sets(&[None], &mut root_provenance).0;
    let mut nodes = Vec::with_capacity(known.len());
    let mut node_provenance = Vec::with_capacity(known.len());
    for at in known {
        let mut chain: Vec<Option<usize>> = org.ancestors(*at).map(Some).collect();
        chain.push(None);
        chain.reverse();
        chain.push(Some(*at));
        let mut trace = NodeProvenance {
            grants: Vec::new(),
            caps: Vec::new(),
        };
        let (sets, hidden) = policy.scope_sets(&chain, &mut trace);
        let node = org.nodes.get(*at);
        nodes.push(KnownNode {
            ty: node.map_or(0, |node| node.ty),
            id: node.map_or_else(String::new, |node| node.key.id.clone()),
            parent: node
                .and_then(|node| node.parent)
                .and_then(|p| policy.known.get(&p).copied()),
            hidden,
            sets,
        });
        node_provenance.push(trace);
    }
    let root_roles = policy.root_roles();
    let provenance = provenance.then(|| Provenance {
        roles: policy.provenance_roles(),
        root: root_provenance,
        nodes: node_provenance,
    });
    Compiled {
        root,
        nodes,
        root_roles,
        provenance,
    }
}

impl<'o, 'a> Policy<'o, 'a> {
    fn new(
        org: &'o Org<'a>,
        context: &'o Context<'a>,
        known: &[usize],
        token_scopes: Option<&'o Bits>,
        tracing: bool,
    ) -> Self {
        let facts = org.facts;
        let mut grants: BTreeMap<&'a Subject, HashMap<Option<usize>, Vec<usize>>> = BTreeMap::new();
        let mut caps = Vec::new();
        let mut hidden = HashSet::new();
        // Superusers' grants still count for `roles.*` claims; selectors
        // never select them, so their caps and hidden entries stay empty.
        if context.active {
            for (at, assignment) in facts.assignments.iter().enumerate() {
                if context.has_subject(&assignment.subject) {
                    let scope = assignment.scope.as_ref().and_then(|key| org.node(key));
                    grants
                        .entry(&assignment.subject)
                        .or_default()
                        .entry(scope)
                        .or_default()
                        .push(at);
                }
            }
            for (at, cap) in facts.caps.iter().enumerate() {
                if context.selected_by(&cap.selector) {
                    let allow = org
                        .manifest
                        .catalog
                        .bits_of_known(cap.allow.iter().map(String::as_str));
                    caps.push(Cap {
                        id: cap.id.clone().unwrap_or_else(|| format!("cap-{at}")),
                        scope: cap.scope.as_ref().and_then(|key| org.node(key)),
                        allow,
                    });
                }
            }
            if facts.kiosk && context.anonymous {
                caps.push(Cap {
                    id: "kiosk".to_owned(),
                    scope: None,
                    allow: read_keys(org),
                });
            }
            for entry in &facts.hidden {
                if context.selected_by(&entry.selector)
                    && let Some(at) = org.node(&entry.node)
                {
                    hidden.insert(at);
                }
            }
        }
        Policy {
            org,
            context,
            grants,
            caps,
            hidden,
            token_scopes,
            known: known
                .iter()
                .enumerate()
                .map(|(i, at)| (*at, i as u32))
                .collect(),
            roles: HashMap::new(),
            tracing,
        }
    }

    /// The sets for the scope at the end of `chain` (root first), and
    /// whether it is hidden.
    fn scope_sets(
        &mut self,
        chain: &[Option<usize>],
        trace: &mut NodeProvenance,
    ) -> (ScopeSets, bool) {
        let catalog = &self.org.manifest.catalog;
        let width = catalog.len();
        let mut granted = Bits::empty(width);
        let mut owned = Bits::empty(width);
        let mut decisive = 0;
        if self.context.active && self.context.superuser {
            granted = Bits::full(width);
        } else if self.context.active {
            // `grant` needs `&mut self` (role indices) while the grants are
            // read: take them out for the loop and put them back after.
            let grants = std::mem::take(&mut self.grants);
            for (subject, scopes) in &grants {
                let Some((depth, indices)) = chain
                    .iter()
                    .enumerate()
                    .rev()
                    .find_map(|(depth, scope)| scopes.get(scope).map(|found| (depth, found)))
                else {
                    continue;
                };
                decisive = decisive.max(depth);
                for at in indices {
                    self.grant(
                        *at,
                        subject,
                        chain.get(depth).copied().flatten(),
                        &mut granted,
                        &mut owned,
                        trace,
                    );
                }
            }
            self.grants = grants;
            for cap in &self.caps {
                if chain.contains(&cap.scope) {
                    granted.intersect_with(&cap.allow);
                    owned.intersect_with(&cap.allow);
                    if self.tracing {
                        trace.caps.push(CapUse {
                            id: cap.id.clone(),
                            scope: cap.scope.and_then(|at| self.known.get(&at).copied()),
                            allow: cap.allow.clone(),
                        });
                    }
                }
            }
        }
        if let Some(scopes) = self.token_scopes {
            granted.intersect_with(scopes);
            owned.intersect_with(scopes);
        }
        owned.union_with(&granted);
        let hidden = chain.iter().flatten().any(|at| self.hidden.contains(at));
        let sets = ScopeSets {
            plain: catalog.close(&granted),
            owned: catalog.close(&owned),
            decisive: chain
                .get(decisive)
                .copied()
                .flatten()
                .and_then(|at| self.known.get(&at).copied()),
        };
        (sets, hidden)
    }

    /// Adds one assignment's role to the plain or owner-only set.
    fn grant(
        &mut self,
        at: usize,
        subject: &Subject,
        scope: Option<usize>,
        granted: &mut Bits,
        owned: &mut Bits,
        trace: &mut NodeProvenance,
    ) {
        let Some(assignment) = self.org.facts.assignments.get(at) else {
            return;
        };
        let Some(role) = self.org.roles.get(assignment.role.as_str()) else {
            return;
        };
        if assignment.owner_only {
            owned.union_with(&role.permissions);
        } else {
            granted.union_with(&role.permissions);
        }
        if !self.tracing {
            return;
        }
        let next = self.roles.len() as u32;
        let role_index = *self.roles.entry(assignment.role.as_str()).or_insert(next);
        trace.grants.push(GrantUse {
            subject: subject.to_string(),
            scope: scope.and_then(|at| self.known.get(&at).copied()),
            role: role_index,
            owner_only: assignment.owner_only,
        });
    }

    /// Names of roles held at the org root through any subject (plain only).
    fn root_roles(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .grants
            .values()
            .filter_map(|scopes| scopes.get(&None))
            .flatten()
            .filter_map(|at| self.org.facts.assignments.get(*at))
            .filter(|assignment| !assignment.owner_only)
            .filter_map(|assignment| self.org.roles.get(assignment.role.as_str()))
            .map(|role| role.name.to_owned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn provenance_roles(&self) -> Vec<ProvenanceRole> {
        let width = self.org.manifest.catalog.len();
        let mut roles = vec![
            ProvenanceRole {
                name: String::new(),
                permissions: Bits::empty(width),
            };
            self.roles.len()
        ];
        for (id, at) in &self.roles {
            if let (Some(slot), Some(role)) = (roles.get_mut(*at as usize), self.org.roles.get(id))
            {
                slot.name = role.name.to_owned();
                slot.permissions = role.permissions.clone();
            }
        }
        roles
    }
}

/// Kiosk mode's virtual cap: every key whose action is `read`.
fn read_keys(org: &Org<'_>) -> Bits {
    let catalog = &org.manifest.catalog;
    let mut bits = Bits::empty(catalog.len());
    for index in 0..catalog.len() {
        if catalog.key(index).ends_with(":read") {
            bits.insert(index);
        }
    }
    bits
}
