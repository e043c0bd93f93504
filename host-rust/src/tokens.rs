//! API tokens (DESIGN §5): `admin` tokens may call everything, `check`
//! tokens only the decision, snapshot and key endpoints. A token is shown
//! once, when created; the store keeps only its SHA-256.

use sha2::{Digest, Sha256};

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
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Admin => "admin",
            TokenKind::Check => "check",
        }
    }
}

/// The stored form of a token: its SHA-256, in hex.
pub(crate) fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Creates a token of `kind`; returns its text, which is never stored.
pub async fn create_token(store: &Store, kind: TokenKind, now: i64) -> Result<String, StoreError> {
    let hex = |bytes: &[u8]| {
        bytes
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    };
    let mut secret = [0u8; 24];
    let mut id = [0u8; 6];
    getrandom::fill(&mut secret).map_err(|_| StoreError::Randomness)?;
    getrandom::fill(&mut id).map_err(|_| StoreError::Randomness)?;
    let token = format!("tsk_{}_{}", kind.as_str(), hex(&secret));
    sqlx::query(
        "INSERT INTO api_tokens (id, kind, token_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(hex(&id))
    .bind(kind.as_str())
    .bind(digest(&token))
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(token)
}

/// The kind of a presented token; `None` for an unknown one.
pub async fn token_kind(store: &Store, token: &str) -> Result<Option<TokenKind>, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT kind FROM api_tokens WHERE token_hash = $1")
            .bind(digest(token))
            .fetch_optional(store.pool())
            .await?;
    Ok(row.and_then(|(kind,)| match kind.as_str() {
        "admin" => Some(TokenKind::Admin),
        "check" => Some(TokenKind::Check),
        _ => None,
    }))
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
