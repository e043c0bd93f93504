//! The snapshot payload: every field, in encoding order. Postcard encodes
//! struct fields in declaration order with no names, so reordering a field
//! here is a format change (bump [`FORMAT_VERSION`] and `docs/format.md`).

use serde::{Deserialize, Serialize};

use crate::model::{Bits, CatalogEntry, NodeKey, TypeEntry};

/// The payload format this crate writes and reads. It is the first field
/// of the payload, so a decoder can refuse an unknown version first.
pub const FORMAT_VERSION: u32 = 1;

/// Everything the queries of docs/decisions.md §2 need for one principal in one org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotPayload {
    /// Who, where, when, and under which key.
    pub header: Header,
    /// The catalog, canonical order.
    pub catalog: Vec<CatalogEntry>,
    /// The manifest's type-parent table.
    pub types: Vec<TypeEntry>,
    /// The effective sets at the org root.
    pub root: ScopeSets,
    /// Known nodes, parents before children.
    pub nodes: Vec<KnownNode>,
    /// The token scopes the sets were compiled under, if any.
    pub token_scopes: Option<Bits>,
    /// The manifest's routes, predicates in canonical text form (parsed,
    /// with a depth limit, when the snapshot is opened).
    pub routes: Vec<RouteSource>,
    /// Effective group names (pseudo-groups excluded), sorted.
    pub groups: Vec<String>,
    /// Names of the roles P holds at the org root through any subject
    /// (owner-only excluded), sorted: the `roles.*` claims.
    pub root_roles: Vec<String>,
    /// Where each set came from, for `explain` (opt-in).
    pub provenance: Option<Provenance>,
}

/// The snapshot header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always first: [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The org id.
    pub org: String,
    /// The principal.
    pub principal: PrincipalInfo,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds; the snapshot is refused at or after this time.
    pub expires_at: u64,
    /// The org's store revision.
    pub revision: u64,
    /// SHA-256 of the catalog (see [`crate::catalog_hash`]).
    pub catalog_hash: [u8; 32],
    /// The signing key id; must equal the envelope's.
    pub kid: String,
    /// `None`: the whole org; otherwise the subtree roots covered.
    pub subtrees: Option<Vec<NodeKey>>,
}

/// Who the snapshot is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrincipalInfo {
    /// The user id, or `anonymous`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Platform operator.
    pub superuser: bool,
    /// The anonymous principal.
    pub anonymous: bool,
    /// Inactive principals are denied everything.
    pub active: bool,
    /// Member of the org.
    pub member: bool,
}

/// The effective sets at a scope after docs/decisions.md §2 steps 8–11.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSets {
    /// `closure(G)`.
    pub plain: Bits,
    /// `closure(G ∪ G_own)`: what an owner may do.
    pub owned: Bits,
    /// The decisive node for `explain` (index into `nodes`, `None`: the org
    /// root): the deepest of the nodes whose assignments the subjects of
    /// step 8 used, an owner-only or empty-role assignment included, since
    /// using it is what narrowed the wider grant away.
    pub decisive: Option<u32>,
}

/// A known node (docs/snapshots.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownNode {
    /// Index into `types`.
    pub ty: u32,
    /// The node id.
    pub id: String,
    /// Index into `nodes`, `None`: root.
    // INVARIANT: smaller than this node's own index (parents come first);
    // `Snapshot::new` refuses a payload where it is not, and every walk up
    // the tree relies on it to terminate.
    pub parent: Option<u32>,
    /// Hidden for the principal, directly or through an ancestor.
    pub hidden: bool,
    /// The effective sets at this node.
    pub sets: ScopeSets,
}

/// Where the sets came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Roles referred to by [`AssignmentUse::role`].
    pub roles: Vec<ProvenanceRole>,
    /// The org root.
    pub root: NodeProvenance,
    /// Parallel to `nodes`.
    pub nodes: Vec<NodeProvenance>,
}

/// A role and its permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenanceRole {
    /// The role name.
    pub name: String,
    /// Its permission set.
    pub permissions: Bits,
}

/// The grants and caps that made a scope's sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeProvenance {
    /// One entry per assignment used.
    pub assignments: Vec<AssignmentUse>,
    /// One entry per cap applied.
    pub caps: Vec<CapUse>,
}

/// An assignment used for a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentUse {
    /// The subject, in its textual form.
    pub subject: String,
    /// Where the assignment is (index into `nodes`), `None`: root.
    pub scope: Option<u32>,
    /// Index into `Provenance::roles`.
    pub role: u32,
    /// Owner-only assignment.
    pub owner_only: bool,
}

/// A cap applied to a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapUse {
    /// The cap id (`kiosk` for the kiosk setting).
    pub id: String,
    /// Where the cap is (index into `nodes`), `None`: root.
    pub scope: Option<u32>,
    /// What it allows.
    pub allow: Bits,
}

/// A route as text, the way snapshots carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSource {
    /// The pattern, e.g. `/sites/:site/racks`.
    pub path: String,
    /// The predicate in its canonical text form.
    pub when: String,
    /// The fallback path.
    pub fallback: String,
}
