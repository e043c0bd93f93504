//! The snapshot builder: load one principal's facts, compile them with
//! tessera-core, sign with the active key. The host's own checks open the
//! very snapshot a client would get, so the two answers cannot drift.

use tessera_core::{CompileError, CompileRequest, Manifest, NodeKey, SignError};
use thiserror::Error;

use crate::facts::{FactsError, Loader};
use crate::keys::{MAX_SNAPSHOT_TTL, active_key};
use crate::store::StoreError;

/// What to build.
#[derive(Debug, Clone, Copy)]
pub struct BuildRequest<'a> {
    /// The org id.
    pub org: &'a str,
    /// A user id or `anonymous`.
    pub principal: &'a str,
    /// Token scopes; `None`: no limit.
    pub token_scopes: Option<&'a [String]>,
    /// Subtree roots; `None`: the whole org.
    pub under: Option<&'a [NodeKey]>,
    /// Seconds the snapshot lives (at most [`MAX_SNAPSHOT_TTL`]).
    pub ttl: i64,
    /// Include provenance for `explain`.
    pub provenance: bool,
}

/// A built, signed snapshot.
#[derive(Debug, Clone)]
pub struct Built {
    /// The binary envelope.
    pub envelope: Vec<u8>,
    /// The org revision it was built at.
    pub revision: u64,
    /// The id of the key that signed it.
    pub kid: String,
    /// Whether it is an active superuser's: whoever holds it may do
    /// everything in the org until it expires.
    pub superuser: bool,
}

/// Why a snapshot could not be built.
#[derive(Debug, Error)]
pub enum BuildError {
    /// Unknown org or principal.
    #[error(transparent)]
    Facts(#[from] FactsError),
    /// Unknown token scope or subtree root, or inconsistent facts.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// A TTL outside `1..=3600`.
    #[error("ttl must be between 1 and {MAX_SNAPSHOT_TTL} seconds")]
    BadTtl,
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for BuildError {
    fn from(err: sqlx::Error) -> Self {
        BuildError::Store(StoreError::Database(err))
    }
}

/// Builds and signs the snapshot of `request` at `now` (unix seconds).
pub async fn build_snapshot(
    loader: &Loader,
    manifest: &Manifest,
    request: &BuildRequest<'_>,
    now: i64,
) -> Result<Built, BuildError> {
    if !(1..=MAX_SNAPSHOT_TTL).contains(&request.ttl) {
        return Err(BuildError::BadTtl);
    }
    // The key and the facts are independent reads: one round trip's wait.
    let (key, facts) = tokio::join!(
        active_key(loader.store(), now),
        loader.load(request.org, request.principal, request.under.unwrap_or(&[]))
    );
    let (key, facts) = (key?, facts?);
    let issued_at = u64::try_from(now).unwrap_or(0);
    let compile_request = CompileRequest {
        principal: request.principal,
        token_scopes: request.token_scopes,
        under: request.under,
        issued_at,
        expires_at: issued_at + request.ttl.unsigned_abs(),
        kid: key.kid(),
        provenance: request.provenance,
        hash_seed: crate::hash_seed(),
    };
    let payload = facts.compile(manifest, &compile_request)?;
    let principal = &payload.header.principal;
    let superuser = principal.superuser && principal.active;
    Ok(Built {
        envelope: key.sign(&payload)?,
        revision: facts.revision(),
        kid: key.kid().to_owned(),
        superuser,
    })
}
