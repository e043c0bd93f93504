//! API tokens (docs/admin.md §5): `admin` tokens may call everything, `check`
//! tokens only the decision, snapshot and key endpoints; either may be
//! bound to a set of orgs. A token is shown once, when created; the store
//! keeps only its SHA-256.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};
use tessera_core::is_valid_node_id;
use thiserror::Error;

use crate::ids::{hex, random_bytes};
use crate::store::{Store, StoreError};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Everything, writes included (the bootstrap token is one).
    Admin,
    /// Decisions, snapshots and keys only.
    Check,
}

impl TokenKind {
    /// `admin` or `check`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Admin => "admin",
            TokenKind::Check => "check",
        }
    }
}

/// The stored form of a token: its SHA-256, in hex.
pub(crate) fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// What a presented token may do: its kind, and the orgs it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAccess {
    /// Admin or check.
    pub kind: TokenKind,
    /// `None`: every org; otherwise only these (any other answers 404).
    pub orgs: Option<BTreeSet<String>>,
}

impl TokenAccess {
    /// Whether the token may act in `org`.
    pub fn reaches(&self, org: &str) -> bool {
        self.orgs.as_ref().is_none_or(|orgs| orgs.contains(org))
    }
}

/// Why a token could not be made.
#[derive(Debug, Error)]
pub enum TokenError {
    /// An org id that no org could have.
    #[error("`{0}` is not a valid org id")]
    BadOrg(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates a token of `kind`, bound to `orgs` (empty: every org); returns
/// its text, which is never stored.
pub async fn create_token(
    store: &Store,
    kind: TokenKind,
    orgs: &[String],
    now: i64,
) -> Result<String, TokenError> {
    if let Some(bad) = orgs.iter().find(|org| !is_valid_node_id(org)) {
        return Err(TokenError::BadOrg(bad.clone()));
    }
    let token = format!("tsk_{}_{}", kind.as_str(), hex(&random_bytes::<24>()?));
    let id = hex(&random_bytes::<6>()?);
    let mut tx = store.pool().begin().await.map_err(StoreError::from)?;
    sqlx::query(
        "INSERT INTO api_tokens (id, kind, token_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(kind.as_str())
    .bind(digest(&token))
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    for org in orgs.iter().collect::<BTreeSet<_>>() {
        sqlx::query("INSERT INTO api_token_orgs (token_id, org_id) VALUES ($1, $2)")
            .bind(&id)
            .bind(org)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(token)
}

/// The kind of a presented token; `None` for an unknown one.
pub async fn token_kind(store: &Store, token: &str) -> Result<Option<TokenKind>, StoreError> {
    Ok(token_access(store, token).await?.map(|access| access.kind))
}

/// What a presented token may do; `None` for an unknown one.
pub async fn token_access(store: &Store, token: &str) -> Result<Option<TokenAccess>, StoreError> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT id, kind FROM api_tokens WHERE token_hash = $1")
            .bind(digest(token))
            .fetch_optional(store.pool())
            .await?;
    let Some((id, kind)) = row else {
        return Ok(None);
    };
    let kind = match kind.as_str() {
        "admin" => TokenKind::Admin,
        "check" => TokenKind::Check,
        _ => return Ok(None),
    };
    let orgs: Vec<(String,)> =
        sqlx::query_as("SELECT org_id FROM api_token_orgs WHERE token_id = $1")
            .bind(id)
            .fetch_all(store.pool())
            .await?;
    let orgs = (!orgs.is_empty()).then(|| orgs.into_iter().map(|(org,)| org).collect());
    Ok(Some(TokenAccess { kind, orgs }))
}

/// Revokes a token by its text; whether it existed. A server that has seen
/// the token valid trusts it for up to a minute more (its token cache);
/// every other server refuses it at once.
pub async fn revoke_token(store: &Store, token: &str) -> Result<bool, StoreError> {
    let deleted = sqlx::query("DELETE FROM api_tokens WHERE token_hash = $1")
        .bind(digest(token))
        .execute(store.pool())
        .await?;
    Ok(deleted.rows_affected() > 0)
}
