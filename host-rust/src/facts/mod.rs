//! Loading exactly the facts one (org, principal) needs, with a fixed
//! number of queries whatever the org's size (no N+1 over groups or
//! assignments): two queries for the principal's own rows
//! ([`principal`]: the org header with the user, then its assignments), and
//! the org's [`structure`] (node tree, groups, roles, hidden entries, caps),
//! read whole and kept per org revision ([`cache`]), from which the
//! principal's effective groups, the entries that can select it and the
//! nodes around its policy are picked in Rust. With the structure kept,
//! a snapshot build is two statements and no transaction
//! ([`load_facts_kept`]), and its nodes are lent to the compiler, not
//! copied ([`KeptFacts`]).
//!
//! The result is a [`Facts`] that tessera-core compiles to the same
//! snapshot as the org's complete facts would: it holds the principal, its
//! groups (and the edges between them), every default group, and the
//! policy rows whose subject or selector can apply to the principal, with
//! the nodes those rows name, their ancestors and their descendants.

mod cache;
mod principal;
mod structure;

use std::collections::BTreeSet;
use std::sync::Arc;

use sqlx::{Any, Transaction};
use tessera_core::{
    AssignmentFact, CompileError, CompileRequest, Facts, GroupMemberFact, Manifest, Member,
    NodeKey, Selector, SnapshotPayload,
};
use thiserror::Error;

use crate::store::{Backend, Store, StoreError};

pub(crate) use cache::OrgStructures;
use principal::{Head, load_assignments, load_head};
use structure::{NodePicks, OrgStructure};

/// Why facts could not be loaded.
#[derive(Debug, Error)]
pub enum FactsError {
    /// No such org (`NOT_FOUND`).
    #[error("org `{0}` does not exist")]
    UnknownOrg(String),
    /// No such user (`NOT_FOUND`).
    #[error("principal `{0}` does not exist")]
    UnknownPrincipal(String),
    /// A stored row that does not parse (never written by the store).
    #[error("stored row is malformed: {0}")]
    Corrupt(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for FactsError {
    fn from(err: sqlx::Error) -> Self {
        FactsError::Store(StoreError::Database(err))
    }
}

fn parse<T: std::str::FromStr>(text: &str) -> Result<T, FactsError> {
    text.parse()
        .map_err(|_| FactsError::Corrupt(text.to_owned()))
}

fn node_key(ty: String, id: String) -> NodeKey {
    NodeKey { ty, id }
}

fn scope(ty: Option<String>, id: Option<String>) -> Option<NodeKey> {
    ty.zip(id).map(|(ty, id)| node_key(ty, id))
}

/// A read-only transaction in which every statement sees one state of the
/// store: Postgres runs each statement of a READ COMMITTED transaction on a
/// fresh snapshot, so the loader's queries could mix two revisions.
async fn read_transaction(
    store: &crate::store::Store,
) -> Result<Transaction<'static, Any>, StoreError> {
    Ok(match store.backend() {
        Backend::Postgres => {
            store
                .pool()
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?
        }
        Backend::Sqlite => store.pool().begin().await?,
    })
}

/// Loads the facts `principal` (a user id or `anonymous`) needs in `org`,
/// plus the chains of the subtree roots of a subtree snapshot, reading the
/// org's structure in `tx` too: what a write's checks use, since a write's
/// transaction may have changed the structure before its revision bump.
pub async fn load_facts(
    tx: &mut Transaction<'static, Any>,
    org: &str,
    principal: &str,
    under: &[NodeKey],
) -> Result<Facts, FactsError> {
    let head = load_head(tx, org, principal).await?;
    let structure = OrgStructure::load(tx, org).await?;
    let (mut facts, picked) = read_principal(tx, org, principal, under, head, &structure).await?;
    facts.nodes = structure.node_facts(&picked);
    Ok(facts)
}

/// One principal's facts, but for their nodes, which stay in the kept
/// structure they were picked from: [`KeptFacts::compile`] passes them to
/// the compiler by reference (copying two thousand nodes per build was a
/// tenth of its time).
pub(crate) struct KeptFacts {
    /// Everything but `nodes`.
    facts: Facts,
    structure: Arc<OrgStructure>,
    picked: NodePicks,
}

impl KeptFacts {
    /// The org revision the facts were read at.
    pub(crate) fn revision(&self) -> u64 {
        self.facts.revision
    }

    /// Compiles the principal's snapshot payload.
    pub(crate) fn compile(
        &self,
        manifest: &Manifest,
        request: &CompileRequest<'_>,
    ) -> Result<SnapshotPayload, CompileError> {
        let nodes = self.structure.picked_nodes(&self.picked);
        tessera_core::compile_with_nodes(manifest, &self.facts, &nodes, request)
    }
}

/// [`load_facts`] for a snapshot, with the org's structure taken from
/// `store`'s kept structures when one was kept at the revision read.
///
/// With a kept structure, the principal's two statements run outside a
/// transaction: each reads the org revision too, and every write bumps it
/// in its own transaction, so equal revisions mean both statements read
/// one state of the store. Otherwise (no kept structure, or a write landed
/// in between), everything is read again in one read transaction.
pub(crate) async fn load_facts_kept(
    store: &Store,
    org: &str,
    principal: &str,
    under: &[NodeKey],
) -> Result<KeptFacts, FactsError> {
    let mut conn = store.pool().acquire().await.map_err(StoreError::from)?;
    let head = load_head(&mut conn, org, principal).await?;
    if let Some(structure) = store.structures().get(org, head.revision) {
        let revision = head.revision;
        let effective = structure.effective_groups(&head.direct, head.member, head.superuser());
        let assignments =
            load_assignments(&mut conn, org, principal, &effective, head.member).await?;
        if assignments.revision == Some(revision) {
            let principal = Principal {
                id: principal,
                head,
                effective,
                assignments: assignments.facts,
            };
            let (facts, picked) = principal.facts(org, under, &structure);
            return Ok(KeptFacts {
                facts,
                structure,
                picked,
            });
        }
    }
    drop(conn);

    let mut tx = read_transaction(store).await?;
    let head = load_head(&mut tx, org, principal).await?;
    let structure = match store.structures().get(org, head.revision) {
        Some(kept) => kept,
        None => {
            let read = Arc::new(OrgStructure::load(&mut tx, org).await?);
            store
                .structures()
                .put(org, head.revision, Arc::clone(&read));
            read
        }
    };
    let (facts, picked) = read_principal(&mut tx, org, principal, under, head, &structure).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(KeptFacts {
        facts,
        structure,
        picked,
    })
}

/// Reads the principal's assignments in `tx` and picks the rest from
/// `structure`.
async fn read_principal(
    tx: &mut Transaction<'static, Any>,
    org: &str,
    principal: &str,
    under: &[NodeKey],
    head: Head,
    structure: &OrgStructure,
) -> Result<(Facts, NodePicks), FactsError> {
    let effective = structure.effective_groups(&head.direct, head.member, head.superuser());
    let assignments = load_assignments(tx, org, principal, &effective, head.member).await?;
    let principal = Principal {
        id: principal,
        head,
        effective,
        assignments: assignments.facts,
    };
    Ok(principal.facts(org, under, structure))
}

/// What was read of one principal.
struct Principal<'a> {
    /// A user id or `anonymous`.
    id: &'a str,
    head: Head,
    /// Its effective groups, by the kept structure's nesting.
    effective: BTreeSet<String>,
    /// The assignments that can apply to it.
    assignments: Vec<AssignmentFact>,
}

impl Principal<'_> {
    /// The principal's facts: its own rows, and what it needs of
    /// `structure`, but for the nodes, which are returned as picks.
    fn facts(self, org: &str, under: &[NodeKey], structure: &OrgStructure) -> (Facts, NodePicks) {
        let Principal {
            id,
            head,
            effective,
            assignments,
        } = self;
        let hidden = structure.hidden_facts(id, &effective);
        let caps = structure.cap_facts(id, &effective);
        let not_grouped = hidden
            .iter()
            .map(|hidden| &hidden.selector)
            .chain(caps.iter().map(|cap| &cap.selector))
            .filter_map(|selector| match selector {
                Selector::NotGroup(group) => Some(group.as_str()),
                _ => None,
            });
        let groups = structure.group_facts(&effective, not_grouped);
        let mut group_members: Vec<GroupMemberFact> = head
            .direct
            .iter()
            .map(|group| GroupMemberFact {
                group: group.clone(),
                member: Member::User(id.to_owned()),
            })
            .collect();
        group_members.extend(structure.nesting_facts(&effective));
        group_members.sort_by(|a, b| a.group.cmp(&b.group));
        let named = assignments
            .iter()
            .filter_map(|assignment| assignment.scope.as_ref())
            .chain(hidden.iter().map(|hidden| &hidden.node))
            .chain(caps.iter().filter_map(|cap| cap.scope.as_ref()));
        let mut picked = structure.no_picks();
        structure.pick_around(named, &mut picked);
        for root in under {
            structure.pick_ancestors(root, &mut picked);
        }
        let roles = structure.role_facts(assignments.iter().map(|a| a.role.as_str()));
        let facts = Facts {
            org: org.to_owned(),
            revision: head.revision,
            kiosk: head.kiosk,
            members: if head.member {
                head.user.iter().map(|user| user.id.clone()).collect()
            } else {
                Vec::new()
            },
            users: head.user.into_iter().collect(),
            groups,
            group_members,
            nodes: Vec::new(),
            roles,
            assignments,
            hidden,
            caps,
        };
        (facts, picked)
    }
}

/// How a loader query is bound.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoaderBinds {
    /// $1 org, $2 principal.
    Head,
    /// $1 org, $2 principal, $3 JSON array of effective group ids, $4
    /// member (0/1).
    Assignments,
    /// $1 org.
    Org,
}

/// The loader's queries on `backend`, by name, as `load_facts` runs them:
/// what the seed benchmark `EXPLAIN`s. The `structure` ones read the org's
/// structure, once per org revision.
#[doc(hidden)]
pub fn loader_queries(backend: Backend) -> Vec<(&'static str, String, LoaderBinds)> {
    vec![
        ("head", principal::head_sql(backend), LoaderBinds::Head),
        (
            "assignments",
            principal::assignments_sql(backend),
            LoaderBinds::Assignments,
        ),
        (
            "structure: nodes",
            structure::NODES.to_owned(),
            LoaderBinds::Org,
        ),
        (
            "structure: groups",
            structure::GROUPS.to_owned(),
            LoaderBinds::Org,
        ),
        (
            "structure: nesting",
            structure::NESTING.to_owned(),
            LoaderBinds::Org,
        ),
        (
            "structure: roles",
            structure::ROLES.to_owned(),
            LoaderBinds::Org,
        ),
        (
            "structure: hidden",
            structure::HIDDEN.to_owned(),
            LoaderBinds::Org,
        ),
        (
            "structure: caps",
            structure::CAPS.to_owned(),
            LoaderBinds::Org,
        ),
    ]
}
