//! The shape every admin write shares: who acts, what they hold, and the
//! transaction that ends with the audit row and the revision bumps.

use std::sync::Arc;

use serde_json::Value;
use sqlx::{Any, Transaction};
use tessera_core::{CompileRequest, Manifest, Snapshot};

use super::AdminError;
use crate::facts::load_facts;
use crate::store::{Backend, Store};

/// Who makes a write (DESIGN §5): the trusted backend itself (no
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
    /// One org.
    Org(&'a str),
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

/// A failure the caller cannot cause (facts the store wrote that do not
/// compile): an internal error whose detail is for logs, never a 400.
fn internal(detail: String) -> AdminError {
    AdminError::Store(crate::store::StoreError::Corrupt(detail))
}

/// Advisory lock spaces (Postgres two-key locks): all orgs, one org.
const LOCK_SPACE_GLOBAL: i32 = 0x7453_0001;
const LOCK_SPACE_ORG: i32 = 0x7453_0002;

/// What a transaction locks (see [`Admin::begin`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lock<'a> {
    /// A write within one org.
    Org(&'a str),
    /// A global write (users, orgs).
    Global,
    /// A read: no lock.
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
}

/// A write's transaction.
pub(crate) type Tx = Transaction<'static, Any>;

impl Admin {
    /// An admin service over a store and the reconciled manifest.
    pub fn new(store: Store, manifest: Arc<Manifest>) -> Self {
        Admin { store, manifest }
    }

    /// Begins a write's transaction holding the locks its checks need, so a
    /// check-then-act (the last superuser, the last guarded holder, a cycle)
    /// cannot race a concurrent write. SQLite: `BEGIN IMMEDIATE` (one writer
    /// at a time). Postgres: advisory transaction locks: an org's writes
    /// take that org's lock and a shared global one; global writes (users,
    /// orgs) take the global one exclusively.
    pub(crate) async fn begin(&self, lock: Lock<'_>) -> Result<Tx, AdminError> {
        let pool = self.store.pool();
        match (self.store.backend(), lock) {
            (_, Lock::Read) => Ok(pool.begin().await?),
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

    /// The actor's snapshot in `org`, compiled from the store inside the
    /// write's transaction: what it allows is what the actor holds.
    pub(crate) async fn holdings(
        &self,
        tx: &mut Tx,
        org: &str,
        user: &str,
    ) -> Result<Snapshot, AdminError> {
        let facts = load_facts(tx, org, user, &[]).await?;
        let request = CompileRequest {
            principal: user,
            token_scopes: None,
            under: None,
            issued_at: 0,
            expires_at: 1,
            kid: "",
            provenance: false,
        };
        let payload = tessera_core::compile(&self.manifest, &facts, &request)
            .map_err(|err| internal(err.to_string()))?;
        Snapshot::new(payload).map_err(|err| internal(err.to_string()))
    }

    /// Checks the operation's `[admin]` key at the org root; returns the
    /// actor's snapshot for the escalation checks that follow. `None` for the
    /// trusted backend.
    pub(crate) async fn gate(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        org: &str,
        gate: AdminKey,
    ) -> Result<Option<Snapshot>, AdminError> {
        let Actor::User(user) = actor else {
            return Ok(None);
        };
        let snapshot = self.actor_snapshot(tx, org, user).await?;
        let key = match (&self.manifest.admin, gate) {
            (Some(keys), AdminKey::ManageRoles) => Some(keys.manage_roles.as_str()),
            (Some(keys), AdminKey::ManageMembers) => Some(keys.manage_members.as_str()),
            (Some(keys), AdminKey::ManageAccess) => Some(keys.manage_access.as_str()),
            (None, _) => None,
        };
        let allowed = match key {
            Some(key) => snapshot.check::<&str>(key, &[], None).is_allow(),
            // Without an [admin] section only superusers write.
            None => snapshot.header().principal.superuser,
        };
        if !allowed {
            return Err(AdminError::Forbidden(key.unwrap_or("superuser").to_owned()));
        }
        Ok(Some(snapshot))
    }

    /// The acting user's snapshot; an unknown actor may do nothing.
    async fn actor_snapshot(
        &self,
        tx: &mut Tx,
        org: &str,
        user: &str,
    ) -> Result<Snapshot, AdminError> {
        match self.holdings(tx, org, user).await {
            Err(AdminError::NotFound(what)) if what.starts_with("user") => Err(
                AdminError::Forbidden(format!("unknown acting user `{user}`")),
            ),
            other => other,
        }
    }

    /// DESIGN §5: granting needs every granted key at the scope it is
    /// granted at (plain grants only: owner-only ones never count as held).
    pub(crate) fn require_holds(
        holder: Option<&Snapshot>,
        keys: &[String],
        path: &[String],
    ) -> Result<(), AdminError> {
        let Some(holder) = holder else {
            return Ok(());
        };
        let missing: Vec<&str> = keys
            .iter()
            .filter(|key| !holder.check(key, path, None).is_allow())
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            let at = if path.is_empty() {
                "the org root".to_owned()
            } else {
                path.join("/")
            };
            Err(AdminError::EscalationDenied(format!(
                "you do not hold {} at {at}",
                missing.join(", ")
            )))
        }
    }

    /// The keys a role grants, as the resolver sees them: an immutable
    /// built-in's from the manifest (whatever its stored rows say until
    /// reconcile repairs them), any other role's stored keys that are still
    /// in the catalog.
    pub(crate) async fn role_keys(
        &self,
        tx: &mut Tx,
        org: &str,
        role: &str,
    ) -> Result<Vec<String>, AdminError> {
        let catalog = &self.manifest.catalog;
        if let Some(builtin) = self.manifest.builtin(role)
            && builtin.mode == tessera_core::RoleMode::Immutable
        {
            return Ok(catalog.keys(&builtin.permissions));
        }
        let stored: Vec<(String,)> = sqlx::query_as(
            "SELECT permission FROM role_permissions WHERE org_id = $1 AND role_id = $2",
        )
        .bind(org)
        .bind(role)
        .fetch_all(&mut **tx)
        .await?;
        Ok(catalog.keys(&catalog.bits_of_known(stored.iter().map(|(key,)| key.as_str()))))
    }

    /// Global writes (users, orgs) and re-parenting need a superuser actor.
    pub(crate) async fn require_superuser(
        &self,
        tx: &mut Tx,
        actor: &Actor,
    ) -> Result<(), AdminError> {
        let Actor::User(user) = actor else {
            return Ok(());
        };
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT superuser, active FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(&mut **tx)
                .await?;
        match row {
            Some((1, 1)) => Ok(()),
            _ => Err(AdminError::EscalationDenied(
                "only an active superuser may do this".to_owned(),
            )),
        }
    }

    /// Bumps the affected orgs, appends the audit row, commits.
    pub(crate) async fn finish(
        &self,
        mut tx: Tx,
        actor: &Actor,
        affects: Affects<'_>,
        audit: Audit<'_>,
        now: i64,
    ) -> Result<(), AdminError> {
        let (org, revision) = match affects {
            Affects::Org(org) => {
                let (revision,): (i64,) = sqlx::query_as(
                    "UPDATE orgs SET revision = revision + 1 WHERE id = $1 RETURNING revision",
                )
                .bind(org)
                .fetch_one(&mut *tx)
                .await?;
                (Some(org), Some(revision))
            }
            Affects::Every => {
                sqlx::query("UPDATE orgs SET revision = revision + 1")
                    .execute(&mut *tx)
                    .await?;
                (None, None)
            }
            Affects::Deleted { org, revision } => (Some(org), Some(revision)),
        };
        let bumped = org.zip(revision);
        crate::store::announce_revision(&mut tx, self.store.backend(), bumped).await?;
        let json = |value: Option<Value>| value.map(|value| value.to_string());
        sqlx::query(
            "INSERT INTO audit (org_id, actor, action, target, before, after, revision, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(org.map(str::to_owned))
        .bind(actor.audit_name().map(str::to_owned))
        .bind(audit.action)
        .bind(audit.target)
        .bind(json(audit.before))
        .bind(json(audit.after))
        .bind(revision)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
