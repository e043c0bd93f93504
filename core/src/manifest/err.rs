//! Manifest validation errors. Each names the offending entry.

use crate::ErrorCode;
use thiserror::Error;

use crate::predicate::PredicateError;

/// Why a manifest was refused. Nothing of a refused manifest is applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not TOML, or a field of the wrong shape or an unknown field.
    #[error("manifest is not valid TOML for Tessera: {0}")]
    Syntax(String),
    /// A permission key that is not `resource:action`.
    #[error("catalog key `{0}` is not of the form `resource:action`")]
    BadKey(String),
    /// The same key twice in the catalog.
    #[error("catalog key `{0}` is declared twice")]
    DuplicateKey(String),
    /// `requires` names a key that is not in the catalog.
    #[error("`{key}` requires `{required}`, which is not in the catalog")]
    UnknownRequirement {
        /// The permission.
        key: String,
        /// The missing requirement.
        required: String,
    },
    /// The `requires` graph has a cycle through `key`.
    #[error("`requires` has a cycle through `{0}`")]
    RequiresCycle(String),
    /// A resource type name not of the form `^[a-z][a-z0-9_]*$`, or `org`.
    #[error("resource type `{0}` is not a valid type name")]
    BadTypeName(String),
    /// The same resource type twice.
    #[error("resource type `{0}` is declared twice")]
    DuplicateType(String),
    /// A parent that is neither `org` nor a declared type.
    #[error("resource type `{ty}` names unknown parent type `{parent}`")]
    UnknownParentType {
        /// The type.
        ty: String,
        /// The unknown parent.
        parent: String,
    },
    /// A type with no parents at all.
    #[error("resource type `{0}` has no parents")]
    NoParents(String),
    /// A built-in role key that is not `^[A-Za-z][A-Za-z0-9_]*$`.
    #[error("built-in role key `{0}` is not valid")]
    BadRoleKey(String),
    /// The same built-in role twice.
    #[error("built-in role `{0}` is declared twice")]
    DuplicateRole(String),
    /// A formula entry that names no catalog key or resource group.
    #[error("role `{role}`: formula entry `{entry}` names no catalog key or resource group")]
    UnknownFormulaKey {
        /// The role.
        role: String,
        /// The entry.
        entry: String,
    },
    /// A built-in role whose set is not closed under `requires`.
    #[error("role `{role}` has `{key}` but not its requirement `{required}`")]
    RoleNotClosed {
        /// The role.
        role: String,
        /// The key held.
        key: String,
        /// What it requires and the role lacks.
        required: String,
    },
    /// A route pattern or predicate that does not parse.
    #[error("route `{route}`: {source}")]
    RouteSyntax {
        /// The route's path.
        route: String,
        /// The parse error.
        source: PredicateError,
    },
    /// The same route pattern twice.
    #[error("route `{0}` is declared twice")]
    DuplicateRoute(String),
    /// A predicate key that is not in the catalog.
    #[error("route `{route}`: predicate names unknown permission `{key}`")]
    UnknownPredicateKey {
        /// The route.
        route: String,
        /// The key.
        key: String,
    },
    /// A `{param}` the route pattern lacks.
    #[error("route `{route}`: predicate binds `{{{param}}}`, which the pattern lacks")]
    UnknownRouteParam {
        /// The route.
        route: String,
        /// The parameter.
        param: String,
    },
    /// A bound path that is not type-valid.
    #[error("route `{route}`: bound path `{path}` is not type-valid")]
    BadPredicatePath {
        /// The route.
        route: String,
        /// The path as written.
        path: String,
    },
    /// A fallback that is not a parameter-free path.
    #[error("route `{route}`: fallback `{fallback}` is not a parameter-free path")]
    BadFallback {
        /// The route.
        route: String,
        /// The fallback.
        fallback: String,
    },
    /// An `[admin]` key that is not in the catalog.
    #[error("[admin] {field} = `{key}` is not in the catalog")]
    UnknownAdminKey {
        /// The field.
        field: &'static str,
        /// The key.
        key: String,
    },
}

impl ManifestError {
    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::BadManifest
    }
}
