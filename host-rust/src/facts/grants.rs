//! The assignments of an org's groups, kept with the org's structure as
//! builds read them. A group's assignments are policy the org shares among
//! the group's members, like its hidden entries and caps: a build reads
//! those of the groups no earlier build at this revision read, and takes
//! the rest from here. They are filled lazily, not read with the structure,
//! because an org can hold far more of them than one build needs (100,000
//! in the seed benchmark, 500 for its target).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use foldhash::HashMap;
use tessera_core::AssignmentFact;

use super::budget::GROUP_ROWS;

#[derive(Debug, Default)]
struct Kept {
    by_group: HashMap<String, Arc<[AssignmentFact]>>,
    rows: usize,
}

/// One org's group assignments at the structure's revision, by group id.
#[derive(Debug, Default)]
pub(crate) struct GroupGrants {
    kept: Mutex<Kept>,
}

impl GroupGrants {
    /// The rows kept (a group without assignments counts one).
    pub(crate) fn rows(&self) -> usize {
        self.kept.lock().map_or(0, |kept| kept.rows)
    }

    /// The assignments kept here but those of the `changed` groups: what a
    /// structure brought up to date by writes keeps.
    pub(crate) fn carried(&self, changed: &BTreeSet<&str>) -> GroupGrants {
        let mut carried = Kept::default();
        if let Ok(kept) = self.kept.lock() {
            for (group, facts) in &kept.by_group {
                if !changed.contains(group.as_str()) {
                    carried.rows += facts.len() + 1;
                    carried.by_group.insert(group.clone(), Arc::clone(facts));
                }
            }
        }
        GroupGrants {
            kept: Mutex::new(carried),
        }
    }

    /// The kept assignments of `groups`, and the groups whose assignments
    /// are not kept.
    pub(crate) fn lookup(
        &self,
        groups: &BTreeSet<String>,
    ) -> (Vec<Arc<[AssignmentFact]>>, BTreeSet<String>) {
        let Ok(kept) = self.kept.lock() else {
            return (Vec::new(), groups.clone());
        };
        let mut found = Vec::with_capacity(groups.len());
        let mut missing = BTreeSet::new();
        for group in groups {
            match kept.by_group.get(group) {
                Some(grants) => found.push(Arc::clone(grants)),
                None => {
                    missing.insert(group.clone());
                }
            }
        }
        (found, missing)
    }

    /// Keeps `read`, the assignments of every group in `groups` read at the
    /// structure's revision (a group with none has no entry in `read`), and
    /// returns them as [`GroupGrants::lookup`] does.
    pub(crate) fn keep(
        &self,
        groups: &BTreeSet<String>,
        mut read: HashMap<String, Vec<AssignmentFact>>,
    ) -> Vec<Arc<[AssignmentFact]>> {
        let grants: Vec<(String, Arc<[AssignmentFact]>)> = groups
            .iter()
            .map(|group| {
                let mut facts = read.remove(group).unwrap_or_default();
                facts.sort_by(|a, b| a.id.cmp(&b.id));
                (group.clone(), Arc::from(facts))
            })
            .collect();
        if let Ok(mut kept) = self.kept.lock() {
            for (group, facts) in &grants {
                if kept.rows + facts.len() + 1 > GROUP_ROWS {
                    break;
                }
                if kept
                    .by_group
                    .insert(group.clone(), Arc::clone(facts))
                    .is_none()
                {
                    kept.rows += facts.len() + 1;
                }
            }
        }
        grants.into_iter().map(|(_, facts)| facts).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    fn grant(id: &str, group: &str) -> AssignmentFact {
        AssignmentFact {
            subject: format!("group:{group}").parse().unwrap(),
            role: "ADMIN".to_owned(),
            scope: None,
            owner_only: false,
            id: Some(id.to_owned()),
        }
    }

    fn set(groups: &[&str]) -> BTreeSet<String> {
        groups.iter().map(|group| (*group).to_owned()).collect()
    }

    #[test]
    fn groups_read_once_are_kept_even_without_assignments() {
        let grants = GroupGrants::default();
        let (found, missing) = grants.lookup(&set(&["a", "b"]));
        assert!(found.is_empty());
        assert_eq!(missing, set(&["a", "b"]));

        let mut read = HashMap::default();
        read.insert("a".to_owned(), vec![grant("2", "a"), grant("1", "a")]);
        let kept = grants.keep(&missing, read);
        let ids: Vec<Vec<&str>> = kept
            .iter()
            .map(|facts| facts.iter().filter_map(|f| f.id.as_deref()).collect())
            .collect();
        assert_eq!(ids, vec![vec!["1", "2"], vec![]], "sorted by id, b empty");
        assert_eq!(grants.rows(), 2 + 1 + 1);

        let (found, missing) = grants.lookup(&set(&["a", "b", "c"]));
        assert_eq!(found.len(), 2);
        assert_eq!(missing, set(&["c"]));
    }
}
