//! The data directory and the private files Tessera writes in it.

use std::path::Path;

use super::SetupError;

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

/// Writes a file only its owner can read: a new file (never one a symlink
/// points to) renamed over `path`.
pub(super) fn write_private(path: &Path, text: &str) -> Result<(), SetupError> {
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
