//! Admin errors: one variant per refusal of docs/admin.md §5, each mapped to
//! its code in the registry ([`tessera_core::ErrorCode`]).

use tessera_core::ErrorCode;
use thiserror::Error;

use crate::facts::FactsError;
use crate::missing::Missing;
use crate::store::StoreError;

/// Why an admin write was refused. Nothing was changed.
#[derive(Debug, Error)]
pub enum AdminError {
    /// Malformed input: bad id, node key, selector, name or shape.
    #[error("{message}")]
    BadRequest {
        /// The input at fault (`id`, `name`, `type`, `parent`, `subject`,
        /// `scope`, `node`, `user`, `selector`), for programs.
        field: &'static str,
        /// What is wrong with it, for people.
        message: String,
    },
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
    /// The acting user may not make this call: unknown, inactive, or
    /// without the operation's `[admin]` key at the org root (the message
    /// says which).
    #[error("{0}")]
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
    NotFound(Missing),
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
    /// `BAD_REQUEST` about `field`.
    pub(crate) fn bad(field: &'static str, message: impl Into<String>) -> Self {
        AdminError::BadRequest {
            field,
            message: message.into(),
        }
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            AdminError::BadRequest { .. } => ErrorCode::BadRequest,
            AdminError::UnknownPermission(_) => ErrorCode::UnknownPermission,
            AdminError::ReadPairingViolation(_) => ErrorCode::ReadPairingViolation,
            AdminError::ReservedRoleName(_) => ErrorCode::ReservedRoleName,
            AdminError::NotHideable(_) => ErrorCode::NotHideable,
            AdminError::GroupCycle => ErrorCode::GroupCycle,
            AdminError::Forbidden(_) => ErrorCode::Forbidden,
            AdminError::EscalationDenied(_) => ErrorCode::EscalationDenied,
            AdminError::BuiltinRoleImmutable(_) => ErrorCode::BuiltinRoleImmutable,
            AdminError::BuiltinRoleNonDeletable(_) => ErrorCode::BuiltinRoleNonDeletable,
            AdminError::NotFound(_) => ErrorCode::NotFound,
            AdminError::NameTaken(_) => ErrorCode::NameTaken,
            AdminError::RoleInUse(_) => ErrorCode::RoleInUse,
            AdminError::GroupInUse(_) => ErrorCode::GroupInUse,
            AdminError::NodeInUse(_) => ErrorCode::NodeInUse,
            AdminError::ReservedGroup(_) => ErrorCode::ReservedGroup,
            AdminError::LastSuperuser(_) => ErrorCode::LastSuperuser,
            AdminError::LastGuardedAssignment(_) => ErrorCode::LastGuardedAssignment,
            AdminError::LastDefaultGroup => ErrorCode::LastDefaultGroup,
            AdminError::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
            AdminError::Store(_) => ErrorCode::Internal,
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
            FactsError::UnknownOrg(org) => AdminError::NotFound(Missing::new("org", &org)),
            FactsError::UnknownPrincipal(user) => AdminError::NotFound(Missing::new("user", &user)),
            FactsError::Corrupt(what) => AdminError::Store(StoreError::Corrupt(what)),
            FactsError::Store(err) => AdminError::Store(err),
        }
    }
}
