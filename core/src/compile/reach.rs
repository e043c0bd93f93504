//! Which principals' snapshots a write can change (docs/snapshots.md §3.9).
//!
//! A compiled snapshot depends on few of its org's facts: the principal's
//! own rows, the groups it is in, the roles its assignments name and the
//! nodes around the scopes its policy names. A [`Footprint`] records those
//! as a compile saw them; a [`Reach`] says what one write changed, in the
//! same words. A snapshot the reach does not touch compiles the same after
//! the write as before it, so a host may keep serving it. A reach may say
//! more than the write changed, never less: when in doubt it is
//! [`Reach::Everyone`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{AssignmentFact, CapFact, HiddenFact, Member, NodeKey, Selector, Subject};

/// What a compiled snapshot drew on that a write can change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Footprint {
    /// The principal (a user id or `anonymous`).
    pub principal: String,
    /// Its effective groups: a write to a group's members, assignments or
    /// nesting reaches exactly the principals in the group.
    pub groups: BTreeSet<String>,
    /// The roles its assignments name.
    pub roles: BTreeSet<String>,
    /// The nodes its policy names (assignment and cap scopes, hidden
    /// nodes) and its subtree roots: the snapshot knows these nodes, their
    /// ancestors and their descendants.
    pub nodes: BTreeSet<NodeKey>,
}

impl Footprint {
    /// The footprint of a snapshot compiled for `principal` in its
    /// effective `groups` from these policy rows (the ones its facts hold)
    /// and subtree roots.
    pub fn new<'a>(
        principal: &str,
        groups: impl IntoIterator<Item = &'a str>,
        assignments: impl IntoIterator<Item = &'a AssignmentFact>,
        hidden: &[HiddenFact],
        caps: &[CapFact],
        under: &[NodeKey],
    ) -> Footprint {
        let mut footprint = Footprint {
            principal: principal.to_owned(),
            groups: groups.into_iter().map(str::to_owned).collect(),
            ..Footprint::default()
        };
        for assignment in assignments {
            footprint.roles.insert(assignment.role.clone());
            footprint.nodes.extend(assignment.scope.iter().cloned());
        }
        footprint
            .nodes
            .extend(hidden.iter().map(|hidden| hidden.node.clone()));
        footprint
            .nodes
            .extend(caps.iter().filter_map(|cap| cap.scope.clone()));
        footprint.nodes.extend(under.iter().cloned());
        footprint
    }
}

/// The principals a write can change the snapshots of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// Every principal of the org.
    Everyone,
    /// The principals any of these name.
    Some(Targets),
}

/// The parts of [`Reach::Some`]; empty, it reaches nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Targets {
    /// These users.
    pub users: BTreeSet<String>,
    /// The effective members of these groups.
    pub groups: BTreeSet<String>,
    /// The holders of these roles.
    pub roles: BTreeSet<String>,
    /// Whoever knows one of these nodes: a registered or deleted leaf and
    /// its ancestors.
    pub nodes: BTreeSet<NodeKey>,
}

impl Reach {
    /// Nobody: a write no snapshot draws on.
    pub fn nobody() -> Reach {
        Reach::Some(Targets::default())
    }

    /// One user: its membership of the org, its own assignment or a policy
    /// row selecting it.
    pub fn user(id: &str) -> Reach {
        let mut targets = Targets::default();
        targets.users.insert(id.to_owned());
        Reach::Some(targets)
    }

    /// The members of a group: its assignments, a policy row selecting it.
    pub fn group(id: &str) -> Reach {
        let mut targets = Targets::default();
        targets.groups.insert(id.to_owned());
        Reach::Some(targets)
    }

    /// The holders of a role: its permissions changed.
    pub fn role(id: &str) -> Reach {
        let mut targets = Targets::default();
        targets.roles.insert(id.to_owned());
        Reach::Some(targets)
    }

    /// Whoever knows a leaf registered or deleted at the end of `chain`
    /// (root first): the principals whose policy names the leaf or one of
    /// its ancestors, since their snapshots know that node's descendants.
    pub fn leaf(chain: &[NodeKey]) -> Reach {
        Reach::Some(Targets {
            nodes: chain.iter().cloned().collect(),
            ..Targets::default()
        })
    }

    /// Whom an assignment to `subject` reaches.
    pub fn subject(subject: &Subject) -> Reach {
        match subject {
            Subject::User(id) => Reach::user(id),
            Subject::Group(id) => Reach::group(id),
            Subject::Everyone | Subject::Authenticated | Subject::Members => Reach::Everyone,
        }
    }

    /// Whom a hidden entry or cap with `selector` reaches. A `not_group`
    /// selects everyone outside the group, so it reaches everyone.
    pub fn selector(selector: &Selector) -> Reach {
        match selector {
            Selector::User(id) => Reach::user(id),
            Selector::Group(id) => Reach::group(id),
            Selector::Everyone
            | Selector::Anonymous
            | Selector::Authenticated
            | Selector::Members
            | Selector::NotGroup(_) => Reach::Everyone,
        }
    }

    /// Whom adding `member` to a group or removing it reaches: the user,
    /// or every effective member of the member group (their effective
    /// groups change; the containing group's members' do not).
    pub fn member(member: &Member) -> Reach {
        match member {
            Member::User(id) => Reach::user(id),
            Member::Group(id) => Reach::group(id),
        }
    }

    /// Whether the write can change a snapshot with this footprint.
    pub fn touches(&self, footprint: &Footprint) -> bool {
        match self {
            Reach::Everyone => true,
            Reach::Some(targets) => {
                targets.users.contains(&footprint.principal)
                    || meets(&targets.groups, &footprint.groups)
                    || meets(&targets.roles, &footprint.roles)
                    || meets(&targets.nodes, &footprint.nodes)
            }
        }
    }
}

/// Whether two sets share an element.
fn meets<T: Ord>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> bool {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    small.iter().any(|item| large.contains(item))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> NodeKey {
        text.parse().expect("a node key")
    }

    fn footprint() -> Footprint {
        Footprint {
            principal: "ann".into(),
            groups: ["staff".to_owned()].into(),
            roles: ["editor".to_owned()].into(),
            nodes: [key("site:1")].into(),
        }
    }

    #[test]
    fn a_reach_touches_what_it_names_and_nothing_else() {
        let ann = footprint();
        assert!(Reach::user("ann").touches(&ann));
        assert!(!Reach::user("bob").touches(&ann));
        assert!(Reach::group("staff").touches(&ann));
        assert!(!Reach::group("ops").touches(&ann));
        assert!(Reach::role("editor").touches(&ann));
        assert!(!Reach::role("viewer").touches(&ann));
        assert!(Reach::leaf(&[key("site:1"), key("page:2")]).touches(&ann));
        assert!(!Reach::leaf(&[key("site:9")]).touches(&ann));
        assert!(Reach::Everyone.touches(&ann));
        assert!(!Reach::nobody().touches(&ann));
    }

    #[test]
    fn pseudo_subjects_and_negative_selectors_reach_everyone() {
        for subject in [Subject::Everyone, Subject::Authenticated, Subject::Members] {
            assert_eq!(Reach::subject(&subject), Reach::Everyone);
        }
        assert_eq!(
            Reach::selector(&Selector::NotGroup("staff".into())),
            Reach::Everyone
        );
        assert_eq!(
            Reach::selector(&Selector::Group("staff".into())),
            Reach::group("staff")
        );
    }

    #[test]
    fn a_footprint_names_every_scope_hidden_node_cap_scope_and_root() {
        let assignment = AssignmentFact {
            id: Some("a1".into()),
            subject: Subject::User("ann".into()),
            role: "editor".into(),
            scope: Some(key("site:1")),
            owner_only: false,
        };
        let hidden = [HiddenFact {
            id: None,
            selector: Selector::Everyone,
            node: key("page:2"),
        }];
        let caps = [CapFact {
            id: None,
            selector: Selector::Everyone,
            scope: Some(key("site:3")),
            allow: Vec::new(),
        }];
        let print = Footprint::new(
            "ann",
            ["staff"],
            [&assignment],
            &hidden,
            &caps,
            &[key("site:4")],
        );
        let nodes: Vec<String> = print.nodes.iter().map(ToString::to_string).collect();
        assert_eq!(nodes, ["page:2", "site:1", "site:3", "site:4"]);
        assert!(print.roles.contains("editor"));
        assert!(print.groups.contains("staff"));
    }

    #[test]
    fn a_reach_survives_its_wire_form() {
        let reach = Reach::leaf(&[key("site:1")]);
        let text = serde_json::to_string(&reach).expect("serializes");
        assert_eq!(
            text,
            r#"{"some":{"users":[],"groups":[],"roles":[],"nodes":["site:1"]}}"#
        );
        assert_eq!(serde_json::from_str::<Reach>(&text).ok(), Some(reach));
        assert_eq!(
            serde_json::from_str::<Reach>(r#""everyone""#).ok(),
            Some(Reach::Everyone)
        );
    }
}
