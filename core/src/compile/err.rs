//! Why a snapshot could not be compiled.

use crate::ErrorCode;
use thiserror::Error;

/// A compile failure. The host maps each to its HTTP error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CompileError {
    /// The principal is not a known user (`NOT_FOUND`).
    #[error("principal `{0}` does not exist")]
    UnknownPrincipal(String),
    /// A subtree root is not a registered node (`NOT_FOUND`).
    #[error("node `{0}` is not registered")]
    UnknownNode(String),
    /// A token scope that is not a catalog key (`UNKNOWN_PERMISSION`).
    #[error("token scope `{0}` is not a catalog permission")]
    UnknownPermission(String),
    /// Facts that break the model (a dangling reference, a node under a
    /// parent its type does not allow, a cycle). The store never produces
    /// these; hand-written facts can.
    #[error("facts are inconsistent: {0}")]
    InvalidFacts(String),
}

impl CompileError {
    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            CompileError::UnknownPrincipal(_) | CompileError::UnknownNode(_) => ErrorCode::NotFound,
            CompileError::UnknownPermission(_) => ErrorCode::UnknownPermission,
            CompileError::InvalidFacts(_) => ErrorCode::InvalidFacts,
        }
    }
}
