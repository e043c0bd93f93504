//! The key ring: Ed25519 signing keys kept in the store. The newest key that
//! is not retired signs; a retired key stays published until every snapshot
//! it can have signed has expired (retirement time + the longest TTL), and
//! loses its private half when it is retired: it never signs again.
//! Private keys are never logged (`SigningKey`'s `Debug` hides them).

use tessera_core::{Jwk, KeySet, SigningKey};

use crate::ids::{hex, random_bytes};
use crate::store::{Store, StoreError};

/// Snapshots live at most this long (docs/snapshots.md §3), so a retired key is
/// published this much longer.
pub const MAX_SNAPSHOT_TTL: i64 = 3600;

/// Generates a key, stores it, and makes it the active one.
pub async fn generate_key(store: &Store, now: i64) -> Result<String, StoreError> {
    let mut tx = store.pool().begin().await?;
    let kid = insert_key(&mut tx, now).await?;
    tx.commit().await?;
    Ok(kid)
}

async fn insert_key(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    now: i64,
) -> Result<String, StoreError> {
    let seed: [u8; 32] = random_bytes()?;
    let kid = format!("k-{}", hex(&random_bytes::<6>()?));
    let key = SigningKey::from_seed(&kid, &seed);
    sqlx::query("INSERT INTO signing_keys (kid, public_key, private_key, created_at, retired_at) VALUES ($1, $2, $3, $4, NULL)")
        .bind(&kid)
        .bind(key.public_key().to_vec())
        .bind(seed.to_vec())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(kid)
}

/// Rotates: a new active key, and every older key retired now, its private
/// half erased (an empty value).
pub async fn rotate_keys(store: &Store, now: i64) -> Result<String, StoreError> {
    let mut tx = store.pool().begin().await?;
    sqlx::query(
        "UPDATE signing_keys SET retired_at = $1, private_key = $2 WHERE retired_at IS NULL",
    )
    .bind(now)
    .bind(Vec::<u8>::new())
    .execute(&mut *tx)
    .await?;
    // Retire and replace in one transaction: never zero or two active keys.
    let kid = insert_key(&mut tx, now).await?;
    tx.commit().await?;
    Ok(kid)
}

/// The active signing key, generating the first one if there is none.
pub async fn active_key(store: &Store, now: i64) -> Result<SigningKey, StoreError> {
    let row: Option<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT kid, private_key FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1",
    )
    .fetch_optional(store.pool())
    .await?;
    let (kid, seed) = match row {
        Some(row) => row,
        None => {
            generate_key(store, now).await?;
            return Box::pin(active_key(store, now)).await;
        }
    };
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| StoreError::CorruptKey(kid.clone()))?;
    Ok(SigningKey::from_seed(&kid, &seed))
}

/// The published public keys at `now`: active ones, and retired ones whose
/// snapshots may still be alive.
pub async fn published_keys(store: &Store, now: i64) -> Result<Vec<Jwk>, StoreError> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT kid, public_key FROM signing_keys WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at, kid",
    )
    .bind(now - MAX_SNAPSHOT_TTL)
    .fetch_all(store.pool())
    .await?;
    rows.into_iter()
        .map(|(kid, public)| {
            let public: [u8; 32] = public
                .try_into()
                .map_err(|_| StoreError::CorruptKey(kid.clone()))?;
            Ok(Jwk::ed25519(&kid, &public))
        })
        .collect()
}

/// The published keys as a verifier key set.
pub async fn published_key_set(store: &Store, now: i64) -> Result<KeySet, StoreError> {
    let jwks = published_keys(store, now).await?;
    KeySet::from_jwks_keys(&jwks).map_err(|_| StoreError::CorruptKey("published set".to_owned()))
}
