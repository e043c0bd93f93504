//! Assignments (docs/model.md §1.7): a subject (member user, group, pseudo-group)
//! gets a role at the org root or at one registered node.
//!
//! - One live row per (subject, role, scope, owner_only): creating one that
//!   exists answers the existing one and writes nothing (idempotent); a
//!   removed assignment can be re-added.
//! - Escalation (docs/admin.md §5): assigning a role at a scope needs every key of
//!   the role at that scope (plain grants only); a user subject other than
//!   the actor is also "managing another user", checked against the
//!   target's org-root set after the grant (adding never shrinks it).
//!   Removing a user's assignment is managing that user, checked as they
//!   stand. Removing a subject's last assignment at a node widens what the
//!   subject gets there back to its next wider scope (scope narrowing,
//!   docs/decisions.md §2 step 8), so it counts as assigning those roles at the node.
//! - Guarded roles: the last active direct org-root plain holder cannot be
//!   unassigned (`LAST_GUARDED_ASSIGNMENT`).

use serde::Serialize;
use serde_json::json;
use tessera_core::{NodeKey, Subject};

use super::AdminError;
use super::lookup::node_path;
use super::quotas::Counted;
use super::write::{Actor, Admin, AdminKey, Affects, Audit};
use crate::changes::Change;
use crate::missing::Missing;
use crate::store::Tx;

/// An assignment as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AssignmentView {
    /// Assignment id.
    pub id: String,
    /// Who gets the role (`user:<id>`, `group:<id>`, `@everyone`, ...).
    #[schema(value_type = String)]
    pub subject: Subject,
    /// The role id.
    pub role: String,
    /// The scope node (`type:id`), `null` for the org root.
    pub scope: Option<String>,
    /// Whether it grants only on things the principal owns.
    pub owner_only: bool,
}

/// An `assignments` row.
#[derive(Debug, Clone, sqlx::FromRow)]
struct AssignmentRow {
    id: String,
    subject: String,
    subject_user: Option<String>,
    role_id: String,
    scope_type: Option<String>,
    scope_id: Option<String>,
    owner_only: i64,
}

const COLUMNS: &str = "id, subject, subject_user, role_id, scope_type, scope_id, owner_only";

impl AssignmentRow {
    fn scope(&self) -> Option<NodeKey> {
        self.scope_type
            .clone()
            .zip(self.scope_id.clone())
            .map(|(ty, id)| NodeKey { ty, id })
    }

    fn view(&self) -> Result<AssignmentView, AdminError> {
        let subject = self.subject.parse().map_err(|_| {
            AdminError::Store(crate::store::StoreError::Corrupt(self.subject.clone()))
        })?;
        Ok(AssignmentView {
            id: self.id.clone(),
            subject,
            role: self.role_id.clone(),
            scope: self.scope().map(|scope| scope.to_string()),
            owner_only: self.owner_only != 0,
        })
    }
}

/// The subject's referenced ids, checked to exist in the org: a user must
/// be a member, a group must exist (`admin` included).
async fn subject_ids(
    tx: &mut Tx,
    org: &str,
    subject: &Subject,
) -> Result<(Option<String>, Option<String>), AdminError> {
    match subject {
        Subject::User(user) => {
            let found: Option<(i64,)> =
                sqlx::query_as("SELECT 1 FROM members WHERE org_id = $1 AND user_id = $2")
                    .bind(org)
                    .bind(user)
                    .fetch_optional(&mut **tx)
                    .await?;
            found.ok_or_else(|| AdminError::NotFound(Missing::new("member", user)))?;
            Ok((Some(user.clone()), None))
        }
        Subject::Group(group) => {
            let found: Option<(i64,)> =
                sqlx::query_as("SELECT 1 FROM groups WHERE org_id = $1 AND id = $2")
                    .bind(org)
                    .bind(group)
                    .fetch_optional(&mut **tx)
                    .await?;
            found.ok_or_else(|| AdminError::NotFound(Missing::new("group", group)))?;
            Ok((None, Some(group.clone())))
        }
        Subject::Everyone | Subject::Authenticated | Subject::Members => Ok((None, None)),
    }
}

/// The live assignment with these unique fields, if any.
async fn find_existing(
    tx: &mut Tx,
    org: &str,
    subject: &str,
    role: &str,
    scope_key: &str,
    owner_only: i64,
) -> Result<Option<AssignmentRow>, AdminError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM assignments
          WHERE org_id = $1 AND subject = $2 AND role_id = $3 AND scope_key = $4 AND owner_only = $5"
    )))
    .bind(org)
    .bind(subject)
    .bind(role)
    .bind(scope_key)
    .bind(owner_only)
    .fetch_optional(&mut **tx)
    .await?)
}

async fn require_path(tx: &mut Tx, org: &str, node: &NodeKey) -> Result<Vec<String>, AdminError> {
    node_path(tx, org, node)
        .await?
        .ok_or_else(|| AdminError::NotFound(Missing::new("node", &node.to_string())))
}

impl Admin {
    /// `GET /v1/orgs/{org}/assignments`, oldest first.
    /// With an actor, reading needs the `manage_members` admin key, as writing does
    /// (an unknown actor is `FORBIDDEN`).
    pub async fn list_assignments(
        &self,
        actor: &Actor,
        org: &str,
    ) -> Result<Vec<AssignmentView>, AdminError> {
        let mut tx = self.open_read(actor, org, AdminKey::ManageMembers).await?;
        let rows: Vec<AssignmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM assignments WHERE org_id = $1 ORDER BY created_at, id"
        )))
        .bind(org)
        .fetch_all(&mut *tx)
        .await?;
        tx.rollback().await?;
        rows.iter().map(AssignmentRow::view).collect()
    }

    /// `POST /v1/orgs/{org}/assignments` `{"subject", "role", "scope"?,
    /// "owner_only"?}`. An existing identical assignment is answered as is.
    #[allow(
        clippy::too_many_arguments,
        reason = "the request's fields plus actor, org and time"
    )]
    pub async fn create_assignment(
        &self,
        actor: &Actor,
        org: &str,
        subject: &Subject,
        role: &str,
        scope: Option<&NodeKey>,
        owner_only: bool,
        now: i64,
    ) -> Result<AssignmentView, AdminError> {
        // A subject or node built in code must still have the text form's shape.
        let subject_text = subject.to_string();
        if subject_text.parse::<Subject>().is_err() {
            return Err(AdminError::bad(
                "subject",
                format!("`{subject_text}` is not a valid subject"),
            ));
        }
        if let Some(scope) = scope {
            if NodeKey::split(&scope.to_string()).is_none() {
                return Err(AdminError::bad(
                    "scope",
                    format!("`{scope}` is not a valid node key"),
                ));
            }
            if self.manifest.types.index(&scope.ty).is_none() {
                return Err(AdminError::bad(
                    "scope",
                    format!("type `{}` is not declared", scope.ty),
                ));
            }
        }
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageMembers).await?;
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM roles WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(role)
                .fetch_optional(&mut *tx)
                .await?;
        found.ok_or_else(|| AdminError::NotFound(Missing::new("role", role)))?;
        let (user, group) = subject_ids(&mut tx, org, subject).await?;
        let path = match scope {
            Some(scope) => require_path(&mut tx, org, scope).await?,
            None => Vec::new(),
        };
        let keys = self.role_keys(&mut tx, org, role).await?;
        Self::require_holds(holder.as_ref(), &keys, &path)?;
        let scope_key = scope.map(ToString::to_string).unwrap_or_default();
        let owner_flag = i64::from(owner_only);
        if let Some(row) =
            find_existing(&mut tx, org, &subject_text, role, &scope_key, owner_flag).await?
        {
            return row.view();
        }
        let view = AssignmentView {
            id: super::batch::entry_id("a")?,
            subject: subject.clone(),
            role: role.to_owned(),
            scope: scope.map(ToString::to_string),
            owner_only,
        };
        self.require_room(&mut tx, org, Counted::Assignments)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO assignments (org_id, id, subject, subject_user, subject_group, role_id, scope_type, scope_id, scope_key, owner_only, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (org_id, subject, role_id, scope_key, owner_only) DO NOTHING",
        )
        .bind(org)
        .bind(&view.id)
        .bind(&subject_text)
        .bind(user)
        .bind(group)
        .bind(role)
        .bind(scope.map(|s| s.ty.clone()))
        .bind(scope.map(|s| s.id.clone()))
        .bind(&scope_key)
        .bind(owner_flag)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            // A concurrent write created it first: answer that one.
            return match find_existing(&mut tx, org, &subject_text, role, &scope_key, owner_flag)
                .await?
            {
                Some(row) => row.view(),
                None => Err(AdminError::Store(crate::store::StoreError::Corrupt(
                    format!("assignment of `{role}` to `{subject_text}` vanished"),
                ))),
            };
        }
        if let Subject::User(target) = subject {
            // The target as it now stands must be one the actor may manage.
            self.may_manage(&mut tx, holder.as_ref(), actor, org, target)
                .await?;
        }
        let audit = Audit {
            action: "assignment.create",
            target: format!("assignment:{}", view.id),
            before: None,
            after: Some(json!(view)),
        };
        let change = Change::assignment(subject);
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await?;
        Ok(view)
    }

    /// `DELETE /v1/orgs/{org}/assignments/{id}`.
    pub async fn delete_assignment(
        &self,
        actor: &Actor,
        org: &str,
        id: &str,
        now: i64,
    ) -> Result<(), AdminError> {
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageMembers).await?;
        let row: Option<AssignmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM assignments WHERE org_id = $1 AND id = $2"
        )))
        .bind(org)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(AdminError::NotFound(Missing::new("assignment", id)));
        };
        let view = row.view()?;
        if let Some(target) = &row.subject_user {
            self.may_manage(&mut tx, holder.as_ref(), actor, org, target)
                .await?;
        }
        self.guard_guarded_assignment(&mut tx, org, &row).await?;
        if holder.is_some()
            && let Some(scope) = row.scope()
        {
            let path = require_path(&mut tx, org, &scope).await?;
            let keys = self.widened_keys(&mut tx, org, &row, &path).await?;
            Self::require_holds(holder.as_ref(), &keys, &path)?;
        }
        sqlx::query("DELETE FROM assignments WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let audit = Audit {
            action: "assignment.delete",
            target: format!("assignment:{id}"),
            before: Some(json!(view)),
            after: None,
        };
        let change = Change::assignment(&view.subject);
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await
    }

    /// `LAST_GUARDED_ASSIGNMENT` when `row` is the org's last active direct
    /// org-root plain assignment of a guarded built-in. An assignment that
    /// does not count itself (a group's, a scoped or owner-only one, an
    /// inactive user's) can always go.
    async fn guard_guarded_assignment(
        &self,
        tx: &mut Tx,
        org: &str,
        row: &AssignmentRow,
    ) -> Result<(), AdminError> {
        let Some(user) = &row.subject_user else {
            return Ok(());
        };
        if row.scope_type.is_some() || row.owner_only != 0 {
            return Ok(());
        }
        let (builtin,): (Option<String>,) =
            sqlx::query_as("SELECT builtin FROM roles WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(&row.role_id)
                .fetch_one(&mut **tx)
                .await?;
        let guarded = builtin
            .as_deref()
            .and_then(|key| self.manifest.builtin(key))
            .is_some_and(|role| role.guarded);
        if !guarded {
            return Ok(());
        }
        let (active,): (i64,) = sqlx::query_as("SELECT active FROM users WHERE id = $1")
            .bind(user)
            .fetch_one(&mut **tx)
            .await?;
        if active == 0 {
            return Ok(());
        }
        let (others,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM assignments a JOIN users u ON u.id = a.subject_user
              WHERE a.org_id = $1 AND a.role_id = $2 AND a.scope_key = '' AND a.owner_only = 0
                AND u.active = 1 AND a.id <> $3",
        )
        .bind(org)
        .bind(&row.role_id)
        .bind(&row.id)
        .fetch_one(&mut **tx)
        .await?;
        if others == 0 {
            return Err(AdminError::LastGuardedAssignment(
                builtin.unwrap_or_else(|| row.role_id.clone()),
            ));
        }
        Ok(())
    }

    /// What removing `row` (scoped at the end of `path`) gives its subject
    /// there, by step 8 of the decision procedure
    /// ([`tessera_core::deciding_scope`]): nothing while another of the
    /// subject's assignments is at that node; otherwise the keys of every
    /// role the subject has at the next wider scope where it has any.
    async fn widened_keys(
        &self,
        tx: &mut Tx,
        org: &str,
        row: &AssignmentRow,
        path: &[String],
    ) -> Result<Vec<String>, AdminError> {
        let others: Vec<(String, String)> = sqlx::query_as(
            "SELECT scope_key, role_id FROM assignments WHERE org_id = $1 AND subject = $2 AND id <> $3",
        )
        .bind(org)
        .bind(&row.subject)
        .bind(&row.id)
        .fetch_all(&mut **tx)
        .await?;
        // The org root's scope key is ''.
        let chain: Vec<&str> = std::iter::once("")
            .chain(path.iter().map(String::as_str))
            .collect();
        let deciding =
            tessera_core::deciding_scope(&chain, |scope| others.iter().any(|(at, _)| at == scope));
        let wider = deciding
            .filter(|depth| depth + 1 < chain.len())
            .and_then(|depth| chain.get(depth));
        let Some(wider) = wider else {
            return Ok(Vec::new());
        };
        let mut keys = Vec::new();
        for (_, role) in others.iter().filter(|(at, _)| at == wider) {
            keys.extend(self.role_keys(tx, org, role).await?);
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }
}
