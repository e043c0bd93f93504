//! Admin errors: one variant per code of DESIGN §5, each with its HTTP status.

use thiserror::Error;

use crate::facts::FactsError;
use crate::store::StoreError;

/// Why an admin write was refused. Nothing was changed.
#[derive(Debug, Error)]
pub enum AdminError {
    /// Malformed input: bad id, node key, selector or shape.
    #[error("{0}")]
    BadRequest(String),
    /// A key not in the catalog.
    #[error("`{0}` is not a catalog permission")]
    UnknownPermission(String),
    /// A role set not closed under `requires`.
    #[error("role set is not closed under `requires`: {0}")]
    ReadPairingViolation(String),
    /// A custom role named like a built-in, in any case.
    #[error("`{0}` is a built-in role's name")]
    ReservedRoleName(String),
    /// Hiding a type not declared hideable.
    #[error("nodes of type `{0}` cannot be hidden")]
    NotHideable(String),
    /// A membership that would create a cycle.
    #[error("that membership would make a group cycle")]
    GroupCycle,
    /// The actor lacks the operation's `[admin]` key.
    #[error("the acting user lacks `{0}` at the org root")]
    Forbidden(String),
    /// The actor would grant more than it holds.
    #[error("escalation denied: {0}")]
    EscalationDenied(String),
    /// Editing or deleting an immutable built-in.
    #[error("built-in role `{0}` is immutable")]
    BuiltinRoleImmutable(String),
    /// Deleting an editable built-in.
    #[error("built-in role `{0}` cannot be deleted")]
    BuiltinRoleNonDeletable(String),
    /// Unknown org, user, principal or id (or an id of another org).
    #[error("{0} not found")]
    NotFound(String),
    /// A role or group name already taken (case-insensitively).
    #[error("name `{0}` is taken")]
    NameTaken(String),
    /// Deleting a custom role with live assignments.
    #[error("role `{0}` still has assignments")]
    RoleInUse(String),
    /// Deleting a group still referenced.
    #[error("group `{0}` is still referenced")]
    GroupInUse(String),
    /// Deleting a node with children or policy.
    #[error("node `{0}` has children or policy")]
    NodeInUse(String),
    /// Editing membership of `admin` or a pseudo-group, or making `admin` default.
    #[error("group `{0}` is reserved")]
    ReservedGroup(String),
    /// Demoting, deactivating or deleting the last active superuser.
    #[error("`{0}` is the last active superuser")]
    LastSuperuser(String),
    /// Removing the last active direct org-scope holder of a guarded role.
    #[error("the org must keep an active holder of `{0}`")]
    LastGuardedAssignment(String),
    /// Removing the last default group.
    #[error("the org must keep a default group")]
    LastDefaultGroup,
    /// The write would take the org over one of its quotas.
    #[error("the org is at its quota of {limit} {quota}")]
    QuotaExceeded {
        /// Which quota (`nodes`, `groups`, `assignments`, `caps`, `hidden`).
        quota: &'static str,
        /// Its ceiling.
        limit: u64,
    },
    /// The store failed (a 500 with a generic body; the detail is logged).
    #[error("store error")]
    Store(#[from] StoreError),
}

impl AdminError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            AdminError::BadRequest(_) => "BAD_REQUEST",
            AdminError::UnknownPermission(_) => "UNKNOWN_PERMISSION",
            AdminError::ReadPairingViolation(_) => "READ_PAIRING_VIOLATION",
            AdminError::ReservedRoleName(_) => "RESERVED_ROLE_NAME",
            AdminError::NotHideable(_) => "NOT_HIDEABLE",
            AdminError::GroupCycle => "GROUP_CYCLE",
            AdminError::Forbidden(_) => "FORBIDDEN",
            AdminError::EscalationDenied(_) => "ESCALATION_DENIED",
            AdminError::BuiltinRoleImmutable(_) => "BUILTIN_ROLE_IMMUTABLE",
            AdminError::BuiltinRoleNonDeletable(_) => "BUILTIN_ROLE_NON_DELETABLE",
            AdminError::NotFound(_) => "NOT_FOUND",
            AdminError::NameTaken(_) => "NAME_TAKEN",
            AdminError::RoleInUse(_) => "ROLE_IN_USE",
            AdminError::GroupInUse(_) => "GROUP_IN_USE",
            AdminError::NodeInUse(_) => "NODE_IN_USE",
            AdminError::ReservedGroup(_) => "RESERVED_GROUP",
            AdminError::LastSuperuser(_) => "LAST_SUPERUSER",
            AdminError::LastGuardedAssignment(_) => "LAST_GUARDED_ASSIGNMENT",
            AdminError::LastDefaultGroup => "LAST_DEFAULT_GROUP",
            AdminError::QuotaExceeded { .. } => "QUOTA_EXCEEDED",
            AdminError::Store(_) => "INTERNAL",
        }
    }

    /// The HTTP status of DESIGN §5.
    pub fn status(&self) -> u16 {
        match self {
            AdminError::BadRequest(_)
            | AdminError::UnknownPermission(_)
            | AdminError::ReadPairingViolation(_)
            | AdminError::ReservedRoleName(_)
            | AdminError::NotHideable(_)
            | AdminError::GroupCycle => 400,
            AdminError::Forbidden(_)
            | AdminError::EscalationDenied(_)
            | AdminError::BuiltinRoleImmutable(_)
            | AdminError::BuiltinRoleNonDeletable(_) => 403,
            AdminError::NotFound(_) => 404,
            AdminError::NameTaken(_)
            | AdminError::RoleInUse(_)
            | AdminError::GroupInUse(_)
            | AdminError::NodeInUse(_)
            | AdminError::ReservedGroup(_)
            | AdminError::LastSuperuser(_)
            | AdminError::LastGuardedAssignment(_)
            | AdminError::LastDefaultGroup
            | AdminError::QuotaExceeded { .. } => 409,
            AdminError::Store(_) => 500,
        }
    }
}

impl From<sqlx::Error> for AdminError {
    fn from(err: sqlx::Error) -> Self {
        AdminError::Store(StoreError::Database(err))
    }
}

impl From<FactsError> for AdminError {
    fn from(err: FactsError) -> Self {
        match err {
            FactsError::UnknownOrg(org) => AdminError::NotFound(format!("org `{org}`")),
            FactsError::UnknownPrincipal(user) => AdminError::NotFound(format!("user `{user}`")),
            FactsError::Corrupt(what) => AdminError::Store(StoreError::Corrupt(what)),
            FactsError::Store(err) => AdminError::Store(err),
        }
    }
}
