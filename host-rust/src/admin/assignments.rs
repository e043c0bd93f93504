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
use super::batch::Batch;
use super::lookup::node_path;
use super::quotas::Counted;
use super::write::{Actor, Admin, AdminKey, Affects, Audit, audit_row};
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

/// The subject's user and group columns.
fn subject_ids(subject: &Subject) -> (Option<String>, Option<String>) {
    match subject {
        Subject::User(user) => (Some(user.clone()), None),
        Subject::Group(group) => (None, Some(group.clone())),
        Subject::Everyone | Subject::Authenticated | Subject::Members => (None, None),
    }
}

/// Checks, in one statement, that an assignment's references exist in the
/// org, in this order: its role, its subject (a user must be a member, a
/// group must exist, `admin` included), its scope node.
async fn require_references(
    tx: &mut Tx,
    org: &str,
    role: &str,
    subject: &Subject,
    scope: Option<&NodeKey>,
) -> Result<(), AdminError> {
    let (subject_sql, subject_id, missing_subject) = match subject {
        Subject::User(user) => (
            "SELECT COUNT(*) FROM members WHERE org_id = $1 AND user_id = $3",
            user.as_str(),
            Missing::new("member", user),
        ),
        Subject::Group(group) => (
            "SELECT COUNT(*) FROM groups WHERE org_id = $1 AND id = $3",
            group.as_str(),
            Missing::new("group", group),
        ),
        // Always there: the org counts once (the statement still takes `$3`).
        Subject::Everyone | Subject::Authenticated | Subject::Members => (
            "SELECT COUNT(*) FROM orgs WHERE id = $1 AND $3 = ''",
            "",
            Missing::new("subject", &subject.to_string()),
        ),
    };
    let (ty, id) = scope.map_or(("", ""), |node| (node.ty.as_str(), node.id.as_str()));
    let (roles, subjects, nodes): (i64, i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT (SELECT COUNT(*) FROM roles WHERE org_id = $1 AND id = $2), ({subject_sql}),
                (SELECT COUNT(*) FROM nodes WHERE org_id = $1 AND type = $4 AND id = $5)"
    )))
    .bind(org)
    .bind(role)
    .bind(subject_id)
    .bind(ty)
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    if roles == 0 {
        return Err(AdminError::NotFound(Missing::new("role", role)));
    }
    if subjects == 0 {
        return Err(AdminError::NotFound(missing_subject));
    }
    if let Some(node) = scope
        && nodes == 0
    {
        return Err(AdminError::NotFound(Missing::new(
            "node",
            &node.to_string(),
        )));
    }
    Ok(())
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

/// The audit row of a created assignment.
fn created(view: &AssignmentView) -> Audit<'static> {
    Audit {
        action: "assignment.create",
        target: format!("assignment:{}", view.id),
        before: None,
        after: Some(json!(view)),
    }
}

/// Assignments per statement of [`Admin::create_assignments_at_once`]:
/// 11 parameters each, and few enough that SQLite's lookup of each
/// parameter's name (linear in their number) stays cheap.
const ROWS_AT_ONCE: usize = 64;

/// Inserts `items` (with their subjects' texts and scopes) under a
/// savepoint when every one's references exist and none exists yet;
/// otherwise rolls back to it and answers `false`.
async fn insert_at_once(
    tx: &mut Tx,
    org: &str,
    items: &[AssignmentView],
    subjects: &[(String, Option<NodeKey>)],
    now: i64,
) -> Result<bool, AdminError> {
    sqlx::query("SAVEPOINT assignments_at_once")
        .execute(&mut **tx)
        .await?;
    let mut inserted = 0;
    let mut refused = false;
    for (chunk, texts) in items
        .chunks(ROWS_AT_ONCE)
        .zip(subjects.chunks(ROWS_AT_ONCE))
    {
        match insert_chunk(tx, org, chunk, texts, now).await {
            Ok(rows) => inserted += rows,
            Err(_) => {
                // Any store error (an id taken, say) aborts the statement:
                // the writes one by one meet it again and report it.
                refused = true;
                break;
            }
        }
    }
    let all = !refused && usize::try_from(inserted).is_ok_and(|rows| rows == items.len());
    if !all {
        sqlx::query("ROLLBACK TO SAVEPOINT assignments_at_once")
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("RELEASE SAVEPOINT assignments_at_once")
        .execute(&mut **tx)
        .await?;
    Ok(all)
}

/// One statement of [`insert_at_once`]: the rows whose references exist
/// and which do not exist yet; answers how many it inserted.
async fn insert_chunk(
    tx: &mut Tx,
    org: &str,
    items: &[AssignmentView],
    subjects: &[(String, Option<NodeKey>)],
    now: i64,
) -> Result<u64, AdminError> {
    const COLUMNS: usize = 11;
    let values: Vec<String> = (0..items.len())
        .map(|row| {
            let params: Vec<String> = (1..=COLUMNS)
                .map(|n| format!("${}", row * COLUMNS + n))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let sql = format!(
        "WITH v (org_id, id, subject, subject_user, subject_group, role_id, scope_type, scope_id, scope_key, owner_only, created_at)
           AS (VALUES {})
         INSERT INTO assignments (org_id, id, subject, subject_user, subject_group, role_id, scope_type, scope_id, scope_key, owner_only, created_at)
         SELECT org_id, id, subject, subject_user, subject_group, role_id, scope_type, scope_id, scope_key, owner_only, created_at FROM v
          WHERE EXISTS (SELECT 1 FROM roles r WHERE r.org_id = v.org_id AND r.id = v.role_id)
            AND (v.subject_user IS NULL OR EXISTS (SELECT 1 FROM members m WHERE m.org_id = v.org_id AND m.user_id = v.subject_user))
            AND (v.subject_group IS NULL OR EXISTS (SELECT 1 FROM groups g WHERE g.org_id = v.org_id AND g.id = v.subject_group))
            AND (v.scope_type IS NULL OR EXISTS (SELECT 1 FROM nodes n WHERE n.org_id = v.org_id AND n.type = v.scope_type AND n.id = v.scope_id))
         ON CONFLICT (org_id, subject, role_id, scope_key, owner_only) DO NOTHING",
        values.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (item, (text, scope)) in items.iter().zip(subjects) {
        let (user, group) = subject_ids(&item.subject);
        query = query
            .bind(org.to_owned())
            .bind(item.id.clone())
            .bind(text.clone())
            .bind(user)
            .bind(group)
            .bind(item.role.clone())
            .bind(scope.as_ref().map(|s| s.ty.clone()))
            .bind(scope.as_ref().map(|s| s.id.clone()))
            .bind(item.scope.clone().unwrap_or_default())
            .bind(i64::from(item.owner_only))
            .bind(now);
    }
    Ok(query.execute(&mut **tx).await?.rows_affected())
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
        let subject_text = self.require_shape(subject, scope)?;
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageMembers).await?;
        if holder.is_some() {
            // An actor must hold the role's keys at the scope.
            require_references(&mut tx, org, role, subject, scope).await?;
            let path = match scope {
                Some(scope) => require_path(&mut tx, org, scope).await?,
                None => Vec::new(),
            };
            let keys = self.role_keys(&mut tx, org, role).await?;
            Self::require_holds(holder.as_ref(), &keys, &path)?;
        }
        let scope_key = scope.map(ToString::to_string).unwrap_or_default();
        let owner_flag = i64::from(owner_only);
        let view = AssignmentView {
            id: super::batch::entry_id("a")?,
            subject: subject.clone(),
            role: role.to_owned(),
            scope: scope.map(ToString::to_string),
            owner_only,
        };
        let (user, group) = subject_ids(subject);
        // One statement inserts it when its references exist and no equal
        // one does (an apply runs one per assignment); only when nothing
        // was inserted are the references read again, to say why. The
        // quota is counted after the insert (the transaction is dropped
        // when over it), so an assignment that exists is answered as it
        // is, quota or not.
        let inserted = sqlx::query(
            "INSERT INTO assignments (org_id, id, subject, subject_user, subject_group, role_id, scope_type, scope_id, scope_key, owner_only, created_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
              WHERE EXISTS (SELECT 1 FROM roles WHERE org_id = $1 AND id = $6)
                AND ($4 IS NULL OR EXISTS (SELECT 1 FROM members WHERE org_id = $1 AND user_id = $4))
                AND ($5 IS NULL OR EXISTS (SELECT 1 FROM groups WHERE org_id = $1 AND id = $5))
                AND ($7 IS NULL OR EXISTS (SELECT 1 FROM nodes WHERE org_id = $1 AND type = $7 AND id = $8))
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
            require_references(&mut tx, org, role, subject, scope).await?;
            // It exists (or a concurrent write created it first): answer that one.
            return match find_existing(&mut tx, org, &subject_text, role, &scope_key, owner_flag)
                .await?
            {
                Some(row) => row.view(),
                None => Err(AdminError::Store(crate::store::StoreError::Corrupt(
                    format!("assignment of `{role}` to `{subject_text}` vanished"),
                ))),
            };
        }
        self.require_room_after(&mut tx, org, Counted::Assignments)
            .await?;
        if let Subject::User(target) = subject {
            // The target as it now stands must be one the actor may manage.
            self.may_manage(&mut tx, holder.as_ref(), actor, org, target)
                .await?;
        }
        let change = Change::assignment(subject);
        self.finish(
            tx,
            actor,
            Affects::Org(org, Box::new(change)),
            created(&view),
            now,
        )
        .await?;
        Ok(view)
    }

    /// The subject's text, unless a subject or scope built in code lacks
    /// the text form's shape or the scope's type is not declared.
    fn require_shape(
        &self,
        subject: &Subject,
        scope: Option<&NodeKey>,
    ) -> Result<String, AdminError> {
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
        Ok(subject_text)
    }

    /// Inside an apply, for the trusted backend: creates `items` with one
    /// statement per [`ROWS_AT_ONCE`] when every one is well formed, its
    /// references exist and it is new, leaving the audit rows and the
    /// quota count their single writes would. Answers `false`, having
    /// written nothing, when any is not: the apply then runs them one by
    /// one, and the first refusal names its entry.
    pub(crate) async fn create_assignments_at_once(
        &self,
        batch: &Batch,
        org: &str,
        items: &[AssignmentView],
        now: i64,
    ) -> Result<bool, AdminError> {
        let mut subjects = Vec::with_capacity(items.len());
        for item in items {
            let scope = match item.scope.as_deref().map(str::parse::<NodeKey>) {
                Some(Ok(scope)) => Some(scope),
                Some(Err(_)) => return Ok(false),
                None => None,
            };
            match self.require_shape(&item.subject, scope.as_ref()) {
                Ok(text) => subjects.push((text, scope)),
                Err(_) => return Ok(false),
            }
        }
        if !batch.knows_org(org) {
            return Ok(false);
        }
        let mut tx = batch.take()?;
        let inserted = insert_at_once(&mut tx, org, items, &subjects, now).await;
        let revision = batch.revision(&mut tx, org).await;
        batch.give_back(tx)?;
        if !inserted? {
            return Ok(false);
        }
        let revision = revision?;
        for item in items {
            batch.record(audit_row(
                Some(org),
                &Actor::Backend,
                created(item),
                Some(revision),
                now,
            ))?;
        }
        batch.count_at_end(Counted::Assignments)?;
        Ok(true)
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
