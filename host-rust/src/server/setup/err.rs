//! Why setting up the host failed.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::store::StoreError;

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
    pub(super) fn io(path: &Path, source: std::io::Error) -> SetupError {
        SetupError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
