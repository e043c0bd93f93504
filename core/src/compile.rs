//! Facts → snapshot: the pure function the host runs for every (org,
//! principal) and the conformance runners run for every vector. It does
//! docs/decisions.md §2 steps 8–11 for every known node once, so that a check is a
//! path walk and a bit test.

mod err;
mod groups;
mod known;
mod org;
mod reach;
mod scope;
mod sets;

use crate::manifest::{Manifest, Route};
use crate::model::{ANONYMOUS, AssignmentFact, Facts, NodeFact, NodeKey};
use crate::snapshot::{FORMAT_VERSION, Header, PrincipalInfo, SnapshotPayload};

pub use err::CompileError;
pub use groups::{Standing, member_groups};
pub use reach::{Footprint, Reach, Targets};
pub use scope::deciding_scope;

/// Who and what a snapshot is compiled for.
#[derive(Debug, Clone, Copy)]
pub struct CompileRequest<'a> {
    /// A user id, or `anonymous`.
    pub principal: &'a str,
    /// Token scopes (literal catalog keys); `None`: no limit.
    pub token_scopes: Option<&'a [String]>,
    /// Subtree roots; `None`: the whole org.
    pub under: Option<&'a [NodeKey]>,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// The signing key id the header names.
    pub kid: &'a str,
    /// Whether to include provenance for `explain`.
    pub provenance: bool,
    /// Keys the compiler's hash tables. The ids in them are chosen by an
    /// org's administrators: a host serving several tenants passes a secret
    /// random value (one per process is enough), so that no tenant can
    /// craft ids that collide and make its compiles quadratic. The snapshot
    /// does not depend on it.
    pub hash_seed: u64,
}

/// Compiles one principal's snapshot payload from one org's facts.
pub fn compile(
    manifest: &Manifest,
    facts: &Facts,
    request: &CompileRequest<'_>,
) -> Result<SnapshotPayload, CompileError> {
    compile_with(manifest, facts, &Lent::default(), request)
}

/// Facts lent to [`compile_with`] by reference: a host that keeps an org's
/// node tree and its groups' assignments passes the ones a principal needs
/// without copying them into a [`Facts`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Lent<'a> {
    /// Nodes, after `facts.nodes`.
    pub nodes: &'a [&'a NodeFact],
    /// Assignments, after `facts.assignments` (their order is part of the
    /// facts: it breaks ties in provenance).
    pub assignments: &'a [&'a AssignmentFact],
}

/// [`compile`] over `facts` plus the facts `lent`. A node or assignment
/// given both ways is given twice: a node listed twice is
/// [`CompileError::InvalidFacts`].
pub fn compile_with(
    manifest: &Manifest,
    facts: &Facts,
    lent: &Lent<'_>,
    request: &CompileRequest<'_>,
) -> Result<SnapshotPayload, CompileError> {
    let org = org::Org::new(manifest, facts, lent, request.hash_seed)?;
    let principal = org.principal(request.principal)?;
    let token_scopes = request
        .token_scopes
        .map(|keys| {
            manifest
                .catalog
                .bits_of(keys.iter().map(String::as_str))
                .map_err(|key| CompileError::UnknownPermission(key.to_owned()))
        })
        .transpose()?;
    let under = request
        .under
        .map(|keys| {
            keys.iter()
                .map(|key| {
                    org.node(key)
                        .ok_or_else(|| CompileError::UnknownNode(key.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let context = groups::Context::new(&org, &principal);
    let known = known::known_nodes(&org, &context, under.as_deref());
    let compiled = sets::compile_sets(
        &org,
        &context,
        &known,
        token_scopes.as_ref(),
        request.provenance,
    );
    let subtrees = request.under.map(|keys| {
        let mut unique: Vec<NodeKey> = Vec::with_capacity(keys.len());
        for key in keys {
            if !unique.contains(key) {
                unique.push(key.clone());
            }
        }
        unique
    });
    Ok(SnapshotPayload {
        header: Header {
            format_version: FORMAT_VERSION,
            org: facts.org.clone(),
            principal: PrincipalInfo {
                id: principal.id.to_owned(),
                name: principal.name.to_owned(),
                superuser: principal.superuser,
                anonymous: principal.id == ANONYMOUS,
                active: principal.active,
                member: principal.member,
            },
            issued_at: request.issued_at,
            expires_at: request.expires_at,
            revision: facts.revision,
            catalog_hash: manifest.catalog_hash(),
            kid: request.kid.to_owned(),
            subtrees,
        },
        catalog: manifest.catalog.entries().to_vec(),
        types: manifest.types.entries().to_vec(),
        root: compiled.root,
        nodes: compiled.nodes,
        token_scopes,
        routes: manifest.routes.iter().map(Route::source).collect(),
        groups: context.group_names(&org),
        root_roles: compiled.root_roles,
        provenance: compiled.provenance,
    })
}
