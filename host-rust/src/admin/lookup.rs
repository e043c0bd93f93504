//! What the admin rules read of an org's structure inside a write's
//! transaction: default groups, a group's closure, a user's effective
//! groups, a node's path, and who a group change reaches.

use std::collections::BTreeSet;

use super::AdminError;
use super::write::Tx;
use crate::store::StoreError;

/// The org's default groups.
pub(crate) async fn default_groups(tx: &mut Tx, org: &str) -> Result<Vec<String>, AdminError> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM groups WHERE org_id = $1 AND is_default = 1 ORDER BY id")
            .bind(org)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The group and every group containing it, transitively: what a
/// principal joining it joins (cycle-safe through `UNION`).
pub(crate) async fn group_closure(
    tx: &mut Tx,
    org: &str,
    id: &str,
) -> Result<BTreeSet<String>, AdminError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "WITH RECURSIVE up(id) AS (
            SELECT id FROM groups WHERE org_id = $1 AND id = $2
            UNION
            SELECT gm.group_id FROM group_members gm JOIN up ON gm.member_group = up.id
             WHERE gm.org_id = $1)
         SELECT id FROM up",
    )
    .bind(org)
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// A member user's effective groups (DESIGN §1.3): its direct groups, or
/// every default group when it has none, and every group containing one of
/// them, transitively. (`admin` is left out: membership writes never change
/// it.)
pub(crate) async fn user_groups(
    tx: &mut Tx,
    org: &str,
    user: &str,
) -> Result<BTreeSet<String>, AdminError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "WITH RECURSIVE
           direct(id) AS (
             SELECT group_id FROM group_members WHERE org_id = $1 AND member_user = $2
           ),
           seeds(id) AS (
             SELECT id FROM direct
             UNION
             SELECT id FROM groups
              WHERE org_id = $1 AND is_default = 1 AND NOT EXISTS (SELECT 1 FROM direct)
           ),
           effective(id) AS (
             SELECT id FROM seeds
             UNION
             SELECT gm.group_id FROM group_members gm JOIN effective e ON gm.member_group = e.id
              WHERE gm.org_id = $1
           )
         SELECT id FROM effective",
    )
    .bind(org)
    .bind(user)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The path (`type:id` from the top) of a registered node; empty for the
/// org root.
pub(crate) async fn scope_path(
    tx: &mut Tx,
    org: &str,
    node: Option<&(String, String)>,
) -> Result<Vec<String>, AdminError> {
    let Some((ty, id)) = node else {
        return Ok(Vec::new());
    };
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "WITH RECURSIVE up(type, id, depth) AS (
            SELECT n.type, n.id, CAST(0 AS BIGINT) FROM nodes n
             WHERE n.org_id = $1 AND n.type = $2 AND n.id = $3
            UNION ALL
            SELECT n.parent_type, n.parent_id, up.depth + 1 FROM nodes n
              JOIN up ON n.type = up.type AND n.id = up.id
             WHERE n.org_id = $1 AND n.parent_type IS NOT NULL AND up.depth < 256)
         SELECT type, id, depth FROM up ORDER BY depth DESC",
    )
    .bind(org)
    .bind(ty)
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    if rows.is_empty() {
        return Err(AdminError::Store(StoreError::Corrupt(format!(
            "policy names unregistered node `{ty}:{id}`"
        ))));
    }
    Ok(rows
        .into_iter()
        .map(|(ty, id, _)| format!("{ty}:{id}"))
        .collect())
}

/// The member users whose effective groups include `group` through
/// membership (directly, or through a group nested in it), and, when a
/// group nested in it (or it) is a default group, every member with no
/// explicit group: the users a change to `group`'s nesting reaches.
pub(crate) async fn group_users(
    tx: &mut Tx,
    org: &str,
    group: &str,
) -> Result<BTreeSet<String>, AdminError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "WITH RECURSIVE down(id) AS (
            SELECT id FROM groups WHERE org_id = $1 AND id = $2
            UNION
            SELECT gm.member_group FROM group_members gm JOIN down ON gm.group_id = down.id
             WHERE gm.org_id = $1 AND gm.member_group IS NOT NULL)
         SELECT gm.member_user FROM group_members gm JOIN down ON gm.group_id = down.id
          WHERE gm.org_id = $1 AND gm.member_user IS NOT NULL
         UNION
         SELECT m.user_id FROM members m
          WHERE m.org_id = $1
            AND EXISTS (SELECT 1 FROM groups g JOIN down ON g.id = down.id
                         WHERE g.org_id = $1 AND g.is_default = 1)
            AND NOT EXISTS (SELECT 1 FROM group_members x
                             WHERE x.org_id = $1 AND x.member_user = m.user_id)",
    )
    .bind(org)
    .bind(group)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The org's members with no explicit group (they are in the default
/// groups): the users a default flag moves.
pub(crate) async fn groupless_members(
    tx: &mut Tx,
    org: &str,
) -> Result<BTreeSet<String>, AdminError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT m.user_id FROM members m
          WHERE m.org_id = $1
            AND NOT EXISTS (SELECT 1 FROM group_members x
                             WHERE x.org_id = $1 AND x.member_user = m.user_id)",
    )
    .bind(org)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}
