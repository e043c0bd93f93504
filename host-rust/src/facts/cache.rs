//! Org structures kept between builds, each at the org revision it was read
//! at. Every write that changes an org bumps its revision in the same
//! transaction, and a new org with a reused id starts above the old one's
//! revisions (`orgs.rs`), so a structure read at revision R is the structure
//! any transaction that reads revision R would read: the same key the
//! snapshot cache trusts. A build whose transaction reads another revision
//! reads the structure again and replaces the entry.
//!
//! A structure kept at an older revision is brought up to date instead of
//! read again when every write since is in the log of [`Changes`] and each
//! says what it changed ([`OrgStructure::apply`]), and the structure was
//! read from the store less than [`REREAD_AFTER`] ago: past that, it is
//! read whole again, a periodic check that what was applied matches what
//! is stored.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::budget::ROWS;
use super::structure::OrgStructure;
use crate::changes::{Changes, Run};
use crate::lru::Lru;

/// How long a structure is brought up to date by writes before it is read
/// whole again.
const REREAD_AFTER: Duration = Duration::from_secs(60);

/// The structures of recently built orgs, least recently used evicted
/// first once [`ROWS`] is reached.
#[derive(Debug)]
pub(crate) struct OrgStructures {
    /// Each org's structure and the revision it was read at.
    kept: Mutex<Lru<String, (u64, Arc<OrgStructure>)>>,
    /// One lock per org, held while a build reads its structure, so that
    /// the builds that miss together after a write read it once.
    loading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Structures read (and offered to the cache) so far.
    reads: AtomicU64,
    /// Structures brought up to date by writes so far.
    updates: AtomicU64,
}

impl Default for OrgStructures {
    fn default() -> Self {
        OrgStructures {
            kept: Mutex::new(Lru::new(ROWS)),
            loading: Mutex::default(),
            reads: AtomicU64::new(0),
            updates: AtomicU64::new(0),
        }
    }
}

impl OrgStructures {
    /// The structure of `org` at `revision`: kept at it, or kept at an
    /// earlier revision and brought up to date by the writes `changes`
    /// knows since (and kept at `revision` from then on).
    pub(crate) fn at(
        &self,
        org: &str,
        revision: u64,
        changes: &Changes,
    ) -> Option<Arc<OrgStructure>> {
        let (at, kept) = {
            let mut kept = self.kept.lock().ok()?;
            let (at, structure) = kept.get(org)?;
            (*at, Arc::clone(structure))
        };
        if at == revision {
            return Some(kept);
        }
        if at > revision || kept.age() > REREAD_AFTER {
            return None;
        }
        let Run::Known(since) = changes.between(org, at, revision) else {
            return None;
        };
        let updated = Arc::new(kept.apply(&since)?);
        self.updates.fetch_add(1, Ordering::Relaxed);
        self.keep(org, revision, Arc::clone(&updated));
        Some(updated)
    }

    /// How many structures were brought up to date by writes.
    pub(crate) fn updates(&self) -> u64 {
        self.updates.load(Ordering::Relaxed)
    }

    /// The lock to hold while reading `org`'s structure.
    pub(crate) fn loading(&self, org: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.loading.lock() {
            Ok(mut locks) => Arc::clone(locks.entry(org.to_owned()).or_default()),
            // Poisoned: read without waiting for others.
            Err(_) => Arc::default(),
        }
    }

    /// How many structures builds have read.
    pub(crate) fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Keeps `structure`, just read, as `org`'s at `revision`, unless a
    /// later revision is already kept (a slower build must not push back a
    /// newer one). Kept structures grow as builds keep their groups'
    /// assignments, so every one is weighed again first.
    pub(crate) fn put(&self, org: &str, revision: u64, structure: Arc<OrgStructure>) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.keep(org, revision, structure);
    }

    /// Keeps `structure` as `org`'s at `revision`, unless a later one is.
    fn keep(&self, org: &str, revision: u64, structure: Arc<OrgStructure>) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        if kept.peek(org).is_some_and(|(at, _)| *at >= revision) {
            return;
        }
        let rows = structure.rows();
        kept.reweigh(|(_, structure)| structure.rows());
        kept.insert(org.to_owned(), (revision, structure), rows);
    }
}
