//! `tessera check` and `tessera explain`: one question answered from the
//! store through [`Authority`], as `POST /v1/check` and `POST /v1/explain`
//! decide it, printed as the core's JSON shape with the revision used. The
//! manifest must be the one the store was reconciled with.

use std::sync::Arc;
use tessera_core::ErrorCode;

use serde::Serialize;
use tessera_core::{Snapshot, path_text_segments};
use tessera_host::{Asking, Authority, setup};

use super::output::print;
use super::store_cmds::open_existing;
use super::{CliError, Exit, QuestionArgs, config};

/// The compiled snapshot the question is asked of, and its revision.
async fn snapshot_for(args: &QuestionArgs) -> Result<(Arc<Snapshot>, u64), CliError> {
    let (location, file) = config::resolve_store(&args.store)?;
    let path = config::manifest_path(&args.manifest, &file);
    let manifest = setup::load_manifest(&path)?;
    let store = open_existing(&location).await?;
    setup::check_reconciled(&store, &manifest, &path).await?;
    // One question: a cache of one.
    let authority = Authority::new(store.clone(), Arc::new(manifest), 1);
    let asking = Asking {
        org: &args.org,
        principal: &args.principal,
        token_scopes: args.token_scopes.as_deref(),
        under: None,
        min_revision: None,
    };
    let answer = authority.snapshot(&asking).await;
    store.close().await;
    Ok(answer?)
}

/// An answer with the revision it was answered at: the HTTP answer's
/// shape, fields in the core's order.
#[derive(Serialize)]
struct WithRevision<'a, T: Serialize> {
    /// The core's answer.
    #[serde(flatten)]
    answer: &'a T,
    /// The org revision used.
    revision: u64,
}

/// `answer` as pretty JSON with `"revision"` added.
fn with_revision(answer: &impl Serialize, revision: u64) -> Result<String, CliError> {
    serde_json::to_string_pretty(&WithRevision { answer, revision })
        .map_err(|err| CliError::new(ErrorCode::Internal, err.to_string()))
}

/// `tessera check`: exit 0 for `allow`, 1 for `deny` and `not_found`.
pub(crate) async fn check(args: &QuestionArgs) -> Result<Exit, CliError> {
    let (snapshot, revision) = snapshot_for(args).await?;
    let decision = snapshot.check_text(&args.permission, &args.path, args.owner.as_deref());
    print(&with_revision(&decision, revision)?)?;
    Ok(if decision.is_allow() {
        Exit::Success
    } else {
        Exit::Denied
    })
}

/// `tessera explain`: exit 0 whatever the decision.
pub(crate) async fn explain(args: &QuestionArgs) -> Result<Exit, CliError> {
    let (snapshot, revision) = snapshot_for(args).await?;
    let path: Vec<&str> = path_text_segments(&args.path).collect();
    let explanation = snapshot.explain(&args.permission, &path, args.owner.as_deref());
    print(&with_revision(&explanation, revision)?)?;
    Ok(Exit::Success)
}
