//! Org structures kept between builds, each at the org revision it was read
//! at. Every write that changes an org bumps its revision in the same
//! transaction, and a new org with a reused id starts above the old one's
//! revisions (`orgs.rs`), so a structure read at revision R is the structure
//! any transaction that reads revision R would read: the same key the
//! snapshot cache trusts. A build whose transaction reads another revision
//! reads the structure again and replaces the entry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::budget::ROWS;
use super::structure::OrgStructure;
use crate::lru::Lru;

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
}

impl Default for OrgStructures {
    fn default() -> Self {
        OrgStructures {
            kept: Mutex::new(Lru::new(ROWS)),
            loading: Mutex::default(),
            reads: AtomicU64::new(0),
        }
    }
}

impl OrgStructures {
    /// The structure of `org` at exactly `revision`, if kept.
    pub(crate) fn get(&self, org: &str, revision: u64) -> Option<Arc<OrgStructure>> {
        let mut kept = self.kept.lock().ok()?;
        let (at, structure) = kept.get(org)?;
        (*at == revision).then(|| Arc::clone(structure))
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
