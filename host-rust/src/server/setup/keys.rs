//! The key ring: an active signing key before serving.

use super::SetupError;
use crate::keys::generate_key;
use crate::store::{Store, StoreError};

/// Makes sure the key ring has an active key; returns the new kid when one
/// was generated.
pub async fn ensure_signing_key(store: &Store, now: i64) -> Result<Option<String>, SetupError> {
    let (keys,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NULL")
            .fetch_one(store.pool())
            .await
            .map_err(StoreError::from)?;
    if keys > 0 {
        return Ok(None);
    }
    Ok(Some(generate_key(store, now).await?))
}
