//! The manifest file, and whether the store was reconciled with it.

use std::path::Path;

use tessera_core::Manifest;

use super::SetupError;
use crate::store::{Store, StoreError};

/// Reads and validates a manifest file.
pub fn load_manifest(path: &Path) -> Result<Manifest, SetupError> {
    let text = std::fs::read_to_string(path).map_err(|err| SetupError::io(path, err))?;
    Manifest::from_toml(&text).map_err(|err| SetupError::Manifest {
        path: path.to_owned(),
        message: err.to_string(),
    })
}

/// Checks that the store was reconciled with `manifest`'s catalog, so an
/// answer computed with it is the one the server gives.
pub async fn check_reconciled(
    store: &Store,
    manifest: &Manifest,
    path: &Path,
) -> Result<(), SetupError> {
    let stored: Option<(String,)> =
        sqlx::query_as("SELECT value FROM meta WHERE key = 'catalog_hash'")
            .fetch_optional(store.pool())
            .await
            .map_err(StoreError::from)?;
    let hash = crate::ids::hex(&manifest.catalog_hash());
    match stored {
        Some((stored,)) if stored == hash => Ok(()),
        _ => Err(SetupError::ManifestMismatch {
            path: path.to_owned(),
        }),
    }
}
