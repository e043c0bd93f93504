//! Who and where an org's answers can be about (docs/http.md §6.11): the
//! users `who-can` asks about and the registered nodes an access map
//! draws. Reading them is reading the org's members, so it takes the
//! `manage_members` admin key, as listing assignments does; and an acting
//! user who is not a superuser reads the org's members only ([`Seen`]).

use std::collections::BTreeMap;

use tessera_core::{NodeKey, Snapshot};

use super::err::AdminError;
use super::write::{Actor, Admin, AdminKey};
use crate::missing::Missing;
use crate::store::{Backend, StoreError, Tx};

/// A user an answer may be about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The user id.
    pub id: String,
    /// The display name.
    pub name: String,
}

/// Whose answers a caller may read. Users are global, orgs are tenants:
/// an org's administrators must not be shown other tenants' users, nor
/// the host's operators, so an acting user who is not a superuser, and
/// any caller whose token is bound to orgs (a tenant's token), read the
/// org's members only; the unbound trusted backend and superusers read
/// every user an answer can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// The org's active members.
    Members,
    /// Its active members, the active superusers, and every active user
    /// when an `@everyone` or `@authenticated` assignment reaches
    /// non-members.
    Audience,
}

impl Seen {
    /// What the actor whose snapshot `holder` is (`None`: the trusted
    /// backend) may read, through a token bound to orgs or not.
    fn of(holder: Option<&Snapshot>, bound: bool) -> Seen {
        match holder {
            _ if bound => Seen::Members,
            Some(actor) if !actor.is_superuser() => Seen::Members,
            _ => Seen::Audience,
        }
    }

    /// The SQL condition on `u`.
    fn condition(self) -> &'static str {
        match self {
            Seen::Members => {
                "EXISTS (SELECT 1 FROM members m WHERE m.org_id = $1 AND m.user_id = u.id)"
            }
            Seen::Audience => {
                "(u.superuser = 1
                  OR EXISTS (SELECT 1 FROM members m WHERE m.org_id = $1 AND m.user_id = u.id)
                  OR EXISTS (SELECT 1 FROM assignments a WHERE a.org_id = $1
                             AND a.subject IN ('@everyone', '@authenticated')))"
            }
        }
    }
}

/// The active users whose answers the actor may read in `org` ([`Seen`]),
/// by id (byte order), after `after`, at most `limit`.
pub(crate) async fn audience_rows(
    tx: &mut Tx,
    backend: Backend,
    seen: Seen,
    org: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Candidate>, AdminError> {
    let collate = backend.byte_order();
    let condition = seen.condition();
    let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT u.id, u.name FROM users u
         WHERE u.active = 1 AND u.id COLLATE {collate} > $2 AND {condition}
         ORDER BY u.id COLLATE {collate} LIMIT $3"
    )))
    .bind(org)
    .bind(after.unwrap_or(""))
    .bind(i64::from(limit))
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| Candidate { id, name })
        .collect())
}

/// Granting roles past which every user the actor may read is examined:
/// their ids are bound one parameter each, and the stores cap those.
const BOUND_ROLES: usize = 1_000;

/// Assignments of the granting roles from which every user the actor may
/// read is examined instead of the holders alone: with that many, most
/// users hold one, and collecting the holders costs more than asking.
const MANY_HOLDERS: i64 = 10_000;

/// The users whose answers may allow `permission`, a superset of those
/// `check` allows: with the roles that grant it (`granting`), the holders
/// of an assignment of one of them, directly or through a group (nesting
/// followed down), and the superusers. An assignment of one to a
/// pseudo-subject (`@everyone`, `@authenticated`, `@members`), or through a
/// default group, reaches users no row names, and [`MANY_HOLDERS`]
/// assignments or more name most: then every user the audience has. Ids
/// in byte order, after `after`, at most `limit`.
pub(crate) async fn holder_rows(
    tx: &mut Tx,
    backend: Backend,
    seen: Seen,
    org: &str,
    granting: &[String],
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Candidate>, AdminError> {
    // The role ids are bound after the query's own parameters.
    let reached = |first: usize| {
        let roles = (first..first + granting.len())
            .map(|at| format!("${at}"))
            .collect::<Vec<_>>()
            .join(", ");
        let roles = if roles.is_empty() {
            "NULL".to_owned()
        } else {
            roles
        };
        let cte = format!(
            "WITH RECURSIVE reached(group_id) AS (
                 SELECT a.subject_group FROM assignments a
                  WHERE a.org_id = $1 AND a.subject_group IS NOT NULL AND a.role_id IN ({roles})
               UNION
                 SELECT gm.member_group FROM group_members gm JOIN reached r ON gm.group_id = r.group_id
                  WHERE gm.org_id = $1 AND gm.member_group IS NOT NULL)"
        );
        (cte, roles)
    };
    let (cte, roles) = reached(2);
    let broad = format!(
        "{cte}
         SELECT COUNT(*) FROM (
           SELECT 1 FROM assignments a WHERE a.org_id = $1 AND a.role_id IN ({roles})
              AND a.subject IN ('@everyone', '@authenticated', '@members')
           UNION ALL
           SELECT 1 FROM reached r JOIN groups g ON g.org_id = $1 AND g.id = r.group_id
            WHERE g.is_default = 1
           UNION ALL
           SELECT 1 FROM (SELECT COUNT(*) AS n FROM (
                            SELECT 1 FROM assignments a WHERE a.org_id = $1 AND a.role_id IN ({roles})
                             LIMIT {MANY_HOLDERS}) x) many
            WHERE many.n >= {MANY_HOLDERS}) t"
    );
    let mut query = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(broad)).bind(org);
    for role in granting {
        query = query.bind(role);
    }
    let (broad,) = query.fetch_one(&mut **tx).await?;
    if broad > 0 {
        return audience_rows(tx, backend, seen, org, after, limit).await;
    }
    let collate = backend.byte_order();
    let condition = seen.condition();
    let (cte, roles) = reached(4);
    let named = format!(
        "{cte}
         SELECT u.id, u.name FROM users u
          WHERE u.active = 1 AND u.id COLLATE {collate} > $2 AND {condition}
            AND u.id IN (
              SELECT a.subject_user FROM assignments a
               WHERE a.org_id = $1 AND a.subject_user IS NOT NULL AND a.role_id IN ({roles})
              UNION
              SELECT gm.member_user FROM group_members gm JOIN reached r ON gm.group_id = r.group_id
               WHERE gm.org_id = $1 AND gm.member_user IS NOT NULL
              UNION
              SELECT s.id FROM users s WHERE s.superuser = 1)
          ORDER BY u.id COLLATE {collate} LIMIT $3"
    );
    let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(named))
        .bind(org)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit));
    for role in granting {
        query = query.bind(role);
    }
    let rows = query.fetch_all(&mut **tx).await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| Candidate { id, name })
        .collect())
}

/// An org as a preview compares it: who its answers can be about, where,
/// and the revision, read in one transaction.
#[derive(Debug)]
pub(crate) struct Outline {
    /// Every user whose answers the actor may read ([`audience_rows`]).
    pub(crate) users: Vec<Candidate>,
    /// The registered nodes with their parents.
    pub(crate) tree: Vec<(NodeKey, Option<NodeKey>)>,
    /// The org's revision.
    pub(crate) revision: u64,
    /// Whose answers the actor may read.
    pub(crate) seen: Seen,
}

/// The org's [`Outline`] as `tx` has it.
pub(crate) async fn outline_rows(
    tx: &mut Tx,
    backend: Backend,
    seen: Seen,
    org: &str,
) -> Result<Outline, AdminError> {
    let (revision,): (i64,) = sqlx::query_as("SELECT revision FROM orgs WHERE id = $1")
        .bind(org)
        .fetch_one(&mut **tx)
        .await?;
    Ok(Outline {
        users: audience_rows(tx, backend, seen, org, None, u32::MAX).await?,
        tree: node_rows(tx, org).await?,
        revision: u64::try_from(revision).unwrap_or(0),
        seen,
    })
}

/// [`Admin::node_tree`] in a transaction.
pub(crate) async fn node_rows(
    tx: &mut Tx,
    org: &str,
) -> Result<Vec<(NodeKey, Option<NodeKey>)>, AdminError> {
    let rows: Vec<(String, String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT type, id, parent_type, parent_id FROM nodes WHERE org_id = $1")
            .bind(org)
            .fetch_all(&mut **tx)
            .await?;
    let key = |kind: &str, id: &str| {
        format!("{kind}:{id}")
            .parse::<NodeKey>()
            .map_err(|_| AdminError::Store(StoreError::Corrupt(format!("node {kind}:{id}"))))
    };
    rows.into_iter()
        .map(|(kind, id, parent_kind, parent_id)| {
            let parent = match (parent_kind, parent_id) {
                (Some(kind), Some(id)) => Some(key(&kind, &id)?),
                _ => None,
            };
            Ok((key(&kind, &id)?, parent))
        })
        .collect()
}

impl Admin {
    /// Opens a read of whom `org`'s answers are about: the
    /// `manage_members` gate, and what the actor may read (`bound`: through
    /// a token bound to orgs).
    async fn open_seen(
        &self,
        actor: &Actor,
        bound: bool,
        org: &str,
    ) -> Result<(Tx, Seen), AdminError> {
        let (tx, holder) = self
            .open_read_as(actor, org, AdminKey::ManageMembers)
            .await?;
        Ok((tx, Seen::of(holder.as_ref(), bound)))
    }

    /// The users who may be allowed `permission` in `org` whose answers
    /// the actor may read ([`holder_rows`]), by id (byte order), after
    /// `after`, at most `limit`: what `who-can` examines.
    pub async fn holders(
        &self,
        actor: &Actor,
        bound: bool,
        org: &str,
        permission: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Candidate>, AdminError> {
        let (mut tx, seen) = self.open_seen(actor, bound, org).await?;
        let granting = self.granting(&mut tx, org, permission).await?;
        let backend = self.store.backend();
        let rows = if granting.len() > BOUND_ROLES {
            audience_rows(&mut tx, backend, seen, org, after, limit).await?
        } else {
            holder_rows(&mut tx, backend, seen, org, &granting, after, limit).await?
        };
        tx.rollback().await?;
        Ok(rows)
    }

    /// The roles assigned in `org` that grant `permission`, by the
    /// compiler's own rule ([`tessera_core::Manifest::role_permissions`]),
    /// from one read of the org's stored role keys.
    async fn granting(
        &self,
        tx: &mut Tx,
        org: &str,
        permission: &str,
    ) -> Result<Vec<String>, AdminError> {
        let assigned: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT role_id FROM assignments WHERE org_id = $1")
                .bind(org)
                .fetch_all(&mut **tx)
                .await?;
        let stored: Vec<(String, String)> =
            sqlx::query_as("SELECT role_id, permission FROM role_permissions WHERE org_id = $1")
                .bind(org)
                .fetch_all(&mut **tx)
                .await?;
        let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (role, key) in stored {
            keys.entry(role).or_default().push(key);
        }
        let catalog = &self.manifest.catalog;
        Ok(assigned
            .into_iter()
            .map(|(role,)| role)
            .filter(|role| {
                let stored = keys.get(role).map_or(&[][..], Vec::as_slice);
                let bits = self.manifest.role_permissions(role, Some(stored));
                catalog.keys(&bits).iter().any(|key| key == permission)
            })
            .collect())
    }

    /// The org's [`Outline`], read in one transaction.
    pub(crate) async fn outline(
        &self,
        actor: &Actor,
        bound: bool,
        org: &str,
    ) -> Result<Outline, AdminError> {
        let (mut tx, seen) = self.open_seen(actor, bound, org).await?;
        let outline = outline_rows(&mut tx, self.store.backend(), seen, org).await?;
        tx.rollback().await?;
        Ok(outline)
    }

    /// The org's registered nodes with their parents, in no order, for
    /// the access map of `user`: `NOT_FOUND` for a user the actor may not
    /// read ([`Seen`]), as for one that does not exist.
    pub async fn user_tree(
        &self,
        actor: &Actor,
        bound: bool,
        org: &str,
        user: &str,
    ) -> Result<Vec<(NodeKey, Option<NodeKey>)>, AdminError> {
        let mut tx = self.open_user(actor, bound, org, user).await?;
        let rows = node_rows(&mut tx, org).await?;
        tx.rollback().await?;
        Ok(rows)
    }

    /// `NOT_FOUND` for a user the actor may not read ([`Seen`]), as for
    /// one that does not exist: what an explanation for a user needs.
    pub async fn readable_user(
        &self,
        actor: &Actor,
        bound: bool,
        org: &str,
        user: &str,
    ) -> Result<(), AdminError> {
        let tx = self.open_user(actor, bound, org, user).await?;
        tx.rollback().await?;
        Ok(())
    }

    /// Opens a read about `user` in `org`: the gate, and the user one the
    /// actor may read (`anonymous` always).
    async fn open_user(
        &self,
        actor: &Actor,
        bound: bool,
        org: &str,
        user: &str,
    ) -> Result<Tx, AdminError> {
        let (mut tx, seen) = self.open_seen(actor, bound, org).await?;
        if seen == Seen::Members && user != "anonymous" {
            let member: Option<(i64,)> =
                sqlx::query_as("SELECT 1 FROM members WHERE org_id = $1 AND user_id = $2")
                    .bind(org)
                    .bind(user)
                    .fetch_optional(&mut *tx)
                    .await?;
            if member.is_none() {
                return Err(AdminError::NotFound(Missing::new("user", user)));
            }
        }
        Ok(tx)
    }
}

/// Each node's path from the top (`type:id` segments), by node key; the
/// order of a path's length then its key puts parents first.
pub(crate) fn node_paths(tree: &[(NodeKey, Option<NodeKey>)]) -> BTreeMap<String, Vec<String>> {
    let parents: BTreeMap<String, Option<String>> = tree
        .iter()
        .map(|(node, parent)| (node.to_string(), parent.as_ref().map(ToString::to_string)))
        .collect();
    parents
        .keys()
        .map(|node| {
            let mut path = vec![node.clone()];
            let mut at = node;
            // The store refuses cycles; the bound only guards the loop.
            while let Some(Some(parent)) = parents.get(at) {
                if path.len() > parents.len() {
                    break;
                }
                path.insert(0, parent.clone());
                at = parent;
            }
            (node.clone(), path)
        })
        .collect()
}

/// [`node_paths`] as a list, parents first (by depth, then key).
pub(crate) fn parents_first(tree: &[(NodeKey, Option<NodeKey>)]) -> Vec<(String, Vec<String>)> {
    let mut nodes: Vec<(String, Vec<String>)> = node_paths(tree).into_iter().collect();
    nodes.sort_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| a.0.cmp(&b.0)));
    nodes
}
