//! docs/decisions.md §2 steps 8–11 for the root and every known node: same-subject
//! narrowing, caps (kiosk included), token scopes, requires closure, and
//! the hidden cascade.
//!
//! A node's sets depend only on the policy on its chain (the root, its
//! ancestors, itself), and a compile visits thousands of nodes, so the
//! applicable policy is indexed once: assignments grouped by (scope,
//! subject) with their roles' union as 64-bit words, caps and hidden
//! entries by node index. A node then costs one visit per group on its
//! chain, and a node with no assignment or cap of its own has exactly its
//! parent's sets, so it copies them (known nodes come parents first).

use std::ops::Range;

use super::groups::Context;
use super::org::{HashMap, Org};
use crate::model::{Bits, Subject};
use crate::snapshot::{
    AssignmentUse, CapUse, KnownNode, NodeProvenance, Provenance, ProvenanceRole, ScopeSets,
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
    /// `allow` as words.
    mask: Vec<u64>,
}

/// The applicable assignments of one subject at one scope.
struct Bucket {
    /// Index into `Grants::subjects`.
    subject: usize,
    /// Its assignments, in facts order, as a range of `Grants::order`.
    assignments: Range<usize>,
}

/// The assignments that apply to the principal, grouped by scope and
/// subject, with their roles' unions precomputed.
#[derive(Default)]
struct Grants<'a> {
    /// The subjects of the applicable assignments, in `Subject` order (the
    /// order provenance lists grants in).
    subjects: Vec<&'a Subject>,
    /// Indices into the org's assignments, grouped by bucket.
    order: Vec<usize>,
    /// Buckets by scope slot (0: the root, `n + 1`: org node `n`), then by
    /// subject.
    buckets: Vec<Bucket>,
    /// Slot `s`'s buckets are `buckets[slots[s]..slots[s + 1]]`.
    // INVARIANT: empty (no assignment applies) or `org.nodes.len() + 2`
    // non-decreasing entries from 0 to `buckets.len()`; the root's buckets
    // therefore come first, and a root bucket's index is also its position
    // among the root's.
    slots: Vec<usize>,
    /// Per bucket, `2 * words` words: the union of its plain assignments'
    /// roles, then of its owner-only assignments' roles.
    masks: Vec<u64>,
    /// The root's buckets' masks as a sparse table (see [`sparse_table`]):
    /// the root's contribution minus a few shadowed subjects then costs a
    /// few unions instead of one per root bucket.
    root_table: Vec<Vec<u64>>,
    /// Subject → its bucket at the root, if any.
    root_bucket: Vec<Option<usize>>,
}

/// Everything `scope_sets` reads, built once.
struct Policy<'o, 'a> {
    org: &'o Org<'a>,
    context: &'o Context<'a>,
    grants: Grants<'a>,
    /// Words per set: the catalog width over 64, rounded up.
    words: usize,
    /// Catalog indices that require others, with what they require.
    requiring: Vec<(usize, Vec<usize>)>,
    caps: Vec<Cap>,
    /// Org node index → an applicable cap is scoped there.
    capped: Vec<bool>,
    /// Org node index → hidden by an applicable entry.
    hidden: Vec<bool>,
    /// The token scopes as words.
    token_mask: Option<Vec<u64>>,
    /// Org node index → known node index.
    known: Vec<Option<u32>>,
    /// Role id → provenance role index, filled as roles are used.
    roles: HashMap<&'a str, u32>,
    /// Whether to record provenance (opt-in: it is the bulkiest part).
    tracing: bool,
    /// Scratch for `grant`, all false between calls: subject → matched at
    /// a deeper scope of the chain.
    matched: Vec<bool>,
    /// Scratch for `grant`: (subject, bucket, depth) of the matches.
    found: Vec<(usize, usize, usize)>,
    /// Scratch for `grant`: root buckets shadowed by deeper ones.
    shadowed: Vec<usize>,
    /// Scratch for `scope_sets`: plain words, then owner-only words.
    sets: Vec<u64>,
}

pub(super) fn compile_sets(
    org: &Org<'_>,
    context: &Context<'_>,
    known: &[usize],
    token_scopes: Option<&Bits>,
    provenance: bool,
) -> Compiled {
    let mut policy = Policy::new(org, context, known, token_scopes, provenance);
    let mut root_provenance = empty_provenance();
    let root = policy.scope_sets(&[None], &mut root_provenance).0;
    let mut nodes: Vec<KnownNode> = Vec::with_capacity(known.len());
    // Parallel to `nodes` when tracing, else empty.
    let mut node_provenance: Vec<NodeProvenance> = Vec::new();
    if provenance {
        node_provenance.reserve(known.len());
    }
    let empty = empty_provenance();
    let mut chain: Vec<Option<usize>> = Vec::new();
    for at in known {
        let node = org.nodes.get(*at);
        let parent = node.and_then(|node| node.parent);
        let parent_known = parent.and_then(|p| policy.known_index(p));
        // Same chain policy as the parent's, plus nothing: same sets, same
        // provenance; hidden if the parent is or the node itself is.
        let inherited = if policy.has_own_policy(*at) {
            None
        } else if parent.is_none() {
            Some((&root, false, &root_provenance))
        } else {
            parent_known.and_then(|k| {
                let parent = nodes.get(k as usize)?;
                let trace = if provenance {
                    node_provenance.get(k as usize)?
                } else {
                    &empty
                };
                Some((&parent.sets, parent.hidden, trace))
            })
        };
        let (sets, hidden, trace) = match inherited {
            Some((sets, hidden, trace)) => {
                (sets.clone(), hidden || policy.hides(*at), trace.clone())
            }
            None => {
                chain.clear();
                chain.extend(org.ancestors(*at).map(Some));
                chain.push(None);
                chain.reverse();
                chain.push(Some(*at));
                let mut trace = empty_provenance();
                let (sets, hidden) = policy.scope_sets(&chain, &mut trace);
                (sets, hidden, trace)
            }
        };
        nodes.push(KnownNode {
            ty: node.map_or(0, |node| node.ty),
            id: node.map_or_else(String::new, |node| node.key.id.clone()),
            parent: parent_known,
            hidden,
            sets,
        });
        if provenance {
            node_provenance.push(trace);
        }
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

fn empty_provenance() -> NodeProvenance {
    NodeProvenance {
        assignments: Vec::new(),
        caps: Vec::new(),
    }
}

/// `target |= source`, word by word.
fn union_words(target: &mut [u64], source: &[u64]) {
    for (word, theirs) in target.iter_mut().zip(source) {
        *word |= theirs;
    }
}

/// `target &= source`, word by word.
fn intersect_words(target: &mut [u64], source: &[u64]) {
    for (word, theirs) in target.iter_mut().zip(source) {
        *word &= theirs;
    }
}

impl<'a> Grants<'a> {
    /// Groups the applicable assignments (`words` per half mask).
    fn new(org: &Org<'a>, context: &Context<'a>, words: usize) -> Self {
        // (slot, subject, assignment) for every applicable assignment;
        // subjects numbered as met, then renumbered in `Subject` order.
        let mut numbers: HashMap<&'a Subject, usize> = HashMap::with_hasher(org.hasher);
        let mut applicable: Vec<(usize, usize, usize)> = Vec::new();
        for (at, assignment) in org.assignments.iter().enumerate() {
            if context.has_subject(&assignment.subject) {
                let slot = assignment
                    .scope
                    .as_ref()
                    .and_then(|key| org.node(key))
                    .map_or(0, |node| node + 1);
                let next = numbers.len();
                let number = *numbers.entry(&assignment.subject).or_insert(next);
                applicable.push((slot, number, at));
            }
        }
        let mut subjects: Vec<&'a Subject> = numbers.keys().copied().collect();
        subjects.sort_unstable();
        let mut rank = vec![0; subjects.len()];
        for (position, subject) in subjects.iter().enumerate() {
            if let Some(slot) = numbers.get(subject).and_then(|n| rank.get_mut(*n)) {
                *slot = position;
            }
        }
        for row in &mut applicable {
            row.1 = rank.get(row.1).copied().unwrap_or_default();
        }
        // Slot, then subject, then facts order.
        applicable.sort_unstable();
        let mut grants = Grants {
            subjects,
            slots: vec![0; org.nodes.len() + 2],
            ..Grants::default()
        };
        let mut role_mask = vec![0; words];
        let mut current = None;
        for (slot, subject, at) in applicable {
            if current != Some((slot, subject)) {
                current = Some((slot, subject));
                if let Some(count) = grants.slots.get_mut(slot + 1) {
                    *count += 1;
                }
                let start = grants.order.len();
                grants.buckets.push(Bucket {
                    subject,
                    assignments: start..start,
                });
                grants.masks.resize(grants.masks.len() + 2 * words, 0);
            }
            grants.order.push(at);
            if let Some(bucket) = grants.buckets.last_mut() {
                bucket.assignments.end = grants.order.len();
            }
            let assignment = org.assignments.get(at).copied();
            let role = assignment.and_then(|a| org.roles.get(a.role.as_str()));
            if let (Some(assignment), Some(role)) = (assignment, role) {
                role.permissions.write_words(&mut role_mask);
                let back = if assignment.owner_only {
                    words
                } else {
                    2 * words
                };
                let half = grants.masks.len() - back;
                if let Some(target) = grants.masks.get_mut(half..half + words) {
                    union_words(target, &role_mask);
                }
            }
        }
        // Bucket counts per slot → where each slot starts.
        let mut total = 0;
        for start in &mut grants.slots {
            total += *start;
            *start = total;
        }
        let root = grants.range(None);
        grants.root_bucket = vec![None; grants.subjects.len()];
        for index in root.clone() {
            if let Some(slot) = grants
                .buckets
                .get(index)
                .and_then(|bucket| grants.root_bucket.get_mut(bucket.subject))
            {
                *slot = Some(index);
            }
        }
        let root_masks = grants
            .masks
            .get(2 * words * root.start..2 * words * root.end);
        grants.root_table = sparse_table(root_masks.unwrap_or_default(), 2 * words);
        grants
    }

    /// The indices of the buckets at a scope (`None`: the root).
    fn range(&self, scope: Option<usize>) -> Range<usize> {
        let slot = scope.map_or(0, |at| at + 1);
        match (self.slots.get(slot), self.slots.get(slot + 1)) {
            (Some(start), Some(end)) => *start..*end,
            _ => 0..0,
        }
    }

    /// A bucket's masks: plain words, then owner-only words.
    fn mask(&self, index: usize, words: usize) -> &[u64] {
        self.masks
            .get(2 * words * index..2 * words * (index + 1))
            .unwrap_or_default()
    }

    /// Unions the masks of the root buckets `range` (not empty) into
    /// `sets`: two overlapping power-of-two runs from the table.
    fn union_root(&self, range: Range<usize>, sets: &mut [u64]) {
        let stride = sets.len();
        let level = range.len().ilog2();
        let span = 1 << level;
        if let Some(table) = self.root_table.get(level as usize) {
            for start in [range.start, range.end - span] {
                if let Some(mask) = table.get(stride * start..stride * (start + 1)) {
                    union_words(sets, mask);
                }
            }
        }
    }
}

/// A sparse table over `items` (`stride` words each): level `k` holds, for
/// each start `i`, the union of items `i..i + 2^k`. Union is idempotent,
/// so any run of items is the union of two overlapping entries of one level.
fn sparse_table(items: &[u64], stride: usize) -> Vec<Vec<u64>> {
    let count = items.len().checked_div(stride).unwrap_or(0);
    let mut table = vec![items.to_vec()];
    let mut span = 1;
    while 2 * span <= count {
        let below = table.last().map(Vec::as_slice).unwrap_or_default();
        let level: Vec<u64> = (0..(count + 1 - 2 * span) * stride)
            .map(|at| {
                let left = below.get(at).copied().unwrap_or(0);
                let right = below.get(at + span * stride).copied().unwrap_or(0);
                left | right
            })
            .collect();
        table.push(level);
        span *= 2;
    }
    table
}

impl<'o, 'a> Policy<'o, 'a> {
    fn new(
        org: &'o Org<'a>,
        context: &'o Context<'a>,
        known: &[usize],
        token_scopes: Option<&Bits>,
        tracing: bool,
    ) -> Self {
        let facts = org.facts;
        let count = org.nodes.len();
        let words = org.manifest.catalog.len().div_ceil(64);
        let as_words = |bits: &Bits| {
            let mut mask = vec![0; words];
            bits.write_words(&mut mask);
            mask
        };
        let mut grants = Grants::default();
        let mut caps = Vec::new();
        let mut capped = vec![false; count];
        let mut hidden = vec![false; count];
        // Superusers' grants still count for `roles.*` claims; selectors
        // never select them, so their caps and hidden entries stay empty.
        if context.active {
            grants = Grants::new(org, context, words);
            for (at, cap) in facts.caps.iter().enumerate() {
                if context.selected_by(&cap.selector) {
                    let allow = org
                        .manifest
                        .catalog
                        .bits_of_known(cap.allow.iter().map(String::as_str));
                    let scope = cap.scope.as_ref().and_then(|key| org.node(key));
                    if let Some(flag) = scope.and_then(|node| capped.get_mut(node)) {
                        *flag = true;
                    }
                    caps.push(Cap {
                        id: cap.id.clone().unwrap_or_else(|| format!("cap-{at}")),
                        scope,
                        mask: as_words(&allow),
                        allow,
                    });
                }
            }
            if facts.kiosk && context.anonymous {
                let allow = org.manifest.catalog.kiosk_allow();
                caps.push(Cap {
                    id: "kiosk".to_owned(),
                    scope: None,
                    mask: as_words(&allow),
                    allow,
                });
            }
            for entry in &facts.hidden {
                if context.selected_by(&entry.selector)
                    && let Some(flag) = org.node(&entry.node).and_then(|at| hidden.get_mut(at))
                {
                    *flag = true;
                }
            }
        }
        let requiring = org
            .manifest
            .catalog
            .entries()
            .iter()
            .enumerate()
            .filter(|(_, entry)| !entry.requires.is_empty())
            .map(|(index, entry)| {
                let requires = entry.requires.iter().map(|at| *at as usize).collect();
                (index, requires)
            })
            .collect();
        let mut known_index = vec![None; count];
        for (i, at) in known.iter().enumerate() {
            if let Some(slot) = known_index.get_mut(*at) {
                *slot = Some(i as u32);
            }
        }
        Policy {
            org,
            context,
            matched: vec![false; grants.subjects.len()],
            grants,
            words,
            requiring,
            caps,
            capped,
            hidden,
            token_mask: token_scopes.map(as_words),
            known: known_index,
            roles: HashMap::with_hasher(org.hasher),
            tracing,
            found: Vec::new(),
            shadowed: Vec::new(),
            sets: Vec::new(),
        }
    }

    /// The known index of an org node.
    fn known_index(&self, at: usize) -> Option<u32> {
        self.known.get(at).copied().flatten()
    }

    /// Whether an applicable entry hides the node itself.
    fn hides(&self, at: usize) -> bool {
        self.hidden.get(at).copied().unwrap_or(false)
    }

    /// Whether an applicable assignment or cap is scoped at the node: if
    /// not, its sets are its parent's.
    fn has_own_policy(&self, at: usize) -> bool {
        !self.grants.range(Some(at)).is_empty() || self.capped.get(at).copied().unwrap_or(false)
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
        let words = self.words;
        // Plain words, then owner-only words.
        let mut sets = std::mem::take(&mut self.sets);
        sets.clear();
        sets.resize(2 * words, 0);
        let mut decisive = 0;
        if self.context.active && self.context.superuser {
            Bits::full(width).write_words(sets.split_at_mut(words).0);
        } else if self.context.active {
            decisive = self.grant(chain, &mut sets, trace);
            let (granted, owned) = sets.split_at_mut(words);
            for cap in &self.caps {
                if chain.contains(&cap.scope) {
                    intersect_words(granted, &cap.mask);
                    intersect_words(owned, &cap.mask);
                    if self.tracing {
                        trace.caps.push(CapUse {
                            id: cap.id.clone(),
                            scope: cap.scope.and_then(|at| self.known_index(at)),
                            allow: cap.allow.clone(),
                        });
                    }
                }
            }
        }
        let (granted, owned) = sets.split_at_mut(words);
        if let Some(scopes) = &self.token_mask {
            intersect_words(granted, scopes);
            intersect_words(owned, scopes);
        }
        union_words(owned, granted);
        self.close_words(granted);
        self.close_words(owned);
        let hidden = chain.iter().flatten().any(|at| self.hides(*at));
        let scope = ScopeSets {
            plain: Bits::from_words(granted, width),
            owned: Bits::from_words(owned, width),
            decisive: chain
                .get(decisive)
                .copied()
                .flatten()
                .and_then(|at| self.known_index(at)),
        };
        self.sets = sets;
        (scope, hidden)
    }

    /// Step 11 on words: drops every permission whose requirements are not
    /// all present, until nothing changes (as [`crate::Catalog::close`]).
    fn close_words(&self, set: &mut [u64]) {
        let has = |set: &[u64], index: usize| {
            set.get(index / 64)
                .is_some_and(|word| word & (1 << (index % 64)) != 0)
        };
        loop {
            let mut changed = false;
            for (index, requires) in &self.requiring {
                if has(set, *index) && requires.iter().any(|required| !has(set, *required)) {
                    if let Some(word) = set.get_mut(index / 64) {
                        *word &= !(1 << (index % 64));
                    }
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// Step 8: each subject uses its assignments at the deepest scope of
    /// the chain that has any. Unions their roles into `sets` (plain words,
    /// then owner-only words) and returns the decisive depth: the deepest
    /// scope whose assignments were used.
    fn grant(
        &mut self,
        chain: &[Option<usize>],
        sets: &mut [u64],
        trace: &mut NodeProvenance,
    ) -> usize {
        let grants = &self.grants;
        let mut decisive = None;
        let mut found = std::mem::take(&mut self.found);
        // Without provenance, the root (always first) comes from its table
        // below, minus the subjects matched deeper.
        let from_table = !self.tracing && chain.first() == Some(&None);
        let deeper = chain.iter().enumerate().skip(usize::from(from_table));
        for (depth, scope) in deeper.rev() {
            for index in grants.range(*scope) {
                let Some(bucket) = grants.buckets.get(index) else {
                    continue;
                };
                match self.matched.get_mut(bucket.subject) {
                    Some(seen) if !*seen => *seen = true,
                    _ => continue,
                }
                found.push((bucket.subject, index, depth));
                decisive.get_or_insert(depth);
                union_words(sets, grants.mask(index, self.words));
            }
        }
        if from_table {
            let mut shadowed = std::mem::take(&mut self.shadowed);
            shadowed.extend(
                found.iter().filter_map(|(subject, ..)| {
                    grants.root_bucket.get(*subject).copied().flatten()
                }),
            );
            shadowed.sort_unstable();
            // The runs of root buckets between the shadowed ones.
            let mut start = 0;
            for end in shadowed.drain(..).chain([grants.range(None).len()]) {
                if start < end {
                    grants.union_root(start..end, sets);
                }
                start = end + 1;
            }
            self.shadowed = shadowed;
        }
        if self.tracing {
            // Provenance lists grants in subject order.
            found.sort_unstable();
        }
        for (subject, index, depth) in found.drain(..) {
            if let Some(seen) = self.matched.get_mut(subject) {
                *seen = false;
            }
            if self.tracing {
                self.trace_grants(index, chain.get(depth).copied().flatten(), trace);
            }
        }
        self.found = found;
        decisive.unwrap_or(0)
    }

    /// Records the assignments of one bucket, used at `scope`.
    fn trace_grants(&mut self, bucket: usize, scope: Option<usize>, trace: &mut NodeProvenance) {
        let Some(bucket) = self.grants.buckets.get(bucket) else {
            return;
        };
        let subject = self
            .grants
            .subjects
            .get(bucket.subject)
            .map(ToString::to_string)
            .unwrap_or_default();
        let scope = scope.and_then(|at| self.known_index(at));
        for at in self
            .grants
            .order
            .get(bucket.assignments.clone())
            .into_iter()
            .flatten()
        {
            let Some(assignment) = self.org.assignments.get(*at) else {
                continue;
            };
            if !self.org.roles.contains_key(assignment.role.as_str()) {
                continue;
            }
            let next = self.roles.len() as u32;
            let role = *self.roles.entry(assignment.role.as_str()).or_insert(next);
            trace.assignments.push(AssignmentUse {
                subject: subject.clone(),
                scope,
                role,
                owner_only: assignment.owner_only,
            });
        }
    }

    /// Names of roles held at the org root through any subject (plain only).
    fn root_roles(&self) -> Vec<String> {
        let grants = &self.grants;
        let mut names: Vec<String> = grants
            .buckets
            .get(grants.range(None))
            .into_iter()
            .flatten()
            .filter_map(|bucket| grants.order.get(bucket.assignments.clone()))
            .flatten()
            .filter_map(|at| self.org.assignments.get(*at))
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

#[cfg(test)]
mod test {
    #[cfg(any(feature = "testing", feature = "sign"))]
    use std::collections::BTreeMap;

    #[cfg(any(feature = "testing", feature = "sign"))]
    use super::super::known::known_nodes;
    use super::*;
    #[cfg(any(feature = "testing", feature = "sign"))]
    use crate::manifest::Manifest;

    #[test]
    fn root_runs_union_like_a_plain_loop() {
        let stride = 2;
        let items: Vec<u64> = (0..13u64).flat_map(|i| [1 << i, 1 << (i + 20)]).collect();
        let grants = Grants {
            root_table: sparse_table(&items, stride),
            ..Grants::default()
        };
        for start in 0..13 {
            for end in start + 1..=13 {
                let mut sets = vec![0; stride];
                grants.union_root(start..end, &mut sets);
                let mut expected = vec![0; stride];
                for item in items.chunks(stride).take(end).skip(start) {
                    union_words(&mut expected, item);
                }
                assert_eq!(sets, expected, "{start}..{end}");
            }
        }
    }

    /// docs/decisions.md §2 steps 8–11 at the end of `chain`, straight from the facts:
    /// (plain, owned, decisive depth, hidden).
    #[cfg(any(feature = "testing", feature = "sign"))]
    fn direct(
        org: &Org<'_>,
        context: &Context<'_>,
        chain: &[Option<usize>],
        token_scopes: Option<&Bits>,
    ) -> (Bits, Bits, usize, bool) {
        let catalog = &org.manifest.catalog;
        let facts = org.facts;
        let mut granted = Bits::empty(catalog.len());
        let mut owned = Bits::empty(catalog.len());
        let mut decisive = 0;
        let mut hidden = false;
        if context.active && context.superuser {
            granted = Bits::full(catalog.len());
        } else if context.active {
            let mut by_subject: BTreeMap<&Subject, Vec<_>> = BTreeMap::new();
            for assignment in org.assignments.iter().copied() {
                if context.has_subject(&assignment.subject) {
                    let scope = assignment.scope.as_ref().and_then(|key| org.node(key));
                    by_subject
                        .entry(&assignment.subject)
                        .or_default()
                        .push((scope, assignment));
                }
            }
            for assignments in by_subject.values() {
                let deepest = crate::deciding_scope(chain, |scope| {
                    assignments.iter().any(|(at, _)| at == scope)
                });
                let Some(depth) = deepest else { continue };
                decisive = decisive.max(depth);
                for (_, assignment) in assignments.iter().filter(|(at, _)| *at == chain[depth]) {
                    let role = &org.roles[assignment.role.as_str()];
                    if assignment.owner_only {
                        owned.union_with(&role.permissions);
                    } else {
                        granted.union_with(&role.permissions);
                    }
                }
            }
            let mut allows: Vec<Bits> = facts
                .caps
                .iter()
                .filter(|cap| context.selected_by(&cap.selector))
                .filter(|cap| chain.contains(&cap.scope.as_ref().and_then(|key| org.node(key))))
                .map(|cap| catalog.bits_of_known(cap.allow.iter().map(String::as_str)))
                .collect();
            if facts.kiosk && context.anonymous {
                allows.push(org.manifest.catalog.kiosk_allow());
            }
            for allow in &allows {
                granted.intersect_with(allow);
                owned.intersect_with(allow);
            }
            hidden = facts.hidden.iter().any(|entry| {
                context.selected_by(&entry.selector) && chain.contains(&org.node(&entry.node))
            });
        }
        if let Some(scopes) = token_scopes {
            granted.intersect_with(scopes);
            owned.intersect_with(scopes);
        }
        owned.union_with(&granted);
        (
            catalog.close(&granted),
            catalog.close(&owned),
            decisive,
            hidden,
        )
    }

    /// The grouped grants, the root table and the copying from parents
    /// give every node the sets of the direct definition.
    #[cfg(any(feature = "testing", feature = "sign"))]
    #[test]
    fn indexed_sets_agree_with_the_direct_definition() {
        let mut nodes = 0;
        for seed in 0..3_000 {
            let model = crate::testing::model_from_seed(seed);
            let manifest = Manifest::from_toml(&model.manifest_toml).unwrap();
            let org = Org::new(&manifest, &model.facts, &crate::Lent::default(), 0).unwrap();
            let principal = org.principal(&model.principal).unwrap();
            let context = Context::new(&org, &principal);
            let under: Option<Vec<usize>> = model
                .under
                .as_ref()
                .map(|keys| keys.iter().map(|key| org.node(key).unwrap()).collect());
            let known = known_nodes(&org, &context, under.as_deref());
            let token_scopes = model.token_scopes.as_ref().map(|keys| {
                manifest
                    .catalog
                    .bits_of(keys.iter().map(String::as_str))
                    .unwrap()
            });
            let compiled = compile_sets(&org, &context, &known, token_scopes.as_ref(), false);
            let known_index = |depth: usize, chain: &[Option<usize>]| {
                chain[depth].map(|at| known.iter().position(|k| *k == at).unwrap() as u32)
            };
            let (plain, owned, depth, _) = direct(&org, &context, &[None], token_scopes.as_ref());
            assert_eq!(compiled.root.plain, plain, "seed {seed}: root");
            assert_eq!(compiled.root.owned, owned, "seed {seed}: root");
            assert_eq!(compiled.root.decisive, known_index(depth, &[None]));
            for (at, node) in known.iter().zip(&compiled.nodes) {
                let mut chain: Vec<Option<usize>> = org.ancestors(*at).map(Some).collect();
                chain.push(None);
                chain.reverse();
                chain.push(Some(*at));
                let (plain, owned, depth, hidden) =
                    direct(&org, &context, &chain, token_scopes.as_ref());
                assert_eq!(node.sets.plain, plain, "seed {seed}: node {at}");
                assert_eq!(node.sets.owned, owned, "seed {seed}: node {at}");
                assert_eq!(
                    node.sets.decisive,
                    known_index(depth, &chain),
                    "seed {seed}"
                );
                assert_eq!(node.hidden, hidden, "seed {seed}: node {at}");
                nodes += 1;
            }
        }
        assert!(nodes > 5_000, "only {nodes} nodes compared");
    }
}
