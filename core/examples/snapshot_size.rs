//! Prints signed snapshot sizes (binary envelope and `tss1.` text form)
//! for a 30-permission catalog at 10, 100 and 1,000 known scopes, with and
//! without provenance. Issue 2 targets ≤ 1 KB for 30 permissions / 10
//! scopes.
//!
//! Run with `cargo run -p tessera-core --release --example snapshot_size`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::print_stdout,
    reason = "example setup"
)]

use std::fmt::Write as _;

use tessera_core::{
    AssignmentFact, CompileRequest, Facts, GroupFact, GroupMemberFact, Manifest, NodeFact, NodeKey,
    SigningKey, UserFact, compile, to_text,
};

const KID: &str = "k1";
const NOW: u64 = 1_700_000_000;

/// 30 permissions over site → rack → miner, three roles, three routes.
fn manifest() -> Manifest {
    let keys = [
        "fleet:read",
        "fleet:manage",
        "site:read",
        "site:manage",
        "site:create",
        "site:delete",
        "rack:read",
        "rack:manage",
        "rack:create",
        "rack:delete",
        "miner:read",
        "miner:blink_led",
        "miner:reboot",
        "miner:download_logs",
        "miner:update_pools",
        "miner:firmware_update",
        "miner:create",
        "miner:delete",
        "miner:rename",
        "pool:read",
        "pool:manage",
        "alert:read",
        "alert:manage",
        "report:read",
        "report:export",
        "user:read",
        "user:manage",
        "role:read",
        "role:manage",
        "audit:read",
    ];
    assert_eq!(keys.len(), 30);
    let mut text = String::from("[catalog]\npermissions = [\n");
    for key in keys {
        writeln!(text, "  {{ key = \"{key}\" }},").unwrap();
    }
    text.push_str(
        r#"]

[[resource]]
type = "site"
parents = ["org"]

[[resource]]
type = "rack"
parents = ["site"]

[[resource]]
type = "miner"
parents = ["rack", "site"]
hideable = true

[[role]]
key = "ADMIN"
mode = "editable"
permissions = ["*", "-user:manage", "-role:manage"]

[[role]]
key = "FIELD_TECH"
mode = "editable"
permissions = ["fleet:read", "miner:*", "-miner:delete", "rack:read", "site:read"]

[[role]]
key = "VIEWER"
mode = "editable"
permissions = ["fleet:read", "site:read", "rack:read", "miner:read", "report:read"]

[[route]]
path = "/miners"
when = "miner:read"
fallback = "/"

[[route]]
path = "/sites/:site/racks"
when = "rack:read@site:{site}"
fallback = "/"

[[route]]
path = "/settings/users"
when = "all(user:read, role:read)"
fallback = "/"
"#,
    );
    Manifest::from_toml(&text).unwrap()
}

fn node(text: &str) -> NodeKey {
    text.parse().unwrap()
}

/// `sites` sites with `racks` racks each, a role for `techs` on every rack:
/// `sites × (racks + 1)` known scopes.
fn facts(sites: usize, racks: usize) -> Facts {
    let mut facts = Facts {
        org: "acme".to_owned(),
        revision: 1,
        users: vec![UserFact {
            id: "alice".to_owned(),
            name: Some("Alice".to_owned()),
            superuser: false,
            active: true,
        }],
        members: vec!["alice".to_owned()],
        groups: vec![GroupFact {
            id: "techs".to_owned(),
            name: None,
            default: true,
        }],
        group_members: vec![GroupMemberFact {
            group: "techs".to_owned(),
            member: "user:alice".parse().unwrap(),
        }],
        ..Facts::default()
    };
    facts.assignments.push(AssignmentFact {
        id: None,
        subject: "user:alice".parse().unwrap(),
        role: "VIEWER".to_owned(),
        scope: None,
        owner_only: false,
    });
    let roles = ["ADMIN", "FIELD_TECH", "VIEWER"];
    for s in 0..sites {
        facts.nodes.push(NodeFact {
            node: node(&format!("site:{s}")),
            parent: None,
        });
        for r in 0..racks {
            let rack = node(&format!("rack:{s}-{r}"));
            facts.nodes.push(NodeFact {
                node: rack.clone(),
                parent: Some(node(&format!("site:{s}"))),
            });
            facts.assignments.push(AssignmentFact {
                id: None,
                subject: "group:techs".parse().unwrap(),
                role: roles[(s + r) % roles.len()].to_owned(),
                scope: Some(rack),
                owner_only: false,
            });
        }
    }
    facts
}

fn main() {
    let manifest = manifest();
    let key = SigningKey::from_seed(KID, &[7; 32]);
    println!("| permissions | known scopes | provenance | payload B | envelope B | tss1 text B |");
    println!("|---|---|---|---|---|---|");
    for (sites, racks) in [(2, 4), (10, 9), (100, 9)] {
        let facts = facts(sites, racks);
        for provenance in [false, true] {
            let request = CompileRequest {
                principal: "alice",
                token_scopes: None,
                under: None,
                issued_at: NOW,
                expires_at: NOW + 300,
                kid: KID,
                provenance,
                hash_seed: 0,
            };
            let payload = compile(&manifest, &facts, &request).unwrap();
            let encoded = postcard::to_allocvec(&payload).unwrap();
            let envelope = key.sign(&payload).unwrap();
            let text = to_text(&envelope);
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                payload.catalog.len(),
                payload.nodes.len(),
                if provenance { "yes" } else { "no" },
                encoded.len(),
                envelope.len(),
                text.len(),
            );
        }
    }
}
