//! Org documents at scale (issue 17, item 4): a fleet org of 10,000 users,
//! 1,000 groups, 5,000 nodes and 100,000 assignments as one document,
//! applied into an empty org (one transaction), exported, and applied
//! again (an empty plan).
//!
//! ```sh
//! cargo run -p tessera-host --release --example document_bench -- [sqlite|postgres] [SCALE]
//! ```
//!
//! `SCALE` (default 1.0) multiplies every count. The database is a temp
//! SQLite file or a random Postgres database (`TESSERA_TEST_POSTGRES`),
//! dropped at the end.
//!
//! The document: users `u0..` all members, each in one leaf group; groups
//! in two levels (a tenth on top, the rest below them) and the default
//! `members` group;
//! five custom roles; nodes: 1% sites, 10% racks, the rest miners;
//! assignments over users and groups, `FIELD_TECH` and the custom roles,
//! scopes spread over every node; a hidden entry per 10 users, a cap per
//! 10 groups.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark setup: indices within the lists it builds"
)]

#[path = "support/database.rs"]
mod database;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use tessera_core::Manifest;
use tessera_host::{Actor, Admin, Backend, Store, read_document, reconcile};

use database::Database;

const ORG: &str = "bench";
const NOW: i64 = 1_700_000_000;

fn scaled(count: f64, scale: f64) -> usize {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "counts are small positive numbers"
    )]
    let n = (count * scale).round() as usize;
    n.max(1)
}

/// The document, in the counts of the issue times `scale`.
fn document(scale: f64) -> Value {
    let users = scaled(10_000.0, scale);
    let groups = scaled(1_000.0, scale);
    let nodes = scaled(5_000.0, scale);
    let assignments = scaled(100_000.0, scale);
    let top = (groups / 10).max(1);
    let group = |at: usize| format!("g{at}");
    let mut members: Vec<Vec<String>> = vec![Vec::new(); groups];
    for at in top..groups {
        members[at % top].push(format!("group:{}", group(at)));
    }
    for user in 0..users {
        members[top + user % (groups - top).max(1)].push(format!("user:u{user}"));
    }
    let sites = (nodes / 100).max(1);
    let racks = (nodes / 10).max(1);
    let mut node_list = Vec::new();
    for at in 0..nodes {
        let (node, parent) = if at < sites {
            (format!("site:{at}"), Value::Null)
        } else if at < sites + racks {
            (format!("rack:{at}"), json!(format!("site:{}", at % sites)))
        } else {
            (
                format!("miner:{at}"),
                json!(format!("rack:{}", sites + at % racks)),
            )
        };
        node_list.push(json!({"node": node, "parent": parent}));
    }
    let roles = ["FIELD_TECH", "c1", "c2", "c3", "c4", "c5"];
    let mut said = BTreeSet::new();
    let mut assignment_list = Vec::new();
    for at in 0..assignments {
        let subject = if at % 10 == 0 {
            format!("group:{}", group(at / 10 % groups))
        } else {
            format!("user:u{}", at % users)
        };
        let role = roles[at / users % roles.len()];
        let scope = node_list[(at * 31 + at / users * 7) % nodes]["node"].clone();
        if said.insert((subject.clone(), role, scope.to_string())) {
            assignment_list.push(json!({"id": format!("a{at}"), "subject": subject, "role": role, "scope": scope, "owner_only": false}));
        }
    }
    json!({
        "format": "tessera.org/1",
        "org": {"id": ORG, "name": "Bench"},
        "settings": {"kiosk": false},
        "users": (0..users).map(|at| json!({"id": format!("u{at}"), "name": format!("User {at}"), "superuser": false, "active": true})).collect::<Vec<_>>(),
        "members": (0..users).map(|at| format!("u{at}")).collect::<Vec<_>>(),
        "groups": (0..groups)
            .map(|at| json!({"id": group(at), "name": format!("Group {at}"), "default": false, "members": members[at]}))
            .chain(std::iter::once(json!({"id": "members", "name": "members", "default": true, "members": []})))
            .collect::<Vec<_>>(),
        "roles": (1..=5).map(|at| json!({"id": format!("c{at}"), "name": format!("Custom {at}"), "permissions": ["fleet:read", "miner:read", "miner:reboot", "rack:read"]})).collect::<Vec<_>>(),
        "nodes": node_list,
        "assignments": assignment_list,
        "hidden": (0..users / 10).map(|at| json!({"id": format!("h{at}"), "selector": format!("user:u{}", at * 10), "node": format!("miner:{}", nodes - 1 - at % (nodes - sites - racks).max(1))})).collect::<Vec<_>>(),
        "caps": (0..groups / 10).map(|at| json!({"id": format!("k{at}"), "selector": format!("group:{}", group(at * 10)), "scope": format!("site:{}", at % sites), "allow": ["fleet:read", "miner:read"]})).collect::<Vec<_>>(),
    })
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let backend = match args.next().as_deref() {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let scale: f64 = args
        .next()
        .map_or(1.0, |text| text.parse().expect("a scale"));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = Manifest::from_toml(
        &std::fs::read_to_string(root.join("examples/fleet/manifest.toml")).unwrap(),
    )
    .unwrap();
    let value = document(scale);
    let document = read_document(&value).unwrap();
    println!(
        "{backend:?}, scale {scale}: {} users, {} groups, {} nodes, {} assignments, {} hidden, {} caps",
        document.users.len(),
        document.groups.len(),
        document.nodes.len(),
        document.assignments.len(),
        document.hidden.len(),
        document.caps.len()
    );
    let db = Database::create(backend).await;
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate_up().await.unwrap();
    reconcile(&store, &manifest, NOW).await.unwrap();
    let admin = Admin::new(store.clone(), Arc::new(manifest));

    let (planned, _) = admin
        .plan(&Actor::Backend, ORG, &document)
        .await
        .map_err(|err| err.error.to_string())
        .unwrap();
    let kinds: Vec<&str> = planned.steps().iter().map(|step| step.kind).collect();
    let mut per_kind: std::collections::BTreeMap<&str, std::time::Duration> = Default::default();
    let mut last = Instant::now();
    let started = Instant::now();
    let plan = admin
        .apply_reporting(&Actor::Backend, ORG, &document, NOW, &mut |done, _| {
            *per_kind.entry(kinds[done - 1]).or_default() += last.elapsed();
            last = Instant::now();
        })
        .await
        .map_err(|err| format!("{:?}: {}", err.pointer, err.error))
        .unwrap();
    let applied = started.elapsed();
    println!(
        "apply into an empty org: {} steps in {applied:.2?}",
        plan.steps().len()
    );
    for (kind, spent) in per_kind {
        println!("  {kind}: {spent:.2?}");
    }

    let started = Instant::now();
    let exported = admin
        .export(&Actor::Backend, ORG)
        .await
        .unwrap()
        .to_canonical_json();
    println!(
        "export: {} bytes in {:.2?}",
        exported.len(),
        started.elapsed()
    );

    let started = Instant::now();
    let again = admin
        .apply(&Actor::Backend, ORG, &document, NOW)
        .await
        .map_err(|err| err.error.to_string())
        .unwrap();
    assert!(again.is_empty(), "a second apply changes nothing");
    println!("apply again (an empty plan): {:.2?}", started.elapsed());
    store.close().await;
    db.drop().await;
}
