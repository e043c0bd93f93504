//! The bootstrap admin token kept in the data directory.

use std::path::Path;

use super::SetupError;
use super::data_dir::{ensure_data_dir, write_private};
use crate::store::{Store, StoreError};
use crate::tokens::{TokenError, TokenKind, create_token, token_kind};

/// The bootstrap admin token: the one in `<data_dir>/token` while the store
/// still knows it, otherwise a new one written there (mode 0600).
pub async fn bootstrap_token(
    store: &Store,
    data_dir: &Path,
    now: i64,
) -> Result<String, SetupError> {
    let path = data_dir.join("token");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let token = text.trim();
        if token_kind(store, token).await? == Some(TokenKind::Admin) {
            return Ok(token.to_owned());
        }
    }
    ensure_data_dir(data_dir)?;
    let token = create_token(store, TokenKind::Admin, &[], now)
        .await
        .map_err(|err| match err {
            TokenError::Store(err) => SetupError::Store(err),
            TokenError::BadOrg(org) => SetupError::Store(StoreError::Corrupt(org)),
        })?;
    write_private(&path, &format!("{token}\n"))?;
    Ok(token)
}
