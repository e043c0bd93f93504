//! What `tessera serve` and every CLI subcommand share: where the data
//! lives, how the store is opened, the manifest read, and the bootstrap
//! token kept.

use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tessera_core::Manifest;
use thiserror::Error;

use crate::keys::generate_key;
use crate::store::{Store, StoreError};
use crate::tokens::{TokenError, TokenKind, create_token, token_kind};

/// Why the host could not start (or a subcommand could not run).
#[derive(Debug, Error)]
pub enum SetupError {
    /// The data directory or a file in it could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The manifest does not validate.
    #[error("{path}: {message}")]
    Manifest {
        /// The manifest's path.
        path: PathBuf,
        /// Every problem, one per line.
        message: String,
    },
    /// The store was reconciled with another catalog than the manifest's.
    #[error(
        "{path}: the store was reconciled with another catalog; run `tessera reconcile --manifest {path}` or pass the manifest the server runs with"
    )]
    ManifestMismatch {
        /// The manifest's path.
        path: PathBuf,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SetupError {
    fn io(path: &Path, source: std::io::Error) -> SetupError {
        SetupError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// What a file path keeps as it is in a `sqlite://` URL. sqlx percent-
/// decodes the path, and in it `?` would start the parameters, `#` a
/// fragment and `%` an escape, so everything else is encoded.
const URL_PATH_KEEPS: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The database URL: the explicit one (`DATABASE_URL`, `--database-url`)
/// or the embedded SQLite file in the data directory.
pub fn database_url(explicit: Option<&str>, data_dir: &Path) -> String {
    match explicit {
        Some(url) if !url.trim().is_empty() => url.to_owned(),
        _ => {
            let file = data_dir.join("tessera.db");
            let path = utf8_percent_encode(&file.to_string_lossy(), URL_PATH_KEEPS).to_string();
            format!("sqlite://{path}?mode=rwc")
        }
    }
}

/// Creates the data directory if it is missing, owner-only on Unix. An
/// existing directory is left as it is (it may be shared, like `/tmp`);
/// the files Tessera writes in it are owner-only themselves.
pub fn ensure_data_dir(data_dir: &Path) -> Result<(), SetupError> {
    if data_dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(data_dir)
        .map_err(|err| SetupError::io(data_dir, err))
}

/// Opens the store (creating the data directory for SQLite) and applies
/// pending migrations.
pub async fn open_store(database_url: &str, data_dir: &Path) -> Result<Store, SetupError> {
    if database_url.starts_with("sqlite:") {
        ensure_data_dir(data_dir)?;
    }
    let store = Store::connect(database_url).await?;
    store.migrate_up().await?;
    Ok(store)
}

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
    let hash = crate::reconcile::hex(&manifest.catalog_hash());
    match stored {
        Some((stored,)) if stored == hash => Ok(()),
        _ => Err(SetupError::ManifestMismatch {
            path: path.to_owned(),
        }),
    }
}

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

/// Writes a file only its owner can read: a new file (never one a symlink
/// points to) renamed over `path`.
fn write_private(path: &Path, text: &str) -> Result<(), SetupError> {
    use std::io::Write;
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&temporary)
        .map_err(|err| SetupError::io(&temporary, err))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|err| SetupError::io(&temporary, err))?;
    std::fs::rename(&temporary, path).map_err(|err| SetupError::io(path, err))
}

/// Unix seconds now (the host's one clock).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[tokio::test]
    async fn the_embedded_database_opens_in_a_directory_with_url_characters() {
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed).unwrap();
        let name = format!("tessera a?b#c%20d é {}", u64::from_le_bytes(seed));
        let data_dir = std::env::temp_dir().join(name);
        let url = database_url(None, &data_dir);
        let store = open_store(&url, &data_dir).await.unwrap();
        store.close().await;
        assert!(data_dir.join("tessera.db").is_file(), "{url}");
        std::fs::remove_dir_all(&data_dir).unwrap();
    }
}
