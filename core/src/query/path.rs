//! Path resolution against a snapshot: docs/decisions.md §2 steps 3, 4, 6 and 7 in one
//! pass, without allocating.

use super::Snapshot;
use super::snapshot::Coverage;
use crate::model::is_valid_node_id;

/// What a path turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// Step 3: malformed or not type-valid.
    Invalid,
    /// Step 4: not covered by a subtree snapshot.
    Outside,
    /// A valid, covered path.
    Path(Walk),
}

/// The facts about a valid, covered path that the later steps need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Walk {
    /// Step 6: the first known node of the path that is hidden.
    pub(crate) hidden: Option<u32>,
    /// Step 7: a known node whose known parent is not the previous node.
    pub(crate) inconsistent: bool,
    /// The deepest known node of the consistent prefix (`None`: root).
    pub(crate) deepest: Option<u32>,
}

impl Snapshot {
    pub(crate) fn resolve<'p>(&self, path: impl IntoIterator<Item = &'p str>) -> Resolved {
        // The previous node: `Some(None)` is the root, `None` an unknown node.
        let mut previous: Option<Option<u32>> = Some(None);
        let mut previous_ty = None;
        let mut walk = Walk {
            hidden: None,
            inconsistent: false,
            deepest: None,
        };
        let mut has_root = false;
        let mut chain_prefix = true;
        let mut empty = true;
        for segment in path {
            empty = false;
            // A known node's `type:id` is valid by construction
            // (`Snapshot::new` checks), so one hash lookup of the whole
            // segment replaces parsing it; only unknown nodes are parsed.
            let known = self.find_node(segment);
            let ty = match known.and_then(|at| self.node(at)) {
                Some(node) => node.ty,
                None => {
                    let Some((ty, id)) = segment.split_once(':') else {
                        return Resolved::Invalid;
                    };
                    match self.types.index(ty) {
                        Some(ty) if is_valid_node_id(id) => ty,
                        _ => return Resolved::Invalid,
                    }
                }
            };
            if !self.types.allows(previous_ty, ty) {
                return Resolved::Invalid;
            }
            previous_ty = Some(ty);
            let Some(at) = known else {
                previous = None;
                chain_prefix = false;
                continue;
            };
            let node = self.node(at);
            let consistent = previous == Some(node.and_then(|n| n.parent));
            if node.is_some_and(|n| n.hidden) && walk.hidden.is_none() {
                walk.hidden = Some(at);
            }
            let coverage = self.coverage.get(at as usize).copied();
            has_root |= coverage == Some(Coverage::SubtreeRoot);
            chain_prefix &= consistent && coverage != Some(Coverage::Inside);
            if consistent && !walk.inconsistent {
                walk.deepest = Some(at);
            } else {
                walk.inconsistent = true;
            }
            previous = Some(Some(at));
        }
        let covered = !self.is_subtree() || empty || has_root || chain_prefix;
        if covered {
            Resolved::Path(walk)
        } else {
            Resolved::Outside
        }
    }
}

/// A path given as a slice of `type:id` strings.
pub(crate) fn segments<S: AsRef<str>>(path: &[S]) -> impl Iterator<Item = &str> + Clone {
    path.iter().map(AsRef::as_ref)
}

/// A path in its text form: `type:id` segments joined by `,` (the form of
/// the host's `?path=` parameter and of the JS bindings' fast path); the
/// empty string is the org root.
pub fn path_text_segments(text: &str) -> impl Iterator<Item = &str> + Clone {
    text.split(',').filter(move |_| !text.is_empty())
}
