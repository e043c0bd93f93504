//! Loading exactly the facts one (org, principal) needs, with a fixed
//! number of queries whatever the org's size (no N+1 over groups or
//! assignments). The org's [`structure`] (node tree, groups, roles, hidden
//! entries, caps) is read whole and kept per org, brought up to date by the
//! writes this server hears of ([`cache`]), with
//! its groups' assignments kept as builds read them ([`grants`]); the
//! principal's own rows are one statement ([`principal`]). The principal's
//! effective groups, the entries that can select it and the nodes around
//! its policy are picked in Rust. With the structure kept, a snapshot build
//! is one or two statements and no transaction ([`load_facts_kept`]), and
//! the kept nodes and assignments are lent to the compiler, not copied
//! ([`KeptFacts`]).
//!
//! The result is a [`Facts`] that tessera-core compiles to the same
//! snapshot as the org's complete facts would: it holds the principal, its
//! groups (and the edges between them), every default group, and the
//! policy rows whose subject or selector can apply to the principal, with
//! the nodes those rows name, their ancestors and their descendants.

mod budget;
mod cache;
mod grants;
mod principal;
mod rows;
mod structure;

use std::collections::BTreeSet;
use std::sync::Arc;

use sqlx::{Any, AnyConnection, Transaction};
use tessera_core::{
    AssignmentFact, CompileError, CompileRequest, Facts, Footprint, GroupMemberFact, Lent,
    Manifest, Member, NodeKey, Selector, SnapshotPayload,
};
use thiserror::Error;

use crate::changes::Changes;
use crate::store::{Backend, Store, StoreError};

use cache::OrgStructures;
use principal::{Head, load_group_assignments, load_head};
pub(crate) use structure::{CAPS, CapRow, HIDDEN};
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

/// A read-only transaction in which every statement sees one state of the
/// store: Postgres runs each statement of a READ COMMITTED transaction on a
/// fresh snapshot, so the loader's queries could mix two revisions.
async fn read_transaction(store: &Store) -> Result<Transaction<'static, Any>, StoreError> {
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
    let structure = OrgStructure::load(tx, org).await?;
    facts_with(tx, org, principal, under, &structure).await
}

/// An org's structure read once in a transaction, for the facts of many
/// principals as that transaction has them: a preview compiles every
/// principal its held write reaches from one read of the structure.
pub(crate) struct StructureIn(OrgStructure);

impl StructureIn {
    /// Reads `org`'s structure in `tx`.
    pub(crate) async fn load(
        tx: &mut Transaction<'static, Any>,
        org: &str,
    ) -> Result<StructureIn, FactsError> {
        Ok(StructureIn(OrgStructure::load(tx, org).await?))
    }

    /// [`load_facts`] for `principal` over this structure.
    pub(crate) async fn facts(
        &self,
        tx: &mut Transaction<'static, Any>,
        org: &str,
        principal: &str,
    ) -> Result<Facts, FactsError> {
        facts_with(tx, org, principal, &[], &self.0).await
    }
}

/// [`load_facts`] over a structure already read in `tx`.
async fn facts_with(
    tx: &mut Transaction<'static, Any>,
    org: &str,
    principal: &str,
    under: &[NodeKey],
    structure: &OrgStructure,
) -> Result<Facts, FactsError> {
    let head = load_head(tx, org, principal).await?;
    let effective = structure.effective_groups(&head.direct, head.member, head.superuser());
    let read = load_group_assignments(tx, org, &effective).await?;
    let groups: Vec<AssignmentFact> = read.by_group.into_values().flatten().collect();
    let mut assignments: Vec<&AssignmentFact> = head.own.iter().chain(&groups).collect();
    assignments.sort_by(|a, b| a.id.cmp(&b.id));
    let (mut facts, picked) = principal_facts(
        org,
        principal,
        under,
        &head,
        &effective,
        &assignments,
        structure,
    );
    facts.nodes = structure.node_facts(&picked);
    facts.assignments = assignments.into_iter().cloned().collect();
    Ok(facts)
}

/// One principal's facts but for their nodes and assignments, which stay
/// where they were kept (the structure's node tree, its group assignments)
/// or read (the principal's own assignments): [`KeptFacts::compile`] lends
/// them to the compiler instead of copying them.
pub(crate) struct KeptFacts {
    /// Everything but `nodes` and `assignments`.
    facts: Facts,
    structure: Arc<OrgStructure>,
    picked: NodePicks,
    own: Vec<AssignmentFact>,
    groups: Vec<Arc<[AssignmentFact]>>,
    /// What of the org the snapshot draws on.
    footprint: Footprint,
}

impl KeptFacts {
    fn new(
        org: &str,
        principal: &str,
        under: &[NodeKey],
        mut head: Head,
        effective: &BTreeSet<String>,
        groups: Vec<Arc<[AssignmentFact]>>,
        structure: Arc<OrgStructure>,
    ) -> KeptFacts {
        let own = std::mem::take(&mut head.own);
        // Picking needs no order; compiling sorts them.
        let assignments: Vec<&AssignmentFact> = every_assignment(&own, &groups).collect();
        let (facts, picked) = principal_facts(
            org,
            principal,
            under,
            &head,
            effective,
            &assignments,
            &structure,
        );
        let footprint = Footprint::new(
            principal,
            effective.iter().map(String::as_str),
            every_assignment(&own, &groups),
            &facts.hidden,
            &facts.caps,
            under,
        );
        KeptFacts {
            facts,
            structure,
            picked,
            own,
            groups,
            footprint,
        }
    }

    /// What of the org a snapshot compiled from these facts draws on.
    pub(crate) fn footprint(&self) -> Footprint {
        self.footprint.clone()
    }

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
        let assignments = sorted_assignments(&self.own, &self.groups);
        let lent = Lent {
            nodes: &nodes,
            assignments: &assignments,
        };
        tessera_core::compile_with(manifest, &self.facts, &lent, request)
    }
}

/// Every assignment of `own` and `groups`.
fn every_assignment<'a>(
    own: &'a [AssignmentFact],
    groups: &'a [Arc<[AssignmentFact]>],
) -> impl Iterator<Item = &'a AssignmentFact> {
    own.iter()
        .chain(groups.iter().flat_map(|group| group.iter()))
}

/// Every assignment of `own` and `groups`, sorted by id: the order the
/// facts give them in, whatever was kept.
fn sorted_assignments<'a>(
    own: &'a [AssignmentFact],
    groups: &'a [Arc<[AssignmentFact]>],
) -> Vec<&'a AssignmentFact> {
    let mut all: Vec<&AssignmentFact> = every_assignment(own, groups).collect();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all
}

/// The facts loader of snapshot builds: a store and the org structures it
/// keeps between builds (per org, at one revision each), which no one
/// else reads, and the log of writes that brings them up to date.
#[derive(Debug, Clone)]
pub struct Loader {
    store: Store,
    structures: Arc<OrgStructures>,
    changes: Arc<Changes>,
}

impl Loader {
    /// A loader over `store`, keeping nothing yet.
    pub fn new(store: Store) -> Self {
        Loader {
            store,
            structures: Arc::default(),
            changes: Arc::default(),
        }
    }

    /// The log of writes its kept structures are brought up to date by.
    pub fn changes(&self) -> Arc<Changes> {
        Arc::clone(&self.changes)
    }

    /// How many kept org structures writes brought up to date.
    pub fn structure_updates(&self) -> u64 {
        self.structures.updates()
    }

    /// The store it reads.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// How many org structures builds have read from the store (once per
    /// org and revision while they stay kept).
    pub fn structure_reads(&self) -> u64 {
        self.structures.reads()
    }

    /// [`load_facts_kept`] on this loader's store and structures.
    pub(crate) async fn load(
        &self,
        org: &str,
        principal: &str,
        under: &[NodeKey],
    ) -> Result<KeptFacts, FactsError> {
        load_facts_kept(self, org, principal, under).await
    }
}

/// [`load_facts`] for a snapshot, with the org's structure and its groups'
/// assignments taken from the loader's kept structures when one is kept
/// at the revision read or can be brought up to it.
///
/// With a kept structure, the principal's head (its own rows) is one
/// statement, and the assignments of groups no build kept yet one more,
/// outside a transaction: each reads the org revision too, and every write
/// bumps it in its own transaction, so equal revisions mean both read one
/// state of the store. Otherwise (no kept structure, or a write landed in
/// between), everything is read again in one read transaction.
async fn load_facts_kept(
    loader: &Loader,
    org: &str,
    principal: &str,
    under: &[NodeKey],
) -> Result<KeptFacts, FactsError> {
    let (store, structures, changes) = (&loader.store, &loader.structures, &loader.changes);
    let mut conn = store.pool().acquire().await.map_err(StoreError::from)?;
    let head = load_head(&mut conn, org, principal).await?;
    if let Some(structure) = structures.at(org, head.revision, changes) {
        let effective = structure.effective_groups(&head.direct, head.member, head.superuser());
        if let Some(groups) =
            group_grants(&mut conn, org, &structure, &effective, head.revision).await?
        {
            return Ok(KeptFacts::new(
                org, principal, under, head, &effective, groups, structure,
            ));
        }
    }
    drop(conn);

    let mut tx = read_transaction(store).await?;
    let head = load_head(&mut tx, org, principal).await?;
    let structure = match structures.at(org, head.revision, changes) {
        Some(kept) => kept,
        None => {
            // The builds that miss together (after a write) wait for the
            // first to read the structure instead of each reading it.
            let lock = structures.loading(org);
            let _loading = lock.lock().await;
            // A write this server is committing may be about to say what
            // it changed.
            changes.settled(org).await;
            match structures.at(org, head.revision, changes) {
                Some(kept) => kept,
                None => {
                    let read = Arc::new(OrgStructure::load(&mut tx, org).await?);
                    structures.put(org, head.revision, Arc::clone(&read));
                    read
                }
            }
        }
    };
    let effective = structure.effective_groups(&head.direct, head.member, head.superuser());
    // One transaction: the read sees `head.revision`, or the store broke
    // its isolation.
    let groups = group_grants(&mut tx, org, &structure, &effective, head.revision)
        .await?
        .ok_or_else(|| {
            FactsError::Corrupt("the org revision moved in a read transaction".into())
        })?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(KeptFacts::new(
        org, principal, under, head, &effective, groups, structure,
    ))
}

/// The assignments of the `effective` groups, from those `structure` (kept
/// at `revision`) holds and, for the others, read on `conn` and kept;
/// `None` when that read saw another revision (a write landed since).
async fn group_grants(
    conn: &mut AnyConnection,
    org: &str,
    structure: &OrgStructure,
    effective: &BTreeSet<String>,
    revision: u64,
) -> Result<Option<Vec<Arc<[AssignmentFact]>>>, FactsError> {
    let (mut groups, missing) = structure.grants().lookup(effective);
    if missing.is_empty() {
        return Ok(Some(groups));
    }
    let read = load_group_assignments(conn, org, &missing).await?;
    if read.revision != Some(revision) {
        return Ok(None);
    }
    groups.extend(structure.grants().keep(&missing, read.by_group));
    Ok(Some(groups))
}

/// The principal's facts, but for nodes (returned as picks) and
/// assignments (`assignments`, its own and its groups'): its own rows, and
/// what it needs of `structure`.
fn principal_facts(
    org: &str,
    principal: &str,
    under: &[NodeKey],
    head: &Head,
    effective: &BTreeSet<String>,
    assignments: &[&AssignmentFact],
    structure: &OrgStructure,
) -> (Facts, NodePicks) {
    let hidden = structure.hidden_facts(principal, effective);
    let caps = structure.cap_facts(principal, effective);
    let not_grouped = hidden
        .iter()
        .map(|hidden| &hidden.selector)
        .chain(caps.iter().map(|cap| &cap.selector))
        .filter_map(|selector| match selector {
            Selector::NotGroup(group) => Some(group.as_str()),
            _ => None,
        });
    let groups = structure.group_facts(effective, not_grouped);
    let mut group_members: Vec<GroupMemberFact> = head
        .direct
        .iter()
        .map(|group| GroupMemberFact {
            group: group.clone(),
            member: Member::User(principal.to_owned()),
        })
        .collect();
    group_members.extend(structure.nesting_facts(effective));
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
    let user = head.user.clone();
    let facts = Facts {
        org: org.to_owned(),
        revision: head.revision,
        kiosk: head.kiosk,
        members: match &user {
            Some(user) if head.member => vec![user.id.clone()],
            _ => Vec::new(),
        },
        users: user.into_iter().collect(),
        groups,
        group_members,
        nodes: Vec::new(),
        roles,
        assignments: Vec::new(),
        hidden,
        caps,
    };
    (facts, picked)
}

/// How a loader query is bound.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoaderBinds {
    /// $1 org, $2 principal.
    Head,
    /// $1 org, $2 JSON array of group ids (the principal's effective
    /// groups).
    GroupAssignments,
    /// $1 org.
    Org,
}

/// The loader's queries on `backend`, by name, as `load_facts` runs them:
/// what the seed benchmark `EXPLAIN`s. The `structure` ones read the org's
/// structure, when no kept one can be brought up to date; `group
/// assignments` reads the groups
/// no build at that revision read yet.
#[doc(hidden)]
pub fn loader_queries(backend: Backend) -> Vec<(&'static str, String, LoaderBinds)> {
    vec![
        ("head", principal::head_sql(backend), LoaderBinds::Head),
        (
            "group assignments",
            principal::group_assignments_sql(backend),
            LoaderBinds::GroupAssignments,
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
