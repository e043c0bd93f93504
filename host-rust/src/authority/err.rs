//! Why the authority could not answer, with the stable code of each reason.

use tessera_core::{CompileError, ErrorCode};
use thiserror::Error;

use crate::builder::BuildError;
use crate::facts::FactsError;
use crate::missing::Missing;
use crate::store::StoreError;

/// Why a question could not be answered.
#[derive(Debug, Error)]
pub enum AuthorityError {
    /// Unknown org, principal or subtree root (`NOT_FOUND`).
    #[error("{0} not found")]
    NotFound(Missing),
    /// A token scope that is not a catalog key (`UNKNOWN_PERMISSION`).
    #[error("token scope `{0}` is not a catalog permission")]
    UnknownPermission(String),
    /// `min_revision` is ahead of the store (`STALE`).
    #[error("revision {wanted} is ahead of the store's {have}")]
    Stale {
        /// The caller's `min_revision`.
        wanted: u64,
        /// The store's revision.
        have: u64,
    },
    /// A preview's org moved past the revision it started at (`STALE`).
    #[error("the org moved from revision {from} to {to} during the preview; ask again")]
    Moved {
        /// The revision the preview started at.
        from: u64,
        /// The revision the org moved to.
        to: u64,
    },
    /// An exported snapshot over the configured maximum (`SNAPSHOT_TOO_LARGE`).
    #[error("the snapshot is {size} bytes, over the maximum of {max}; ask for subtrees")]
    SnapshotTooLarge {
        /// Its size.
        size: usize,
        /// The maximum.
        max: usize,
    },
    /// A bad TTL or inconsistent stored facts (`BAD_REQUEST` / `INTERNAL`).
    #[error("{0}")]
    BadRequest(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthorityError {
    /// The stable code (docs/errors.md).
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthorityError::NotFound(_) => ErrorCode::NotFound,
            AuthorityError::UnknownPermission(_) => ErrorCode::UnknownPermission,
            AuthorityError::Stale { .. } | AuthorityError::Moved { .. } => ErrorCode::Stale,
            AuthorityError::SnapshotTooLarge { .. } => ErrorCode::SnapshotTooLarge,
            AuthorityError::BadRequest(_) => ErrorCode::BadRequest,
            AuthorityError::Store(_) => ErrorCode::Internal,
        }
    }
}

impl From<FactsError> for AuthorityError {
    fn from(err: FactsError) -> Self {
        match err {
            FactsError::UnknownOrg(org) => AuthorityError::NotFound(Missing::new("org", &org)),
            FactsError::UnknownPrincipal(user) => {
                AuthorityError::NotFound(Missing::new("principal", &user))
            }
            FactsError::Corrupt(what) => AuthorityError::Store(StoreError::Corrupt(what)),
            FactsError::Store(err) => AuthorityError::Store(err),
        }
    }
}

impl From<CompileError> for AuthorityError {
    fn from(err: CompileError) -> Self {
        match err {
            CompileError::UnknownPrincipal(user) => {
                AuthorityError::NotFound(Missing::new("principal", &user))
            }
            CompileError::UnknownNode(node) => {
                AuthorityError::NotFound(Missing::new("node", &node))
            }
            CompileError::UnknownPermission(key) => AuthorityError::UnknownPermission(key),
            CompileError::InvalidFacts(why) => AuthorityError::Store(StoreError::Corrupt(why)),
        }
    }
}

impl From<BuildError> for AuthorityError {
    fn from(err: BuildError) -> Self {
        match err {
            BuildError::Facts(err) => err.into(),
            BuildError::Compile(err) => err.into(),
            BuildError::BadTtl => AuthorityError::BadRequest(err.to_string()),
            BuildError::Sign(err) => AuthorityError::Store(StoreError::Corrupt(err.to_string())),
            BuildError::Store(err) => AuthorityError::Store(err),
        }
    }
}

impl From<sqlx::Error> for AuthorityError {
    fn from(err: sqlx::Error) -> Self {
        AuthorityError::Store(StoreError::Database(err))
    }
}
