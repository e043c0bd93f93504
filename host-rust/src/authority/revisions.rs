//! What this replica knows of each org's revision: remembered for a while
//! so a question need not ask the store, forgotten on this replica's own
//! writes, raised by other replicas' (Postgres `NOTIFY`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// An org revision this replica has read from the store or been told of.
#[derive(Debug, Clone, Copy)]
struct Known {
    revision: u64,
    at: Instant,
}

/// The revisions this replica trusts, each for `freshness`.
#[derive(Debug)]
pub(super) struct Revisions {
    freshness: Duration,
    known: Mutex<HashMap<String, Known>>,
    /// Bumped by every [`Revisions::forget`]: a revision read from the
    /// store before a forget is not remembered after it (the read may
    /// predate the write that made the caller forget).
    generation: AtomicU64,
}

impl Revisions {
    /// Remembers nothing until given a `freshness`.
    pub(super) fn new(freshness: Duration) -> Self {
        Revisions {
            freshness,
            known: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// `org`'s remembered revision, while fresh and not behind `min_revision`.
    pub(super) fn fresh(&self, org: &str, min_revision: Option<u64>) -> Option<u64> {
        if self.freshness.is_zero() {
            return None;
        }
        let known = self.known.lock().ok()?;
        let entry = known.get(org)?;
        (entry.at.elapsed() < self.freshness
            && min_revision.is_none_or(|wanted| wanted <= entry.revision))
        .then_some(entry.revision)
    }

    /// The generation to hand back to [`Revisions::read`] with a revision
    /// read from the store after this call.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Remembers a revision read from the store, unless a forget happened
    /// since `generation` was taken.
    pub(super) fn read(&self, org: &str, revision: u64, generation: u64) {
        if self.freshness.is_zero() {
            return;
        }
        if let Ok(mut known) = self.known.lock()
            && self.generation.load(Ordering::SeqCst) == generation
        {
            raise(&mut known, org, revision);
        }
    }

    /// Remembers that the store has reached `revision` (another replica's
    /// write).
    pub(super) fn reached(&self, org: &str, revision: u64) {
        if let Ok(mut known) = self.known.lock() {
            raise(&mut known, org, revision);
        }
    }

    /// Forgets `org` (`None`: every org), so the next question asks the
    /// store.
    pub(super) fn forget(&self, org: Option<&str>) {
        if let Ok(mut known) = self.known.lock() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            match org {
                Some(org) => {
                    known.remove(org);
                }
                None => known.clear(),
            }
        }
    }

    /// Forgets an org the store does not have, without bumping the
    /// generation.
    pub(super) fn drop_org(&self, org: &str) {
        if let Ok(mut known) = self.known.lock() {
            known.remove(org);
        }
    }
}

/// Records `revision` for `org` unless a later one is known.
fn raise(known: &mut HashMap<String, Known>, org: &str, revision: u64) {
    let entry = known.entry(org.to_owned()).or_insert(Known {
        revision,
        at: Instant::now(),
    });
    if entry.revision <= revision {
        *entry = Known {
            revision,
            at: Instant::now(),
        };
    }
}
