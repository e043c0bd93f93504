//! `tessera serve --demo`: the demo org of the manifest in use, the
//! `demo.json` document next to it (docs/documents.md §9.4), applied at
//! start as the trusted backend when the org does not exist yet, and the
//! lines that say which users it has. An org that exists is left as it
//! is, edits included: starting again changes nothing.

use std::path::Path;

use tessera_host::{Actor, Admin, read_document, setup};

use super::CliError;
use tessera_core::ErrorCode;

/// The demo document's name, next to the manifest.
const DEMO_FILE: &str = "demo.json";

/// Applies the demo document; answers the lines to print.
pub(crate) async fn apply(admin: &Admin, manifest: &Path) -> Result<Vec<String>, CliError> {
    let file = manifest.with_file_name(DEMO_FILE);
    let text = std::fs::read_to_string(&file).map_err(|err| {
        CliError::new(
            ErrorCode::Io,
            format!("--demo needs {}: {err}", file.display()),
        )
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|err| {
        CliError::new(
            ErrorCode::BadRequest,
            format!("{}: not JSON: {err}", file.display()),
        )
    })?;
    let refused = |err: tessera_host::ApplyError| {
        let at = err
            .pointer
            .map(|pointer| format!(" (at {pointer})"))
            .unwrap_or_default();
        let base = CliError::from(err.error);
        CliError::new(
            base.code,
            format!("{}: {}{at}", file.display(), base.message),
        )
    };
    let document = read_document(&value).map_err(refused)?;
    let org = &document.org;
    let (_, exists) = admin
        .plan(&Actor::Backend, &org.id, &document)
        .await
        .map_err(refused)?;
    let done = if exists {
        "exists, left as it is (delete it to start again from the document)".to_owned()
    } else {
        let plan = admin
            .apply(&Actor::Backend, &org.id, &document, setup::unix_now())
            .await
            .map_err(refused)?;
        format!(
            "{} steps applied from {}",
            plan.steps().len(),
            file.display()
        )
    };
    let mut lines = vec![format!("demo org {} ({}): {done}", org.id, org.name)];
    for user in &document.users {
        let superuser = if user.superuser { " (superuser)" } else { "" };
        lines.push(format!("demo user {}{superuser}: {}", user.id, user.name));
    }
    Ok(lines)
}
