//! Users (global) and org membership, with the last-superuser and
//! last-guarded-holder guards and the manage-another-user escalation rule.

use serde::Serialize;
use serde_json::json;
use tessera_core::{Reach, is_valid_user_id};

use super::AdminError;
use super::write::{Actor, Admin, AdminKey, Affects, Audit, unchanged};
use crate::changes::{Change, Delta, WriteKind};
use crate::missing::Missing;
use crate::store::Tx;

/// A user's stored fields.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct UserRow {
    name: String,
    superuser: i64,
    active: i64,
}

/// A user as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// The user id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Platform operator flag.
    pub superuser: bool,
    /// Active flag (an inactive user is denied everything).
    pub active: bool,
}

/// A member of an org, as the member search answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    /// The user id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// The most members one search answers.
pub const MEMBER_SEARCH_MAX: u32 = 100;

/// The body of `PUT /v1/users/{id}`.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// Display name (required when creating).
    pub name: Option<String>,
    /// Platform operator flag.
    pub superuser: Option<bool>,
    /// Active flag.
    pub active: Option<bool>,
}

impl Admin {
    /// `GET /v1/orgs/{org}/members?search=&limit=`: the org's members whose
    /// id or name contains `search` (ASCII letters in either case; empty:
    /// every member), by id as bytes, at most `limit` (1 to
    /// [`MEMBER_SEARCH_MAX`]): what a "add a member" field offers as the
    /// operator types. Reading needs the `manage_members` admin key.
    pub async fn search_members(
        &self,
        actor: &Actor,
        org: &str,
        search: &str,
        limit: u32,
    ) -> Result<Vec<MemberView>, AdminError> {
        if !(1..=MEMBER_SEARCH_MAX).contains(&limit) {
            return Err(AdminError::bad(
                "limit",
                format!("`limit` must be 1 to {MEMBER_SEARCH_MAX}"),
            ));
        }
        // A bound on the work, and no NUL (Postgres refuses one in any text).
        if search.chars().count() > 128 || search.chars().any(char::is_control) {
            return Err(AdminError::bad(
                "search",
                "`search` must be at most 128 characters, none of them a control character",
            ));
        }
        let mut tx = self.open_read(actor, org, AdminKey::ManageMembers).await?;
        // The byte-order collation lowercases ASCII letters only, on both
        // stores, as the search text is lowercased.
        let collate = self.store.backend().byte_order();
        let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT u.id, u.name FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.org_id = $1
               AND (lower(u.id COLLATE {collate}) LIKE $2 ESCAPE '!'
                    OR lower(u.name COLLATE {collate}) LIKE $2 ESCAPE '!')
             ORDER BY u.id COLLATE {collate} LIMIT $3"
        )))
        .bind(org)
        .bind(format!("%{}%", like_escaped(&search.to_ascii_lowercase())))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|(id, name)| MemberView { id, name })
            .collect())
    }

    /// A user as stored; `NOT_FOUND` for an unknown id.
    pub async fn get_user(&self, id: &str) -> Result<UserView, AdminError> {
        let row: Option<UserRow> =
            sqlx::query_as("SELECT name, superuser, active FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(self.store.pool())
                .await?;
        let row = row.ok_or_else(|| AdminError::NotFound(Missing::new("user", id)))?;
        Ok(UserView {
            id: id.to_owned(),
            name: row.name,
            superuser: row.superuser == 1,
            active: row.active == 1,
        })
    }

    /// `PUT /v1/users/{id}`: create or update a user (a global write).
    pub async fn put_user(
        &self,
        actor: &Actor,
        id: &str,
        update: &UserUpdate,
        now: i64,
    ) -> Result<(), AdminError> {
        if !is_valid_user_id(id) {
            return Err(AdminError::bad(
                "id",
                format!("`{id}` is not a valid user id"),
            ));
        }
        let mut tx = self.open_global(actor).await?;
        let before: Option<UserRow> =
            sqlx::query_as("SELECT name, superuser, active FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let name = match (&update.name, &before) {
            (Some(name), _) if !name.trim().is_empty() => name.trim().to_owned(),
            (None, Some(row)) => row.name.clone(),
            _ => return Err(AdminError::bad("name", "a user needs a name".to_owned())),
        };
        let after = UserRow {
            name,
            superuser: i64::from(
                update
                    .superuser
                    .unwrap_or(before.as_ref().is_some_and(|row| row.superuser == 1)),
            ),
            active: i64::from(
                update
                    .active
                    .unwrap_or(before.as_ref().is_none_or(|row| row.active == 1)),
            ),
        };
        if before.as_ref() == Some(&after) {
            return unchanged(tx);
        }
        if let Some(row) = &before {
            let was_active_superuser = row.superuser == 1 && row.active == 1;
            let stays = after.superuser == 1 && after.active == 1;
            if was_active_superuser && !stays && other_active_superusers(&mut tx, id).await? == 0 {
                return Err(AdminError::LastSuperuser(id.to_owned()));
            }
            if row.active == 1 && after.active == 0 {
                self.guard_guarded_roles(&mut tx, None, id).await?;
                // A deactivated user's console sessions end, and do not
                // come back with a reactivation (docs/console.md §10.1).
                crate::sessions::end_all(&mut tx, id).await?;
            }
        }
        sqlx::query(
            "INSERT INTO users (id, name, superuser, active) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, superuser = excluded.superuser, active = excluded.active",
        )
        .bind(id)
        .bind(&after.name)
        .bind(after.superuser)
        .bind(after.active)
        .execute(&mut *tx)
        .await?;
        let view = |row: &UserRow| json!({ "name": row.name, "superuser": row.superuser == 1, "active": row.active == 1 });
        let audit = Audit {
            action: "user.put",
            target: format!("user:{id}"),
            before: before.as_ref().map(view),
            after: Some(view(&after)),
        };
        // A flag change can change every org's answers (docs/snapshots.md §3); a new
        // name changes the snapshots that carry it, in every org the user
        // is in, so it bumps every org too (names change rarely).
        self.finish(tx, actor, Affects::Every, audit, now).await
    }

    /// `PUT /v1/orgs/{org}/members/{user}`.
    pub async fn put_member(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
        now: i64,
    ) -> Result<(), AdminError> {
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageMembers).await?;
        // One statement when the user exists and is not a member yet (an
        // apply runs one per member); otherwise the user is looked up, to
        // say which.
        let inserted = sqlx::query(
            "INSERT INTO members (org_id, user_id) SELECT $1, $2
              WHERE EXISTS (SELECT 1 FROM users WHERE id = $2)
             ON CONFLICT (org_id, user_id) DO NOTHING",
        )
        .bind(org)
        .bind(user)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            require_user(&mut tx, user).await?;
            return unchanged(tx);
        }
        // Joining gives the @members and default-group grants: the actor must
        // hold what the default groups grant (docs/admin.md §5: joining a group counts as
        // assigning its roles) and be allowed to manage the user as they
        // now stand.
        self.require_members_grants(&mut tx, holder.as_ref(), org)
            .await?;
        self.may_manage(&mut tx, holder.as_ref(), actor, org, user)
            .await?;
        let audit = Audit {
            action: "member.put",
            target: format!("user:{user}"),
            before: None,
            after: Some(json!({ "member": true })),
        };
        let change = Change::new(WriteKind::Member, Reach::user(user), Delta::None);
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await
    }

    /// `DELETE /v1/orgs/{org}/members/{user}`: also removes the user's group
    /// memberships and assignments in the org (the schema cascades them).
    pub async fn delete_member(
        &self,
        actor: &Actor,
        org: &str,
        user: &str,
        now: i64,
    ) -> Result<(), AdminError> {
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageMembers).await?;
        if !is_member(&mut tx, org, user).await? {
            return Err(AdminError::NotFound(Missing::new("member", user)));
        }
        self.may_manage(&mut tx, holder.as_ref(), actor, org, user)
            .await?;
        self.require_leaving(&mut tx, holder.as_ref(), org, user)
            .await?;
        self.guard_guarded_roles(&mut tx, Some(org), user).await?;
        sqlx::query("DELETE FROM members WHERE org_id = $1 AND user_id = $2")
            .bind(org)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        let audit = Audit {
            action: "member.delete",
            target: format!("user:{user}"),
            before: Some(json!({ "member": true })),
            after: None,
        };
        let change = Change::new(WriteKind::Member, Reach::user(user), Delta::None);
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await
    }

    /// Refuses to remove (from `org`, or from every org when deactivating)
    /// the last active direct org-root holder of a guarded built-in.
    pub(crate) async fn guard_guarded_roles(
        &self,
        tx: &mut Tx,
        org: Option<&str>,
        user: &str,
    ) -> Result<(), AdminError> {
        // An inactive holder does not count, so removing one never makes
        // anyone the last.
        let active: Option<(i64,)> = sqlx::query_as("SELECT active FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(&mut **tx)
            .await?;
        if active.is_none_or(|(active,)| active == 0) {
            return Ok(());
        }
        for role in self.manifest.roles.iter().filter(|role| role.guarded) {
            let held: Vec<(String,)> = sqlx::query_as(
                "SELECT a.org_id FROM assignments a WHERE a.subject_user = $1 AND a.role_id = $2
                  AND a.scope_key = '' AND a.owner_only = 0 AND ($3 = '' OR a.org_id = $3)",
            )
            .bind(user)
            .bind(&role.key)
            .bind(org.unwrap_or(""))
            .fetch_all(&mut **tx)
            .await?;
            for (held_in,) in held {
                if org.is_some_and(|org| org != held_in) {
                    continue;
                }
                let (others,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM assignments a JOIN users u ON u.id = a.subject_user
                      WHERE a.org_id = $1 AND a.role_id = $2 AND a.scope_key = '' AND a.owner_only = 0
                        AND u.active = 1 AND a.subject_user <> $3",
                )
                .bind(&held_in)
                .bind(&role.key)
                .bind(user)
                .fetch_one(&mut **tx)
                .await?;
                if others == 0 {
                    return Err(AdminError::LastGuardedAssignment(role.key.clone()));
                }
            }
        }
        Ok(())
    }
}

async fn other_active_superusers(tx: &mut Tx, user: &str) -> Result<i64, AdminError> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM users WHERE superuser = 1 AND active = 1 AND id <> $1",
    )
    .bind(user)
    .fetch_one(&mut **tx)
    .await?;
    Ok(count)
}

async fn require_user(tx: &mut Tx, user: &str) -> Result<(), AdminError> {
    if !is_valid_user_id(user) {
        return Err(AdminError::bad(
            "user",
            format!("`{user}` is not a valid user id"),
        ));
    }
    let found: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM users WHERE id = $1")
        .bind(user)
        .fetch_optional(&mut **tx)
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| AdminError::NotFound(Missing::new("user", user)))
}

async fn is_member(tx: &mut Tx, org: &str, user: &str) -> Result<bool, AdminError> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM members WHERE org_id = $1 AND user_id = $2")
            .bind(org)
            .bind(user)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(found.is_some())
}

/// `text` matched literally by `LIKE … ESCAPE '!'`.
fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            escaped.push('!');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::like_escaped;

    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(like_escaped("50%_off!"), "50!%!_off!!");
        assert_eq!(like_escaped("carol"), "carol");
    }
}
