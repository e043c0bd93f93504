//! Who the principal is in this org: effective groups (default fallback
//! first, then transitive, cycle-safe), the subjects that apply to it, and
//! the selectors that select it (docs/model.md §1.3, docs/model.md §1.10, docs/decisions.md §2 step 8).

use std::collections::{BTreeSet, VecDeque};

use super::org::{HashSet, Org, Principal};
use crate::model::{ADMIN_GROUP, ANONYMOUS, Selector, Subject};

/// The principal's standing in the org, computed once per compile.
pub(super) struct Context<'a> {
    pub(super) id: &'a str,
    pub(super) anonymous: bool,
    pub(super) superuser: bool,
    pub(super) active: bool,
    pub(super) member: bool,
    /// Effective group ids, in breadth-first order.
    pub(super) groups: Vec<&'a str>,
    group_set: HashSet<&'a str>,
}

impl<'a> Context<'a> {
    pub(super) fn new(org: &Org<'a>, principal: &Principal<'a>) -> Self {
        let anonymous = principal.id == ANONYMOUS;
        let groups = if principal.active && !anonymous {
            effective_groups(org, principal)
        } else {
            Vec::new()
        };
        Context {
            id: principal.id,
            anonymous,
            superuser: principal.superuser,
            active: principal.active,
            member: principal.member,
            group_set: {
                let mut set = HashSet::with_capacity_and_hasher(groups.len(), org.hasher);
                set.extend(groups.iter().copied());
                set
            },
            groups,
        }
    }

    /// Whether an assignment subject applies to the principal.
    pub(super) fn has_subject(&self, subject: &Subject) -> bool {
        match subject {
            Subject::User(id) => self.member && id == self.id,
            Subject::Group(id) => self.group_set.contains(id.as_str()),
            Subject::Everyone => true,
            Subject::Authenticated => !self.anonymous,
            Subject::Members => self.member,
        }
    }

    /// Whether a hidden entry's or cap's selector selects the principal.
    /// Superusers are never selected.
    pub(super) fn selected_by(&self, selector: &Selector) -> bool {
        if self.superuser {
            return false;
        }
        match selector {
            Selector::Everyone => true,
            Selector::Anonymous => self.anonymous,
            Selector::Authenticated => !self.anonymous,
            Selector::Members => self.member,
            Selector::User(id) => !self.anonymous && id == self.id,
            Selector::Group(id) => self.group_set.contains(id.as_str()),
            Selector::NotGroup(id) => !self.group_set.contains(id.as_str()),
        }
    }

    /// Effective group names, sorted, for claims and `group(name)`.
    pub(super) fn group_names(&self, org: &Org<'_>) -> Vec<String> {
        let mut names: Vec<String> = self
            .groups
            .iter()
            .filter_map(|id| org.group_name(id))
            .map(str::to_owned)
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Direct groups (or, for a member with none, every default group), then
/// every group that contains one of them, transitively.
fn effective_groups<'a>(org: &Org<'a>, principal: &Principal<'a>) -> Vec<&'a str> {
    let direct = org.user_groups.get(principal.id).into_iter().flatten();
    member_groups(
        Standing {
            member: principal.member,
            superuser: principal.superuser,
        },
        direct.copied(),
        org.default_groups.iter().copied(),
        |group| org.group_parents.get(group).into_iter().flatten().copied(),
    )
}

/// What [`member_groups`] needs to know of the principal.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    /// A member of the org.
    pub member: bool,
    /// A superuser (an implicit member of the reserved `admin` group).
    pub superuser: bool,
}

/// The effective groups of a principal (docs/model.md §1.3), in breadth-first
/// order: its `direct` groups if it is a member, or every `default` group
/// for a member with none, plus `admin` for a superuser, then every group
/// that contains one of them (`parents`), transitively and cycle-safe.
///
/// Public so a host loading facts from a store selects the groups by the
/// very rule the compiler applies.
pub fn member_groups<'a, D, F, P>(
    standing: Standing,
    direct: D,
    defaults: F,
    parents: impl Fn(&str) -> P,
) -> Vec<&'a str>
where
    D: IntoIterator<Item = &'a str>,
    F: IntoIterator<Item = &'a str>,
    P: IntoIterator<Item = &'a str>,
{
    let mut seeds: Vec<&'a str> = Vec::new();
    if standing.member {
        seeds.extend(direct);
        if seeds.is_empty() {
            seeds.extend(defaults);
        }
    }
    if standing.superuser {
        seeds.push(ADMIN_GROUP);
    }
    // Ordered: group ids are chosen by an org's administrators, and this
    // set has no seed to key a hash with.
    let mut seen: BTreeSet<&'a str> = BTreeSet::new();
    let mut order = Vec::new();
    let mut queue: VecDeque<&'a str> = VecDeque::new();
    for seed in seeds {
        if seen.insert(seed) {
            queue.push_back(seed);
        }
    }
    while let Some(group) = queue.pop_front() {
        order.push(group);
        for parent in parents(group) {
            if seen.insert(parent) {
                queue.push_back(parent);
            }
        }
    }
    order
}
