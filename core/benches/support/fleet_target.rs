//! The facts the host loads for the target of issue 3's builder benchmark
//! (`host-rust/examples/seed_bench.rs` at its default sizes), built in
//! memory from the same formulas, so that compile and sign can be timed
//! and profiled without a database. The target `u1` is in 50 effective
//! groups and draws on 510 assignments, 20 hidden entries and 11 caps; the
//! nodes are the ones `load_facts` returns (the known nodes: ~2,100 of the
//! org's 5,000).
//!
//! Shared by `benches/compile.rs` and `examples/compile_fleet.rs`
//! (`#[path]`), so keep it free of either's imports.

use std::collections::{BTreeSet, VecDeque};

use tessera_core::{
    AssignmentFact, CapFact, CompileRequest, Facts, GroupFact, GroupMemberFact, HiddenFact,
    Manifest, Member, NodeFact, NodeKey, RoleFact, Selector, Subject, UserFact, compile,
};

/// The manifest the host benchmark reconciles.
pub const MANIFEST: &str = include_str!("../../../examples/fleet/manifest.toml");
pub const TARGET: &str = "u1";
pub const KID: &str = "bench-key";
pub const NOW: u64 = 1_700_000_000;

const SITES: i64 = 50;
const RACKS: i64 = 500;
const MINERS: i64 = 4_450;
const NODES: i64 = SITES + RACKS + MINERS;
/// (first group number, count): top, level 2, level 1, leaves.
const LEVELS: [(i64, i64); 4] = [(1, 10), (11, 90), (101, 900), (1_001, 9_000)];
const GROUPS: i64 = 10_000;
const CUSTOM_ROLES: i64 = 20;
const GRANT_ROLES: i64 = CUSTOM_ROLES + 1;
const GROUP_GRANTS: i64 = 10;
/// `ceil((1M assignments − 100k group grants − 1) / 100k users)`.
const USER_GRANTS: i64 = 9;

fn key(ty: &str, id: String) -> NodeKey {
    NodeKey {
        ty: ty.to_owned(),
        id,
    }
}

fn site(n: i64) -> NodeKey {
    key("site", format!("s{n}"))
}

/// Node number `q` (0-based over sites, racks, miners).
fn scope_node(q: i64) -> NodeKey {
    if q < SITES {
        site(q + 1)
    } else if q < SITES + RACKS {
        key("rack", format!("r{}", q - SITES + 1))
    } else {
        key("miner", format!("m{}", q - SITES - RACKS + 1))
    }
}

fn parent(level: usize, group: i64) -> Option<i64> {
    let (first, count) = *LEVELS.get(level)?;
    let (parent_first, parent_count) = *LEVELS.get(level.checked_sub(1)?)?;
    Some(parent_first + (group - first) * parent_count / count)
}

fn level_of(group: i64) -> usize {
    LEVELS
        .iter()
        .rposition(|(first, _)| group >= *first)
        .unwrap_or(0)
}

fn children(level: usize, of: i64) -> Vec<i64> {
    let Some(&(first, count)) = LEVELS.get(level + 1) else {
        return Vec::new();
    };
    (first..first + count)
        .filter(|&group| parent(level + 1, group) == Some(of))
        .collect()
}

/// The target's direct groups (`Layout::target_groups` of the host example).
fn target_groups() -> Vec<i64> {
    let tops = [1, 2, 3];
    let mut level2s = Vec::new();
    for (top, take) in tops.iter().zip([3usize, 2, 2]) {
        level2s.extend(children(0, *top).into_iter().take(take));
    }
    let mut level1s = Vec::new();
    for (n, level2) in level2s.iter().enumerate() {
        let take = if n + 1 == level2s.len() { 2 } else { 3 };
        level1s.extend(children(1, *level2).into_iter().take(take));
    }
    let mut direct: Vec<i64> = level1s
        .iter()
        .flat_map(|level1| children(2, *level1).into_iter().take(1))
        .collect();
    direct.extend(level1s.iter().take(2));
    direct
}

fn role_id(r: i64) -> String {
    if r == 0 {
        "FIELD_TECH".to_owned()
    } else {
        format!("c{r}")
    }
}

/// Grant `k` of a subject numbered `s` (the seed's assignment formulas).
fn grant(id: String, subject: Subject, s: i64, k: i64, root: bool) -> AssignmentFact {
    let q = (s * 7_919 + k * 104_729) % NODES;
    AssignmentFact {
        id: Some(id),
        subject,
        role: role_id((s + k) % GRANT_ROLES),
        scope: (!root).then(|| scope_node(q)),
        owner_only: false,
    }
}

/// Every node of the org with its parent.
fn all_nodes() -> Vec<NodeFact> {
    let mut nodes: Vec<NodeFact> = (1..=SITES)
        .map(|s| NodeFact {
            node: site(s),
            parent: None,
        })
        .collect();
    nodes.extend((0..RACKS).map(|i| NodeFact {
        node: key("rack", format!("r{}", i + 1)),
        parent: Some(site(i * SITES / RACKS + 1)),
    }));
    nodes.extend((0..MINERS).map(|i| NodeFact {
        node: key("miner", format!("m{}", i + 1)),
        parent: Some(if i % 100 == 99 {
            site(i % SITES + 1)
        } else {
            key("rack", format!("r{}", i % RACKS + 1))
        }),
    }));
    nodes
}

/// The target's facts as `load_facts` returns them, with every node of
/// the org when `all_nodes` is set (the known set is computed from those).
fn facts_with(manifest: &Manifest, all: bool) -> Facts {
    let direct = target_groups();
    let mut effective: Vec<i64> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<i64> = direct.iter().copied().collect();
    while let Some(group) = queue.pop_front() {
        if !seen.insert(group) {
            continue;
        }
        effective.push(group);
        queue.extend(parent(level_of(group), group));
    }
    let mut facts = Facts {
        org: "bench".to_owned(),
        revision: 3,
        users: vec![UserFact {
            id: TARGET.to_owned(),
            name: Some("User 1".to_owned()),
            superuser: false,
            active: true,
        }],
        members: vec![TARGET.to_owned()],
        ..Facts::default()
    };
    let mut group_ids: Vec<(String, bool)> = seen
        .iter()
        .map(|group| (format!("g{group}"), false))
        .collect();
    group_ids.push(("members".to_owned(), true));
    group_ids.sort();
    facts.groups = group_ids
        .into_iter()
        .map(|(id, default)| GroupFact {
            name: Some(if default {
                "Members".to_owned()
            } else {
                format!("Group {}", id.trim_start_matches('g'))
            }),
            id,
            default,
        })
        .collect();
    for group in &direct {
        facts.group_members.push(GroupMemberFact {
            group: format!("g{group}"),
            member: Member::User(TARGET.to_owned()),
        });
    }
    for group in &effective {
        if let Some(up) = parent(level_of(*group), *group) {
            facts.group_members.push(GroupMemberFact {
                group: format!("g{up}"),
                member: Member::Group(format!("g{group}")),
            });
        }
    }
    let keys: Vec<&str> = manifest
        .catalog
        .entries()
        .iter()
        .map(|entry| entry.key.as_str())
        .collect();
    for role in 1..=CUSTOM_ROLES {
        let picked: BTreeSet<&str> = [0, 3, 7, 11]
            .iter()
            .filter_map(|offset| keys.get((role as usize + offset) % keys.len()).copied())
            .collect();
        facts.roles.push(RoleFact {
            id: format!("c{role}"),
            name: Some(format!("Custom {role}")),
            permissions: picked.into_iter().map(str::to_owned).collect(),
        });
    }
    // The target's own grants (user 1: none at the root), its groups'
    // (each group's first at the root), and one `@members` grant.
    for k in 0..USER_GRANTS {
        facts.assignments.push(grant(
            format!("a{k}"),
            Subject::User(TARGET.to_owned()),
            1,
            k,
            false,
        ));
    }
    for group in &effective {
        for k in 0..GROUP_GRANTS {
            let i = (group - 1) * GROUP_GRANTS + k;
            facts.assignments.push(grant(
                format!("b{i}"),
                Subject::Group(format!("g{group}")),
                *group,
                k,
                k == 0,
            ));
        }
    }
    facts.assignments.push(AssignmentFact {
        id: Some("everyone-members".to_owned()),
        subject: Subject::Members,
        role: "c1".to_owned(),
        scope: None,
        owner_only: false,
    });
    facts
        .assignments
        .sort_by(|a, b| a.id.as_deref().cmp(&b.id.as_deref()));
    // Hidden: every 100th user (u1 among them) and every 20th group, on
    // miners; caps: every 20th group (from g11), on a site.
    facts.hidden.push(HiddenFact {
        id: Some("hu0".to_owned()),
        selector: Selector::User(TARGET.to_owned()),
        node: scope_node(SITES + RACKS),
    });
    for i in 0..GROUPS / 20 {
        let group = i * 20 + 1;
        if seen.contains(&group) {
            facts.hidden.push(HiddenFact {
                id: Some(format!("hg{i}")),
                selector: Selector::Group(format!("g{group}")),
                node: scope_node(SITES + RACKS + i * 53 % MINERS),
            });
        }
    }
    let allow: Vec<String> = keys.iter().take(3).map(|key| (*key).to_owned()).collect();
    for i in 0..(GROUPS - 11) / 20 + 1 {
        let group = i * 20 + 11;
        if seen.contains(&group) {
            facts.caps.push(CapFact {
                id: Some(format!("cap{i}")),
                selector: Selector::Group(format!("g{group}")),
                scope: Some(site(i % SITES + 1)),
                allow: allow.clone(),
            });
        }
    }
    if all {
        facts.nodes = all_nodes();
    }
    facts
}

/// The request the host builds for the target.
pub fn request() -> CompileRequest<'static> {
    CompileRequest {
        principal: TARGET,
        token_scopes: None,
        under: None,
        issued_at: NOW,
        expires_at: NOW + 300,
        kid: KID,
        provenance: false,
        hash_seed: 0x5eed,
    }
}

/// The target's facts, nodes restricted to the known ones (what the host
/// loads: the nodes its policy rows name, their ancestors and subtrees).
pub fn target_facts(manifest: &Manifest) -> Facts {
    let mut facts = facts_with(manifest, true);
    let known: BTreeSet<String> = compile(manifest, &facts, &request())
        .unwrap()
        .nodes
        .into_iter()
        .map(|node| node.id)
        .collect();
    // Node ids are unique across types in this layout (s…, r…, m…).
    facts.nodes.retain(|node| known.contains(&node.node.id));
    facts
}
