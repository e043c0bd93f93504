//! Groups, default groups and nested membership (docs/model.md §1.3, docs/admin.md §5).
//!
//! Escalation through group membership: a principal that joins a group
//! receives every role the group holds, transitively (its own assignments
//! and those of every group containing it), at their scopes, so adding a
//! user (the actor included), nesting a group or making a group default
//! needs the actor to hold all of them there. Joining or leaving a group
//! can also lift a cap or a hidden entry (`not_group:` selectors stop
//! applying on joining, `group:` ones on leaving; leaving the last explicit
//! group puts a member in the default groups): lifting a cap needs every
//! key it withholds at its scope, lifting a hidden entry needs the node to
//! be visible to the actor, as when removing them directly.

mod sql;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::json;
use tessera_core::{ADMIN_GROUP, Member, is_valid_node_id};

use super::AdminError;
use super::escalation::group_selectors;
use super::lookup::{
    default_closure, default_groups, group_closure, group_users, groupless_members, user_groups,
};
use super::names::{display_name, name_key};
use super::quotas::Counted;
use super::write::{Actor, Admin, AdminKey, Affects, Audit, unchanged};
use crate::changes::{Change, WriteKind};
use crate::ids::random_id;
use crate::missing::Missing;
pub(crate) use sql::direct_members;
use sql::{
    GroupRow, delete_membership, find_group, group_in_use, has_membership, insert_membership,
    insert_user_membership, require_free_name, require_group, require_member,
};

/// A group as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GroupView {
    /// The group id (stable; names are for people and claims).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Whether member users with no explicit group are treated as members.
    pub default: bool,
}

/// A group as the listing shows it: with its direct members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GroupListing {
    /// The group id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Whether member users with no explicit group are treated as members.
    pub default: bool,
    /// Its direct members, `user:<id>` and `group:<id>`, sorted as bytes
    /// (the reserved `admin` group has none: its members are the
    /// superusers).
    pub members: Vec<String>,
}

impl GroupRow {
    fn view(&self) -> GroupView {
        GroupView {
            id: self.id.clone(),
            name: self.name.clone(),
            default: self.is_default == 1,
        }
    }
}

/// A membership's textual form, for the audit row.
fn member_text(member: &Member) -> String {
    member.to_string()
}

/// `admin` (computed membership) and the pseudo-groups (`@everyone`, ...).
fn is_reserved(group: &str) -> bool {
    group == ADMIN_GROUP || group.starts_with('@')
}

/// A display name, trimmed; empty names are refused.
fn clean_name(name: &str) -> Result<String, AdminError> {
    display_name("group", name).map(|name| name.name)
}

impl Admin {
    /// `GET /v1/orgs/{org}/groups`: every group of the org, `admin` included,
    /// by id (as bytes), each with its direct members: the nesting a group
    /// editor draws as a tree, read in one transaction.
    /// With an actor, reading needs the `manage_members` admin key, as writing does
    /// (an unknown actor is `FORBIDDEN`).
    pub async fn list_groups(
        &self,
        actor: &Actor,
        org: &str,
    ) -> Result<Vec<GroupListing>, AdminError> {
        let mut tx = self.open_read(actor, org, AdminKey::ManageMembers).await?;
        let rows: Vec<GroupRow> =
            sqlx::query_as("SELECT id, name, is_default FROM groups WHERE org_id = $1")
                .bind(org)
                .fetch_all(&mut *tx)
                .await?;
        let mut members = direct_members(&mut tx, org).await?;
        tx.commit().await?;
        let mut listing: Vec<GroupListing> = rows
            .iter()
            .map(|row| GroupListing {
                id: row.id.clone(),
                name: row.name.clone(),
                default: row.is_default == 1,
                members: members.remove(&row.id).into_iter().flatten().collect(),
            })
            .collect();
        listing.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(listing)
    }

    /// `POST /v1/orgs/{org}/groups`: a new group (an id is generated when
    /// none is given).
    pub async fn create_group(
        &self,
        actor: &Actor,
        org: &str,
        id: Option<&str>,
        name: &str,
        default: bool,
        now: i64,
    ) -> Result<GroupView, AdminError> {
        let id = match id {
            Some(id) if id == ADMIN_GROUP => {
                return Err(AdminError::ReservedGroup(id.to_owned()));
            }
            Some(id) if !is_valid_node_id(id) => {
                return Err(AdminError::bad(
                    "id",
                    format!("`{id}` is not a valid group id"),
                ));
            }
            Some(id) => id.to_owned(),
            None => random_id("g")?,
        };
        let name = clean_name(name)?;
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageMembers).await?;
        if find_group(&mut tx, org, &id).await?.is_some() {
            return Err(AdminError::NameTaken(id));
        }
        require_free_name(&mut tx, org, &name, None).await?;
        self.require_room(&mut tx, org, Counted::Groups).await?;
        sqlx::query(
            "INSERT INTO groups (org_id, id, name, name_key, is_default) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org)
        .bind(&id)
        .bind(&name)
        .bind(name_key(&name))
        .bind(i64::from(default))
        .execute(&mut *tx)
        .await?;
        if default {
            // A new group holds nothing yet; checked for uniformity.
            let closure = group_closure(&mut tx, org, &id).await?;
            self.require_joining(&mut tx, holder.as_ref(), org, &closure)
                .await?;
        }
        let view = GroupView {
            id: id.clone(),
            name,
            default,
        };
        let audit = Audit {
            action: "group.create",
            target: format!("group:{id}"),
            before: None,
            after: Some(json!(view)),
        };
        let change = Change::everything(WriteKind::Group);
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await?;
        Ok(view)
    }

    /// `PATCH /v1/orgs/{org}/groups/{id}`: rename, or set the default flag.
    pub async fn update_group(
        &self,
        actor: &Actor,
        org: &str,
        id: &str,
        name: Option<&str>,
        default: Option<bool>,
        now: i64,
    ) -> Result<GroupView, AdminError> {
        let name = name.map(clean_name).transpose()?;
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageMembers).await?;
        if id.starts_with('@') {
            return Err(AdminError::ReservedGroup(id.to_owned()));
        }
        let before = require_group(&mut tx, org, id).await?;
        let mut after = before.clone();
        if let Some(name) = name {
            after.name = name;
        }
        if let Some(default) = default {
            after.is_default = i64::from(default);
        }
        if after.name == before.name && after.is_default == before.is_default {
            unchanged(tx)?;
            return Ok(before.view());
        }
        if id == ADMIN_GROUP {
            // Its identity and its membership are the platform's.
            return Err(AdminError::ReservedGroup(id.to_owned()));
        }
        if name_key(&after.name) != name_key(&before.name) {
            require_free_name(&mut tx, org, &after.name, Some(id)).await?;
        }
        let (guarded, joining) = if after.is_default == before.is_default {
            (None, BTreeMap::new())
        } else {
            let groupless = groupless_members(&mut tx, org).await?;
            (
                self.guarded_before(&mut tx, holder.as_ref(), org).await?,
                self.root_sets(&mut tx, holder.as_ref(), org, &groupless)
                    .await?,
            )
        };
        if before.is_default == 1 && after.is_default == 0 {
            // The members with no explicit group leave it, and what it
            // gives them: that manages each of them. (Making a group
            // default is joining it, checked below.)
            let moved = groupless_members(&mut tx, org).await?;
            self.may_manage_each(&mut tx, holder.as_ref(), actor, org, &moved)
                .await?;
        }
        sqlx::query(
            "UPDATE groups SET name = $1, name_key = $2, is_default = $3 WHERE org_id = $4 AND id = $5",
        )
        .bind(&after.name)
        .bind(name_key(&after.name))
        .bind(after.is_default)
        .bind(org)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if after.is_default != before.is_default {
            let closure = group_closure(&mut tx, org, id).await?;
            if after.is_default == 1 {
                self.require_joining(&mut tx, holder.as_ref(), org, &closure)
                    .await?;
                // The members with no explicit group join it.
                self.may_manage_changed(&mut tx, holder.as_ref(), actor, org, &joining)
                    .await?;
            } else {
                if default_groups(&mut tx, org).await?.is_empty() {
                    return Err(AdminError::LastDefaultGroup);
                }
                // Group-less members leave it: `group:` selectors on it
                // (and on the groups containing it) stop applying.
                let lifted = group_selectors("group", &closure);
                self.require_lifts(&mut tx, holder.as_ref(), org, &lifted)
                    .await?;
            }
        }
        self.guarded_after(&mut tx, org, guarded).await?;
        let audit = Audit {
            action: "group.update",
            target: format!("group:{id}"),
            before: Some(json!(before.view())),
            after: Some(json!(after.view())),
        };
        let change = Change::everything(WriteKind::Group);
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await?;
        Ok(after.view())
    }

    /// `DELETE /v1/orgs/{org}/groups/{id}`: refused while the group is
    /// referenced (assignments, hidden entries, caps, another group's
    /// membership); its own membership rows go with it.
    pub async fn delete_group(
        &self,
        actor: &Actor,
        org: &str,
        id: &str,
        now: i64,
    ) -> Result<(), AdminError> {
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageMembers).await?;
        if is_reserved(id) {
            return Err(AdminError::ReservedGroup(id.to_owned()));
        }
        let before = require_group(&mut tx, org, id).await?;
        if group_in_use(&mut tx, org, id).await? {
            return Err(AdminError::GroupInUse(id.to_owned()));
        }
        // Members whose only explicit group this is fall back to the
        // default groups: for them it is joining those.
        let orphans: Vec<(String,)> = sqlx::query_as(
            "SELECT gm.member_user FROM group_members gm
              WHERE gm.org_id = $1 AND gm.group_id = $2 AND gm.member_user IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM group_members o WHERE o.org_id = gm.org_id
                                AND o.member_user = gm.member_user AND o.group_id <> gm.group_id)",
        )
        .bind(org)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let orphans: BTreeSet<String> = orphans.into_iter().map(|(user,)| user).collect();
        let orphans = self
            .root_sets(&mut tx, holder.as_ref(), org, &orphans)
            .await?;
        sqlx::query("DELETE FROM groups WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let defaults = default_groups(&mut tx, org).await?;
        if defaults.is_empty() {
            return Err(AdminError::LastDefaultGroup);
        }
        if !orphans.is_empty() && holder.is_some() {
            let joined = default_closure(&mut tx, org).await?;
            self.require_joining(&mut tx, holder.as_ref(), org, &joined)
                .await?;
            self.may_manage_changed(&mut tx, holder.as_ref(), actor, org, &orphans)
                .await?;
        }
        let audit = Audit {
            action: "group.delete",
            target: format!("group:{id}"),
            before: Some(json!(before.view())),
            after: None,
        };
        let change = Change::everything(WriteKind::Group);
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await
    }

    /// `PUT /v1/orgs/{org}/groups/{group}/members/{member}`: a member user
    /// or a group of the org joins `group`. Re-adding is a no-op.
    pub async fn put_group_member(
        &self,
        actor: &Actor,
        org: &str,
        group: &str,
        member: &Member,
        now: i64,
    ) -> Result<(), AdminError> {
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageMembers).await?;
        if is_reserved(group) {
            return Err(AdminError::ReservedGroup(group.to_owned()));
        }
        // The trusted backend adding a user (an apply adds thousands): one
        // statement when the group and the member exist and the membership
        // does not; otherwise the checks below say which.
        if holder.is_none()
            && let Member::User(user) = member
            && insert_user_membership(&mut tx, org, group, user).await?
        {
            return self
                .finish_put_member(tx, actor, org, group, member, now)
                .await;
        }
        require_group(&mut tx, org, group).await?;
        if let Member::Group(nested) = member
            && is_reserved(nested)
        {
            return Err(AdminError::ReservedGroup(nested.clone()));
        }
        require_member(&mut tx, org, member).await?;
        if has_membership(&mut tx, org, group, member).await? {
            return unchanged(tx);
        }
        if let Member::Group(nested) = member {
            // `nested` joins `group` and every group containing it: a cycle
            // iff `nested` is one of them.
            if group_closure(&mut tx, org, group).await?.contains(nested) {
                return Err(AdminError::GroupCycle);
            }
        }
        // The trusted backend: no escalation rule applies, and what follows
        // reads only for them (an apply adds thousands of memberships).
        if holder.is_none() {
            insert_membership(&mut tx, org, group, member).await?;
            return self
                .finish_put_member(tx, actor, org, group, member, now)
                .await;
        }
        let closure = group_closure(&mut tx, org, group).await?;
        self.require_roles(&mut tx, holder.as_ref(), org, &closure)
            .await?;
        let guarded = self.guarded_before(&mut tx, holder.as_ref(), org).await?;
        match member {
            Member::User(user) => {
                let other = other_user(actor, user);
                if other {
                    self.may_manage(&mut tx, holder.as_ref(), actor, org, user)
                        .await?;
                }
                let before = user_groups(&mut tx, org, user).await?;
                insert_membership(&mut tx, org, group, member).await?;
                let after = user_groups(&mut tx, org, user).await?;
                self.require_delta(&mut tx, holder.as_ref(), org, &before, &after)
                    .await?;
                if other {
                    self.may_manage(&mut tx, holder.as_ref(), actor, org, user)
                        .await?;
                }
            }
            Member::Group(nested) => {
                // Every user reaching `nested` joins `group` too.
                let joining = group_users(&mut tx, org, nested).await?;
                self.may_manage_each(&mut tx, holder.as_ref(), actor, org, &joining)
                    .await?;
                let joining = self
                    .root_sets(&mut tx, holder.as_ref(), org, &joining)
                    .await?;
                insert_membership(&mut tx, org, group, member).await?;
                let lifted = group_selectors("not_group", &closure);
                self.require_lifts(&mut tx, holder.as_ref(), org, &lifted)
                    .await?;
                self.may_manage_changed(&mut tx, holder.as_ref(), actor, org, &joining)
                    .await?;
            }
        }
        self.guarded_after(&mut tx, org, guarded).await?;
        self.finish_put_member(tx, actor, org, group, member, now)
            .await
    }

    /// The audit row and revision of a membership just added.
    async fn finish_put_member(
        &self,
        tx: crate::store::Tx,
        actor: &Actor,
        org: &str,
        group: &str,
        member: &Member,
        now: i64,
    ) -> Result<(), AdminError> {
        let audit = Audit {
            action: "group_member.put",
            target: format!("group:{group}"),
            before: None,
            after: Some(json!({ "member": member_text(member) })),
        };
        let change = Change::membership(group, member, true);
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await
    }

    /// `DELETE /v1/orgs/{org}/groups/{group}/members/{member}`.
    pub async fn delete_group_member(
        &self,
        actor: &Actor,
        org: &str,
        group: &str,
        member: &Member,
        now: i64,
    ) -> Result<(), AdminError> {
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageMembers).await?;
        if is_reserved(group) {
            return Err(AdminError::ReservedGroup(group.to_owned()));
        }
        require_group(&mut tx, org, group).await?;
        if !has_membership(&mut tx, org, group, member).await? {
            return Err(AdminError::NotFound(Missing::new(
                "membership",
                &format!("{member} in {group}"),
            )));
        }
        let guarded = self.guarded_before(&mut tx, holder.as_ref(), org).await?;
        match member {
            Member::User(user) => {
                let other = other_user(actor, user);
                if other {
                    self.may_manage(&mut tx, holder.as_ref(), actor, org, user)
                        .await?;
                }
                let before = user_groups(&mut tx, org, user).await?;
                delete_membership(&mut tx, org, group, member).await?;
                let after = user_groups(&mut tx, org, user).await?;
                // Leaving the last explicit group joins the default groups.
                let joined: BTreeSet<String> = after.difference(&before).cloned().collect();
                self.require_roles(&mut tx, holder.as_ref(), org, &joined)
                    .await?;
                self.require_delta(&mut tx, holder.as_ref(), org, &before, &after)
                    .await?;
                if other {
                    self.may_manage(&mut tx, holder.as_ref(), actor, org, user)
                        .await?;
                }
            }
            Member::Group(nested) => {
                // Every user reaching `nested` leaves `group` too.
                let leaving = group_users(&mut tx, org, nested).await?;
                self.may_manage_each(&mut tx, holder.as_ref(), actor, org, &leaving)
                    .await?;
                let closure = group_closure(&mut tx, org, group).await?;
                delete_membership(&mut tx, org, group, member).await?;
                let lifted = group_selectors("group", &closure);
                self.require_lifts(&mut tx, holder.as_ref(), org, &lifted)
                    .await?;
            }
        }
        self.guarded_after(&mut tx, org, guarded).await?;
        let audit = Audit {
            action: "group_member.delete",
            target: format!("group:{group}"),
            before: Some(json!({ "member": member_text(member) })),
            after: None,
        };
        let change = Change::membership(group, member, false);
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await
    }
}

/// Whether `user` is someone other than the acting user.
fn other_user(actor: &Actor, user: &str) -> bool {
    !matches!(actor, Actor::User(id) if id == user)
}
