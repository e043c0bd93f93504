//! Which database: an explicit URL, or the embedded SQLite file in the
//! data directory; and opening it, migrated.

use std::path::Path;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::SetupError;
use super::data_dir::ensure_data_dir;
use crate::store::Store;

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
