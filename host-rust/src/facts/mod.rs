//! Loading exactly the facts one (org, principal) needs, with a fixed
//! number of queries whatever the org's size (no N+1 over groups or
//! assignments): two queries for the principal's own rows
//! ([`principal`]: the org header with the user, then its assignments), and
//! the org's [`structure`] (node tree, groups, roles, hidden entries, caps),
//! read whole and kept per org revision ([`cache`]), from which the
//! principal's effective groups, the entries that can select it and the
//! nodes around its policy are picked in Rust.
//!
//! The result is a [`Facts`] that tessera-core compiles to the same
//! snapshot as the org's complete facts would: it holds the principal, its
//! groups (and the edges between them), every default group, and the
//! policy rows whose subject or selector can apply to the principal, with
//! the nodes those rows name, their ancestors and their descendants.

mod cache;
mod principal;
mod structure;

use std::sync::Arc;

use sqlx::{Any, Transaction};
use tessera_core::{Facts, GroupMemberFact, Member, NodeKey, Selector};
use thiserror::Error;

use crate::store::{Backend, StoreError};

pub(crate) use cache::OrgStructures;
use principal::{Head, load_assignments, load_head};
use structure::OrgStructure;

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
pub(crate) async fn read_transaction(
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
    assemble(tx, org, principal, under, head, &structure).await
}

/// [`load_facts`] in a read transaction, with the org's structure taken
/// from `structures` when it was kept at the revision `tx` reads.
pub(crate) async fn load_facts_kept(
    tx: &mut Transaction<'static, Any>,
    structures: &OrgStructures,
    org: &str,
    principal: &str,
    under: &[NodeKey],
) -> Result<Facts, FactsError> {
    let head = load_head(tx, org, principal).await?;
    let structure = match structures.get(org, head.revision) {
        Some(kept) => kept,
        None => {
            let read = Arc::new(OrgStructure::load(tx, org).await?);
            structures.put(org, head.revision, Arc::clone(&read));
            read
        }
    };
    assemble(tx, org, principal, under, head, &structure).await
}

/// Reads the principal's policy rows and picks the rest from `structure`.
async fn assemble(
    tx: &mut Transaction<'static, Any>,
    org: &str,
    principal: &str,
    under: &[NodeKey],
    head: Head,
    structure: &OrgStructure,
) -> Result<Facts, FactsError> {
    let effective = structure.effective_groups(&head.direct, head.member, head.superuser());
    let assignments = load_assignments(tx, org, principal, &effective, head.member).await?;
    let hidden = structure.hidden_facts(principal, &effective);
    let caps = structure.cap_facts(principal, &effective);
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
            member: Member::User(principal.to_owned()),
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
    Ok(Facts {
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
        nodes: structure.node_facts(&picked),
        roles,
        assignments,
        hidden,
        caps,
    })
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
