//! `check`, `effective` and `can_anywhere`: docs/decisions.md §2 steps 1–12 on the
//! precompiled sets (steps 8–11 happened when the snapshot was compiled).

use super::path::{Resolved, Walk, path_text_segments, segments};
use super::{CheckRequest, Decision, Diagnostic, Snapshot};
use crate::model::Permission;
use crate::snapshot::ScopeSets;

/// Where the rules before the grants left a path.
pub(crate) enum Reached<'a> {
    /// A rule before step 8 decided.
    Decided(Decision),
    /// Step 6: this known node of the path is hidden (`not_found`).
    Hidden(u32),
    /// The sets that decide, and the path walk that found them.
    Sets(&'a ScopeSets, Walk),
}

impl Snapshot {
    /// `check(permission, path, owner?)`. Never allocates.
    pub fn check<S: AsRef<str>>(
        &self,
        permission: &str,
        path: &[S],
        owner: Option<&str>,
    ) -> Decision {
        self.decide_key(permission, segments(path), owner)
    }

    /// Whether the path is hidden from the principal (step 6): what `check`
    /// answers `not_found` for, whatever the permission. A superuser is
    /// never hidden from; an invalid path, or one outside a subtree
    /// snapshot, is denied before step 6 and so is not "hidden". The host's
    /// escalation rules ask this ("may the actor see this node?").
    pub fn hides<S: AsRef<str>>(&self, path: &[S]) -> bool {
        matches!(self.reach(segments(path)), Reached::Hidden(_))
    }

    /// `check` with the path in its text form (`site:1,rack:3`), so a
    /// binding passes one string instead of an array.
    pub fn check_text(&self, permission: &str, path: &str, owner: Option<&str>) -> Decision {
        self.decide_key(permission, path_text_segments(path), owner)
    }

    /// Steps 1 and 2 for a key, then the rest.
    fn decide_key<'p>(
        &self,
        permission: &str,
        path: impl IntoIterator<Item = &'p str>,
        owner: Option<&str>,
    ) -> Decision {
        match self.permission(permission) {
            Some(permission) => self.decide(permission, path, owner),
            None if !self.payload.header.principal.active => Decision::DENY,
            None => Decision::deny(Diagnostic::UnknownPermission),
        }
    }

    /// [`Snapshot::check_text`] with a permission handle.
    pub fn check_permission_text(
        &self,
        permission: Permission,
        path: &str,
        owner: Option<&str>,
    ) -> Decision {
        self.decide(permission, path_text_segments(path), owner)
    }

    /// `check` with a permission handle resolved by [`Snapshot::permission`].
    pub fn check_permission<S: AsRef<str>>(
        &self,
        permission: Permission,
        path: &[S],
        owner: Option<&str>,
    ) -> Decision {
        self.decide(permission, segments(path), owner)
    }

    fn decide<'p>(
        &self,
        permission: Permission,
        path: impl IntoIterator<Item = &'p str>,
        owner: Option<&str>,
    ) -> Decision {
        if !self.payload.header.principal.active {
            return Decision::DENY;
        }
        if !self.catalog.owns(permission) {
            return Decision::deny(Diagnostic::UnknownPermission);
        }
        match self.reach(path) {
            Reached::Decided(decision) => decision,
            Reached::Hidden(_) => Decision::NOT_FOUND,
            Reached::Sets(sets, _) => {
                if self.allows(sets, permission.index(), owner) {
                    Decision::ALLOW
                } else {
                    Decision::DENY
                }
            }
        }
    }

    /// Steps 1 and 3–7 for a path.
    pub(crate) fn reach<'p>(&self, path: impl IntoIterator<Item = &'p str>) -> Reached<'_> {
        let principal = &self.payload.header.principal;
        if !principal.active {
            return Reached::Decided(Decision::DENY);
        }
        let walk = match self.resolve(path) {
            Resolved::Invalid => return Reached::Decided(Decision::deny(Diagnostic::InvalidPath)),
            Resolved::Outside => {
                return Reached::Decided(Decision::deny(Diagnostic::OutsideSnapshot));
            }
            Resolved::Path(walk) => walk,
        };
        if principal.superuser {
            return Reached::Sets(&self.payload.root, walk);
        }
        if let Some(hidden) = walk.hidden {
            return Reached::Hidden(hidden);
        }
        if walk.inconsistent {
            return Reached::Decided(Decision::deny(Diagnostic::InvalidPath));
        }
        Reached::Sets(self.sets(walk.deepest), walk)
    }

    /// Step 12.
    pub(crate) fn allows(&self, sets: &ScopeSets, index: usize, owner: Option<&str>) -> bool {
        sets.plain.contains(index) || (self.owns(owner) && sets.owned.contains(index))
    }

    /// Whether `owner` is the principal (anonymous owns nothing).
    pub(crate) fn owns(&self, owner: Option<&str>) -> bool {
        let principal = &self.payload.header.principal;
        !principal.anonymous && owner == Some(principal.id.as_str())
    }

    /// Answers a batch of checks, in order.
    pub fn check_many(&self, checks: &[CheckRequest]) -> Vec<Decision> {
        checks
            .iter()
            .map(|request| self.check(&request.permission, &request.path, request.owner.as_deref()))
            .collect()
    }

    /// The keys `check` would allow at `path`, in catalog order. Without an
    /// owner, owner-only keys are excluded; hidden or invalid paths give none.
    pub fn effective<S: AsRef<str>>(&self, path: &[S], owner: Option<&str>) -> Vec<String> {
        match self.reach(segments(path)) {
            Reached::Decided(_) | Reached::Hidden(_) => Vec::new(),
            Reached::Sets(sets, _) => (0..self.catalog.len())
                .filter(|index| self.allows(sets, *index, owner))
                .map(|index| self.catalog.key(index).to_owned())
                .collect(),
        }
    }

    /// Whether `check` (without an owner) allows `permission` at the root or
    /// at some covered, visible node the snapshot knows.
    pub fn can_anywhere(&self, permission: &str) -> bool {
        self.permission(permission)
            .is_some_and(|permission| self.can_anywhere_permission(permission))
    }

    /// `can_anywhere` with a permission handle; a handle resolved against
    /// another catalog is unknown here, so nothing allows it.
    pub fn can_anywhere_permission(&self, permission: Permission) -> bool {
        self.catalog.owns(permission) && self.anywhere.contains(permission.index())
    }
}
