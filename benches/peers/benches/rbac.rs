//! The same RBAC question answered by Tessera and by Cedar, side by side in
//! one run (issue 2, item 9; ANCHORS.md: Cedar native authorization 4–11 µs).
//!
//! The model, built once for both engines from one list of assignments:
//! 10 sites × 10 racks × 10 miners (the fleet manifest of
//! `examples/fleet`); alice is in `night_shift` (nested in `techs`) and in
//! `viewers`; 46 assignments `(subject, role, scope)`, of which the ones for
//! other groups do not apply to alice.
//!
//! - Tessera: the facts are compiled into alice's snapshot, signed and
//!   opened (as a browser or host would), then `check` is timed, by
//!   permission key and by a pre-resolved `Permission` handle.
//! - Cedar: users and groups, and miners in racks in sites, are an entity
//!   hierarchy; each role is an action group (`Action::"miner:reboot" in
//!   Action::"role:REBOOTER"`); each assignment is one policy
//!   `permit(principal in Group::"g", action in Action::"role:R", resource in
//!   Site::"s");`. The `PolicySet`, `Entities` and `Request` are built
//!   before timing, so only `Authorizer::is_authorized` is timed.
//!
//! Before timing, both engines are asked every (action, miner) and (action,
//! rack) question of the model and must agree on each.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    reason = "benchmark setup"
)]

use std::hint::black_box;
use std::str::FromStr;
use std::time::{Duration, Instant};

use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tessera_core::{
    AssignmentFact, Expect, Facts, GroupFact, GroupMemberFact, KeySet, Manifest, NodeFact,
    RoleFact, SigningKey, Snapshot, UserFact, Verifier, compile,
};

const MANIFEST: &str = include_str!("../../../examples/fleet/manifest.toml");
const NOW: u64 = 1_700_000_000;
const SITES: usize = 10;
const RACKS: usize = 10;
const MINERS: usize = 10;

/// Custom roles (the fleet manifest's built-ins ADMIN and FIELD_TECH are
/// used as well). Each role holds the reads its keys require, so Tessera's
/// requires closure never strips anything Cedar would allow.
const CUSTOM_ROLES: [(&str, &[&str]); 3] = [
    (
        "VIEWER",
        &["fleet:read", "site:read", "rack:read", "miner:read"],
    ),
    ("REBOOTER", &["fleet:read", "miner:read", "miner:reboot"]),
    ("LOGS", &["fleet:read", "miner:read", "miner:download_logs"]),
];

/// `(subject, role, scope)`; no subject has two assignments on one branch,
/// so Tessera's same-subject narrowing never differs from Cedar's union.
fn assignments() -> Vec<(String, &'static str, Option<String>)> {
    let mut list = vec![
        ("group:viewers".to_owned(), "VIEWER", None),
        ("group:ops".to_owned(), "ADMIN", None),
        ("user:alice".to_owned(), "LOGS", Some("site:6".to_owned())),
    ];
    for s in 1..=3 {
        list.push((
            "group:techs".to_owned(),
            "FIELD_TECH",
            Some(format!("site:{s}")),
        ));
    }
    for r in 0..RACKS {
        list.push((
            "group:night_shift".to_owned(),
            "REBOOTER",
            Some(format!("rack:4-{r}")),
        ));
        list.push((
            "group:night_shift".to_owned(),
            "LOGS",
            Some(format!("rack:5-{r}")),
        ));
    }
    for s in 0..SITES {
        list.push((
            "group:auditors".to_owned(),
            "VIEWER",
            Some(format!("site:{s}")),
        ));
    }
    list
}

/// The memberships: `(group, member)`.
const MEMBERSHIPS: [(&str, &str); 5] = [
    ("night_shift", "user:alice"),
    ("techs", "group:night_shift"),
    ("viewers", "user:alice"),
    ("ops", "user:bob"),
    ("auditors", "user:carol"),
];
const GROUPS: [&str; 6] = [
    "members",
    "techs",
    "night_shift",
    "viewers",
    "ops",
    "auditors",
];

fn tessera(manifest: &Manifest) -> Snapshot {
    let users = ["alice", "bob", "carol"];
    let mut facts = Facts {
        org: "acme".to_owned(),
        revision: 1,
        users: users
            .iter()
            .map(|id| UserFact {
                id: (*id).to_owned(),
                name: None,
                superuser: false,
                active: true,
            })
            .collect(),
        members: users.iter().map(|id| (*id).to_owned()).collect(),
        groups: GROUPS
            .iter()
            .map(|id| GroupFact {
                id: (*id).to_owned(),
                name: None,
                default: *id == "members",
            })
            .collect(),
        group_members: MEMBERSHIPS
            .iter()
            .map(|(group, member)| GroupMemberFact {
                group: (*group).to_owned(),
                member: member.parse().unwrap(),
            })
            .collect(),
        roles: CUSTOM_ROLES
            .iter()
            .map(|(id, keys)| RoleFact {
                id: (*id).to_owned(),
                name: None,
                permissions: keys.iter().map(|k| (*k).to_owned()).collect(),
            })
            .collect(),
        ..Facts::default()
    };
    for s in 0..SITES {
        facts.nodes.push(NodeFact {
            node: format!("site:{s}").parse().unwrap(),
            parent: None,
        });
        for r in 0..RACKS {
            facts.nodes.push(NodeFact {
                node: format!("rack:{s}-{r}").parse().unwrap(),
                parent: Some(format!("site:{s}").parse().unwrap()),
            });
        }
    }
    for (subject, role, scope) in assignments() {
        facts.assignments.push(AssignmentFact {
            id: None,
            subject: subject.parse().unwrap(),
            role: role.to_owned(),
            scope: scope.map(|s| s.parse().unwrap()),
            owner_only: false,
        });
    }
    let request = tessera_core::CompileRequest {
        principal: "alice",
        token_scopes: None,
        under: None,
        issued_at: NOW,
        expires_at: NOW + 300,
        kid: "k1",
        provenance: false,
        hash_seed: 0,
    };
    let payload = compile(manifest, &facts, &request).unwrap();
    let key = SigningKey::from_seed("k1", &[9; 32]);
    let bytes = key.sign(&payload).unwrap();
    Verifier::new(KeySet::from_jwks_keys(&[key.jwk()]).unwrap())
        .open(&bytes, NOW, Expect::default())
        .unwrap()
}

/// A Tessera node key `type:id` as a Cedar entity uid `Type::"id"`.
fn uid(key: &str) -> EntityUid {
    let (ty, id) = key.split_once(':').unwrap();
    let mut ty = ty.to_owned();
    ty[..1].make_ascii_uppercase();
    EntityUid::from_str(&format!("{ty}::{}", Value::String(id.to_owned()))).unwrap()
}

fn entity(uid: Value, parents: Vec<Value>) -> Value {
    json!({ "uid": uid, "attrs": {}, "parents": parents })
}

fn cedar_uid(ty: &str, id: &str) -> Value {
    json!({ "type": ty, "id": id })
}

fn cedar(manifest: &Manifest) -> (PolicySet, Entities) {
    let mut entities = Vec::new();
    // Users and groups.
    let member_uid = |member: &str| {
        let (ty, id) = member.split_once(':').unwrap();
        cedar_uid(if ty == "user" { "User" } else { "Group" }, id)
    };
    for user in ["alice", "bob", "carol"] {
        let parents = MEMBERSHIPS
            .iter()
            .filter(|(_, member)| *member == format!("user:{user}"))
            .map(|(group, _)| cedar_uid("Group", group))
            .collect();
        entities.push(entity(cedar_uid("User", user), parents));
    }
    for group in GROUPS {
        let parents = MEMBERSHIPS
            .iter()
            .filter(|(_, member)| *member == format!("group:{group}"))
            .map(|(parent, _)| cedar_uid("Group", parent))
            .collect();
        entities.push(entity(member_uid(&format!("group:{group}")), parents));
    }
    // Miners in racks in sites.
    for s in 0..SITES {
        entities.push(entity(cedar_uid("Site", &s.to_string()), vec![]));
        for r in 0..RACKS {
            let rack = format!("{s}-{r}");
            entities.push(entity(
                cedar_uid("Rack", &rack),
                vec![cedar_uid("Site", &s.to_string())],
            ));
            for m in 0..MINERS {
                entities.push(entity(
                    cedar_uid("Miner", &format!("{rack}-{m}")),
                    vec![cedar_uid("Rack", &rack)],
                ));
            }
        }
    }
    // Roles as action groups: each catalog key is in the group of every role
    // that holds it.
    let mut roles: Vec<(String, Vec<String>)> = CUSTOM_ROLES
        .iter()
        .map(|(id, keys)| {
            (
                (*id).to_owned(),
                keys.iter().map(|k| (*k).to_owned()).collect(),
            )
        })
        .collect();
    for builtin in ["ADMIN", "FIELD_TECH"] {
        let role = manifest.builtin(builtin).unwrap();
        roles.push((builtin.to_owned(), manifest.catalog.keys(&role.permissions)));
    }
    for (role, _) in &roles {
        entities.push(entity(cedar_uid("Action", &format!("role:{role}")), vec![]));
    }
    for entry in manifest.catalog.entries() {
        let parents = roles
            .iter()
            .filter(|(_, keys)| keys.contains(&entry.key))
            .map(|(role, _)| cedar_uid("Action", &format!("role:{role}")))
            .collect();
        entities.push(entity(cedar_uid("Action", &entry.key), parents));
    }
    let entities = Entities::from_json_value(Value::Array(entities), None).unwrap();

    let mut text = String::new();
    for (subject, role, scope) in assignments() {
        let principal = match subject.split_once(':').unwrap() {
            ("user", id) => format!("principal == User::\"{id}\""),
            (_, id) => format!("principal in Group::\"{id}\""),
        };
        let resource = scope.map_or_else(
            || "resource".to_owned(),
            |s| format!("resource in {}", uid(&s)),
        );
        text.push_str(&format!(
            "permit({principal}, action in Action::\"role:{role}\", {resource});\n"
        ));
    }
    (PolicySet::from_str(&text).unwrap(), entities)
}

fn cedar_request(action: &str, path: &[String]) -> Request {
    let resource = path.last().map_or_else(|| uid("org:acme"), |key| uid(key));
    Request::new(
        uid("user:alice"),
        EntityUid::from_str(&format!("Action::{}", Value::String(action.to_owned()))).unwrap(),
        resource,
        Context::empty(),
        None,
    )
    .unwrap()
}

fn miner_path(s: usize, r: usize, m: usize) -> Vec<String> {
    vec![
        format!("site:{s}"),
        format!("rack:{s}-{r}"),
        format!("miner:{s}-{r}-{m}"),
    ]
}

/// Every (action, miner) and (action, rack) question, both engines.
fn agree(snapshot: &Snapshot, policies: &PolicySet, entities: &Entities) -> (usize, usize) {
    let authorizer = Authorizer::new();
    let (mut asked, mut allowed) = (0, 0);
    let actions = snapshot
        .catalog()
        .entries()
        .iter()
        .map(|e| e.key.clone())
        .collect::<Vec<_>>();
    for s in 0..SITES {
        for r in 0..RACKS {
            let mut paths = vec![vec![format!("site:{s}"), format!("rack:{s}-{r}")]];
            paths.extend((0..MINERS).map(|m| miner_path(s, r, m)));
            for path in &paths {
                for action in &actions {
                    let ours = snapshot.check(action, path, None).is_allow();
                    let theirs = authorizer
                        .is_authorized(&cedar_request(action, path), policies, entities)
                        .decision()
                        == Decision::Allow;
                    assert_eq!(
                        ours, theirs,
                        "{action} at {path:?}: tessera {ours}, cedar {theirs}"
                    );
                    asked += 1;
                    allowed += usize::from(ours);
                }
            }
        }
    }
    (asked, allowed)
}

/// Median nanoseconds per call over 15 rounds of `n` calls: a plain timing
/// so the run prints the ratio itself (criterion's figures are the record).
fn median_ns(n: u32, mut f: impl FnMut() -> bool) -> f64 {
    let mut rounds: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                black_box(f());
            }
            start.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn rbac(c: &mut Criterion) {
    let manifest = Manifest::from_toml(MANIFEST).unwrap();
    let snapshot = tessera(&manifest);
    let (policies, entities) = cedar(&manifest);
    let (asked, allowed) = agree(&snapshot, &policies, &entities);
    eprintln!(
        "model: {} known nodes in the snapshot, {} Cedar policies, {} Cedar entities; \
         both engines agree on all {asked} questions ({allowed} allowed)",
        snapshot.payload().nodes.len(),
        policies.policies().count(),
        entities.iter().count(),
    );

    let authorizer = Authorizer::new();
    let reboot = snapshot.permission("miner:reboot").unwrap();
    // allow: night_shift (alice's, nested in techs) is REBOOTER on rack 4-3.
    // deny: techs is FIELD_TECH at site 2, which has no reboot.
    let cases = [
        ("allow", miner_path(4, 3, 7)),
        ("deny", miner_path(2, 3, 7)),
    ];
    let mut summary = Vec::new();
    let mut group = c.benchmark_group("rbac");
    for (name, path) in &cases {
        let path_str: Vec<&str> = path.iter().map(String::as_str).collect();
        let request = cedar_request("miner:reboot", path);
        let expected = *name == "allow";
        assert_eq!(
            snapshot.check("miner:reboot", &path_str, None).is_allow(),
            expected
        );
        assert_eq!(
            authorizer
                .is_authorized(&request, &policies, &entities)
                .decision()
                == Decision::Allow,
            expected
        );
        group.bench_function(format!("{name}/tessera_check_handle"), |b| {
            b.iter(|| snapshot.check_permission(black_box(reboot), black_box(&path_str), None));
        });
        group.bench_function(format!("{name}/tessera_check_key"), |b| {
            b.iter(|| snapshot.check(black_box("miner:reboot"), black_box(&path_str), None));
        });
        group.bench_function(format!("{name}/cedar_is_authorized"), |b| {
            b.iter(|| authorizer.is_authorized(black_box(&request), &policies, &entities));
        });
        let handle = median_ns(200_000, || {
            snapshot
                .check_permission(black_box(reboot), black_box(&path_str), None)
                .is_allow()
        });
        let key = median_ns(200_000, || {
            snapshot
                .check(black_box("miner:reboot"), black_box(&path_str), None)
                .is_allow()
        });
        let cedar = median_ns(20_000, || {
            authorizer
                .is_authorized(black_box(&request), &policies, &entities)
                .decision()
                == Decision::Allow
        });
        summary.push(format!(
            "{name}: tessera handle {handle:.0} ns, key {key:.0} ns, cedar {cedar:.0} ns; \
             cedar/tessera = {:.0}× (handle), {:.0}× (key)",
            cedar / handle,
            cedar / key
        ));
    }
    // Cedar's floor on this machine: the one policy that decides the allow
    // case, alone in its set.
    let one: PolicySet = r#"permit(principal in Group::"night_shift", action in Action::"role:REBOOTER", resource in Rack::"4-3");"#
        .parse()
        .unwrap();
    let request = cedar_request("miner:reboot", &cases[0].1);
    assert_eq!(
        authorizer
            .is_authorized(&request, &one, &entities)
            .decision(),
        Decision::Allow
    );
    group.bench_function("allow/cedar_is_authorized_1_policy", |b| {
        b.iter(|| authorizer.is_authorized(black_box(&request), &one, &entities));
    });
    group.finish();
    for line in summary {
        eprintln!("ratio (plain timing, median of 15 rounds) {line}");
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = rbac
}
criterion_main!(benches);
