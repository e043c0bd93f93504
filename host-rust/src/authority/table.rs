//! The snapshots a preview compares (docs/http.md §6.12): each principal's
//! snapshot pinned to the revision the preview started at, with what it
//! draws on, and a snapshot compiled from a write held uncommitted.

use std::sync::Arc;

use tessera_core::{Effect, Facts, Footprint, Snapshot};

use super::{Asking, Authority, AuthorityError};
use crate::store::StoreError;

impl Authority {
    /// `principal`'s snapshot at exactly `revision`, and its footprint;
    /// [`AuthorityError::Moved`] once the org has moved past it.
    pub(crate) async fn pinned(
        &self,
        org: &str,
        principal: &str,
        revision: u64,
    ) -> Result<(Arc<Snapshot>, Arc<Footprint>), AuthorityError> {
        let asking = Asking {
            org,
            principal,
            token_scopes: None,
            under: None,
            min_revision: Some(revision),
        };
        let state = self.state(&asking).await?;
        // Its content is the same at every revision from `built` to
        // `state.revision`: it is the one at `revision` unless a later
        // write built it (a replica may remember a revision for a while
        // after the store moved).
        if state.built > revision {
            return Err(AuthorityError::Moved {
                from: revision,
                to: state.built,
            });
        }
        Ok((state.snapshot, state.footprint))
    }

    /// The snapshot `facts` compile to (facts read in a held write's
    /// transaction: the principal's snapshot once the write commits).
    pub(crate) fn compiled(
        &self,
        principal: &str,
        facts: &Facts,
    ) -> Result<Snapshot, AuthorityError> {
        let request = crate::seed::in_process(principal);
        let payload = tessera_core::compile(&self.manifest, facts, &request)?;
        Snapshot::with_seed(payload, crate::hash_seed())
            .map_err(|err| AuthorityError::Store(StoreError::Corrupt(err.to_string())))
    }
}

/// Every catalog key's answer at `path`, in catalog order.
pub(crate) fn answers_at<'a>(
    snapshot: &'a Snapshot,
    path: &'a [String],
) -> impl Iterator<Item = Effect> + 'a {
    snapshot
        .catalog()
        .entries()
        .iter()
        .map(move |entry| snapshot.check(&entry.key, path, None).decision)
}
