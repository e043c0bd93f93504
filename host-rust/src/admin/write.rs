//! The shape every admin write shares: who acts, what they hold, and the
//! transaction that ends with the audit row and the revision bumps.

use std::sync::Arc;

use serde_json::Value;
use tessera_core::{Manifest, Snapshot};

use super::AdminError;
use super::batch::AuditRow;
use super::quotas::{Counted, Quotas};
use crate::changes::{Change, Changes};
use crate::missing::Missing;
use crate::store::{Backend, Store, Tx};

/// Who makes a write (docs/admin.md §5): the trusted backend itself (no
/// `Tessera-Actor` header: invariants hold, `[admin]` keys and escalation
/// do not apply) or a user the backend authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The app backend, acting for itself.
    Backend,
    /// A user acting through the app backend.
    User(String),
}

impl Actor {
    fn audit_name(&self) -> Option<&str> {
        match self {
            Actor::Backend => None,
            Actor::User(id) => Some(id),
        }
    }
}

/// Which `[admin]` key gates an operation.
#[derive(Debug, Clone, Copy)]
#[expect(
    clippy::enum_variant_names,
    reason = "the variants are the [admin] keys' names"
)]
pub(crate) enum AdminKey {
    /// Roles.
    ManageRoles,
    /// Members, groups, memberships, assignments.
    ManageMembers,
    /// Nodes, hidden entries, caps, settings.
    ManageAccess,
}

/// Which orgs a write bumps.
pub(crate) enum Affects<'a> {
    /// One org, with what the write changed in it.
    Org(&'a str, Box<Change>),
    /// Every org (a user's `active` or `superuser` flag).
    Every,
    /// An org just deleted: no org is bumped, but the audit row records the
    /// revision the deletion counts as (one above the org's last), so an org
    /// created later with the same id starts above it and nothing cached
    /// for the old org is ever served for the new one.
    Deleted {
        /// The deleted org.
        org: &'a str,
        /// Its last revision plus one.
        revision: i64,
    },
}

/// Advisory lock spaces (Postgres two-key locks): all orgs, one org.
const LOCK_SPACE_GLOBAL: i32 = 0x7453_0001;
const LOCK_SPACE_ORG: i32 = 0x7453_0002;

/// What a transaction locks (see [`Admin::begin`]).
#[derive(Debug, Clone, Copy)]
enum Lock<'a> {
    /// A write within one org.
    Org(&'a str),
    /// A global write (users, orgs).
    Global,
    /// A read: no lock; one snapshot of the store (Postgres
    /// `REPEATABLE READ`; an SQLite transaction reads one already).
    Read,
}

/// One audit row.
pub(crate) struct Audit<'a> {
    pub(crate) action: &'a str,
    pub(crate) target: String,
    pub(crate) before: Option<Value>,
    pub(crate) after: Option<Value>,
}

/// The admin service.
#[derive(Debug, Clone)]
pub struct Admin {
    pub(crate) store: Store,
    pub(crate) manifest: Arc<Manifest>,
    pub(crate) quotas: Quotas,
    /// Where committed writes are recorded for the snapshot cache.
    changes: Arc<Changes>,
}

impl Admin {
    /// An admin service over a store and the reconciled manifest.
    pub fn new(store: Store, manifest: Arc<Manifest>) -> Self {
        Admin {
            store,
            manifest,
            quotas: Quotas::default(),
            changes: Arc::default(),
        }
    }

    /// The same service recording its writes in `changes`: the log the
    /// server's [`crate::Authority`] reads, so a write invalidates only
    /// the snapshots it can change.
    #[must_use]
    pub fn with_changes(self, changes: Arc<Changes>) -> Self {
        Admin { changes, ..self }
    }

    /// The same service with other per-org quotas.
    pub fn with_quotas(self, quotas: Quotas) -> Self {
        Admin { quotas, ..self }
    }

    /// The per-org quotas it enforces.
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// Begins a write's transaction holding the locks its checks need, so a
    /// check-then-act (the last superuser, the last guarded holder, a cycle)
    /// cannot race a concurrent write. SQLite: `BEGIN IMMEDIATE` (one writer
    /// at a time). Postgres: advisory transaction locks: an org's writes
    /// take that org's lock and a shared global one; global writes (users,
    /// orgs) take the global one exclusively.
    async fn begin(&self, lock: Lock<'_>) -> Result<Tx, AdminError> {
        // Inside an apply, every write joins its one transaction, which
        // holds the locks every write of it needs.
        if let Some(batch) = super::batch::current() {
            return batch.take();
        }
        let pool = self.store.pool();
        match (self.store.backend(), lock) {
            // One snapshot of the store for every statement of the read.
            (Backend::Postgres, Lock::Read) => Ok(pool
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?),
            (Backend::Sqlite, Lock::Read) => Ok(pool.begin().await?),
            (Backend::Sqlite, _) => Ok(pool.begin_with("BEGIN IMMEDIATE").await?),
            (Backend::Postgres, Lock::Org(org)) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock_shared($1, 0)")
                    .bind(LOCK_SPACE_GLOBAL)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                    .bind(LOCK_SPACE_ORG)
                    .bind(org)
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
            (Backend::Postgres, Lock::Global) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1, 0)")
                    .bind(LOCK_SPACE_GLOBAL)
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    /// Opens a write within one org: the transaction and its locks
    /// ([`Admin::begin`]), the actor's `[admin]` key ([`Admin::gate`]) and
    /// the org's existence. Returns the actor's snapshot for the escalation
    /// rules (`None` for the trusted backend). Every org write starts here
    /// and ends with [`Admin::finish`].
    pub(crate) async fn open_write(
        &self,
        actor: &Actor,
        org: &str,
        key: AdminKey,
    ) -> Result<(Tx, Option<Snapshot>), AdminError> {
        let mut tx = self.begin(Lock::Org(org)).await?;
        let holder = self.gate(&mut tx, actor, org, key).await?;
        require_org(&mut tx, org).await?;
        Ok((tx, holder))
    }

    /// Opens a read of one org's model: no lock, the same gate and org
    /// check as a write, so a read shows nothing a write would refuse to
    /// touch.
    pub(crate) async fn open_read(
        &self,
        actor: &Actor,
        org: &str,
        key: AdminKey,
    ) -> Result<Tx, AdminError> {
        Ok(self.open_read_as(actor, org, key).await?.0)
    }

    /// [`Admin::open_read`], with the acting user's snapshot (`None` for
    /// the trusted backend).
    pub(crate) async fn open_read_as(
        &self,
        actor: &Actor,
        org: &str,
        key: AdminKey,
    ) -> Result<(Tx, Option<Snapshot>), AdminError> {
        let mut tx = self.begin(Lock::Read).await?;
        let holder = self.gate(&mut tx, actor, org, key).await?;
        require_org(&mut tx, org).await?;
        Ok((tx, holder))
    }

    /// Refuses a write that would add one more `what` to an org at its
    /// quota, before its insert. Inside an apply, the quota is counted
    /// once, at its end ([`Admin::end_batch`]): the same answer (an org
    /// over a quota is refused, nothing written) without counting the rows
    /// again for each of thousands of inserts.
    pub(crate) async fn require_room(
        &self,
        tx: &mut Tx,
        org: &str,
        what: Counted,
    ) -> Result<(), AdminError> {
        self.within_quota(tx, org, what, 1).await
    }

    /// [`Admin::require_room`] after the insert: the org's `what`, the new
    /// row included, within the quota (the write's transaction is dropped
    /// otherwise).
    pub(crate) async fn require_room_after(
        &self,
        tx: &mut Tx,
        org: &str,
        what: Counted,
    ) -> Result<(), AdminError> {
        self.within_quota(tx, org, what, 0).await
    }

    async fn within_quota(
        &self,
        tx: &mut Tx,
        org: &str,
        what: Counted,
        more: u64,
    ) -> Result<(), AdminError> {
        match super::batch::current() {
            Some(batch) => batch.count_at_end(what),
            None => self.quotas.within(tx, org, what, more).await,
        }
    }

    /// Begins an apply's one transaction, with the global lock (exclusive:
    /// it may write users and create its org, and it holds every org
    /// write's lock besides).
    pub(crate) async fn begin_apply(&self) -> Result<Tx, AdminError> {
        self.begin(Lock::Global).await
    }

    /// Opens a global write (users, orgs): the global lock and an active
    /// superuser actor.
    pub(crate) async fn open_global(&self, actor: &Actor) -> Result<Tx, AdminError> {
        let mut tx = self.begin(Lock::Global).await?;
        self.require_superuser(&mut tx, actor).await?;
        Ok(tx)
    }

    /// The keys a role grants, by the compiler's own rule
    /// ([`Manifest::role_permissions`]).
    pub(crate) async fn role_keys(
        &self,
        tx: &mut Tx,
        org: &str,
        role: &str,
    ) -> Result<Vec<String>, AdminError> {
        let stored: Vec<(String,)> = sqlx::query_as(
            "SELECT permission FROM role_permissions WHERE org_id = $1 AND role_id = $2",
        )
        .bind(org)
        .bind(role)
        .fetch_all(&mut **tx)
        .await?;
        let stored: Vec<String> = stored.into_iter().map(|(key,)| key).collect();
        let bits = self.manifest.role_permissions(role, Some(&stored));
        Ok(self.manifest.catalog.keys(&bits))
    }

    /// Bumps the affected orgs, announces the change, appends the audit
    /// row, commits, and records the change for this server's cache.
    pub(crate) async fn finish(
        &self,
        mut tx: Tx,
        actor: &Actor,
        affects: Affects<'_>,
        audit: Audit<'_>,
        now: i64,
    ) -> Result<(), AdminError> {
        if let Some(batch) = super::batch::current() {
            return self.join(&batch, tx, actor, affects, audit, now).await;
        }
        let (org, revision, change) = match affects {
            Affects::Org(org, change) => {
                let change = *change;
                let (revision,): (i64,) = sqlx::query_as(
                    "UPDATE orgs SET revision = revision + 1 WHERE id = $1 RETURNING revision",
                )
                .bind(org)
                .fetch_one(&mut *tx)
                .await?;
                (Some(org), Some(revision), Some(change))
            }
            Affects::Every => {
                sqlx::query("UPDATE orgs SET revision = revision + 1")
                    .execute(&mut *tx)
                    .await?;
                (None, None, None)
            }
            Affects::Deleted { org, revision } => (Some(org), Some(revision), None),
        };
        let bumped = org.zip(revision);
        crate::store::announce_revision(&mut tx, self.store.backend(), bumped, change.as_ref())
            .await?;
        insert_audit(&mut tx, org, actor, audit, revision, now).await?;
        // A previewed write is held, uncommitted, for its preview to read.
        let Some(tx) = super::preview::keep(tx, change.as_ref()) else {
            return Ok(());
        };
        let committing = bumped.map(|(org, _)| self.changes.committing(org));
        tx.commit().await?;
        match (bumped, change) {
            (Some((org, revision)), Some(change)) => {
                self.changes
                    .record(org, u64::try_from(revision).unwrap_or(0), change);
            }
            (org, _) => self.changes.forget(org.map(|(org, _)| org)),
        }
        drop(committing);
        Ok(())
    }
}

impl Admin {
    /// [`Admin::finish`] for a write inside an apply: its audit row at the
    /// revision the apply commits, no bump, and the transaction back to
    /// the apply.
    async fn join(
        &self,
        batch: &super::batch::Batch,
        mut tx: Tx,
        actor: &Actor,
        affects: Affects<'_>,
        audit: Audit<'_>,
        now: i64,
    ) -> Result<(), AdminError> {
        let (org, revision) = match affects {
            Affects::Org(org, _) => (Some(org), Some(batch.revision(&mut tx, org).await?)),
            Affects::Every => {
                batch.reached_every()?;
                (None, None)
            }
            Affects::Deleted { org, .. } => {
                return Err(AdminError::bad(
                    "org",
                    format!("an apply may not delete the org `{org}`"),
                ));
            }
        };
        batch.record(audit_row(org, actor, audit, revision, now))?;
        batch.give_back(tx)
    }

    /// Ends an apply: bumps its org once (and every org once when a write
    /// reached them all), announces it, appends the apply's own audit row
    /// and commits; or hands the transaction to a preview that holds it.
    pub(crate) async fn end_batch(
        &self,
        batch: &super::batch::Batch,
        actor: &Actor,
        audit: Audit<'_>,
        now: i64,
    ) -> Result<(), AdminError> {
        let mut tx = batch.take()?;
        let org = batch.org.as_str();
        for what in batch.counted()? {
            self.quotas.within(&mut tx, org, what, 0).await?;
        }
        let every = batch.every()?;
        if every {
            sqlx::query("UPDATE orgs SET revision = revision + 1 WHERE id <> $1")
                .bind(org)
                .execute(&mut *tx)
                .await?;
        }
        let (revision,): (i64,) = sqlx::query_as(
            "UPDATE orgs SET revision = revision + 1 WHERE id = $1 RETURNING revision",
        )
        .bind(org)
        .fetch_one(&mut *tx)
        .await?;
        let announced = if every { None } else { Some((org, revision)) };
        crate::store::announce_revision(&mut tx, self.store.backend(), announced, None).await?;
        let mut rows = batch.recorded()?;
        rows.push(audit_row(Some(org), actor, audit, Some(revision), now));
        insert_audit_rows(&mut tx, &rows).await?;
        let Some(tx) = super::preview::keep(tx, None) else {
            return Ok(());
        };
        let committing = self.changes.committing(org);
        tx.commit().await?;
        self.changes.forget(if every { None } else { Some(org) });
        drop(committing);
        Ok(())
    }
}

/// An audit row as stored, for `org` at `revision`.
pub(crate) fn audit_row(
    org: Option<&str>,
    actor: &Actor,
    audit: Audit<'_>,
    revision: Option<i64>,
    at: i64,
) -> AuditRow {
    let json = |value: Option<Value>| value.map(|value| value.to_string());
    AuditRow {
        org: org.map(str::to_owned),
        actor: actor.audit_name().map(str::to_owned),
        action: audit.action.to_owned(),
        target: audit.target,
        before: json(audit.before),
        after: json(audit.after),
        revision,
        at,
    }
}

/// Appends one audit row in the write's transaction.
/// Ends a write that changes nothing (no row, no audit, no bump). Alone,
/// its transaction is dropped: nothing was written. Inside an apply the
/// transaction goes back to it: dropping it would roll back the apply's
/// earlier steps and leave the next without one.
pub(crate) fn unchanged(tx: Tx) -> Result<(), AdminError> {
    match super::batch::current() {
        Some(batch) => batch.give_back(tx),
        None => Ok(()),
    }
}

async fn insert_audit(
    tx: &mut Tx,
    org: Option<&str>,
    actor: &Actor,
    audit: Audit<'_>,
    revision: Option<i64>,
    now: i64,
) -> Result<(), AdminError> {
    insert_audit_rows(tx, &[audit_row(org, actor, audit, revision, now)]).await
}

/// Audit rows per statement: 8 parameters each, far below both stores'
/// limits on parameters, and few enough that SQLite's lookup of each
/// parameter's name (linear in their number) stays cheap.
const AUDIT_ROWS_PER_INSERT: usize = 64;

/// Appends audit rows in the transaction, in their order, many per
/// statement.
async fn insert_audit_rows(tx: &mut Tx, rows: &[AuditRow]) -> Result<(), AdminError> {
    for chunk in rows.chunks(AUDIT_ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|row| {
                let at = row * 8;
                let params: Vec<String> = (1..=8).map(|n| format!("${}", at + n)).collect();
                format!("({})", params.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit (org_id, actor, action, target, before, after, revision, at) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            query = query
                .bind(row.org.clone())
                .bind(row.actor.clone())
                .bind(row.action.clone())
                .bind(row.target.clone())
                .bind(row.before.clone())
                .bind(row.after.clone())
                .bind(row.revision)
                .bind(row.at);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// `NOT_FOUND` unless the org exists (looked up once per apply).
async fn require_org(tx: &mut Tx, org: &str) -> Result<(), AdminError> {
    let batch = super::batch::current();
    if batch.as_ref().is_some_and(|batch| batch.knows_org(org)) {
        return Ok(());
    }
    let found: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM orgs WHERE id = $1")
        .bind(org)
        .fetch_optional(&mut **tx)
        .await?;
    found.ok_or_else(|| AdminError::NotFound(Missing::new("org", org)))?;
    match batch {
        Some(batch) => batch.found_org(org),
        None => Ok(()),
    }
}
