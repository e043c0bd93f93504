//! Replica coherence on Postgres: every admin write `NOTIFY`s
//! `tessera_revisions` with `"<revision> <org>"` (or `"* "` when it bumped
//! every org) in its transaction, so the message is sent only if the write
//! commits. Each server `LISTEN`s and evicts what the write made stale.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::authority::Authority;
use crate::store::REVISION_CHANNEL;

/// Applies one announcement to the authority.
fn apply(authority: &Authority, payload: &str) {
    match payload.split_once(' ') {
        Some(("*", _)) | None => authority.forget(None),
        Some((revision, org)) => match revision.parse::<u64>() {
            Ok(revision) => authority.evict(org, revision),
            Err(_) => authority.forget(None),
        },
    }
}

/// Listens for announcements until the task is aborted, reconnecting after
/// a failure. While disconnected, announcements may be missed, so every
/// known revision is forgotten whenever the connection was lost
/// (`try_recv` answers `None` then, and reconnects on the next call).
pub(crate) async fn listen(url: String, authority: Arc<Authority>) {
    loop {
        if let Ok(mut listener) = PgListener::connect(&url).await
            && listener.listen(REVISION_CHANNEL).await.is_ok()
        {
            authority.forget(None);
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => apply(&authority, notification.payload()),
                    Ok(None) => authority.forget(None),
                    Err(_) => break,
                }
            }
        }
        authority.forget(None);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
