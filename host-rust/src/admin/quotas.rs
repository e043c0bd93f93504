//! Per-org quotas: ceilings on what one org's administrators can create,
//! so that one tenant cannot starve the others of the host's memory and
//! time (every snapshot of an org compiles its whole structure). A write
//! over a quota answers `QUOTA_EXCEEDED` and writes nothing.

use super::AdminError;
use crate::store::Tx;

/// The ceilings, per org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Registered nodes.
    pub nodes: u64,
    /// Groups (the reserved `admin` group included).
    pub groups: u64,
    /// Assignments.
    pub assignments: u64,
    /// Caps.
    pub caps: u64,
    /// Hidden entries.
    pub hidden: u64,
    /// Subtree roots one snapshot request may name (`under=`).
    pub under_roots: u64,
    /// Principals one preview compiles inside the write it holds (the
    /// write's org lock is held meanwhile).
    pub preview_principals: u64,
}

impl Default for Quotas {
    /// Ample for the largest orgs the benchmarks model (5,000 nodes,
    /// 1,000 groups, 1M assignments in one org), small enough that no org
    /// can make the host compile without bound.
    fn default() -> Self {
        Quotas {
            nodes: 100_000,
            groups: 10_000,
            assignments: 2_000_000,
            caps: 10_000,
            hidden: 100_000,
            under_roots: 64,
            preview_principals: 10_000,
        }
    }
}

/// What a quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted {
    /// `nodes`.
    Nodes,
    /// `groups`.
    Groups,
    /// `assignments`.
    Assignments,
    /// `caps`.
    Caps,
    /// `hidden`.
    Hidden,
}

impl Counted {
    /// The quota's name, as in the settings and in errors.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Counted::Nodes => "nodes",
            Counted::Groups => "groups",
            Counted::Assignments => "assignments",
            Counted::Caps => "caps",
            Counted::Hidden => "hidden",
        }
    }

    /// Counts at most `limit` of the org's rows: a small org pays for its
    /// own rows only, a large one for no more than its quota.
    fn sql(self) -> &'static str {
        match self {
            Counted::Nodes => {
                "SELECT COUNT(*) FROM (SELECT 1 FROM nodes WHERE org_id = $1 LIMIT $2) t"
            }
            Counted::Groups => {
                "SELECT COUNT(*) FROM (SELECT 1 FROM groups WHERE org_id = $1 LIMIT $2) t"
            }
            Counted::Assignments => {
                "SELECT COUNT(*) FROM (SELECT 1 FROM assignments WHERE org_id = $1 LIMIT $2) t"
            }
            Counted::Caps => {
                "SELECT COUNT(*) FROM (SELECT 1 FROM caps WHERE org_id = $1 LIMIT $2) t"
            }
            Counted::Hidden => {
                "SELECT COUNT(*) FROM (SELECT 1 FROM hidden WHERE org_id = $1 LIMIT $2) t"
            }
        }
    }
}

impl Quotas {
    /// The ceiling for `what`.
    fn limit(&self, what: Counted) -> u64 {
        match what {
            Counted::Nodes => self.nodes,
            Counted::Groups => self.groups,
            Counted::Assignments => self.assignments,
            Counted::Caps => self.caps,
            Counted::Hidden => self.hidden,
        }
    }

    /// `QUOTA_EXCEEDED` unless the org's `what`, and `more` of them, stay
    /// within the quota (`more` is 1 before an insert, 0 after one). Run
    /// inside the write's transaction, under the org's lock, so two
    /// concurrent writes cannot both take the last place.
    pub(crate) async fn within(
        &self,
        tx: &mut Tx,
        org: &str,
        what: Counted,
        more: u64,
    ) -> Result<(), AdminError> {
        let limit = self.limit(what);
        // Counting one past the limit tells "at it" from "over it".
        let (used,): (i64,) = sqlx::query_as(what.sql())
            .bind(org)
            .bind(i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX))
            .fetch_one(&mut **tx)
            .await?;
        if u64::try_from(used).unwrap_or(u64::MAX).saturating_add(more) > limit {
            return Err(AdminError::QuotaExceeded {
                quota: what.name(),
                limit,
            });
        }
        Ok(())
    }
}
