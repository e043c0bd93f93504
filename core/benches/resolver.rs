//! Criterion benchmarks for the resolver (issue 2, item 9): `check` on a
//! depth-4 path against ~1,000 known nodes, `can_anywhere`, `effective`,
//! filter plans on 100k in-memory items, compiling for a principal in 50
//! nested groups with 1,000 scoped assignments, encoding, signing, and
//! verify + decode of a ~100-node snapshot.
//!
//! Run with `cargo bench -p tessera-core --bench resolver`. Snapshot sizes
//! are not timings: `cargo run -p tessera-core --release --example snapshot_size`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    reason = "benchmark setup"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tessera_core::{
    AssignmentFact, CapFact, CompileRequest, Expect, Facts, FilterItem, GroupFact, GroupMemberFact,
    KeySet, Manifest, NodeFact, NodeKey, SigningKey, SnapshotPayload, UserFact, Verifier, compile,
};

/// Four levels: site → rack → shelf → miner. Miners are never registered,
/// so the deepest path segment is always an unregistered node.
const MANIFEST: &str = r#"
[catalog]
permissions = [
  { key = "fleet:read" },
  { key = "site:read" },
  { key = "site:manage" },
  { key = "rack:read" },
  { key = "rack:manage" },
  { key = "shelf:read" },
  { key = "shelf:manage" },
  { key = "miner:read" },
  { key = "miner:blink_led" },
  { key = "miner:reboot" },
  { key = "miner:download_logs" },
  { key = "miner:update_pools" },
  { key = "miner:firmware_update" },
  { key = "user:read" },
  { key = "user:manage" },
  { key = "role:read" },
  { key = "role:manage" },
]

[[resource]]
type = "site"
parents = ["org"]

[[resource]]
type = "rack"
parents = ["site"]

[[resource]]
type = "shelf"
parents = ["rack"]

[[resource]]
type = "miner"
parents = ["shelf", "rack"]
hideable = true

[[role]]
key = "SUPER_ADMIN"
mode = "immutable"
guarded = true
permissions = ["*"]

[[role]]
key = "ADMIN"
mode = "editable"
permissions = ["*", "-user:manage", "-role:manage"]

[[role]]
key = "FIELD_TECH"
mode = "editable"
permissions = ["fleet:read", "miner:read", "miner:blink_led", "miner:reboot", "miner:download_logs", "rack:read", "shelf:read"]

[[role]]
key = "VIEWER"
mode = "editable"
permissions = ["fleet:read", "site:read", "rack:read", "shelf:read", "miner:read"]

[[route]]
path = "/miners"
when = "miner:read"
fallback = "/"

[[route]]
path = "/sites/:site/racks"
when = "rack:read@site:{site}"
fallback = "/"
"#;

const NOW: u64 = 1_700_000_000;
const KID: &str = "bench-key";
const ROLES: [&str; 3] = ["ADMIN", "FIELD_TECH", "VIEWER"];

fn node(text: &str) -> NodeKey {
    text.parse().unwrap()
}

fn site(s: usize) -> String {
    format!("site:{s}")
}
fn rack(s: usize, r: usize) -> String {
    format!("rack:{s}-{r}")
}
fn shelf(s: usize, r: usize, h: usize) -> String {
    format!("shelf:{s}-{r}-{h}")
}

fn user(id: &str) -> UserFact {
    UserFact {
        id: id.to_owned(),
        name: None,
        superuser: false,
        active: true,
    }
}

fn group(id: &str) -> GroupFact {
    GroupFact {
        id: id.to_owned(),
        name: None,
        default: false,
    }
}

fn assign(subject: &str, role: &str, scope: Option<&str>) -> AssignmentFact {
    AssignmentFact {
        id: None,
        subject: subject.parse().unwrap(),
        role: role.to_owned(),
        scope: scope.map(node),
        owner_only: false,
    }
}

/// Registers `sites × racks × shelves` nodes (miners stay unregistered).
fn register(facts: &mut Facts, sites: usize, racks: usize, shelves: usize) {
    for s in 0..sites {
        facts.nodes.push(NodeFact {
            node: node(&site(s)),
            parent: None,
        });
        for r in 0..racks {
            facts.nodes.push(NodeFact {
                node: node(&rack(s, r)),
                parent: Some(node(&site(s))),
            });
            for h in 0..shelves {
                facts.nodes.push(NodeFact {
                    node: node(&shelf(s, r, h)),
                    parent: Some(node(&rack(s, r))),
                });
            }
        }
    }
}

/// A fleet of `sites × racks × shelves` registered nodes where alice (a
/// member of `techs`) has org-wide VIEWER, `techs` has a role on every rack
/// (so every node is known), and a few caps narrow some sites.
fn fleet_facts(sites: usize, racks: usize, shelves: usize) -> Facts {
    let mut facts = Facts {
        org: "acme".to_owned(),
        revision: 7,
        users: vec![user("alice"), user("bob")],
        members: vec!["alice".to_owned(), "bob".to_owned()],
        groups: vec![
            GroupFact {
                id: "members".to_owned(),
                name: None,
                default: true,
            },
            group("techs"),
        ],
        group_members: vec![GroupMemberFact {
            group: "techs".to_owned(),
            member: "user:alice".parse().unwrap(),
        }],
        ..Facts::default()
    };
    register(&mut facts, sites, racks, shelves);
    facts.assignments.push(assign("user:alice", "VIEWER", None));
    for s in 0..sites {
        for r in 0..racks {
            let role = ROLES[(s + r) % ROLES.len()];
            facts
                .assignments
                .push(assign("group:techs", role, Some(&rack(s, r))));
        }
        if s % 3 == 0 {
            facts.caps.push(CapFact {
                id: None,
                selector: "group:techs".parse().unwrap(),
                scope: Some(node(&site(s))),
                allow: [
                    "fleet:read",
                    "miner:read",
                    "miner:blink_led",
                    "rack:read",
                    "shelf:read",
                ]
                .map(str::to_owned)
                .to_vec(),
            });
        }
    }
    facts
}

/// Alice in 50 nested groups (10 direct, each containing a chain of 4 more
/// levels: g0..g9 ⊂ g10..g19 ⊂ … ⊂ g40..g49), and 1,000 scoped assignments
/// spread over those groups, plus 50 assignments to groups she is not in.
fn fifty_group_facts() -> Facts {
    let mut facts = Facts {
        org: "acme".to_owned(),
        revision: 7,
        users: vec![user("alice")],
        members: vec!["alice".to_owned()],
        groups: vec![GroupFact {
            id: "members".to_owned(),
            name: None,
            default: true,
        }],
        ..Facts::default()
    };
    register(&mut facts, 10, 10, 10);
    for g in 0..60 {
        facts.groups.push(group(&format!("g{g}")));
    }
    for g in 0..10 {
        facts.group_members.push(GroupMemberFact {
            group: format!("g{g}"),
            member: "user:alice".parse().unwrap(),
        });
    }
    for g in 10..50 {
        facts.group_members.push(GroupMemberFact {
            group: format!("g{g}"),
            member: format!("group:g{}", g - 10).parse().unwrap(),
        });
    }
    let mut n = 0;
    'outer: for s in 0..10 {
        for r in 0..10 {
            for h in 0..10 {
                let scope = if h == 0 { rack(s, r) } else { shelf(s, r, h) };
                let subject = format!("group:g{}", n % 50);
                facts
                    .assignments
                    .push(assign(&subject, ROLES[n % ROLES.len()], Some(&scope)));
                n += 1;
                if n == 1000 {
                    break 'outer;
                }
            }
        }
    }
    for g in 50..60 {
        for s in 0..5 {
            facts
                .assignments
                .push(assign(&format!("group:g{g}"), "ADMIN", Some(&site(s))));
        }
    }
    facts
}

fn request(provenance: bool) -> CompileRequest<'static> {
    CompileRequest {
        principal: "alice",
        token_scopes: None,
        under: None,
        issued_at: NOW,
        expires_at: NOW + 300,
        kid: KID,
        provenance,
        hash_seed: 0,
    }
}

fn payload(manifest: &Manifest, facts: &Facts) -> SnapshotPayload {
    compile(manifest, facts, &request(false)).unwrap()
}

fn key() -> SigningKey {
    SigningKey::from_seed(KID, &[7; 32])
}

fn verifier(key: &SigningKey) -> Verifier {
    Verifier::new(KeySet::from_jwks_keys(&[key.jwk()]).unwrap())
}

fn queries(c: &mut Criterion) {
    let manifest = Manifest::from_toml(MANIFEST).unwrap();
    let facts = fleet_facts(10, 10, 10);
    let key = key();
    let bytes = key.sign(&payload(&manifest, &facts)).unwrap();
    let snapshot = verifier(&key).open(&bytes, NOW, Expect::default()).unwrap();
    let known = snapshot.payload().nodes.len();
    eprintln!(
        "check model: {known} known nodes, envelope {} bytes",
        bytes.len()
    );
    assert!(known >= 1000, "expected ~1,000 known nodes, got {known}");

    // rack 4-5 has `techs` as ADMIN ((4 + 5) % 3 == 0) and site 4 no cap;
    // site 3 has a cap without `miner:reboot`.
    let allowed = ["site:4", "rack:4-5", "shelf:4-5-5", "miner:4-5-5-6"];
    let denied = ["site:3", "rack:3-4", "shelf:3-4-5", "miner:3-4-5-6"];
    assert!(snapshot.check("miner:reboot", &allowed, None).is_allow());
    assert!(!snapshot.check("miner:reboot", &denied, None).is_allow());
    let reboot = snapshot.permission("miner:reboot").unwrap();

    let mut group = c.benchmark_group("check");
    group.bench_function(BenchmarkId::new("depth4_1000_scopes", "key_allow"), |b| {
        b.iter(|| snapshot.check(black_box("miner:reboot"), black_box(&allowed), None));
    });
    group.bench_function(
        BenchmarkId::new("depth4_1000_scopes", "handle_allow"),
        |b| {
            b.iter(|| snapshot.check_permission(black_box(reboot), black_box(&allowed), None));
        },
    );
    group.bench_function(BenchmarkId::new("depth4_1000_scopes", "key_deny"), |b| {
        b.iter(|| snapshot.check(black_box("miner:reboot"), black_box(&denied), None));
    });
    group.bench_function(BenchmarkId::new("depth4_1000_scopes", "handle_deny"), |b| {
        b.iter(|| snapshot.check_permission(black_box(reboot), black_box(&denied), None));
    });
    // Where the time goes: the same handle check on each prefix of the path.
    for depth in 0..=allowed.len() {
        let prefix = &allowed[..depth];
        group.bench_function(BenchmarkId::new("by_depth_1000_scopes", depth), |b| {
            b.iter(|| snapshot.check_permission(black_box(reboot), black_box(prefix), None));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("can_anywhere");
    group.bench_function("key", |b| {
        b.iter(|| snapshot.can_anywhere(black_box("miner:reboot")));
    });
    group.bench_function("handle", |b| {
        b.iter(|| snapshot.can_anywhere_permission(black_box(reboot)));
    });
    group.finish();

    let mut group = c.benchmark_group("effective");
    group.bench_function("depth4", |b| {
        b.iter(|| snapshot.effective(black_box(&allowed), None));
    });
    group.bench_function("root", |b| {
        b.iter(|| snapshot.effective(black_box(&[] as &[&str]), None));
    });
    group.finish();

    // 100,000 items, 100 per shelf, spread over every registered shelf.
    let items: Vec<FilterItem> = (0..100_000usize)
        .map(|i| {
            let (s, r, h) = (i % 10, (i / 10) % 10, (i / 100) % 10);
            FilterItem {
                id: i.to_string(),
                path: vec![site(s), rack(s, r), shelf(s, r, h), format!("miner:m{i}")],
                owner: None,
            }
        })
        .collect();
    let plan = snapshot.filter_plan("miner:reboot");
    let matcher = plan.matcher();
    let kept = items
        .iter()
        .filter(|item| matcher.allows(&item.path, item.owner.as_deref()))
        .count();
    assert_eq!(kept, snapshot.filter("miner:reboot", &items).len());
    eprintln!(
        "filter plan: {} rules, {kept} of {} items allowed",
        plan.rules.len(),
        items.len()
    );

    let mut group = c.benchmark_group("filter_plan");
    group.sample_size(20);
    group.bench_function("build", |b| {
        b.iter(|| snapshot.filter_plan(black_box("miner:reboot")));
    });
    group.throughput(Throughput::Elements(items.len() as u64));
    group.bench_function("100k_items/matcher_allows", |b| {
        b.iter(|| {
            let matcher = plan.matcher();
            items
                .iter()
                .filter(|item| matcher.allows(&item.path, item.owner.as_deref()))
                .count()
        });
    });
    group.bench_function("100k_items/snapshot_filter", |b| {
        b.iter(|| snapshot.filter(black_box("miner:reboot"), &items).len());
    });
    group.finish();
}

fn compiling(c: &mut Criterion) {
    let manifest = Manifest::from_toml(MANIFEST).unwrap();
    let facts = fifty_group_facts();
    let payload = payload(&manifest, &facts);
    eprintln!(
        "compile model: {} groups effective, {} assignments, {} known nodes",
        payload.groups.len(),
        facts.assignments.len(),
        payload.nodes.len()
    );
    assert!(payload.groups.len() >= 50);

    let mut group = c.benchmark_group("compile");
    group.sample_size(20);
    group.bench_function("50_groups_1000_assignments", |b| {
        b.iter(|| compile(&manifest, black_box(&facts), &request(false)).unwrap());
    });
    group.bench_function("50_groups_1000_assignments/provenance", |b| {
        b.iter(|| compile(&manifest, black_box(&facts), &request(true)).unwrap());
    });
    group.finish();
}

fn envelopes(c: &mut Criterion) {
    let manifest = Manifest::from_toml(MANIFEST).unwrap();
    // 4 sites × 4 racks × 5 shelves = 100 registered, all known.
    let facts = fleet_facts(4, 4, 5);
    let payload = payload(&manifest, &facts);
    let key = key();
    let verifier = verifier(&key);
    let bytes = key.sign(&payload).unwrap();
    eprintln!(
        "envelope model: {} known nodes, envelope {} bytes",
        payload.nodes.len(),
        bytes.len()
    );

    let mut group = c.benchmark_group("envelope");
    group.bench_function("encode/100_scopes", |b| {
        b.iter(|| postcard::to_allocvec(black_box(&payload)).unwrap());
    });
    group.bench_function("encode_sign/100_scopes", |b| {
        b.iter(|| key.sign(black_box(&payload)).unwrap());
    });
    group.finish();

    let mut group = c.benchmark_group("verify_decode");
    group.bench_function("100_scopes", |b| {
        b.iter(|| {
            verifier
                .open(black_box(&bytes), NOW, Expect::default())
                .unwrap()
        });
    });
    group.bench_function("100_scopes/without_index", |b| {
        b.iter(|| {
            verifier
                .verified_payload(black_box(&bytes), NOW, Expect::default())
                .unwrap()
        });
    });
    group.finish();
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
    targets = queries, compiling, envelopes
}
criterion_main!(benches);
