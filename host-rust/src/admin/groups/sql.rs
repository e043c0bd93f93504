//! The SQL of the group aggregate: its rows and memberships, read and
//! written inside an admin write's transaction. The rules are the
//! caller's ([`super`]).

use std::collections::{BTreeMap, BTreeSet};

use tessera_core::Member;

use crate::admin::AdminError;
use crate::admin::names::name_key;
use crate::missing::Missing;
use crate::store::{StoreError, Tx};

/// A `groups` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct GroupRow {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) is_default: i64,
}

pub(super) async fn find_group(
    tx: &mut Tx,
    org: &str,
    id: &str,
) -> Result<Option<GroupRow>, AdminError> {
    Ok(
        sqlx::query_as("SELECT id, name, is_default FROM groups WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

pub(super) async fn require_group(
    tx: &mut Tx,
    org: &str,
    id: &str,
) -> Result<GroupRow, AdminError> {
    find_group(tx, org, id)
        .await?
        .ok_or_else(|| AdminError::NotFound(Missing::new("group", id)))
}

/// NAME_TAKEN unless no other group of the org has the name's key.
pub(super) async fn require_free_name(
    tx: &mut Tx,
    org: &str,
    name: &str,
    except: Option<&str>,
) -> Result<(), AdminError> {
    let taken: Option<(String,)> =
        sqlx::query_as("SELECT id FROM groups WHERE org_id = $1 AND name_key = $2")
            .bind(org)
            .bind(name_key(name))
            .fetch_optional(&mut **tx)
            .await?;
    match taken {
        Some((id,)) if Some(id.as_str()) != except => Err(AdminError::NameTaken(name.to_owned())),
        _ => Ok(()),
    }
}

/// A user member of the org, or a group of the org (`NOT_FOUND` otherwise).
pub(super) async fn require_member(
    tx: &mut Tx,
    org: &str,
    member: &Member,
) -> Result<(), AdminError> {
    match member {
        Member::User(user) => {
            let found: Option<(i64,)> =
                sqlx::query_as("SELECT 1 FROM members WHERE org_id = $1 AND user_id = $2")
                    .bind(org)
                    .bind(user)
                    .fetch_optional(&mut **tx)
                    .await?;
            found
                .map(|_| ())
                .ok_or_else(|| AdminError::NotFound(Missing::new("member", user)))
        }
        Member::Group(group) => require_group(tx, org, group).await.map(|_| ()),
    }
}

pub(super) async fn has_membership(
    tx: &mut Tx,
    org: &str,
    group: &str,
    member: &Member,
) -> Result<bool, AdminError> {
    let sql = match member {
        Member::User(_) => {
            "SELECT 1 FROM group_members WHERE org_id = $1 AND group_id = $2 AND member_user = $3"
        }
        Member::Group(_) => {
            "SELECT 1 FROM group_members WHERE org_id = $1 AND group_id = $2 AND member_group = $3"
        }
    };
    let found: Option<(i64,)> = sqlx::query_as(sql)
        .bind(org)
        .bind(group)
        .bind(member_id(member))
        .fetch_optional(&mut **tx)
        .await?;
    Ok(found.is_some())
}

pub(super) fn member_id(member: &Member) -> &str {
    match member {
        Member::User(id) | Member::Group(id) => id,
    }
}

pub(super) async fn insert_membership(
    tx: &mut Tx,
    org: &str,
    group: &str,
    member: &Member,
) -> Result<(), AdminError> {
    let (user, nested) = match member {
        Member::User(user) => (Some(user.clone()), None),
        Member::Group(nested) => (None, Some(nested.clone())),
    };
    sqlx::query(
        "INSERT INTO group_members (org_id, group_id, member_user, member_group) VALUES ($1, $2, $3, $4)",
    )
    .bind(org)
    .bind(group)
    .bind(user)
    .bind(nested)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds `user` to `group` when both are in the org and it is not in it
/// yet; answers whether it did.
pub(super) async fn insert_user_membership(
    tx: &mut Tx,
    org: &str,
    group: &str,
    user: &str,
) -> Result<bool, AdminError> {
    let inserted = sqlx::query(
        "INSERT INTO group_members (org_id, group_id, member_user, member_group)
         SELECT $1, $2, $3, NULL
          WHERE EXISTS (SELECT 1 FROM groups WHERE org_id = $1 AND id = $2)
            AND EXISTS (SELECT 1 FROM members WHERE org_id = $1 AND user_id = $3)
         ON CONFLICT (org_id, group_id, member_user) DO NOTHING",
    )
    .bind(org)
    .bind(group)
    .bind(user)
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

pub(super) async fn delete_membership(
    tx: &mut Tx,
    org: &str,
    group: &str,
    member: &Member,
) -> Result<(), AdminError> {
    let sql = match member {
        Member::User(_) => {
            "DELETE FROM group_members WHERE org_id = $1 AND group_id = $2 AND member_user = $3"
        }
        Member::Group(_) => {
            "DELETE FROM group_members WHERE org_id = $1 AND group_id = $2 AND member_group = $3"
        }
    };
    sqlx::query(sql)
        .bind(org)
        .bind(group)
        .bind(member_id(member))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Whether an assignment, a hidden entry, a cap or another group's
/// membership still names the group.
pub(super) async fn group_in_use(tx: &mut Tx, org: &str, id: &str) -> Result<bool, AdminError> {
    let (uses,): (i64,) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM assignments WHERE org_id = $1 AND subject_group = $2)
              + (SELECT COUNT(*) FROM hidden WHERE org_id = $1 AND selector_group = $2)
              + (SELECT COUNT(*) FROM caps WHERE org_id = $1 AND selector_group = $2)
              + (SELECT COUNT(*) FROM group_members WHERE org_id = $1 AND member_group = $2)",
    )
    .bind(org)
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(uses > 0)
}

/// Every group's direct members in the org, as `user:<id>` and
/// `group:<id>` texts (sorted as bytes), by group id: what the group
/// listing and an export show.
pub(crate) async fn direct_members(
    tx: &mut Tx,
    org: &str,
) -> Result<BTreeMap<String, BTreeSet<String>>, AdminError> {
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT group_id, member_user, member_group FROM group_members WHERE org_id = $1",
    )
    .bind(org)
    .fetch_all(&mut **tx)
    .await?;
    let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (group, user, child) in rows {
        let member = match (user, child) {
            (Some(user), None) => format!("user:{user}"),
            (None, Some(child)) => format!("group:{child}"),
            _ => {
                return Err(AdminError::Store(StoreError::Corrupt(
                    "group member".to_owned(),
                )));
            }
        };
        members.entry(group).or_default().insert(member);
    }
    Ok(members)
}
