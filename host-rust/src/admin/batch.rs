//! Many admin writes as one (docs/documents.md §9.3): while an apply runs
//! its plan, every write takes the apply's transaction instead of opening
//! its own, runs every check it runs alone (against the writes before it),
//! and writes its audit row at the revision the apply will commit, without
//! bumping it; the apply then bumps the org once and commits, or drops the
//! transaction on the first refusal and nothing is written.

use std::sync::{Arc, Mutex};

use super::AdminError;
use super::quotas::Counted;
use crate::store::{StoreError, Tx};

tokio::task_local! {
    static BATCH: Arc<Batch>;
}

/// One audit row as stored: what a batch keeps of each write until its
/// end.
#[derive(Debug)]
pub(crate) struct AuditRow {
    pub(crate) org: Option<String>,
    pub(crate) actor: Option<String>,
    pub(crate) action: String,
    pub(crate) target: String,
    pub(crate) before: Option<String>,
    pub(crate) after: Option<String>,
    pub(crate) revision: Option<i64>,
    pub(crate) at: i64,
}

/// The transaction an apply's writes share, and what they bumped.
#[derive(Debug)]
pub(crate) struct Batch {
    /// The org the apply writes.
    pub(crate) org: String,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The transaction between two writes; `None` while one runs.
    tx: Option<Tx>,
    /// The revision the writes count as: the org's, plus one.
    revision: Option<i64>,
    /// Whether a write reached every org (a user's flags).
    every: bool,
    /// The id the document gives the entry the next write creates.
    next_id: Option<String>,
    /// The quotas the writes added to, counted at the end.
    counted: Vec<Counted>,
    /// The writes' audit rows, appended at the end in one go.
    audit: Vec<AuditRow>,
    /// Whether a write found the org (an apply cannot delete it).
    org_found: bool,
}

impl Batch {
    /// A batch over `tx`, for `org`.
    pub(crate) fn new(org: &str, tx: Tx) -> Arc<Batch> {
        Arc::new(Batch {
            org: org.to_owned(),
            state: Mutex::new(State {
                tx: Some(tx),
                ..State::default()
            }),
        })
    }

    fn state(&self) -> Result<std::sync::MutexGuard<'_, State>, AdminError> {
        self.state.lock().map_err(|_| lost())
    }

    /// The transaction, for the next write (or the apply's end).
    pub(crate) fn take(&self) -> Result<Tx, AdminError> {
        self.state()?.tx.take().ok_or_else(lost)
    }

    /// Gives the transaction back after a write that went through.
    pub(crate) fn give_back(&self, tx: Tx) -> Result<(), AdminError> {
        self.state()?.tx = Some(tx);
        Ok(())
    }

    /// The revision a write of `org` counts as: the org's current one plus
    /// one, read once (the apply bumps it once, at its end).
    pub(crate) async fn revision(&self, tx: &mut Tx, org: &str) -> Result<i64, AdminError> {
        if org != self.org {
            return Err(AdminError::bad(
                "org",
                format!("an apply of `{}` may not write `{org}`", self.org),
            ));
        }
        if let Some(revision) = self.state()?.revision {
            return Ok(revision);
        }
        let (revision,): (i64,) = sqlx::query_as("SELECT revision FROM orgs WHERE id = $1")
            .bind(org)
            .fetch_one(&mut **tx)
            .await?;
        self.state()?.revision = Some(revision + 1);
        Ok(revision + 1)
    }

    /// Notes a write that reaches every org.
    pub(crate) fn reached_every(&self) -> Result<(), AdminError> {
        self.state()?.every = true;
        Ok(())
    }

    /// Gives the entry the next write creates this id (a document keeps
    /// its ids), instead of a random one.
    pub(crate) fn name_next(&self, id: &str) -> Result<(), AdminError> {
        self.state()?.next_id = Some(id.to_owned());
        Ok(())
    }

    /// Notes that a write added a row `what` counts: the apply checks
    /// the quota once, at its end.
    pub(crate) fn count_at_end(&self, what: Counted) -> Result<(), AdminError> {
        let mut state = self.state()?;
        if !state.counted.contains(&what) {
            state.counted.push(what);
        }
        Ok(())
    }

    /// The quotas to check at the end.
    pub(crate) fn counted(&self) -> Result<Vec<Counted>, AdminError> {
        Ok(self.state()?.counted.clone())
    }

    /// Keeps a write's audit row for the end: one statement per many rows
    /// instead of one per write.
    pub(crate) fn record(&self, row: AuditRow) -> Result<(), AdminError> {
        self.state()?.audit.push(row);
        Ok(())
    }

    /// The audit rows recorded, in the order of their writes.
    pub(crate) fn recorded(&self) -> Result<Vec<AuditRow>, AdminError> {
        Ok(std::mem::take(&mut self.state()?.audit))
    }

    /// Whether a write of this batch found `org` already: the org of an
    /// apply stays while it runs, so it is looked up once.
    pub(crate) fn knows_org(&self, org: &str) -> bool {
        org == self.org && self.state().is_ok_and(|state| state.org_found)
    }

    /// Notes that a write found `org`.
    pub(crate) fn found_org(&self, org: &str) -> Result<(), AdminError> {
        if org == self.org {
            self.state()?.org_found = true;
        }
        Ok(())
    }

    /// Whether any write reached every org.
    pub(crate) fn every(&self) -> Result<bool, AdminError> {
        Ok(self.state()?.every)
    }
}

/// A write that returned without giving the transaction back dropped it,
/// and with it every write before: the apply stops, nothing is written.
fn lost() -> AdminError {
    AdminError::Store(StoreError::Corrupt(
        "an apply's transaction was dropped by one of its writes".to_owned(),
    ))
}

/// Runs `writes` so that every admin write in it joins `batch`.
pub(crate) async fn within<F: Future>(batch: Arc<Batch>, writes: F) -> F::Output {
    BATCH.scope(batch, writes).await
}

/// The batch the running task's writes join, if any.
pub(crate) fn current() -> Option<Arc<Batch>> {
    BATCH.try_with(Arc::clone).ok()
}

/// The id of a new role, assignment, hidden entry or cap: the one an
/// apply's document gives it, else a random one with `prefix`.
pub(crate) fn entry_id(prefix: &str) -> Result<String, AdminError> {
    let given = current().and_then(|batch| batch.state.lock().ok()?.next_id.take());
    match given {
        Some(id) => Ok(id),
        None => Ok(crate::ids::random_id(prefix)?),
    }
}
