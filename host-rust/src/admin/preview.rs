//! Writes made to be looked at, not kept (docs/http.md §6.12): while a
//! preview runs a write, the write's transaction, its checks passed and
//! its rows written, is handed to the preview instead of committed; the
//! preview reads the decisions in it and rolls it back.

use std::sync::{Arc, Mutex};

use crate::changes::Change;
use crate::store::Tx;

tokio::task_local! {
    static HELD: Arc<Held>;
}

/// A write held uncommitted: its transaction, and what it changed (`None`
/// for a write that does not describe it, as if it reached everyone).
pub(crate) type HeldWrite = (Tx, Option<Change>);

/// Where a previewed write leaves its transaction.
#[derive(Debug, Default)]
pub(crate) struct Held(Mutex<Option<HeldWrite>>);

impl Held {
    /// The write held, if it wrote anything.
    pub(crate) fn take(&self) -> Option<HeldWrite> {
        self.0.lock().ok().and_then(|mut held| held.take())
    }
}

/// Runs `write` so that a write it makes is held in `held`, not committed.
pub(crate) async fn holding<F: Future>(held: Arc<Held>, write: F) -> F::Output {
    HELD.scope(held, write).await
}

/// The transaction back to commit, or `None` when a preview holds it
/// (with `change`, what the write changed).
pub(crate) fn keep(tx: Tx, change: Option<&Change>) -> Option<Tx> {
    if HELD.try_with(|_| ()).is_err() {
        return Some(tx);
    }
    HELD.with(|held| {
        if let Ok(mut slot) = held.0.lock() {
            *slot = Some((tx, change.cloned()));
        }
    });
    None
}
