//! Errors for parsing identifiers, selectors and subjects.

use crate::ErrorCode;
use thiserror::Error;

/// A malformed identifier, node key, selector or subject.
///
/// Every variant maps to the host's `BAD_REQUEST`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A node key that is not `type:id` with a valid type name and id.
    #[error("`{0}` is not a node key of the form `type:id`")]
    BadNodeKey(String),
    /// A selector that is none of the forms of docs/model.md §1.10.
    #[error("`{0}` is not a selector")]
    BadSelector(String),
    /// A subject that is not `user:<id>`, `group:<id>` or a pseudo-group.
    #[error("`{0}` is not an assignment subject")]
    BadSubject(String),
    /// A group member that is not `user:<id>` or `group:<id>`.
    #[error("`{0}` is not a group member")]
    BadMember(String),
}

impl ModelError {
    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::BadRequest
    }
}
