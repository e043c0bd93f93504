//! What `tessera serve` and every CLI subcommand share: where the data
//! lives, how the store is opened, the manifest read, and the bootstrap
//! token kept.

use std::path::{Path, PathBuf};

use tessera_core::Manifest;
use thiserror::Error;

use crate::keys::generate_key;
use crate::store::{Store, StoreError};
use crate::tokens::{TokenKind, create_token, token_kind};

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

/// The database URL: the explicit one (`DATABASE_URL`, `--database-url`)
/// or the embedded SQLite file in the data directory.
pub fn database_url(explicit: Option<&str>, data_dir: &Path) -> String {
    match explicit {
        Some(url) if !url.trim().is_empty() => url.to_owned(),
        _ => format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("tessera.db").display()
        ),
    }
}

/// Creates the data directory (owner-only on Unix) if it is missing.
pub fn ensure_data_dir(data_dir: &Path) -> Result<(), SetupError> {
    std::fs::create_dir_all(data_dir).map_err(|err| SetupError::io(data_dir, err))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = std::fs::metadata(data_dir).map_err(|err| SetupError::io(data_dir, err))?;
        let mut permissions = metadata.permissions();
        if permissions.mode() & 0o077 != 0 {
            permissions.set_mode(0o700);
            std::fs::set_permissions(data_dir, permissions)
                .map_err(|err| SetupError::io(data_dir, err))?;
        }
    }
    Ok(())
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
    let token = create_token(store, TokenKind::Admin, now).await?;
    write_private(&path, &format!("{token}\n"))?;
    Ok(token)
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) -> Result<(), SetupError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|err| SetupError::io(path, err))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|err| SetupError::io(path, err))?;
    }
    file.write_all(text.as_bytes())
        .map_err(|err| SetupError::io(path, err))
}

/// Unix seconds now (the host's one clock).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
