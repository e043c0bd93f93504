//! tessera-core: the semantics of Tessera, and nothing else.
//!
//! One pure resolver decides "may this principal do `resource:action` on
//! this thing?". The host, the browser (wasm) and Node all run this crate,
//! so every runtime gives the same answer to the same question. It has no
//! I/O, no clock, no randomness and no async: time comes in as an argument.
//!
//! Data flows one way: a [`Manifest`] and an org's [`Facts`] are
//! [`compile`]d into a [`SnapshotPayload`] for one principal, signed with a
//! [`SigningKey`] into an envelope, and opened anywhere by a [`Verifier`]
//! into a [`Snapshot`] that answers [`Snapshot::check`] and the other
//! queries of docs/decisions.md §2.
//!
//! Features: `compile` (manifest parsing and compiling, the host side),
//! `sign` (signing; the browser build leaves it out), `testing` (random
//! model generators for differential tests).

mod code;
#[cfg(feature = "compile")]
mod compile;
pub mod ffi;
mod manifest;
mod model;
mod predicate;
mod query;
mod snapshot;
#[cfg(any(feature = "testing", all(test, feature = "compile", feature = "sign")))]
pub mod testing;

pub use code::ErrorCode;
#[cfg(feature = "compile")]
pub use compile::{
    CompileError, CompileRequest, Footprint, Lent, Reach, Standing, Targets, compile, compile_with,
    deciding_scope, member_groups,
};
pub use manifest::{
    AdminKeys, BuiltinRole, Manifest, ManifestError, RoleMode, Route, apply_formula,
};
pub use model::{
    ADMIN_GROUP, ANONYMOUS, AssignmentFact, Bits, CapFact, Catalog, CatalogEntry, Facts, GroupFact,
    GroupMemberFact, HiddenFact, Member, ModelError, NodeFact, NodeKey, Permission, RoleFact,
    Selector, Subject, TypeEntry, TypeTable, UserFact, catalog_hash, is_valid_node_id,
    is_valid_type_name, is_valid_user_id,
};
pub use predicate::{IdSource, PathStep, Predicate, PredicateError, RoutePattern, Segment};
pub use query::{
    CheckRequest, Decision, Diagnostic, Dialect, Effect, ExplainAssignment, ExplainCap,
    Explanation, FilterItem, FilterPlan, GuardResult, PlanMatcher, PlanRule, Rule, Snapshot,
    SqlError, SqlFilter, path_text_segments, plan_sql,
};
pub use snapshot::{
    AssignmentUse, CapUse, Envelope, Expect, FORMAT_VERSION, Header, Jwk, KeySet, KnownNode,
    MAX_ENVELOPE_BYTES, MAX_TEXT_BYTES, NodeProvenance, PrincipalInfo, Provenance, ProvenanceRole,
    RouteSource, SIGNING_CONTEXT, ScopeSets, SnapshotPayload, TEXT_PREFIX, Verifier, VerifyError,
    from_text, to_text,
};
#[cfg(feature = "sign")]
pub use snapshot::{SignError, SigningKey};
