//! `tessera export`: an org as a `tessera.org/1` document
//! (docs/documents.md §9.1), read from the store as the trusted backend.

use std::sync::Arc;

use tessera_host::{Actor, Admin, setup};

use super::output::print;
use super::store_cmds::open_existing;
use super::{CliError, Exit, ExportArgs, config};

/// Prints the document, or writes it to `--output`.
pub(crate) async fn export(args: &ExportArgs) -> Result<Exit, CliError> {
    let (location, file) = config::resolve_store(&args.store)?;
    let path = config::manifest_path(&args.manifest, &file);
    let manifest = setup::load_manifest(&path)?;
    let store = open_existing(&location).await?;
    setup::check_reconciled(&store, &manifest, &path).await?;
    let document = Admin::new(store.clone(), Arc::new(manifest))
        .export(&Actor::Backend, &args.org)
        .await;
    store.close().await;
    let text = document?.to_canonical_json();
    match &args.output {
        Some(output) => std::fs::write(output, text).map_err(|err| CliError::io(output, &err))?,
        None => print(text.trim_end())?,
    }
    Ok(Exit::Success)
}
