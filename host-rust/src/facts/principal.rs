//! The rows that belong to one principal: the org header with the user, its
//! membership and its direct groups (one query), then the assignments that
//! can apply to it (one more). Both read index ranges whose size follows
//! the principal, not the org: these are the tables that grow with users.
//! Each carries the org revision it read, so the two can run outside a
//! transaction and still be known to have read one state of the store.

use sqlx::AnyConnection;
use std::collections::BTreeSet;

use tessera_core::{ANONYMOUS, AssignmentFact, UserFact};

use super::{FactsError, parse, scope};
use crate::store::Backend;

/// The org, the user (if any) and its membership. Binds: $1 org, $2 user id.
/// `{direct}` is the backend's JSON array of the user's direct groups.
const HEAD: &str = "SELECT o.revision, o.kiosk, u.name, u.superuser, u.active,
       m.user_id AS member, {direct} AS direct
  FROM orgs o
  LEFT JOIN users u ON u.id = $2
  LEFT JOIN members m ON m.org_id = o.id AND m.user_id = $2
 WHERE o.id = $1";

/// The assignments [`SUBJECTS`] selects, each with the org revision; one
/// row of nulls but the revision when there are none, no row when the org
/// is gone. Binds as [`SUBJECTS`].
const ASSIGNMENTS: &str = "WITH o AS (SELECT revision FROM orgs WHERE id = $1)
SELECT o.revision, a.id, a.subject, a.role_id, a.scope_type, a.scope_id, a.owner_only
  FROM o LEFT JOIN ({subjects}) a ON 1 = 1";

/// The assignments whose subject can apply to the principal, as three
/// disjoint index-served branches. Binds: $1 org, $2 principal, $3 JSON
/// array of effective group ids, $4 member (0/1); `{groups}` is the
/// backend's reading of $3.
const SUBJECTS: &str = "
SELECT a.id, a.subject, a.role_id, a.scope_type, a.scope_id, a.owner_only
  FROM assignments a WHERE a.org_id = $1 AND a.subject_user = $2
UNION ALL
SELECT a.id, a.subject, a.role_id, a.scope_type, a.scope_id, a.owner_only
  FROM assignments a WHERE a.org_id = $1 AND a.subject_group IN ({groups})
UNION ALL
SELECT a.id, a.subject, a.role_id, a.scope_type, a.scope_id, a.owner_only
  FROM assignments a WHERE a.org_id = $1 AND a.subject IN ('@everyone', '@authenticated', '@members')
   AND (a.subject <> '@authenticated' OR $2 <> 'anonymous') AND (a.subject <> '@members' OR $4 = 1)";

/// [`HEAD`] as `backend` runs it.
pub(super) fn head_sql(backend: Backend) -> String {
    let direct = match backend {
        Backend::Postgres => {
            "COALESCE((SELECT json_agg(group_id)::text FROM group_members WHERE org_id = $1 AND member_user = $2), '[]')"
        }
        Backend::Sqlite => {
            "(SELECT json_group_array(group_id) FROM group_members WHERE org_id = $1 AND member_user = $2)"
        }
    };
    HEAD.replace("{direct}", direct)
}

/// [`ASSIGNMENTS`] as `backend` runs it.
pub(super) fn assignments_sql(backend: Backend) -> String {
    let groups = match backend {
        Backend::Postgres => "SELECT json_array_elements_text($3::json)",
        Backend::Sqlite => "SELECT value FROM json_each($3)",
    };
    ASSIGNMENTS
        .replace("{subjects}", SUBJECTS)
        .replace("{groups}", groups)
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
}

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
    let mut head = Head {
        revision: u64::try_from(row.revision).unwrap_or(0),
        kiosk: row.kiosk != 0,
        user: None,
        member: false,
        direct: Vec::new(),
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

/// What [`ASSIGNMENTS`] returns.
#[derive(sqlx::FromRow)]
struct AssignmentRow {
    revision: i64,
    id: Option<String>,
    subject: Option<String>,
    role_id: Option<String>,
    scope_type: Option<String>,
    scope_id: Option<String>,
    owner_only: Option<i64>,
}

/// The assignments that can apply to a principal, sorted by id, and the
/// org revision they were read at (`None`: the org is gone).
pub(super) struct Assignments {
    pub(super) revision: Option<u64>,
    pub(super) facts: Vec<AssignmentFact>,
}

/// Reads the assignments that can apply to `principal` in its `effective`
/// groups.
pub(super) async fn load_assignments(
    conn: &mut AnyConnection,
    org: &str,
    principal: &str,
    effective: &BTreeSet<String>,
    member: bool,
) -> Result<Assignments, FactsError> {
    let backend = backend_of(conn);
    let groups =
        serde_json::to_string(effective).map_err(|err| FactsError::Corrupt(err.to_string()))?;
    let rows: Vec<AssignmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(assignments_sql(backend)))
        .bind(org)
        .bind(principal)
        .bind(groups)
        .bind(i64::from(member))
        .fetch_all(&mut *conn)
        .await?;
    let revision = rows
        .first()
        .and_then(|row| u64::try_from(row.revision).ok());
    let mut facts = rows
        .into_iter()
        .filter_map(|row| {
            let (Some(id), Some(subject), Some(role)) = (row.id, row.subject, row.role_id) else {
                return None;
            };
            Some(parse(&subject).map(|subject| AssignmentFact {
                subject,
                role,
                scope: scope(row.scope_type, row.scope_id),
                owner_only: row.owner_only.unwrap_or(0) != 0,
                id: Some(id),
            }))
        })
        .collect::<Result<Vec<_>, FactsError>>()?;
    facts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Assignments { revision, facts })
}
