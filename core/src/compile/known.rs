//! Which registered nodes a snapshot knows (docs/snapshots.md §3): the nodes carrying
//! policy that applies to the principal, their ancestors, and everything
//! registered below them; for a subtree snapshot, only what lies in the
//! covered region, plus the subtree roots' chains.

use super::groups::Context;
use super::org::Org;

/// Known nodes as org node indices, parents before children.
pub(super) fn known_nodes(
    org: &Org<'_>,
    context: &Context<'_>,
    under: Option<&[usize]>,
) -> Vec<usize> {
    let count = org.nodes.len();
    let mut known = vec![false; count];
    let mut scratch = Vec::new();
    if context.active && !context.superuser {
        let mut expanded = vec![false; count];
        for at in relevant_nodes(org, context) {
            mark_with_ancestors(org, at, &mut known);
            mark_descendants(org, at, &mut known, &mut expanded, &mut scratch);
        }
    }
    if let Some(under) = under {
        let mut region = vec![false; count];
        let mut expanded = vec![false; count];
        for at in under {
            mark_with_ancestors(org, *at, &mut region);
            mark_descendants(org, *at, &mut region, &mut expanded, &mut scratch);
        }
        for (slot, inside) in known.iter_mut().zip(&region) {
            *slot &= *inside;
        }
        for at in under {
            mark_with_ancestors(org, *at, &mut known);
        }
    }
    let mut ordered = Vec::new();
    let mut roots: Vec<usize> = (0..count)
        .filter(|at| org.nodes.get(*at).is_some_and(|node| node.parent.is_none()))
        .collect();
    roots.sort_by_key(|at| org.nodes.get(*at).map(|node| node.key));
    let mut stack: Vec<usize> = roots.into_iter().rev().collect();
    while let Some(at) = stack.pop() {
        if !known.get(at).copied().unwrap_or(false) {
            continue;
        }
        ordered.push(at);
        if let Some(node) = org.nodes.get(at) {
            stack.extend(node.children.iter().rev());
        }
    }
    ordered
}

/// Nodes that carry an assignment, hidden entry or cap applying to P.
fn relevant_nodes(org: &Org<'_>, context: &Context<'_>) -> Vec<usize> {
    let facts = org.facts;
    let assignments = org
        .assignments
        .iter()
        .filter(|a| context.has_subject(&a.subject))
        .filter_map(|a| a.scope.as_ref());
    let hidden = facts
        .hidden
        .iter()
        .filter(|h| context.selected_by(&h.selector))
        .map(|h| &h.node);
    let caps = facts
        .caps
        .iter()
        .filter(|c| context.selected_by(&c.selector))
        .filter_map(|c| c.scope.as_ref());
    assignments
        .chain(hidden)
        .chain(caps)
        .filter_map(|key| org.node(key))
        .collect()
}

fn mark_with_ancestors(org: &Org<'_>, at: usize, marks: &mut [bool]) {
    for node in std::iter::once(at).chain(org.ancestors(at)) {
        if let Some(slot) = marks.get_mut(node) {
            *slot = true;
        }
    }
}

/// Marks a node and its subtree; `expanded` skips subtrees already marked.
/// `stack` is scratch space (left empty).
fn mark_descendants(
    org: &Org<'_>,
    at: usize,
    marks: &mut [bool],
    expanded: &mut [bool],
    stack: &mut Vec<usize>,
) {
    stack.push(at);
    while let Some(node) = stack.pop() {
        match expanded.get_mut(node) {
            Some(done) if !*done => *done = true,
            _ => continue,
        }
        if let Some(slot) = marks.get_mut(node) {
            *slot = true;
        }
        if let Some(node) = org.nodes.get(node) {
            stack.extend(node.children.iter().copied());
        }
    }
}
