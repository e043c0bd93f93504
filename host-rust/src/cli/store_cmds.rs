//! The subcommands that operate on the store: `migrate`, `reconcile`,
//! `keygen`, `keys`, `token`; and how every subcommand opens the store.

use tessera_core::ErrorCode;
use tessera_host::{Store, TokenKind, setup};

use super::config::{self, StoreLocation};
use super::output::{note, print, redact_url};
use super::{CliError, Exit, ManifestArg, StoreArgs, TokenKindArg};

/// Opens the store for a subcommand that writes, as `tessera serve` does:
/// the data directory created (for SQLite) and every migration applied.
pub(crate) async fn open_for_writing(location: &StoreLocation) -> Result<Store, CliError> {
    Ok(setup::open_store(&location.url(), &location.data_dir).await?)
}

/// Opens an existing store without changing it (no data directory made,
/// no migration applied), for the subcommands that only read.
pub(crate) async fn open_existing(location: &StoreLocation) -> Result<Store, CliError> {
    if let Some(file) = location.default_sqlite_file()
        && !file.exists()
    {
        return Err(CliError::new(
            ErrorCode::NotFound,
            format!(
                "no store at {}; run `tessera serve` or `tessera migrate up` first",
                file.display()
            ),
        ));
    }
    Ok(Store::connect(&location.url()).await?)
}

/// The migrations recorded as applied, oldest first (none when the store
/// has never been migrated).
async fn applied(store: &Store) -> Result<Vec<(i64, String)>, CliError> {
    let rows: Result<Vec<(i64, String)>, _> =
        sqlx::query_as("SELECT version, description FROM _sqlx_migrations ORDER BY version")
            .fetch_all(store.pool())
            .await;
    match rows {
        Ok(rows) => Ok(rows),
        // No bookkeeping table yet: nothing was ever applied.
        Err(sqlx::Error::Database(_)) => Ok(Vec::new()),
        Err(err) => Err(tessera_host::StoreError::from(err).into()),
    }
}

/// `0001 initial`.
fn migration_name((version, description): &(i64, String)) -> String {
    format!("{version:04} {description}")
}

/// `tessera migrate up`: applies pending migrations; prints each one.
pub(crate) async fn migrate_up(args: &StoreArgs) -> Result<Exit, CliError> {
    let (location, _) = config::resolve_store(args)?;
    let url = location.url();
    note(&format!("migrating {} up", redact_url(&url)));
    if url.starts_with("sqlite:") {
        setup::ensure_data_dir(&location.data_dir)?;
    }
    let store = Store::connect(&url).await?;
    let before = applied(&store).await?;
    store.migrate_up().await?;
    let after = applied(&store).await?;
    store.close().await;
    let new: Vec<_> = after
        .iter()
        .filter(|migration| !before.contains(migration))
        .collect();
    if new.is_empty() {
        let at = after
            .last()
            .map_or("no migrations".to_owned(), migration_name);
        print(&format!("already up to date ({at})"))?;
    }
    for migration in new {
        print(&format!("applied {}", migration_name(migration)))?;
    }
    Ok(Exit::Success)
}

/// `tessera migrate down --to N`: reverts migrations newer than `N`,
/// newest first; prints each one.
pub(crate) async fn migrate_down(args: &StoreArgs, to: i64) -> Result<Exit, CliError> {
    let (location, _) = config::resolve_store(args)?;
    let store = open_existing(&location).await?;
    note(&format!(
        "migrating {} down to {to:04}",
        redact_url(&location.url())
    ));
    let before = applied(&store).await?;
    store.migrate_down(to).await?;
    let after = applied(&store).await?;
    store.close().await;
    let reverted: Vec<_> = before
        .iter()
        .rev()
        .filter(|migration| !after.contains(migration))
        .collect();
    if reverted.is_empty() {
        let at = after
            .last()
            .map_or("no migrations".to_owned(), migration_name);
        print(&format!("nothing to revert ({at})"))?;
    }
    for migration in reverted {
        print(&format!("reverted {}", migration_name(migration)))?;
    }
    Ok(Exit::Success)
}

/// `tessera reconcile`: the manifest into the store; prints the report.
pub(crate) async fn reconcile(args: &StoreArgs, manifest: &ManifestArg) -> Result<Exit, CliError> {
    let (location, file) = config::resolve_store(args)?;
    let path = config::manifest_path(manifest, &file);
    let manifest = setup::load_manifest(&path)?;
    note(&format!(
        "reconciling {} into {}",
        path.display(),
        redact_url(&location.url())
    ));
    let store = open_for_writing(&location).await?;
    let report = tessera_host::reconcile(&store, &manifest, setup::unix_now()).await?;
    store.close().await;
    let bumped = if report.bumped.is_empty() {
        "none".to_owned()
    } else {
        report.bumped.join(", ")
    };
    print(&format!(
        "writes: {}\ncatalog changed: {}\norgs bumped: {bumped}",
        report.writes,
        if report.catalog_changed { "yes" } else { "no" },
    ))?;
    Ok(Exit::Success)
}

/// `tessera keygen`: a new key, now the one that signs; prints its kid.
pub(crate) async fn keygen(args: &StoreArgs) -> Result<Exit, CliError> {
    let (location, _) = config::resolve_store(args)?;
    let store = open_for_writing(&location).await?;
    let kid = tessera_host::generate_key(&store, setup::unix_now()).await?;
    store.close().await;
    print(&kid)?;
    note("new snapshots are signed with this key; older keys stay published");
    Ok(Exit::Success)
}

/// `tessera keys rotate`: a new active key, every other one retired;
/// prints the new kid.
pub(crate) async fn rotate(args: &StoreArgs) -> Result<Exit, CliError> {
    let (location, _) = config::resolve_store(args)?;
    let store = open_for_writing(&location).await?;
    let kid = tessera_host::rotate_keys(&store, setup::unix_now()).await?;
    store.close().await;
    print(&kid)?;
    note(&format!(
        "older keys are retired and stay published for {} s, until their snapshots expire",
        tessera_host::MAX_SNAPSHOT_TTL
    ));
    Ok(Exit::Success)
}

/// `tessera keys list`: the published kids, or the JWKS document.
pub(crate) async fn list_keys(args: &StoreArgs, jwks: bool) -> Result<Exit, CliError> {
    let (location, _) = config::resolve_store(args)?;
    let store = open_existing(&location).await?;
    let keys = tessera_host::published_keys(&store, setup::unix_now()).await?;
    store.close().await;
    if jwks {
        /// `GET /v1/keys`'s shape.
        #[derive(serde::Serialize)]
        struct Jwks {
            /// The published keys.
            keys: Vec<tessera_core::Jwk>,
        }
        let document = serde_json::to_string_pretty(&Jwks { keys })
            .map_err(|err| CliError::new(ErrorCode::Internal, err.to_string()))?;
        print(&document)?;
    } else if keys.is_empty() {
        note("no published keys (`tessera keygen` makes one)");
    } else {
        for key in keys {
            print(&key.kid)?;
        }
    }
    Ok(Exit::Success)
}

/// `tessera token create`: prints the new token, the only time it is shown.
pub(crate) async fn create_token(
    args: &StoreArgs,
    kind: TokenKindArg,
    orgs: &[String],
) -> Result<Exit, CliError> {
    let (location, _) = config::resolve_store(args)?;
    let store = open_for_writing(&location).await?;
    let (kind, name) = match kind {
        TokenKindArg::Admin => (TokenKind::Admin, "admin"),
        TokenKindArg::Check => (TokenKind::Check, "check"),
    };
    let token = tessera_host::create_token(&store, kind, orgs, setup::unix_now()).await;
    store.close().await;
    print(&token?)?;
    let bound = if orgs.is_empty() {
        "every org".to_owned()
    } else {
        format!("the orgs {}", orgs.join(", "))
    };
    note(&format!(
        "a new {name} token for {bound}; the store keeps only its hash, so it is not shown again"
    ));
    Ok(Exit::Success)
}

/// `tessera token revoke TOKEN|-`.
pub(crate) async fn revoke_token(args: &StoreArgs, token: &str) -> Result<Exit, CliError> {
    let token = if token == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_line(&mut text)
            .map_err(|err| CliError::io(std::path::Path::new("-"), &err))?;
        text.trim().to_owned()
    } else {
        token.to_owned()
    };
    let (location, _) = config::resolve_store(args)?;
    let store = open_for_writing(&location).await?;
    let revoked = tessera_host::revoke_token(&store, &token).await;
    store.close().await;
    if !revoked? {
        return Err(CliError::new(
            ErrorCode::NotFound,
            "no such token in this store",
        ));
    }
    note("revoked; servers that have seen it stop accepting it within a minute");
    Ok(Exit::Success)
}
