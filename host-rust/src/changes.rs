//! The org writes this server knows of, by org and revision
//! (docs/snapshots.md §3.9): what each changed ([`Delta`]) and whose
//! snapshots it can change ([`Reach`]). Its own writes are recorded as
//! they commit, other replicas' as their notifications arrive (Postgres
//! `NOTIFY`). Every org write bumps its org's revision by one, so a
//! revision missing from the log is a write this server did not hear of:
//! whoever asks for it is told nothing is known, and rebuilds.
//!
//! The log also tells who listens ([`Changes::moves`]) that an org's
//! revision moved: the revision event streams (docs/http.md §6.10) follow
//! it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tessera_core::{
    CapFact, HiddenFact, Member, NodeFact, NodeKey, Reach, RoleFact, Selector, Subject,
};
use tokio::sync::broadcast;

/// How many writes the log keeps per org: a snapshot older than that is
/// rebuilt, whatever the writes were.
const KEPT_PER_ORG: usize = 1024;

/// The kinds of write, as `/metrics` counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteKind {
    /// A node registered, re-parented or deleted.
    Node,
    /// A user joined or left the org.
    Member,
    /// A user or group joined or left a group.
    Membership,
    /// An assignment created or deleted.
    Assignment,
    /// A hidden entry or cap created or deleted.
    Policy,
    /// A role created, edited or deleted.
    Role,
    /// A group created, edited or deleted.
    Group,
    /// The org's settings, name, or existence.
    Org,
    /// A write this server did not hear of (a gap in the log).
    Unknown,
}

impl WriteKind {
    /// Every kind, in `/metrics` order.
    pub const ALL: [WriteKind; 9] = [
        WriteKind::Node,
        WriteKind::Member,
        WriteKind::Membership,
        WriteKind::Assignment,
        WriteKind::Policy,
        WriteKind::Role,
        WriteKind::Group,
        WriteKind::Org,
        WriteKind::Unknown,
    ];

    /// Its `/metrics` label.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteKind::Node => "node",
            WriteKind::Member => "member",
            WriteKind::Membership => "membership",
            WriteKind::Assignment => "assignment",
            WriteKind::Policy => "policy",
            WriteKind::Role => "role",
            WriteKind::Group => "group",
            WriteKind::Org => "org",
            WriteKind::Unknown => "unknown",
        }
    }

    /// Its position in [`WriteKind::ALL`].
    pub fn index(self) -> usize {
        WriteKind::ALL
            .iter()
            .position(|kind| *kind == self)
            .unwrap_or(WriteKind::ALL.len() - 1)
    }
}

/// What a write changed in the org's structure (`facts::structure`): a
/// server keeping the structure applies it instead of reading the
/// structure again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delta {
    /// Nothing the structure holds.
    None,
    /// The assignments of this group.
    Grants(String),
    /// A node registered.
    NodeAdded(NodeFact),
    /// A leaf node deleted.
    NodeRemoved(NodeKey),
    /// A group became a direct member of another (`added`) or stopped.
    Nesting {
        /// The containing group.
        group: String,
        /// The member group.
        member: String,
        /// Whether the edge was added.
        added: bool,
    },
    /// A hidden entry created.
    HiddenAdded(HiddenFact),
    /// A hidden entry deleted, by id.
    HiddenRemoved(String),
    /// A cap created.
    CapAdded(CapFact),
    /// A cap deleted, by id.
    CapRemoved(String),
    /// A role created or its stored permissions changed: the role as
    /// stored now.
    RoleSet(RoleFact),
    /// A role deleted, by id.
    RoleRemoved(String),
    /// Anything else: read the structure again.
    Reread,
}

/// One write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// What kind of write.
    pub kind: WriteKind,
    /// Whose snapshots it can change.
    pub reach: Reach,
    /// What it changed in the structure.
    pub delta: Delta,
}

impl Change {
    /// A write of `kind` reaching `reach` that changed `delta`.
    pub fn new(kind: WriteKind, reach: Reach, delta: Delta) -> Change {
        Change { kind, reach, delta }
    }

    /// An assignment to `subject` created or deleted: a group's kept
    /// assignments change with it.
    pub fn assignment(subject: &Subject) -> Change {
        let delta = match subject {
            Subject::Group(group) => Delta::Grants(group.clone()),
            _ => Delta::None,
        };
        Change::new(WriteKind::Assignment, Reach::subject(subject), delta)
    }

    /// `member` added to `group` (`added`) or removed from it.
    pub fn membership(group: &str, member: &Member, added: bool) -> Change {
        let delta = match member {
            Member::Group(nested) => Delta::Nesting {
                group: group.to_owned(),
                member: nested.clone(),
                added,
            },
            Member::User(_) => Delta::None,
        };
        Change::new(WriteKind::Membership, Reach::member(member), delta)
    }

    /// A hidden entry or cap for `selector` created or deleted; `selector`
    /// is its stored text (one that does not parse reaches everyone).
    pub fn policy(selector: &str, delta: Delta) -> Change {
        let reach = selector
            .parse::<Selector>()
            .map_or(Reach::Everyone, |selector| Reach::selector(&selector));
        Change::new(WriteKind::Policy, reach, delta)
    }

    /// Role `id` created or edited, named `name` with the `stored`
    /// permissions after the write.
    pub fn role(id: &str, name: &str, stored: &[String]) -> Change {
        let mut permissions = stored.to_vec();
        permissions.sort_unstable();
        permissions.dedup();
        let role = RoleFact {
            id: id.to_owned(),
            name: Some(name.to_owned()),
            permissions,
        };
        Change::new(WriteKind::Role, Reach::role(id), Delta::RoleSet(role))
    }

    /// A write whose effects are not described: it reaches everyone and
    /// the structure is read again.
    pub fn everything(kind: WriteKind) -> Change {
        Change {
            kind,
            reach: Reach::Everyone,
            delta: Delta::Reread,
        }
    }
}

/// One org's log.
#[derive(Debug, Default)]
struct OrgLog {
    /// The writes known, by the revision each made.
    writes: BTreeMap<u64, Arc<Change>>,
    /// This server's writes to the org committing now, not yet recorded.
    pending: usize,
}

/// What the log knows of a run of revisions.
#[derive(Debug)]
pub enum Run {
    /// Every write of the run, in order.
    Known(Vec<Arc<Change>>),
    /// Not yet: this server is committing a write to the org, and the run
    /// ends past the last write recorded ([`Changes::settled`] waits).
    Pending,
    /// A write of the run is not known.
    Unknown,
}

/// The writes known per org, by the revision each made.
#[derive(Debug)]
pub struct Changes {
    orgs: Mutex<HashMap<String, OrgLog>>,
    moves: broadcast::Sender<Moved>,
}

impl Default for Changes {
    fn default() -> Self {
        Changes {
            orgs: Mutex::default(),
            moves: broadcast::channel(MOVES_BUFFERED).0,
        }
    }
}

/// How many moves a slow listener may fall behind before it is told it
/// lagged (and reads the revision itself).
const MOVES_BUFFERED: usize = 1024;

/// An org's revision moved: `org` `None` is every org; `revision` `None`
/// is a write that did not say which revision it made (read the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The org, or every org.
    pub org: Option<Arc<str>>,
    /// The revision it reached, when known.
    pub revision: Option<u64>,
}

impl Moved {
    /// Whether the move concerns `org`.
    pub fn concerns(&self, org: &str) -> bool {
        self.org.as_deref().is_none_or(|moved| moved == org)
    }
}

/// Marks a write of this server to an org as committing until dropped
/// (after the write is recorded, or failed).
#[derive(Debug)]
pub struct Committing<'a> {
    changes: &'a Changes,
    org: String,
}

impl Drop for Committing<'_> {
    fn drop(&mut self) {
        if let Ok(mut orgs) = self.changes.orgs.lock()
            && let Some(log) = orgs.get_mut(&self.org)
        {
            log.pending = log.pending.saturating_sub(1);
        }
    }
}

/// How long a reader waits for this server's write to be recorded before
/// treating its revision as unknown.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(50);

impl Changes {
    /// Marks a write to `org` as committing: a reader that sees its
    /// revision in the store before it is recorded waits for it
    /// ([`Changes::settled`]) instead of rebuilding everything.
    pub fn committing(&self, org: &str) -> Committing<'_> {
        if let Ok(mut orgs) = self.orgs.lock() {
            orgs.entry(org.to_owned()).or_default().pending += 1;
        }
        Committing {
            changes: self,
            org: org.to_owned(),
        }
    }

    /// Records the write that made `org`'s `revision` (again, if heard of
    /// twice: its own write and its notification).
    pub fn record(&self, org: &str, revision: u64, change: Change) {
        if let Ok(mut orgs) = self.orgs.lock() {
            let log = orgs.entry(org.to_owned()).or_default();
            log.writes.insert(revision, Arc::new(change));
            while log.writes.len() > KEPT_PER_ORG {
                log.writes.pop_first();
            }
        }
        self.moved(Some(org), Some(revision));
    }

    /// Tells who listens that `org` (`None`: every org) reached
    /// `revision` (`None`: a revision to read from the store).
    pub fn moved(&self, org: Option<&str>, revision: Option<u64>) {
        // Sending fails only when nobody listens.
        let _ = self.moves.send(Moved {
            org: org.map(Arc::from),
            revision,
        });
    }

    /// Listens to the moves from now on.
    pub fn moves(&self) -> broadcast::Receiver<Moved> {
        self.moves.subscribe()
    }

    /// The writes that made `org`'s revisions `after + 1 ..= upto`.
    pub fn between(&self, org: &str, after: u64, upto: u64) -> Run {
        if upto <= after {
            return Run::Known(Vec::new());
        }
        let Ok(orgs) = self.orgs.lock() else {
            return Run::Unknown;
        };
        let Some(log) = orgs.get(org) else {
            return Run::Unknown;
        };
        let found: Vec<Arc<Change>> = log
            .writes
            .range(after + 1..=upto)
            .map(|(_, change)| Arc::clone(change))
            .collect();
        if u64::try_from(found.len()).ok() == Some(upto - after) {
            Run::Known(found)
        } else if log.pending > 0
            && log
                .writes
                .last_key_value()
                .is_none_or(|(last, _)| *last < upto)
        {
            Run::Pending
        } else {
            Run::Unknown
        }
    }

    /// Waits (briefly) until no write of this server to `org` is
    /// committing.
    pub async fn settled(&self, org: &str) {
        let started = std::time::Instant::now();
        while started.elapsed() < SETTLE {
            let pending = self
                .orgs
                .lock()
                .map_or(0, |orgs| orgs.get(org).map_or(0, |log| log.pending));
            if pending == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    /// Forgets what is known of `org` (`None`: of every org): a write
    /// that bumped it without saying what it changed.
    pub fn forget(&self, org: Option<&str>) {
        if let Ok(mut orgs) = self.orgs.lock() {
            match org {
                Some(org) => {
                    if let Some(log) = orgs.get_mut(org) {
                        log.writes.clear();
                    }
                }
                None => orgs.values_mut().for_each(|log| log.writes.clear()),
            }
        }
        self.moved(org, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Change {
        Change {
            kind: WriteKind::Node,
            reach: Reach::nobody(),
            delta: Delta::None,
        }
    }

    fn known(changes: &Changes, after: u64, upto: u64) -> Option<usize> {
        match changes.between("acme", after, upto) {
            Run::Known(run) => Some(run.len()),
            Run::Pending | Run::Unknown => None,
        }
    }

    #[test]
    fn a_run_of_writes_is_known_only_without_a_gap() {
        let changes = Changes::default();
        changes.record("acme", 4, node());
        changes.record("acme", 5, node());
        changes.record("acme", 7, node());
        assert_eq!(known(&changes, 3, 5), Some(2));
        assert_eq!(known(&changes, 5, 5), Some(0));
        assert_eq!(known(&changes, 5, 7), None, "6 is missing");
        assert_eq!(known(&changes, 2, 4), None, "3 is missing");
        assert!(matches!(changes.between("other", 4, 5), Run::Unknown));
        changes.forget(Some("acme"));
        assert_eq!(known(&changes, 3, 4), None);
    }

    #[test]
    fn the_log_keeps_the_latest_writes() {
        let changes = Changes::default();
        for revision in 1..=(KEPT_PER_ORG as u64 + 10) {
            changes.record("acme", revision, node());
        }
        assert_eq!(known(&changes, 0, 20), None);
        assert!(known(&changes, 20, KEPT_PER_ORG as u64).is_some());
    }

    #[test]
    fn a_write_committing_here_is_waited_for_not_taken_as_unknown() {
        let changes = Changes::default();
        changes.record("acme", 4, node());
        let committing = changes.committing("acme");
        assert!(matches!(changes.between("acme", 4, 5), Run::Pending));
        assert!(
            matches!(changes.between("acme", 2, 4), Run::Unknown),
            "3 is missing"
        );
        changes.record("acme", 5, node());
        drop(committing);
        assert_eq!(known(&changes, 4, 5), Some(1));
        assert!(
            matches!(changes.between("acme", 5, 6), Run::Unknown),
            "nothing committing"
        );
    }

    #[test]
    fn a_change_survives_its_wire_form() {
        let change = Change {
            kind: WriteKind::Membership,
            reach: Reach::group("staff"),
            delta: Delta::Nesting {
                group: "all".into(),
                member: "staff".into(),
                added: true,
            },
        };
        let text = serde_json::to_string(&change).expect("serializes");
        assert_eq!(serde_json::from_str::<Change>(&text).ok(), Some(change));
    }
}
