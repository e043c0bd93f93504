//! The answer shapes of `check` and `guard`.
//!
//! These types are JSON-only (never postcard-encoded), so
//! `skip_serializing_if` is safe here, unlike in the snapshot payload.

use crate::ErrorCode;
use serde::{Deserialize, Serialize};

/// The three outcomes of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Permitted.
    Allow,
    /// Not permitted.
    Deny,
    /// Hidden from the principal: indistinguishable from absent.
    NotFound,
}

/// Why a check denied before looking at grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Diagnostic {
    /// The permission is not in the catalog (unknown or deprecated).
    UnknownPermission,
    /// The path is malformed, not type-valid, or contradicts a known parent.
    InvalidPath,
    /// The path is outside the snapshot's subtrees.
    OutsideSnapshot,
}

impl Diagnostic {
    /// The stable code, as it appears in JSON.
    pub fn code(self) -> ErrorCode {
        match self {
            Diagnostic::UnknownPermission => ErrorCode::UnknownPermission,
            Diagnostic::InvalidPath => ErrorCode::InvalidPath,
            Diagnostic::OutsideSnapshot => ErrorCode::OutsideSnapshot,
        }
    }
}

/// The answer of `check`: `{"decision": "deny", "diagnostic": "INVALID_PATH"}`,
/// the very object the host's `POST /v1/check` answers (plus its revision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decision {
    /// The outcome.
    pub decision: Effect,
    /// Present when a rule before the grants decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<Diagnostic>,
}

impl Decision {
    pub(crate) const ALLOW: Decision = Decision {
        decision: Effect::Allow,
        diagnostic: None,
    };
    pub(crate) const DENY: Decision = Decision {
        decision: Effect::Deny,
        diagnostic: None,
    };
    pub(crate) const NOT_FOUND: Decision = Decision {
        decision: Effect::NotFound,
        diagnostic: None,
    };

    pub(crate) fn deny(diagnostic: Diagnostic) -> Decision {
        Decision {
            decision: Effect::Deny,
            diagnostic: Some(diagnostic),
        }
    }

    /// Whether the outcome is `allow`.
    pub fn is_allow(self) -> bool {
        self.decision == Effect::Allow
    }
}

/// One question of a batch: the arguments of `check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The permission key.
    pub permission: String,
    /// The path, `type:id` from the top.
    pub path: Vec<String>,
    /// The owner of the thing, if any.
    #[serde(default)]
    pub owner: Option<String>,
}

/// The answer of `guard(route)` (docs/decisions.md §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum GuardResult {
    /// The predicate holds.
    Allow,
    /// The predicate does not hold (or the principal is inactive).
    Redirect {
        /// The route's fallback path.
        fallback: String,
    },
    /// A bound path is hidden from the principal, or a pattern matches
    /// but a parameter (percent-decoded) is not a valid node id: either
    /// way the page does not exist for this principal.
    NotFound,
    /// No pattern matches the route (or the route does not start with `/`):
    /// the manifest says nothing about it.
    NoRoute,
}
