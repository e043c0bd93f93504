//! `explain`: the decision of `check` plus how it came about. Explain reads
//! the same sets `check` does and never changes the decision.

use serde::{Deserialize, Serialize};

use super::check::Reached;
use super::path::segments;
use super::{Decision, Diagnostic, Effect, Snapshot};
use crate::model::Bits;
use crate::snapshot::NodeProvenance;

/// An assignment that was used at the decisive scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainAssignment {
    /// The subject, e.g. `group:techs`.
    pub subject: String,
    /// The assignment's scope (`null`: the org root).
    pub scope: Option<String>,
    /// The role name.
    pub role: String,
    /// Owner-only assignment.
    pub owner_only: bool,
    /// Whether the role contains the permission asked about.
    pub grants_permission: bool,
}

/// A cap that withheld the permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainCap {
    /// The cap id (`kiosk` for the kiosk setting).
    pub id: String,
    /// The cap's scope (`null`: the org root).
    pub scope: Option<String>,
}

/// The answer of `explain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// Exactly what `check` answers.
    pub decision: Effect,
    /// The diagnostic, if a rule before the grants decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<Diagnostic>,
    /// The hidden node that made the answer `not_found`.
    pub hidden_node: Option<String>,
    /// The deepest node whose assignments made the granted set (`null`: root).
    pub decisive_node: Option<String>,
    /// Whether the snapshot carried provenance (otherwise the lists are empty).
    pub provenance: bool,
    /// The assignments used at the decisive scope, per subject.
    pub assignments: Vec<ExplainAssignment>,
    /// Caps that removed the permission.
    pub removed_by_caps: Vec<ExplainCap>,
    /// Whether the token scopes removed the permission.
    pub removed_by_token_scopes: bool,
    /// The requirement whose absence made the closure remove it.
    pub missing_requirement: Option<String>,
}

impl Snapshot {
    /// `explain(permission, path, owner?)`.
    pub fn explain<S: AsRef<str>>(
        &self,
        permission: &str,
        path: &[S],
        owner: Option<&str>,
    ) -> Explanation {
        let decision = self.check(permission, path, owner);
        let mut explanation = Explanation {
            provenance: self.payload.provenance.is_some(),
            ..Explanation::from(decision)
        };
        let Some(index) = self.permission(permission).map(|p| p.index()) else {
            return explanation;
        };
        let walk = match self.reach(segments(path)) {
            Reached::Sets(_, walk) => walk,
            Reached::Hidden(at) => {
                explanation.hidden_node = self.node_key(at).map(|key| key.to_string());
                return explanation;
            }
            Reached::Decided(_) => return explanation,
        };
        let principal = &self.payload.header.principal;
        let scope = if principal.superuser {
            None
        } else {
            walk.deepest
        };
        explanation.decisive_node = self
            .sets(scope)
            .decisive
            .and_then(|at| self.node_key(at))
            .map(|key| key.to_string());
        self.trace(&mut explanation, scope, index, self.owns(owner));
        explanation
    }

    /// Fills in the provenance part of a trace for the sets at `scope`.
    fn trace(&self, explanation: &mut Explanation, scope: Option<u32>, index: usize, owned: bool) {
        let width = self.catalog.len();
        let mut granted = Bits::empty(width);
        let principal = &self.payload.header.principal;
        if principal.superuser {
            granted = Bits::full(width);
        } else if let Some(provenance) = &self.payload.provenance {
            let node: &NodeProvenance = match scope {
                None => &provenance.root,
                Some(at) => match provenance.nodes.get(at as usize) {
                    Some(node) => node,
                    None => return,
                },
            };
            for grant in &node.assignments {
                let Some(role) = provenance.roles.get(grant.role as usize) else {
                    continue;
                };
                if !grant.owner_only || owned {
                    granted.union_with(&role.permissions);
                }
                explanation.assignments.push(ExplainAssignment {
                    subject: grant.subject.clone(),
                    scope: grant
                        .scope
                        .and_then(|at| self.node_key(at))
                        .map(|k| k.to_string()),
                    role: role.name.clone(),
                    owner_only: grant.owner_only,
                    grants_permission: role.permissions.contains(index),
                });
            }
            for cap in &node.caps {
                if granted.contains(index) && !cap.allow.contains(index) {
                    explanation.removed_by_caps.push(ExplainCap {
                        id: cap.id.clone(),
                        scope: cap
                            .scope
                            .and_then(|at| self.node_key(at))
                            .map(|k| k.to_string()),
                    });
                }
                granted.intersect_with(&cap.allow);
            }
        } else {
            return;
        }
        if let Some(scopes) = &self.payload.token_scopes {
            explanation.removed_by_token_scopes =
                granted.contains(index) && !scopes.contains(index);
            granted.intersect_with(scopes);
        }
        let closed = self.catalog.close(&granted);
        if granted.contains(index) && !closed.contains(index) {
            explanation.missing_requirement = self
                .catalog
                .missing_requirement(index, &closed)
                .map(|missing| self.catalog.key(missing).to_owned());
        }
    }
}

impl From<Decision> for Explanation {
    fn from(decision: Decision) -> Self {
        Explanation {
            decision: decision.decision,
            diagnostic: decision.diagnostic,
            hidden_node: None,
            decisive_node: None,
            provenance: false,
            assignments: Vec::new(),
            removed_by_caps: Vec::new(),
            removed_by_token_scopes: false,
            missing_requirement: None,
        }
    }
}
