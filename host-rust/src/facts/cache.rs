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

use super::structure::OrgStructure;

/// Rows (nodes, groups, nesting edges, role permissions, hidden entries,
/// caps, and the group assignments builds kept) the cache holds at most,
/// over every org: about 200 bytes each. Group assignments are kept after
/// their structure is, so each org's are capped at a quarter of this
/// ([`super::grants`]) and every org's current weight is summed again
/// whenever a structure is put.
pub(super) const ROW_BUDGET: usize = 2_000_000;

#[derive(Debug)]
struct Entry {
    revision: u64,
    structure: Arc<OrgStructure>,
    used: u64,
}

#[derive(Debug, Default)]
struct Entries {
    by_org: HashMap<String, Entry>,
    tick: u64,
}

impl Entries {
    /// The rows every kept structure holds now.
    fn rows(&self) -> usize {
        self.by_org
            .values()
            .map(|entry| entry.structure.rows())
            .sum()
    }
}

/// The structures of recently built orgs, least recently used evicted
/// first once [`ROW_BUDGET`] is reached.
#[derive(Debug, Default)]
pub(crate) struct OrgStructures {
    entries: Mutex<Entries>,
    /// One lock per org, held while a build reads its structure, so that
    /// the builds that miss together after a write read it once.
    loading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Structures read (and offered to the cache) so far.
    reads: AtomicU64,
}

impl OrgStructures {
    /// The structure of `org` at exactly `revision`, if kept.
    pub(crate) fn get(&self, org: &str, revision: u64) -> Option<Arc<OrgStructure>> {
        let mut entries = self.entries.lock().ok()?;
        entries.tick += 1;
        let tick = entries.tick;
        let entry = entries.by_org.get_mut(org)?;
        if entry.revision != revision {
            return None;
        }
        entry.used = tick;
        Some(Arc::clone(&entry.structure))
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
    /// newer one).
    pub(crate) fn put(&self, org: &str, revision: u64, structure: Arc<OrgStructure>) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries
            .by_org
            .get(org)
            .is_some_and(|kept| kept.revision >= revision)
        {
            return;
        }
        let rows = structure.rows();
        if rows > ROW_BUDGET {
            return;
        }
        entries.by_org.remove(org);
        while entries.rows() + rows > ROW_BUDGET {
            let Some(oldest) = entries
                .by_org
                .iter()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(org, _)| org.clone())
            else {
                break;
            };
            entries.by_org.remove(&oldest);
        }
        entries.tick += 1;
        let used = entries.tick;
        entries.by_org.insert(
            org.to_owned(),
            Entry {
                revision,
                structure,
                used,
            },
        );
    }
}
