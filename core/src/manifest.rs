//! The app's manifest (docs/manifest.md §4): catalog, resource types, built-in roles,
//! routes and `[admin]` keys, validated as a whole before anything uses it.

mod err;
mod formula;
#[cfg(feature = "compile")]
mod raw;
#[cfg(feature = "compile")]
mod validate;

use serde::{Deserialize, Serialize};

use crate::model::{Bits, Catalog, TypeTable};
use crate::predicate::{Predicate, PredicateError, RoutePattern};
use crate::snapshot::RouteSource;

pub use err::ManifestError;
pub use formula::apply_formula;

/// A validated manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The catalog in canonical order, `requires` resolved.
    pub catalog: Catalog,
    /// Permission descriptions, parallel to the catalog.
    pub descriptions: Vec<Option<String>>,
    /// Resource types.
    pub types: TypeTable,
    /// Built-in roles, in manifest order.
    pub roles: Vec<BuiltinRole>,
    /// Routes, in manifest order.
    pub routes: Vec<Route>,
    /// Which catalog keys gate the host's admin API; `None`: superusers only.
    pub admin: Option<AdminKeys>,
}

/// How reconcile treats a built-in role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleMode {
    /// Recomputed from the manifest on every reconcile.
    Immutable,
    /// Seeded once, then owned by the operator.
    Editable,
}

/// A built-in role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinRole {
    /// The key, also its id and name in every org.
    pub key: String,
    /// Immutable or editable.
    pub mode: RoleMode,
    /// An org must keep one active direct org-scope holder once it has one.
    pub guarded: bool,
    /// The formula's result.
    pub permissions: Bits,
}

/// A route: pattern, predicate, and where to send a principal it refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The parsed pattern.
    pub pattern: RoutePattern,
    /// The `when` predicate.
    pub when: Predicate,
    /// A parameter-free path.
    pub fallback: String,
}

/// The `[admin]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminKeys {
    /// Gates role writes.
    pub manage_roles: String,
    /// Gates members, groups, memberships and assignments.
    pub manage_members: String,
    /// Gates nodes, hidden entries, caps and settings.
    pub manage_access: String,
}

impl Route {
    /// The text form carried in snapshots.
    pub fn source(&self) -> RouteSource {
        RouteSource {
            path: self.pattern.path.clone(),
            when: self.when.to_string(),
            fallback: self.fallback.clone(),
        }
    }

    /// Parses a route carried in a snapshot. The manifest validated it when
    /// it was compiled; this only re-checks the syntax, with the parser's
    /// depth limit, so a decoded payload can never nest deeper than that.
    pub fn from_source(source: &RouteSource) -> Result<Route, PredicateError> {
        Ok(Route {
            pattern: RoutePattern::parse(&source.path)?,
            when: source.when.parse()?,
            fallback: source.fallback.clone(),
        })
    }
}

impl Manifest {
    /// The catalog hash: SHA-256 of the postcard encoding of the catalog
    /// entries, so any change of key, order or `requires` changes it.
    pub fn catalog_hash(&self) -> [u8; 32] {
        self.catalog.hash()
    }

    /// A built-in role by key.
    pub fn builtin(&self, key: &str) -> Option<&BuiltinRole> {
        self.roles.iter().find(|role| role.key == key)
    }

    /// The permissions a role grants (docs/model.md §1.6),
    /// given the keys stored for it (`None`: the org has no row for it).
    /// An immutable built-in grants what the manifest says, whatever a
    /// stale or tampered row says (reconcile repairs the row); a built-in
    /// with no row grants the manifest's keys; any other role grants its
    /// stored keys that are still in the catalog (a key no longer there is
    /// deprecated and grants nothing). The compiler and the host's admin
    /// rules both ask this, so they cannot disagree.
    pub fn role_permissions(&self, role: &str, stored: Option<&[String]>) -> Bits {
        match (self.builtin(role), stored) {
            (Some(builtin), _) if builtin.mode == RoleMode::Immutable => {
                builtin.permissions.clone()
            }
            (_, Some(keys)) => self.catalog.bits_of_known(keys.iter().map(String::as_str)),
            (Some(builtin), None) => builtin.permissions.clone(),
            (None, None) => Bits::empty(self.catalog.len()),
        }
    }
}
