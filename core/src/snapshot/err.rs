//! Verification errors, each with a stable code every binding exposes.

use crate::ErrorCode;
use thiserror::Error;

/// Why a snapshot was refused. Never `#[non_exhaustive]`: a new way to
/// refuse a snapshot must be handled by every caller on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// Truncated, trailing or malformed bytes, or a payload that does not
    /// decode or is internally inconsistent.
    #[error("snapshot is malformed: {0}")]
    BadEncoding(&'static str),
    /// The key set has no key with the envelope's `kid`.
    #[error("snapshot is signed by unknown key `{0}`")]
    UnknownKey(String),
    /// The signature does not verify, or the header's `kid` differs from the envelope's.
    #[error("snapshot signature is invalid")]
    BadSignature,
    /// `expires_at <= now`.
    #[error("snapshot expired at {expires_at} (now {now})")]
    Expired {
        /// The header's expiry.
        expires_at: u64,
        /// The time it was checked at.
        now: u64,
    },
    /// A payload format this build does not read.
    #[error("snapshot format version {0} is not supported")]
    WrongFormatVersion(u32),
    /// The snapshot is for another org than expected.
    #[error("snapshot is for org `{0}`, not the expected one")]
    WrongOrg(String),
    /// The snapshot is for another principal than expected.
    #[error("snapshot is for principal `{0}`, not the expected one")]
    WrongPrincipal(String),
    /// Over 1 MiB (binary) or its base64 length (text).
    #[error("snapshot is larger than 1 MiB")]
    TooLarge,
    /// A JWKS document that is not a valid Ed25519 key set.
    #[error("key set is invalid: {0}")]
    BadKeySet(String),
}

impl VerifyError {
    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            VerifyError::BadEncoding(_) => ErrorCode::BadEncoding,
            VerifyError::UnknownKey(_) => ErrorCode::UnknownKey,
            VerifyError::BadSignature => ErrorCode::BadSignature,
            VerifyError::Expired { .. } => ErrorCode::Expired,
            VerifyError::WrongFormatVersion(_) => ErrorCode::WrongFormatVersion,
            VerifyError::WrongOrg(_) => ErrorCode::WrongOrg,
            VerifyError::WrongPrincipal(_) => ErrorCode::WrongPrincipal,
            VerifyError::TooLarge => ErrorCode::TooLarge,
            VerifyError::BadKeySet(_) => ErrorCode::BadKeySet,
        }
    }
}
