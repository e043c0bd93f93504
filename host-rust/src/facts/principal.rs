//! The rows that belong to one principal, in one statement: the org header
//! with the user, its membership, its direct groups and its own
//! assignments (by user and by pseudo-group); and the statement that reads
//! the assignments of groups (kept per structure, [`super::grants`]). Both
//! read index ranges whose size follows the principal or its groups, not
//! the org, and both read the org revision, so they can run outside a
//! transaction and still be known to have read one state of the store.

use foldhash::HashMap;
use sqlx::AnyConnection;
use std::collections::BTreeSet;

use tessera_core::{ANONYMOUS, AssignmentFact, UserFact};

use super::FactsError;
use super::rows::{parse, scope};
use crate::store::Backend;

/// The org, the user (if any), its membership, and as JSON arrays its
/// direct groups (`{direct}`) and its own assignments (`{own}`, rows of
/// [`OWN`]). Binds: $1 org, $2 user id.
const HEAD: &str = "SELECT o.revision, o.kiosk, u.name, u.superuser, u.active,
       m.user_id AS member, {direct} AS direct, {own} AS own
  FROM orgs o
  LEFT JOIN users u ON u.id = $2
  LEFT JOIN members m ON m.org_id = o.id AND m.user_id = $2
 WHERE o.id = $1";

/// The assignments of the user and of every pseudo-group, as two disjoint
/// index-served branches. Which pseudo-groups apply to the principal is the
/// compiler's rule, not repeated here: the few rows of the others are read
/// and left unused.
const OWN: &str = "
SELECT a.id, a.subject, a.role_id, a.scope_type, a.scope_id, a.owner_only
  FROM assignments a WHERE a.org_id = $1 AND a.subject_user = $2
UNION ALL
SELECT a.id, a.subject, a.role_id, a.scope_type, a.scope_id, a.owner_only
  FROM assignments a WHERE a.org_id = $1 AND a.subject IN ('@everyone', '@authenticated', '@members')";

/// The assignments of the groups in $2 (a JSON array of group ids, read by
/// the backend's `{groups}`), each with the org revision; one row of nulls
/// but the revision when there are none, no row when the org is gone.
/// Binds: $1 org, $2 groups.
const GROUP_ASSIGNMENTS: &str = "WITH o AS (SELECT revision FROM orgs WHERE id = $1)
SELECT o.revision, a.subject_group, a.id, a.subject, a.role_id, a.scope_type, a.scope_id, a.owner_only
  FROM o LEFT JOIN (
       SELECT a.subject_group, a.id, a.subject, a.role_id, a.scope_type, a.scope_id, a.owner_only
         FROM assignments a WHERE a.org_id = $1 AND a.subject_group IN ({groups})
       ) a ON 1 = 1";

/// [`HEAD`] as `backend` runs it.
pub(super) fn head_sql(backend: Backend) -> String {
    let (direct, own) = match backend {
        Backend::Postgres => (
            "COALESCE((SELECT json_agg(group_id)::text FROM group_members WHERE org_id = $1 AND member_user = $2), '[]')",
            "COALESCE((SELECT json_agg(json_build_array(a.id, a.subject, a.role_id, a.scope_type, a.scope_id, a.owner_only))::text FROM ({rows}) a), '[]')",
        ),
        Backend::Sqlite => (
            "(SELECT json_group_array(group_id) FROM group_members WHERE org_id = $1 AND member_user = $2)",
            "(SELECT json_group_array(json_array(a.id, a.subject, a.role_id, a.scope_type, a.scope_id, a.owner_only)) FROM ({rows}) a)",
        ),
    };
    HEAD.replace("{direct}", direct)
        .replace("{own}", &own.replace("{rows}", OWN))
}

/// [`GROUP_ASSIGNMENTS`] as `backend` runs it.
pub(super) fn group_assignments_sql(backend: Backend) -> String {
    let groups = match backend {
        Backend::Postgres => "SELECT json_array_elements_text($2::json)",
        Backend::Sqlite => "SELECT value FROM json_each($2)",
    };
    GROUP_ASSIGNMENTS.replace("{groups}", groups)
}

/// The backend a connection runs on.
pub(super) fn backend_of(conn: &mut AnyConnection) -> Backend {
    if conn.backend_name() == "PostgreSQL" {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// What [`HEAD`] returns.
#[derive(sqlx::FromRow)]
struct HeadRow {
    revision: i64,
    kiosk: i64,
    name: Option<String>,
    superuser: Option<i64>,
    active: Option<i64>,
    member: Option<String>,
    direct: String,
    own: String,
}

/// One assignment in [`HeadRow::own`]: id, subject, role, scope type, scope
/// id, owner-only (0/1).
type OwnRow = (String, String, String, Option<String>, Option<String>, i64);

/// The org header and what is known of the principal.
#[derive(Debug)]
pub(super) struct Head {
    pub(super) revision: u64,
    pub(super) kiosk: bool,
    /// `None` for `anonymous`.
    pub(super) user: Option<UserFact>,
    pub(super) member: bool,
    /// The groups the user is a direct member of.
    pub(super) direct: Vec<String>,
    /// The assignments of the user and of every pseudo-group, sorted by id.
    pub(super) own: Vec<AssignmentFact>,
}

impl Head {
    pub(super) fn superuser(&self) -> bool {
        self.user.as_ref().is_some_and(|user| user.superuser)
    }
}

/// Reads the org header and the principal (a user id or `anonymous`).
pub(super) async fn load_head(
    conn: &mut AnyConnection,
    org: &str,
    principal: &str,
) -> Result<Head, FactsError> {
    let backend = backend_of(conn);
    let row: Option<HeadRow> = sqlx::query_as(sqlx::AssertSqlSafe(head_sql(backend)))
        .bind(org)
        .bind(principal)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Err(FactsError::UnknownOrg(org.to_owned()));
    };
    let own: Vec<OwnRow> =
        serde_json::from_str(&row.own).map_err(|_| FactsError::Corrupt(row.own.clone()))?;
    let mut own = own
        .into_iter()
        .map(|(id, subject, role, scope_type, scope_id, owner_only)| {
            assignment(id, &subject, role, scope_type, scope_id, owner_only)
        })
        .collect::<Result<Vec<_>, _>>()?;
    own.sort_by(|a, b| a.id.cmp(&b.id));
    let mut head = Head {
        revision: u64::try_from(row.revision).unwrap_or(0),
        kiosk: row.kiosk != 0,
        user: None,
        member: false,
        direct: Vec::new(),
        own,
    };
    if principal == ANONYMOUS {
        return Ok(head);
    }
    let (Some(name), Some(superuser), Some(active)) = (row.name, row.superuser, row.active) else {
        return Err(FactsError::UnknownPrincipal(principal.to_owned()));
    };
    head.user = Some(UserFact {
        id: principal.to_owned(),
        name: Some(name),
        superuser: superuser != 0,
        active: active != 0,
    });
    head.member = row.member.is_some();
    head.direct =
        serde_json::from_str(&row.direct).map_err(|_| FactsError::Corrupt(row.direct.clone()))?;
    Ok(head)
}

fn assignment(
    id: String,
    subject: &str,
    role: String,
    scope_type: Option<String>,
    scope_id: Option<String>,
    owner_only: i64,
) -> Result<AssignmentFact, FactsError> {
    Ok(AssignmentFact {
        subject: parse(subject)?,
        role,
        scope: scope(scope_type, scope_id),
        owner_only: owner_only != 0,
        id: Some(id),
    })
}

/// What [`GROUP_ASSIGNMENTS`] returns.
#[derive(sqlx::FromRow)]
struct GroupAssignmentRow {
    revision: i64,
    subject_group: Option<String>,
    id: Option<String>,
    subject: Option<String>,
    role_id: Option<String>,
    scope_type: Option<String>,
    scope_id: Option<String>,
    owner_only: Option<i64>,
}

/// The assignments of some groups, by group, and the org revision they
/// were read at (`None`: the org is gone).
pub(super) struct GroupAssignments {
    pub(super) revision: Option<u64>,
    pub(super) by_group: HashMap<String, Vec<AssignmentFact>>,
}

/// Reads the assignments of `groups`.
pub(super) async fn load_group_assignments(
    conn: &mut AnyConnection,
    org: &str,
    groups: &BTreeSet<String>,
) -> Result<GroupAssignments, FactsError> {
    let backend = backend_of(conn);
    let bound =
        serde_json::to_string(groups).map_err(|err| FactsError::Corrupt(err.to_string()))?;
    let rows: Vec<GroupAssignmentRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(group_assignments_sql(backend)))
            .bind(org)
            .bind(bound)
            .fetch_all(&mut *conn)
            .await?;
    let revision = rows
        .first()
        .and_then(|row| u64::try_from(row.revision).ok());
    let mut by_group: HashMap<String, Vec<AssignmentFact>> = HashMap::default();
    for row in rows {
        let (Some(group), Some(id), Some(subject), Some(role)) =
            (row.subject_group, row.id, row.subject, row.role_id)
        else {
            continue;
        };
        let fact = assignment(
            id,
            &subject,
            role,
            row.scope_type,
            row.scope_id,
            row.owner_only.unwrap_or(0),
        )?;
        by_group.entry(group).or_default().push(fact);
    }
    Ok(GroupAssignments { revision, by_group })
}
