//! Every gate and escalation rule of docs/admin.md §5, in one place. Each rule
//! reads the acting user's snapshot, compiled from the store inside the
//! write's transaction ([`Admin::gate`] returns it): what it allows is what
//! the actor holds, and owner-only grants never count. `None` stands for the
//! trusted backend, to which no gate or escalation rule applies (the
//! model's invariants still do).
//!
//! A write calls [`Admin::gate`] first, then the rules for what it changes:
//!
//! | a write that… | must pass |
//! |---|---|
//! | grants roles (an assignment, a role edit) | [`Admin::require_holds`] at the scope |
//! | makes a principal join groups (membership, nesting, a default flag, joining the org) | [`Admin::require_joining`]: the groups' roles at their scopes, and the `not_group:` lifts |
//! | makes a member of the org | [`Admin::require_members_grants`] and the default groups |
//! | lifts a cap or a hidden entry (removing it, or a principal leaving its selector) | [`Admin::require_lifts`], [`Admin::require_cap_lift`], [`Admin::require_visible`] |
//! | affects another user's grants or restrictions | [`Admin::may_manage`] for each such user |
//! | is global, or re-parents a node | [`Admin::require_superuser`] |

use std::collections::{BTreeMap, BTreeSet};

use tessera_core::{Selector, Snapshot};

use super::AdminError;
use super::lookup::{default_closure, scope_path, user_groups};
use super::write::{Actor, Admin, AdminKey};
use crate::facts::load_facts;
use crate::store::StoreError;
use crate::store::Tx;

/// A failure the caller cannot cause (facts the store wrote that do not
/// compile): an internal error whose detail is for logs, never a 400.
fn internal(detail: String) -> AdminError {
    AdminError::Store(StoreError::Corrupt(detail))
}

/// Where a path is, in a message.
fn place(path: &[String]) -> String {
    if path.is_empty() {
        "the org root".to_owned()
    } else {
        path.join("/")
    }
}

impl Admin {
    /// A user's snapshot in `org`, compiled from the store inside the
    /// write's transaction: what it allows is what the user holds.
    pub(crate) async fn holdings(
        &self,
        tx: &mut Tx,
        org: &str,
        user: &str,
    ) -> Result<Snapshot, AdminError> {
        let facts = load_facts(tx, org, user, &[]).await?;
        let request = crate::seed::in_process(user);
        let payload = tessera_core::compile(&self.manifest, &facts, &request)
            .map_err(|err| internal(err.to_string()))?;
        Snapshot::with_seed(payload, crate::hash_seed()).map_err(|err| internal(err.to_string()))
    }

    /// Checks the operation's `[admin]` key at the org root and returns the
    /// actor's snapshot for the rules that follow (`None` for the trusted
    /// backend). An unknown or inactive actor may do nothing; without an
    /// `[admin]` section only an active superuser passes.
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
        let snapshot = match self.holdings(tx, org, user).await {
            Err(AdminError::NotFound(missing)) if missing.kind == "user" => {
                return Err(AdminError::Forbidden(format!(
                    "unknown acting user `{user}`"
                )));
            }
            other => other?,
        };
        if !snapshot.header().principal.active {
            return Err(AdminError::Forbidden(format!(
                "the acting user `{user}` is inactive"
            )));
        }
        let key = self.manifest.admin.as_ref().map(|keys| match gate {
            AdminKey::ManageRoles => keys.manage_roles.as_str(),
            AdminKey::ManageMembers => keys.manage_members.as_str(),
            AdminKey::ManageAccess => keys.manage_access.as_str(),
        });
        let allowed = match key {
            Some(key) => snapshot.check::<&str>(key, &[], None).is_allow(),
            None => snapshot.is_superuser(),
        };
        if !allowed {
            return Err(AdminError::Forbidden(match key {
                Some(key) => format!("the acting user lacks `{key}` at the org root"),
                None => "only an active superuser may act without an [admin] section".to_owned(),
            }));
        }
        Ok(Some(snapshot))
    }

    /// Global writes (users, orgs) and re-parenting need an active
    /// superuser actor.
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

    /// Granting needs every granted key at the scope it is granted at
    /// (plain grants only: owner-only ones never count as held).
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
            return Ok(());
        }
        Err(AdminError::EscalationDenied(format!(
            "you do not hold {} at {}",
            missing.join(", "),
            place(path)
        )))
    }

    /// Lifting a cap (removing it, or its selector no longer selecting
    /// someone) needs every key it withholds, at its scope.
    pub(crate) fn require_cap_lift(
        &self,
        holder: Option<&Snapshot>,
        allow: &[String],
        path: &[String],
    ) -> Result<(), AdminError> {
        let withheld: Vec<String> = self
            .manifest
            .catalog
            .entries()
            .iter()
            .map(|entry| entry.key.clone())
            .filter(|key| !allow.contains(key))
            .collect();
        Self::require_holds(holder, &withheld, path)
    }

    /// Lifting a hidden entry needs its node visible to the actor: nobody
    /// reveals what they cannot see.
    pub(crate) fn require_visible(
        holder: Option<&Snapshot>,
        path: &[String],
    ) -> Result<(), AdminError> {
        match holder {
            Some(holder) if holder.hides(path) => Err(AdminError::EscalationDenied(format!(
                "this would reveal `{}`, which is hidden from you",
                path.join("/")
            ))),
            _ => Ok(()),
        }
    }

    /// Turning kiosk mode off lifts its virtual root cap for anonymous
    /// (docs/model.md §1.9), which withholds every key but the `:read` ones.
    pub(crate) fn require_kiosk_lift(&self, holder: Option<&Snapshot>) -> Result<(), AdminError> {
        let catalog = &self.manifest.catalog;
        let reads = catalog.keys(&catalog.kiosk_allow());
        self.require_cap_lift(holder, &reads, &[])
    }

    /// Managing another user (their membership, groups, assignments, or a
    /// `user:` cap or hidden entry on them) needs the target's org-root set
    /// to be a subset of the actor's, a strict one unless the actor holds
    /// `manage_roles` or is a superuser. Acting on oneself is not managing
    /// another user.
    pub(crate) async fn may_manage(
        &self,
        tx: &mut Tx,
        holder: Option<&Snapshot>,
        actor: &Actor,
        org: &str,
        target: &str,
    ) -> Result<(), AdminError> {
        let (Some(holder), Actor::User(actor_id)) = (holder, actor) else {
            return Ok(());
        };
        if actor_id == target {
            return Ok(());
        }
        let theirs = self
            .holdings(tx, org, target)
            .await?
            .effective::<&str>(&[], None);
        let mine = holder.effective::<&str>(&[], None);
        if let Some(key) = theirs.iter().find(|key| !mine.contains(key)) {
            return Err(AdminError::EscalationDenied(format!(
                "`{target}` holds `{key}`, which you do not"
            )));
        }
        let manages_roles = self.manifest.admin.as_ref().is_some_and(|keys| {
            holder
                .check::<&str>(&keys.manage_roles, &[], None)
                .is_allow()
        });
        if theirs.len() == mine.len() && !manages_roles && !holder.is_superuser() {
            return Err(AdminError::EscalationDenied(format!(
                "`{target}` holds as much as you do; only a role manager may manage a peer"
            )));
        }
        Ok(())
    }

    /// [`Admin::may_manage`] for every user a write affects at once (a
    /// nested group's members, the members a default flag moves).
    pub(crate) async fn may_manage_each(
        &self,
        tx: &mut Tx,
        holder: Option<&Snapshot>,
        actor: &Actor,
        org: &str,
        targets: &BTreeSet<String>,
    ) -> Result<(), AdminError> {
        for target in targets {
            self.may_manage(tx, holder, actor, org, target).await?;
        }
        Ok(())
    }

    /// The org-root sets of `users` now, to tell after a write whose sets
    /// it changed ([`Admin::may_manage_changed`]).
    pub(crate) async fn root_sets(
        &self,
        tx: &mut Tx,
        holder: Option<&Snapshot>,
        org: &str,
        users: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Vec<String>>, AdminError> {
        let mut sets = BTreeMap::new();
        if holder.is_none() {
            return Ok(sets);
        }
        for user in users {
            let set = self
                .holdings(tx, org, user)
                .await?
                .effective::<&str>(&[], None);
            sets.insert(user.clone(), set);
        }
        Ok(sets)
    }

    /// After a write that moved users between groups: each user whose
    /// org-root set changed must still be one the actor may manage, so a
    /// change of nesting or of a default flag cannot raise someone to the
    /// actor's level (or above) when a direct assignment could not.
    pub(crate) async fn may_manage_changed(
        &self,
        tx: &mut Tx,
        holder: Option<&Snapshot>,
        actor: &Actor,
        org: &str,
        before: &BTreeMap<String, Vec<String>>,
    ) -> Result<(), AdminError> {
        for (user, was) in before {
            let now = self
                .holdings(tx, org, user)
                .await?
                .effective::<&str>(&[], None);
            if &now != was {
                self.may_manage(tx, holder, actor, org, user).await?;
            }
        }
        Ok(())
    }

    /// A `user:X` cap or hidden entry restricts X: creating one manages X.
    pub(crate) async fn may_restrict(
        &self,
        tx: &mut Tx,
        holder: Option<&Snapshot>,
        actor: &Actor,
        org: &str,
        selector: &Selector,
    ) -> Result<(), AdminError> {
        match selector {
            Selector::User(user) => self.may_manage(tx, holder, actor, org, user).await,
            _ => Ok(()),
        }
    }

    /// Joining `groups` (transitively closed by the caller): every role
    /// they hold, at its scope, and every `not_group:` restriction on them
    /// that stops applying.
    pub(crate) async fn require_joining(
        &self,
        tx: &mut Tx,
        holder: Option<&Snapshot>,
        org: &str,
        groups: &BTreeSet<String>,
    ) -> Result<(), AdminError> {
        self.require_roles(tx, holder, org, groups).await?;
        self.require_lifts(tx, holder, org, &group_selectors("not_group", groups))
            .await
    }

    /// Joining the org: the `@members` grants at their scopes, and the
    /// default groups a member with no group falls back to (docs/model.md §1.3).
    pub(crate) async fn require_members_grants(
        &self,
        tx: &mut Tx,
        holder: Option<&Snapshot>,
        org: &str,
    ) -> Result<(), AdminError> {
        if holder.is_none() {
            return Ok(());
        }
        let rows = members_assignments(tx, org).await?;
        self.require_assigned(tx, holder, org, rows).await?;
        let joined = default_closure(tx, org).await?;
        self.require_joining(tx, holder, org, &joined).await
    }

    /// Leaving the org: the caps and hidden entries that select `user` as
    /// a member (`members`) or through its groups (`group:`) stop applying
    /// to it. Checked for the actor leaving too: removing oneself must not
    /// lift one's own restrictions.
    pub(crate) async fn require_leaving(
        &self,
        tx: &mut Tx,
        holder: Option<&Snapshot>,
        org: &str,
        user: &str,
    ) -> Result<(), AdminError> {
        if holder.is_none() {
            return Ok(());
        }
        let mut lifted = group_selectors("group", &user_groups(tx, org, user).await?);
        lifted.push("members".to_owned());
        self.require_lifts(tx, holder, org, &lifted).await
    }

    /// A user's effective groups change from `before` to `after`: the caps
    /// and hidden entries that stop selecting it are lifted.
    pub(crate) async fn require_delta(
        &self,
        tx: &mut Tx,
        holder: Option<&Snapshot>,
        org: &str,
        before: &BTreeSet<String>,
        after: &BTreeSet<String>,
    ) -> Result<(), AdminError> {
        let joined: BTreeSet<String> = after.difference(before).cloned().collect();
        let left: BTreeSet<String> = before.difference(after).cloned().collect();
        let mut lifted = group_selectors("not_group", &joined);
        lifted.extend(group_selectors("group", &left));
        self.require_lifts(tx, holder, org, &lifted).await
    }

    /// docs/admin.md §5: joining a group counts as assigning every role it holds,
    /// at its scopes (owner-only assignments included: the actor's own
    /// owner-only grants never count as held).
    pub(crate) async fn require_roles(
        &self,
        tx: &mut Tx,
        holder: Option<&Snapshot>,
        org: &str,
        groups: &BTreeSet<String>,
    ) -> Result<(), AdminError> {
        if holder.is_none() {
            return Ok(());
        }
        for group in groups {
            let rows = group_assignments(tx, org, group).await?;
            self.require_assigned(tx, holder, org, rows).await?;
        }
        Ok(())
    }

    /// The actor holds every key of these assignments' roles at their
    /// scopes.
    async fn require_assigned(
        &self,
        tx: &mut Tx,
        holder: Option<&Snapshot>,
        org: &str,
        rows: Vec<ScopedRole>,
    ) -> Result<(), AdminError> {
        let mut by_scope: BTreeMap<Option<(String, String)>, Vec<String>> = BTreeMap::new();
        for (ty, id, role) in rows {
            let role_keys = self.role_keys(tx, org, &role).await?;
            let keys = by_scope.entry(ty.zip(id)).or_default();
            for key in role_keys {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        for (scope, keys) in by_scope {
            let path = scope_path(tx, org, scope.as_ref()).await?;
            Self::require_holds(holder, &keys, &path)?;
        }
        Ok(())
    }

    /// The caps and hidden entries with one of these selectors (text form)
    /// are lifted: a cap needs every key it withholds at its scope, a
    /// hidden entry needs its node visible to the actor.
    pub(crate) async fn require_lifts(
        &self,
        tx: &mut Tx,
        holder: Option<&Snapshot>,
        org: &str,
        lifted: &[String],
    ) -> Result<(), AdminError> {
        if holder.is_none() {
            return Ok(());
        }
        for selector in lifted {
            let caps: Vec<(Option<String>, Option<String>, String)> = sqlx::query_as(
                "SELECT scope_type, scope_id, allow FROM caps WHERE org_id = $1 AND selector = $2",
            )
            .bind(org)
            .bind(selector)
            .fetch_all(&mut **tx)
            .await?;
            for (ty, id, allow) in caps {
                let allow: Vec<String> =
                    serde_json::from_str(&allow).map_err(|_| internal(allow.clone()))?;
                let path = scope_path(tx, org, ty.zip(id).as_ref()).await?;
                self.require_cap_lift(holder, &allow, &path)?;
            }
            let hidden: Vec<(String, String)> = sqlx::query_as(
                "SELECT node_type, node_id FROM hidden WHERE org_id = $1 AND selector = $2",
            )
            .bind(org)
            .bind(selector)
            .fetch_all(&mut **tx)
            .await?;
            for node in hidden {
                let path = scope_path(tx, org, Some(&node)).await?;
                Self::require_visible(holder, &path)?;
            }
        }
        Ok(())
    }
}

/// For each guarded built-in, the active users who hold it directly at the
/// org root (plain) and whose org-root set still has every key it grants.
pub(crate) type GuardedHolders = Vec<(String, BTreeSet<String>)>;

impl Admin {
    /// Before a write by an actor that can narrow org-root sets (a root
    /// cap, a membership that puts someone under one): the guarded roles'
    /// effective holders. `None` for the backend and superusers, who may
    /// (a maintenance window is a root cap on `everyone`, docs/model.md §1.9).
    pub(crate) async fn guarded_before(
        &self,
        tx: &mut Tx,
        holder: Option<&Snapshot>,
        org: &str,
    ) -> Result<Option<GuardedHolders>, AdminError> {
        match holder {
            Some(holder) if !holder.is_superuser() => {
                Ok(Some(self.effective_guarded(tx, org).await?))
            }
            _ => Ok(None),
        }
    }

    /// After such a write: an actor may not leave a guarded role that had
    /// an effective holder with none (`LAST_GUARDED_ASSIGNMENT`), so no
    /// tenant admin can cap the org's owners out of it.
    pub(crate) async fn guarded_after(
        &self,
        tx: &mut Tx,
        org: &str,
        before: Option<GuardedHolders>,
    ) -> Result<(), AdminError> {
        let Some(before) = before else {
            return Ok(());
        };
        let after = self.effective_guarded(tx, org).await?;
        for ((role, had), (_, has)) in before.iter().zip(&after) {
            if !had.is_empty() && has.is_empty() {
                return Err(AdminError::LastGuardedAssignment(role.clone()));
            }
        }
        Ok(())
    }

    async fn effective_guarded(
        &self,
        tx: &mut Tx,
        org: &str,
    ) -> Result<GuardedHolders, AdminError> {
        let mut guarded = Vec::new();
        for role in self.manifest.roles.iter().filter(|role| role.guarded) {
            let keys = self.role_keys(tx, org, &role.key).await?;
            let holders: Vec<(String,)> = sqlx::query_as(
                "SELECT a.subject_user FROM assignments a JOIN users u ON u.id = a.subject_user
                  WHERE a.org_id = $1 AND a.role_id = $2 AND a.scope_key = '' AND a.owner_only = 0
                    AND u.active = 1 ORDER BY a.subject_user",
            )
            .bind(org)
            .bind(&role.key)
            .fetch_all(&mut **tx)
            .await?;
            let mut effective = BTreeSet::new();
            for (holder,) in holders {
                let root = self
                    .holdings(tx, org, &holder)
                    .await?
                    .effective::<&str>(&[], None);
                if keys.iter().all(|key| root.contains(key)) {
                    effective.insert(holder);
                }
            }
            guarded.push((role.key.clone(), effective));
        }
        Ok(guarded)
    }
}

/// `kind:group` for each group (`group:ops`, `not_group:ops`).
pub(crate) fn group_selectors(kind: &str, groups: &BTreeSet<String>) -> Vec<String> {
    groups
        .iter()
        .map(|group| format!("{kind}:{group}"))
        .collect()
}

/// An assignment's scope (type, id) and role.
type ScopedRole = (Option<String>, Option<String>, String);

/// The scope and role of each assignment a group holds directly.
async fn group_assignments(
    tx: &mut Tx,
    org: &str,
    group: &str,
) -> Result<Vec<ScopedRole>, AdminError> {
    Ok(sqlx::query_as(
        "SELECT scope_type, scope_id, role_id FROM assignments
          WHERE org_id = $1 AND subject_group = $2 ORDER BY scope_key, role_id",
    )
    .bind(org)
    .bind(group)
    .fetch_all(&mut **tx)
    .await?)
}

/// The scope and role of each `@members` assignment.
async fn members_assignments(tx: &mut Tx, org: &str) -> Result<Vec<ScopedRole>, AdminError> {
    Ok(sqlx::query_as(
        "SELECT scope_type, scope_id, role_id FROM assignments
          WHERE org_id = $1 AND subject = '@members' ORDER BY scope_key, role_id",
    )
    .bind(org)
    .fetch_all(&mut **tx)
    .await?)
}
