//! Filter plans (docs/decisions.md §2): the allowed region of one permission as a root
//! default plus rules on known nodes, so a list can be filtered in memory
//! or turned into a SQL `WHERE` over the app's own columns.

use serde::{Deserialize, Serialize};

use super::Snapshot;
use super::path::{Resolved, path_text_segments, segments};
use super::snapshot::Coverage;
use crate::model::{HashIndex, NodeKey, hash_key};
use crate::snapshot::ScopeSets;

/// What a plan says about the things at and below a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Allowed.
    Allow,
    /// Allowed when the thing's owner is the principal.
    OwnerOnly,
    /// Not allowed.
    Deny,
    /// Hidden: excluded wherever it appears on a path.
    Hidden,
}

/// A rule on one known node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRule {
    /// The node.
    pub node: NodeKey,
    /// The rule.
    pub rule: Rule,
    /// The rule holds for the node itself only, not below it (an ancestor
    /// of a subtree root in a subtree snapshot).
    pub exact: bool,
}

/// The allowed region of one permission for one principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterPlan {
    /// The permission key.
    pub permission: String,
    /// The principal `owner_only` rules compare owners with (null: anonymous).
    pub principal: Option<String>,
    /// The rule for the org itself (the empty path).
    pub org: Rule,
    /// The rule for things with no listed node on their path.
    pub default: Rule,
    /// Rules on known nodes, parents before children.
    pub rules: Vec<PlanRule>,
}

/// An in-memory item to filter: its path and owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterItem {
    /// An id the caller knows the item by.
    pub id: String,
    /// The item's path, `type:id` from the top.
    pub path: Vec<String>,
    /// The item's owner, if any.
    #[serde(default)]
    pub owner: Option<String>,
}

/// A plan with its rules indexed by node, for evaluating many items.
#[derive(Debug)]
pub struct PlanMatcher<'a> {
    plan: &'a FilterPlan,
    /// Each rule's node as `type:id`, parallel to `plan.rules`.
    keys: Vec<String>,
    /// Rules by `type:id`.
    index: HashIndex,
}

impl FilterPlan {
    /// Indexes the rules once.
    pub fn matcher(&self) -> PlanMatcher<'_> {
        let keys: Vec<String> = self
            .rules
            .iter()
            .map(|rule| rule.node.to_string())
            .collect();
        let key_at = |at: u32| keys.get(at as usize).map_or("", String::as_str);
        // A plan lists each node once; were one listed twice, the first wins.
        let index = HashIndex::build(keys.len(), |at| hash_key(0, key_at(at)), |_, _| false)
            .unwrap_or_default();
        PlanMatcher {
            plan: self,
            keys,
            index,
        }
    }
}

impl PlanMatcher<'_> {
    /// A thing takes the rule of its deepest listed ancestor-or-self, and
    /// `hidden` anywhere on its path excludes it. The plan knows nothing of
    /// path validity: [`Snapshot::filter`] checks that first.
    pub fn allows<S: AsRef<str>>(&self, path: &[S], owner: Option<&str>) -> bool {
        self.allows_segments(segments(path), owner)
    }

    /// [`PlanMatcher::allows`] over any sequence of `type:id` segments.
    pub(crate) fn allows_segments<'p>(
        &self,
        path: impl IntoIterator<Item = &'p str>,
        owner: Option<&str>,
    ) -> bool {
        let plan = self.plan;
        let mut segments = path.into_iter().peekable();
        let mut rule = if segments.peek().is_none() {
            plan.org
        } else {
            plan.default
        };
        while let Some(segment) = segments.next() {
            let last = segments.peek().is_none();
            let found = self
                .index
                .find(hash_key(0, segment), |at| {
                    self.keys.get(at as usize).is_some_and(|key| key == segment)
                })
                .and_then(|at| plan.rules.get(at as usize));
            if let Some(found) = found {
                if found.rule == Rule::Hidden {
                    return false;
                }
                if !found.exact || last {
                    rule = found.rule;
                }
            }
        }
        match rule {
            Rule::Allow => true,
            Rule::OwnerOnly => owner.is_some() && owner == plan.principal.as_deref(),
            Rule::Deny | Rule::Hidden => false,
        }
    }
}

impl Snapshot {
    /// The filter plan of `permission`. An unknown permission or inactive
    /// principal gets the empty region (filter, don't reject).
    pub fn filter_plan(&self, permission: &str) -> FilterPlan {
        let principal = &self.payload.header.principal;
        let mut plan = FilterPlan {
            permission: permission.to_owned(),
            principal: (!principal.anonymous).then(|| principal.id.clone()),
            org: Rule::Deny,
            default: Rule::Deny,
            rules: Vec::new(),
        };
        let Some(index) = self.permission(permission).map(|p| p.index()) else {
            return plan;
        };
        if !principal.active {
            return plan;
        }
        let root = self.rule_at(&self.payload.root, false, index);
        plan.org = root;
        plan.default = if self.is_subtree() { Rule::Deny } else { root };
        // The rule each node passes down, so children list only changes.
        let mut inherited: Vec<Rule> = Vec::with_capacity(self.payload.nodes.len());
        for (at, node) in self.payload.nodes.iter().enumerate() {
            let hidden = node.hidden && !principal.superuser;
            let rule = self.rule_at(self.sets(Some(at as u32)), hidden, index);
            let coverage = self.coverage.get(at).copied();
            let above = node
                .parent
                .and_then(|parent| inherited.get(parent as usize).copied())
                .unwrap_or(plan.default);
            let exact = coverage == Some(Coverage::Ancestor) && !hidden;
            let listed = hidden
                || exact
                || coverage == Some(Coverage::SubtreeRoot) && self.is_subtree()
                || rule != above;
            if listed && let Some(key) = self.node_key(at as u32) {
                plan.rules.push(PlanRule {
                    node: key,
                    rule,
                    exact,
                });
            }
            inherited.push(if exact { plan.default } else { rule });
        }
        plan
    }

    fn rule_at(&self, sets: &ScopeSets, hidden: bool, index: usize) -> Rule {
        let principal = &self.payload.header.principal;
        if hidden {
            Rule::Hidden
        } else if sets.plain.contains(index) {
            Rule::Allow
        } else if sets.owned.contains(index) && !principal.anonymous {
            Rule::OwnerOnly
        } else {
            Rule::Deny
        }
    }

    /// The items `check(permission, item.path, item.owner)` allows, in input
    /// order: invalid or uncovered paths are dropped, then the plan decides.
    pub fn filter<'a>(&self, permission: &str, items: &'a [FilterItem]) -> Vec<&'a FilterItem> {
        let plan = self.filter_plan(permission);
        let matcher = plan.matcher();
        items
            .iter()
            .filter(|item| self.keeps(&matcher, segments(&item.path), item.owner.as_deref()))
            .collect()
    }

    /// `filter` for bindings: paths in text form (`site:1,rack:3`), owners
    /// parallel to them; returns the positions kept, in order.
    pub fn filter_texts<P: AsRef<str>>(
        &self,
        permission: &str,
        paths: &[P],
        owners: &[Option<String>],
    ) -> Vec<u32> {
        let plan = self.filter_plan(permission);
        let matcher = plan.matcher();
        (0..paths.len())
            .filter(|at| {
                let path = paths.get(*at).map_or("", |path| path.as_ref());
                let owner = owners.get(*at).and_then(Option::as_deref);
                self.keeps(&matcher, path_text_segments(path), owner)
            })
            .map(|at| at as u32)
            .collect()
    }

    /// A valid, covered path (step 7 for non-superusers too) that the plan allows.
    fn keeps<'p>(
        &self,
        matcher: &PlanMatcher<'_>,
        path: impl IntoIterator<Item = &'p str> + Clone,
        owner: Option<&str>,
    ) -> bool {
        let valid = match self.resolve(path.clone()) {
            Resolved::Path(walk) => self.payload.header.principal.superuser || !walk.inconsistent,
            Resolved::Invalid | Resolved::Outside => false,
        };
        valid && matcher.allows_segments(path, owner)
    }
}
