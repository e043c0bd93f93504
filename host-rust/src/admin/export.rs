//! An org's access as one document (docs/documents.md §9.1): everything a
//! store holds of one org that decides its answers, read in one
//! transaction, in one canonical order, with the store's ids and nothing
//! store-specific (no revision, no timestamp), so two exports of the same
//! state are byte-equal and a diff of two exports reads as the change.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tessera_core::NodeKey;

use super::audience::parents_first;
use super::err::AdminError;
use super::groups::direct_members;
use super::write::{Actor, Admin, AdminKey};
use crate::store::{StoreError, Tx};

/// The document format this host writes and reads.
pub const DOCUMENT_FORMAT: &str = "tessera.org/1";

/// The org's id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocOrg {
    /// The id.
    pub id: String,
    /// The display name.
    pub name: String,
}

/// The org's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocSettings {
    /// Kiosk mode (docs/model.md §1.9).
    pub kiosk: bool,
}

/// A user the document names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocUser {
    /// The id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// A platform superuser.
    pub superuser: bool,
    /// Active (an inactive user is denied everything).
    pub active: bool,
}

/// A group, its default flag and its direct members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocGroup {
    /// The id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// A default group: every member belongs to it.
    pub default: bool,
    /// `user:<id>` and `group:<id>`, sorted.
    pub members: Vec<String>,
}

/// A custom role, or an editable built-in as the org edited it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocRole {
    /// The id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The manifest's key of an editable built-in; absent for a custom role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<String>,
    /// Its keys, in catalog order.
    pub permissions: Vec<String>,
}

/// A registered node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocNode {
    /// `type:id`.
    pub node: String,
    /// Its parent, or null under the org root.
    pub parent: Option<String>,
}

/// An assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocAssignment {
    /// The id.
    pub id: String,
    /// `user:<id>`, `group:<id>`, `@everyone`, `@authenticated`, `@members`.
    pub subject: String,
    /// The role id.
    pub role: String,
    /// The node, or null for the org root.
    pub scope: Option<String>,
    /// Only on what the principal owns.
    pub owner_only: bool,
}

/// A hidden entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocHidden {
    /// The id.
    pub id: String,
    /// Whom it hides from.
    pub selector: String,
    /// The node hidden, with its subtree.
    pub node: String,
}

/// A cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocCap {
    /// The id.
    pub id: String,
    /// Whom it caps.
    pub selector: String,
    /// The node, or null for the org root.
    pub scope: Option<String>,
    /// The keys it still allows, in catalog order.
    pub allow: Vec<String>,
}

/// One org's access, as a document (`"format": "tessera.org/1"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgDocument {
    /// [`DOCUMENT_FORMAT`].
    pub format: String,
    /// The org.
    pub org: DocOrg,
    /// Its settings.
    pub settings: DocSettings,
    /// The users it names: its members and the users its selectors name.
    pub users: Vec<DocUser>,
    /// Its members' ids.
    pub members: Vec<String>,
    /// Its groups (the reserved `admin` group is the superusers: not listed).
    pub groups: Vec<DocGroup>,
    /// Custom roles and editable built-ins (immutable built-ins are the
    /// manifest's: not listed).
    pub roles: Vec<DocRole>,
    /// Its nodes, parents first.
    pub nodes: Vec<DocNode>,
    /// Its assignments.
    pub assignments: Vec<DocAssignment>,
    /// Its hidden entries.
    pub hidden: Vec<DocHidden>,
    /// Its caps.
    pub caps: Vec<DocCap>,
}

impl OrgDocument {
    /// The canonical text: two-space JSON in the document's own order,
    /// ending with a newline.
    pub fn to_canonical_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// An assignment's row: id, subject, role, scope type and id, owner-only.
type AssignmentRow = (String, String, String, Option<String>, Option<String>, i64);
/// A cap's row: id, selector, scope type and id, the allowed keys (JSON).
type CapRow = (String, String, Option<String>, Option<String>, String);

fn node_key(kind: Option<String>, id: Option<String>) -> Option<String> {
    kind.zip(id).map(|(ty, id)| NodeKey { ty, id }.to_string())
}

fn corrupt(what: &str) -> AdminError {
    AdminError::Store(StoreError::Corrupt(what.to_owned()))
}

impl Admin {
    /// `GET /v1/orgs/{org}/export`: the org as a document. It shows every
    /// part of the model, so an acting user needs all three `[admin]` keys.
    pub async fn export(&self, actor: &Actor, org: &str) -> Result<OrgDocument, AdminError> {
        self.export_reporting(actor, org, &mut |_, _| {}).await
    }

    /// [`Admin::export`], calling `progress(read, total)` as it reads the
    /// org's entries (members, groups, memberships, roles and their
    /// grants, nodes, assignments, hidden entries, caps), so the CLI can
    /// draw it.
    pub async fn export_reporting(
        &self,
        actor: &Actor,
        org: &str,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<OrgDocument, AdminError> {
        let mut tx = self.open_read(actor, org, AdminKey::ManageMembers).await?;
        self.gate(&mut tx, actor, org, AdminKey::ManageRoles)
            .await?;
        self.gate(&mut tx, actor, org, AdminKey::ManageAccess)
            .await?;
        let document = match entries(&mut tx, org).await {
            Ok(total) => {
                let mut read = 0;
                let mut tick = |rows: usize| {
                    read = (read + rows).min(total);
                    progress(read, total);
                };
                self.read_document(&mut tx, org, &mut tick).await
            }
            Err(err) => Err(err),
        };
        tx.rollback().await?;
        document
    }

    /// Reads the org, calling `tick(rows)` after each kind of entry.
    async fn read_document(
        &self,
        tx: &mut Tx,
        org: &str,
        tick: &mut (dyn FnMut(usize) + Send),
    ) -> Result<OrgDocument, AdminError> {
        let (name, kiosk): (String, i64) =
            sqlx::query_as("SELECT name, kiosk FROM orgs WHERE id = $1")
                .bind(org)
                .fetch_one(&mut **tx)
                .await?;
        let members: Vec<(String,)> =
            sqlx::query_as("SELECT user_id FROM members WHERE org_id = $1 ORDER BY user_id")
                .bind(org)
                .fetch_all(&mut **tx)
                .await?;
        tick(members.len());
        let members: Vec<String> = members.into_iter().map(|(id,)| id).collect();
        let users: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, name, superuser, active FROM users u WHERE
               EXISTS (SELECT 1 FROM members m WHERE m.org_id = $1 AND m.user_id = u.id)
               OR EXISTS (SELECT 1 FROM hidden h WHERE h.org_id = $1 AND h.selector_user = u.id)
               OR EXISTS (SELECT 1 FROM caps c WHERE c.org_id = $1 AND c.selector_user = u.id)
             ORDER BY id",
        )
        .bind(org)
        .fetch_all(&mut **tx)
        .await?;
        let groups: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT id, name, is_default FROM groups WHERE org_id = $1 AND id <> 'admin' ORDER BY id",
        )
        .bind(org)
        .fetch_all(&mut **tx)
        .await?;
        tick(groups.len());
        let mut inside = direct_members(tx, org).await?;
        tick(inside.values().map(BTreeSet::len).sum());
        let roles: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, name, builtin FROM roles WHERE org_id = $1 AND mode <> 'immutable' ORDER BY id",
        )
        .bind(org)
        .fetch_all(&mut **tx)
        .await?;
        let grants: Vec<(String, String)> =
            sqlx::query_as("SELECT role_id, permission FROM role_permissions WHERE org_id = $1")
                .bind(org)
                .fetch_all(&mut **tx)
                .await?;
        tick(roles.len() + grants.len());
        let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (role, key) in grants {
            held.entry(role).or_default().push(key);
        }
        let nodes = registered_nodes(tx, org).await?;
        tick(nodes.len());
        let assignments: Vec<AssignmentRow> =
            sqlx::query_as(
                "SELECT id, subject, role_id, scope_type, scope_id, owner_only FROM assignments WHERE org_id = $1 ORDER BY id",
            )
            .bind(org)
            .fetch_all(&mut **tx)
            .await?;
        tick(assignments.len());
        let hidden: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT id, selector, node_type, node_id FROM hidden WHERE org_id = $1 ORDER BY id",
        )
        .bind(org)
        .fetch_all(&mut **tx)
        .await?;
        tick(hidden.len());
        let caps: Vec<CapRow> = sqlx::query_as(
            "SELECT id, selector, scope_type, scope_id, allow FROM caps WHERE org_id = $1 ORDER BY id",
        )
        .bind(org)
        .fetch_all(&mut **tx)
        .await?;
        tick(caps.len());
        let catalog = &self.manifest.catalog;
        let mut document = OrgDocument {
            format: DOCUMENT_FORMAT.to_owned(),
            org: DocOrg {
                id: org.to_owned(),
                name,
            },
            settings: DocSettings { kiosk: kiosk != 0 },
            users: users
                .into_iter()
                .map(|(id, name, superuser, active)| DocUser {
                    id,
                    name,
                    superuser: superuser != 0,
                    active: active != 0,
                })
                .collect(),
            members,
            groups: groups
                .into_iter()
                .map(|(id, name, default)| DocGroup {
                    members: inside.remove(&id).unwrap_or_default().into_iter().collect(),
                    id,
                    name,
                    default: default != 0,
                })
                .collect(),
            roles: roles
                .into_iter()
                .map(|(id, name, builtin)| DocRole {
                    permissions: self.live_keys(held.get(&id).map_or(&[][..], Vec::as_slice)),
                    id,
                    name,
                    builtin,
                })
                .collect(),
            nodes,
            assignments: assignments
                .into_iter()
                .map(|(id, subject, role, ty, node, owner_only)| DocAssignment {
                    id,
                    subject,
                    role,
                    scope: node_key(ty, node),
                    owner_only: owner_only != 0,
                })
                .collect(),
            hidden: hidden
                .into_iter()
                .map(|(id, selector, ty, node)| DocHidden {
                    id,
                    selector,
                    node: NodeKey { ty, id: node }.to_string(),
                })
                .collect(),
            caps: caps
                .into_iter()
                .map(|(id, selector, ty, node, allow)| {
                    let stored: Vec<String> =
                        serde_json::from_str(&allow).map_err(|_| corrupt(&allow))?;
                    Ok(DocCap {
                        id,
                        selector,
                        scope: node_key(ty, node),
                        allow: catalog
                            .keys(&catalog.bits_of_known(stored.iter().map(String::as_str))),
                    })
                })
                .collect::<Result<_, AdminError>>()?,
        };
        document.sort();
        Ok(document)
    }
}

impl OrgDocument {
    /// Puts every list in its documented order, by id compared as bytes:
    /// the stores' `ORDER BY` follows the database's collation, which on
    /// Postgres need not be byte order.
    fn sort(&mut self) {
        self.members.sort();
        self.users.sort_by(|a, b| a.id.cmp(&b.id));
        self.groups.sort_by(|a, b| a.id.cmp(&b.id));
        self.roles.sort_by(|a, b| a.id.cmp(&b.id));
        self.assignments.sort_by(|a, b| a.id.cmp(&b.id));
        self.hidden.sort_by(|a, b| a.id.cmp(&b.id));
        self.caps.sort_by(|a, b| a.id.cmp(&b.id));
    }
}

/// How many entries [`Admin::read_document`] reads: its progress's total.
async fn entries(tx: &mut Tx, org: &str) -> Result<usize, AdminError> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM members WHERE org_id = $1)
              + (SELECT COUNT(*) FROM groups WHERE org_id = $1 AND id <> 'admin')
              + (SELECT COUNT(*) FROM group_members WHERE org_id = $1)
              + (SELECT COUNT(*) FROM roles WHERE org_id = $1 AND mode <> 'immutable')
              + (SELECT COUNT(*) FROM role_permissions WHERE org_id = $1)
              + (SELECT COUNT(*) FROM nodes WHERE org_id = $1)
              + (SELECT COUNT(*) FROM assignments WHERE org_id = $1)
              + (SELECT COUNT(*) FROM hidden WHERE org_id = $1)
              + (SELECT COUNT(*) FROM caps WHERE org_id = $1)",
    )
    .bind(org)
    .fetch_one(&mut **tx)
    .await?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// The org's registered nodes, every parent before its children (by
/// depth, then key): an export's order, and the node listing's.
pub(super) async fn registered_nodes(tx: &mut Tx, org: &str) -> Result<Vec<DocNode>, AdminError> {
    let rows: Vec<(String, String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT type, id, parent_type, parent_id FROM nodes WHERE org_id = $1")
            .bind(org)
            .fetch_all(&mut **tx)
            .await?;
    Ok(nodes_in_order(rows))
}

/// The nodes, every parent before its children.
fn nodes_in_order(rows: Vec<(String, String, Option<String>, Option<String>)>) -> Vec<DocNode> {
    let tree: Vec<(NodeKey, Option<NodeKey>)> = rows
        .into_iter()
        .map(|(ty, id, parent_ty, parent_id)| {
            let parent = parent_ty.zip(parent_id).map(|(ty, id)| NodeKey { ty, id });
            (NodeKey { ty, id }, parent)
        })
        .collect();
    parents_first(&tree)
        .into_iter()
        .map(|(node, path)| DocNode {
            parent: path
                .len()
                .checked_sub(2)
                .and_then(|at| path.get(at))
                .cloned(),
            node,
        })
        .collect()
}
