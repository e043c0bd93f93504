//! The facts of one org: everything the store holds that a snapshot is
//! compiled from. The host loads them from SQL; the conformance vectors
//! write them as JSON in this very shape.

use serde::{Deserialize, Serialize};

use super::{Member, NodeKey, Selector, Subject};

/// One org's facts. Built-in roles missing from `roles` are seeded from the
/// manifest, as the host does when it creates an org.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// The org id.
    pub org: String,
    /// The org's store revision, copied into snapshot headers.
    #[serde(default)]
    pub revision: u64,
    /// Users (global) that the org's facts or the principal refer to.
    #[serde(default)]
    pub users: Vec<UserFact>,
    /// Ids of the users who are members of the org.
    #[serde(default)]
    pub members: Vec<String>,
    /// The org's groups (not the reserved `admin` group, which is implicit).
    #[serde(default)]
    pub groups: Vec<GroupFact>,
    /// Direct group memberships.
    #[serde(default)]
    pub group_members: Vec<GroupMemberFact>,
    /// Registered nodes with their parents.
    #[serde(default)]
    pub nodes: Vec<NodeFact>,
    /// Roles: custom ones, and built-ins whose stored set differs from the
    /// manifest's (an operator-edited editable built-in).
    #[serde(default)]
    pub roles: Vec<RoleFact>,
    /// Live assignments.
    #[serde(default)]
    pub assignments: Vec<AssignmentFact>,
    /// Hidden entries.
    #[serde(default)]
    pub hidden: Vec<HiddenFact>,
    /// Caps.
    #[serde(default)]
    pub caps: Vec<CapFact>,
    /// Kiosk mode: anonymous may only use `*:read` keys.
    #[serde(default)]
    pub kiosk: bool,
}

/// A user (global).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFact {
    /// The user id.
    pub id: String,
    /// Display name; the id when omitted.
    #[serde(default)]
    pub name: Option<String>,
    /// Platform operator.
    #[serde(default)]
    pub superuser: bool,
    /// An inactive user is denied everything.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// A group of the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFact {
    /// Group id.
    pub id: String,
    /// Display name, used in claims; the id when omitted.
    #[serde(default)]
    pub name: Option<String>,
    /// Group-less members fall back to every default group.
    #[serde(default)]
    pub default: bool,
}

/// A direct membership: `member` is in `group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMemberFact {
    /// The containing group id.
    pub group: String,
    /// `user:<id>` or `group:<id>`.
    pub member: Member,
}

/// A registered node and its parent (`None`: the org root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFact {
    /// `type:id`.
    pub node: NodeKey,
    /// The parent node, or null for the org root.
    #[serde(default)]
    pub parent: Option<NodeKey>,
}

/// A role and its stored permission set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleFact {
    /// Role id (a built-in's id is its manifest key).
    pub id: String,
    /// Display name; the id when omitted.
    #[serde(default)]
    pub name: Option<String>,
    /// Catalog keys. Keys no longer in the catalog are deprecated and ignored.
    pub permissions: Vec<String>,
}

/// An assignment: `subject` has `role` at `scope`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentFact {
    /// Assignment id, for provenance; generated from the position when omitted.
    #[serde(default)]
    pub id: Option<String>,
    /// Who receives the role.
    pub subject: Subject,
    /// Role id.
    pub role: String,
    /// The node, or null for the org root.
    #[serde(default)]
    pub scope: Option<NodeKey>,
    /// Grants only on things the principal owns.
    #[serde(default)]
    pub owner_only: bool,
}

/// A hidden entry: `node` and everything below it is invisible to `selector`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HiddenFact {
    /// Entry id, for provenance.
    #[serde(default)]
    pub id: Option<String>,
    /// Who it hides the node from.
    pub selector: Selector,
    /// The hidden node.
    pub node: NodeKey,
}

/// A cap: at and below `scope`, `selector` may do at most `allow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapFact {
    /// Cap id, for provenance.
    #[serde(default)]
    pub id: Option<String>,
    /// Who it limits.
    pub selector: Selector,
    /// The node, or null for the org root.
    #[serde(default)]
    pub scope: Option<NodeKey>,
    /// The literal catalog keys still allowed.
    pub allow: Vec<String>,
}
