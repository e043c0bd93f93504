//! The manifest's TOML shape, exactly as written; `validate` turns it into
//! a [`Manifest`](super::Manifest).

use serde::Deserialize;

use super::RoleMode;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawManifest {
    pub(super) catalog: RawCatalog,
    #[serde(default)]
    pub(super) resource: Vec<RawResource>,
    #[serde(default)]
    pub(super) role: Vec<RawRole>,
    #[serde(default)]
    pub(super) route: Vec<RawRoute>,
    pub(super) admin: Option<RawAdmin>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCatalog {
    pub(super) permissions: Vec<RawPermission>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPermission {
    pub(super) key: String,
    pub(super) requires: Option<Vec<String>>,
    pub(super) description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResource {
    #[serde(rename = "type")]
    pub(super) ty: String,
    pub(super) parents: Vec<String>,
    #[serde(default)]
    pub(super) hideable: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRole {
    pub(super) key: String,
    pub(super) mode: RoleMode,
    #[serde(default)]
    pub(super) guarded: bool,
    pub(super) permissions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    pub(super) path: String,
    pub(super) when: String,
    pub(super) fallback: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    pub(super) manage_roles: String,
    pub(super) manage_members: String,
    pub(super) manage_access: String,
}
