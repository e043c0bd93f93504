//! Roles (docs/model.md §1.6): custom roles created, edited and deleted by admins;
//! editable built-ins edited but never deleted; immutable built-ins never
//! touched. Every saved set is catalog keys only (`UNKNOWN_PERMISSION`) and
//! closed under `requires` (`READ_PAIRING_VIOLATION`); names are unique per
//! org ignoring case and surrounding whitespace (`NAME_TAKEN`) and no custom
//! role takes a built-in's name (`RESERVED_ROLE_NAME`).
//!
//! Escalation (docs/admin.md §5): saving a role needs every key of the role at the
//! org root. An edit checks the keys of the role both before and after it:
//! removing a key the actor does not hold would change what its stronger
//! holders may do, which the actor could not undo.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::json;
use tessera_core::{Bits, Reach};

use super::AdminError;
use super::names::{Name, display_name};
use super::write::{Actor, Admin, AdminKey, Affects, Audit};
use crate::changes::{Change, Delta, WriteKind};
use crate::missing::Missing;
use crate::store::Tx;

/// A role as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoleView {
    /// Role id (a built-in's id is its manifest key).
    pub id: String,
    /// Display name (a built-in's is its key).
    pub name: String,
    /// The manifest key of a built-in, `null` for a custom role.
    pub builtin: Option<String>,
    /// `custom`, `immutable` or `editable`.
    pub mode: String,
    /// A guarded built-in: an org keeps one active direct holder at its
    /// root once it has one (docs/admin.md §5.4).
    pub guarded: bool,
    /// Its catalog permissions, in catalog order (deprecated keys, which
    /// grant nothing, are left out).
    pub permissions: Vec<String>,
}

/// A `roles` row.
#[derive(Debug, Clone, sqlx::FromRow)]
struct RoleRow {
    id: String,
    name: String,
    builtin: Option<String>,
    mode: String,
}

/// A unique violation (a concurrent write took the name first) is
/// `NAME_TAKEN`; anything else is the store's.
fn name_taken(err: sqlx::Error, name: &str) -> AdminError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            AdminError::NameTaken(name.to_owned())
        }
        _ => AdminError::from(err),
    }
}

impl Admin {
    /// Checks a requested permission set: catalog keys only, closed under
    /// `requires`. Returns it as catalog bits (duplicates collapse).
    fn role_bits(&self, permissions: &[String]) -> Result<Bits, AdminError> {
        let catalog = &self.manifest.catalog;
        let bits = catalog
            .bits_of(permissions.iter().map(String::as_str))
            .map_err(|key| AdminError::UnknownPermission(key.to_owned()))?;
        let missing = catalog.missing_requirements(&bits);
        if !missing.is_empty() {
            let listed: Vec<String> = missing
                .iter()
                .map(|(key, required)| {
                    format!("{} requires {}", catalog.key(*key), catalog.key(*required))
                })
                .collect();
            return Err(AdminError::ReadPairingViolation(listed.join(", ")));
        }
        Ok(bits)
    }

    /// `RESERVED_ROLE_NAME` for a built-in's name in any case.
    fn reserved_name(&self, name: &Name) -> Result<(), AdminError> {
        if self
            .manifest
            .roles
            .iter()
            .any(|role| role.key.trim().to_lowercase() == name.key)
        {
            return Err(AdminError::ReservedRoleName(name.name.clone()));
        }
        Ok(())
    }

    /// The keys of a stored set that the catalog still has, in catalog order.
    pub(super) fn live_keys(&self, stored: &[String]) -> Vec<String> {
        let catalog = &self.manifest.catalog;
        catalog.keys(&catalog.bits_of_known(stored.iter().map(String::as_str)))
    }

    /// `GET /v1/orgs/{org}/roles`: built-ins in manifest order, then custom
    /// roles by name.
    /// With an actor, reading needs the `manage_roles` admin key, as writing does
    /// (an unknown actor is `FORBIDDEN`).
    pub async fn list_roles(&self, actor: &Actor, org: &str) -> Result<Vec<RoleView>, AdminError> {
        let mut tx = self.open_read(actor, org, AdminKey::ManageRoles).await?;
        let rows: Vec<RoleRow> = sqlx::query_as(
            "SELECT id, name, builtin, mode FROM roles WHERE org_id = $1 ORDER BY name_key, id",
        )
        .bind(org)
        .fetch_all(&mut *tx)
        .await?;
        let permissions: Vec<(String, String)> = sqlx::query_as(
            "SELECT role_id, permission FROM role_permissions WHERE org_id = $1 ORDER BY role_id",
        )
        .bind(org)
        .fetch_all(&mut *tx)
        .await?;
        tx.rollback().await?;
        let rank = |row: &RoleRow| {
            row.builtin.as_ref().map_or(usize::MAX, |key| {
                self.manifest
                    .roles
                    .iter()
                    .position(|role| &role.key == key)
                    .unwrap_or(usize::MAX - 1)
            })
        };
        let mut rows = rows;
        // Stable: custom roles keep the query's name order.
        rows.sort_by_key(|row| rank(row));
        Ok(rows
            .into_iter()
            .map(|row| {
                let held: Vec<String> = permissions
                    .iter()
                    .filter(|(role, _)| *role == row.id)
                    .map(|(_, key)| key.clone())
                    .collect();
                self.view(row, &held)
            })
            .collect())
    }

    fn view(&self, row: RoleRow, stored: &[String]) -> RoleView {
        RoleView {
            permissions: self.live_keys(stored),
            id: row.id,
            name: row.name,
            guarded: row
                .builtin
                .as_deref()
                .and_then(|key| self.manifest.builtin(key))
                .is_some_and(|role| role.guarded),
            builtin: row.builtin,
            mode: row.mode,
        }
    }

    /// The role and its stored permission keys; `NOT_FOUND` for an unknown
    /// id or an id of another org.
    async fn load_role(
        &self,
        tx: &mut Tx,
        org: &str,
        id: &str,
    ) -> Result<(RoleRow, Vec<String>), AdminError> {
        let row: Option<RoleRow> = sqlx::query_as(
            "SELECT id, name, builtin, mode FROM roles WHERE org_id = $1 AND id = $2",
        )
        .bind(org)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else {
            return Err(AdminError::NotFound(Missing::new("role", id)));
        };
        let held: Vec<(String,)> = sqlx::query_as(
            "SELECT permission FROM role_permissions WHERE org_id = $1 AND role_id = $2",
        )
        .bind(org)
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
        Ok((row, held.into_iter().map(|(key,)| key).collect()))
    }

    /// `NAME_TAKEN` when another role of the org has the name's key.
    async fn name_free(
        tx: &mut Tx,
        org: &str,
        name: &Name,
        except: Option<&str>,
    ) -> Result<(), AdminError> {
        let taken: Option<(String,)> =
            sqlx::query_as("SELECT id FROM roles WHERE org_id = $1 AND name_key = $2")
                .bind(org)
                .bind(&name.key)
                .fetch_optional(&mut **tx)
                .await?;
        match taken {
            Some((id,)) if except != Some(id.as_str()) => {
                Err(AdminError::NameTaken(name.name.clone()))
            }
            _ => Ok(()),
        }
    }

    async fn insert_permissions(
        tx: &mut Tx,
        org: &str,
        role: &str,
        keys: &[String],
    ) -> Result<(), AdminError> {
        for key in keys {
            sqlx::query(
                "INSERT INTO role_permissions (org_id, role_id, permission) VALUES ($1, $2, $3)",
            )
            .bind(org)
            .bind(role)
            .bind(key)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// `POST /v1/orgs/{org}/roles` `{"name", "permissions"}`: a custom role
    /// (possibly empty) with a generated id.
    pub async fn create_role(
        &self,
        actor: &Actor,
        org: &str,
        name: &str,
        permissions: &[String],
        now: i64,
    ) -> Result<RoleView, AdminError> {
        let name = display_name("role", name)?;
        let bits = self.role_bits(permissions)?;
        self.reserved_name(&name)?;
        let keys = self.manifest.catalog.keys(&bits);
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageRoles).await?;
        Self::require_holds(holder.as_ref(), &keys, &[])?;
        Self::name_free(&mut tx, org, &name, None).await?;
        let view = RoleView {
            id: super::batch::entry_id("r")?,
            name: name.name.clone(),
            builtin: None,
            mode: "custom".to_owned(),
            guarded: false,
            permissions: keys,
        };
        sqlx::query(
            "INSERT INTO roles (org_id, id, name, name_key, builtin, mode) VALUES ($1, $2, $3, $4, NULL, 'custom')",
        )
        .bind(org)
        .bind(&view.id)
        .bind(&name.name)
        .bind(&name.key)
        .execute(&mut *tx)
        .await
        .map_err(|err| name_taken(err, &name.name))?;
        Self::insert_permissions(&mut tx, org, &view.id, &view.permissions).await?;
        let audit = Audit {
            action: "role.create",
            target: format!("role:{}", view.id),
            before: None,
            after: Some(json!(view)),
        };
        let change = Change::role(&view.id, &view.name, &view.permissions);
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await?;
        Ok(view)
    }

    /// `PATCH /v1/orgs/{org}/roles/{id}` `{"name"?, "permissions"?}`: a new
    /// name and/or a new permission set (replacing the old one). Editable
    /// built-ins take new permissions but keep their name (it is their
    /// manifest key: `BAD_REQUEST` for another one); immutable built-ins take
    /// nothing (`BUILTIN_ROLE_IMMUTABLE`). An edit that changes nothing
    /// writes nothing.
    pub async fn update_role(
        &self,
        actor: &Actor,
        org: &str,
        id: &str,
        name: Option<&str>,
        permissions: Option<&[String]>,
        now: i64,
    ) -> Result<RoleView, AdminError> {
        let name = name.map(|name| display_name("role", name)).transpose()?;
        let bits = permissions.map(|keys| self.role_bits(keys)).transpose()?;
        let (mut tx, holder) = self.open_write(actor, org, AdminKey::ManageRoles).await?;
        let (row, stored) = self.load_role(&mut tx, org, id).await?;
        match row.mode.as_str() {
            "immutable" => return Err(AdminError::BuiltinRoleImmutable(row.id)),
            "editable" => {
                if name.as_ref().is_some_and(|name| name.name != row.name) {
                    return Err(AdminError::bad(
                        "name",
                        format!("built-in role `{}` cannot be renamed", row.id),
                    ));
                }
            }
            _ => {
                if let Some(name) = &name {
                    self.reserved_name(name)?;
                    Self::name_free(&mut tx, org, name, Some(&row.id)).await?;
                }
            }
        }
        let before = self.view(row.clone(), &stored);
        let after = RoleView {
            name: name
                .as_ref()
                .map_or_else(|| row.name.clone(), |name| name.name.clone()),
            permissions: bits.as_ref().map_or_else(
                || before.permissions.clone(),
                |bits| self.manifest.catalog.keys(bits),
            ),
            ..before.clone()
        };
        let stored_set: BTreeSet<&String> = stored.iter().collect();
        let after_set: BTreeSet<&String> = after.permissions.iter().collect();
        let permissions_change = bits.is_some() && stored_set != after_set;
        if after.name == before.name && !permissions_change {
            return Ok(after);
        }
        // Every key of the role, before and after the edit, at the org root.
        let mut touched: Vec<String> = before.permissions.clone();
        touched.extend(after.permissions.iter().cloned());
        Self::require_holds(holder.as_ref(), &self.live_keys(&touched), &[])?;
        if after.name != before.name {
            let key = after.name.to_lowercase();
            sqlx::query("UPDATE roles SET name = $1, name_key = $2 WHERE org_id = $3 AND id = $4")
                .bind(&after.name)
                .bind(&key)
                .bind(org)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|err| name_taken(err, &after.name))?;
        }
        if permissions_change {
            sqlx::query("DELETE FROM role_permissions WHERE org_id = $1 AND role_id = $2")
                .bind(org)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            Self::insert_permissions(&mut tx, org, id, &after.permissions).await?;
        }
        let audit = Audit {
            action: "role.update",
            target: format!("role:{id}"),
            before: Some(json!(before)),
            after: Some(json!(after)),
        };
        let now_stored = if permissions_change {
            &after.permissions
        } else {
            &stored
        };
        let change = Change::role(id, &after.name, now_stored);
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await?;
        Ok(after)
    }

    /// `DELETE /v1/orgs/{org}/roles/{id}`: custom roles without assignments
    /// only. Deleting an unused role changes nobody's access, so it needs
    /// only the gate.
    pub async fn delete_role(
        &self,
        actor: &Actor,
        org: &str,
        id: &str,
        now: i64,
    ) -> Result<(), AdminError> {
        let (mut tx, _) = self.open_write(actor, org, AdminKey::ManageRoles).await?;
        let (row, stored) = self.load_role(&mut tx, org, id).await?;
        match row.mode.as_str() {
            "immutable" => return Err(AdminError::BuiltinRoleImmutable(row.id)),
            "editable" => return Err(AdminError::BuiltinRoleNonDeletable(row.id)),
            _ => {}
        }
        let (uses,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM assignments WHERE org_id = $1 AND role_id = $2")
                .bind(org)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if uses > 0 {
            return Err(AdminError::RoleInUse(row.id));
        }
        let before = self.view(row, &stored);
        // role_permissions rows go with the role (ON DELETE CASCADE).
        sqlx::query("DELETE FROM roles WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let audit = Audit {
            action: "role.delete",
            target: format!("role:{id}"),
            before: Some(json!(before)),
            after: None,
        };
        let change = Change::new(
            WriteKind::Role,
            Reach::role(id),
            Delta::RoleRemoved(id.to_owned()),
        );
        self.finish(tx, actor, Affects::Org(org, Box::new(change)), audit, now)
            .await
    }
}
