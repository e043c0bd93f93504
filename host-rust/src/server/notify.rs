//! Replica coherence on Postgres: every admin write `NOTIFY`s
//! `tessera_revisions` with `"<revision> <org> <change>"` (the change as
//! JSON; without it when the write did not say, `"* "` when it bumped
//! every org) in its transaction, so the message is sent only if the write
//! commits. Each server `LISTEN`s and records the change, so it keeps the
//! snapshots the write cannot change and rebuilds the others, as the
//! writing server does.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::authority::Authority;
use crate::changes::Change;
use crate::store::REVISION_CHANNEL;

/// Applies one announcement to the authority.
fn apply(authority: &Authority, payload: &str) {
    let Some((revision, rest)) = payload.split_once(' ') else {
        authority.forget(None);
        return;
    };
    let Ok(revision) = revision.parse::<u64>() else {
        authority.forget(None);
        return;
    };
    let (org, change) = rest.split_once(' ').unwrap_or((rest, ""));
    match serde_json::from_str::<Change>(change) {
        Ok(change) => authority.heard(org, revision, change),
        Err(_) => authority.evict(org, revision),
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
