//! Signs the snapshots the JS benchmark (`benches/js/bench.mjs`) opens,
//! with the model the peers (CASL, cedar-wasm) are built from:
//!
//! ```text
//! cargo run -q -p tessera-tests --bin export-bench -- tests/out/bench
//! ```
//!
//! The model is the resolver bench's envelope model (`core/benches/resolver.rs`):
//! site → rack → shelf → miner, 4 × 4 × 5 registered nodes (100 known, miners
//! never registered), alice in `techs` with a role on every rack, org-wide
//! VIEWER, and caps on sites 0 and 3. It writes:
//!
//! - `jwks.json`: the key the snapshots verify with;
//! - `snapshot_100.txt`: alice's snapshot with the resolver bench's manifest;
//! - `snapshot_nav.txt`: the same facts under a manifest with 50 static
//!   routes, one per item of `nav_tree.json`;
//! - `nav_tree.json`: 50 nav items `{route, permission, path}` (4 sites,
//!   16 racks, 30 shelves);
//! - `model.json`: the facts and each role's expanded permissions, for the
//!   JS peers.
//!
//! Snapshots are issued at `ISSUED_AT` and expire at `EXPIRES_AT` (far in
//! the future); the bench opens them with an explicit `now`.

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};
use tessera_core::{
    CompileRequest, Expect, Facts, KeySet, Manifest, SigningKey, Verifier, compile, to_text,
};

const ISSUED_AT: u64 = 1_700_000_000;
const EXPIRES_AT: u64 = 4_000_000_000;
const KID: &str = "bench-key";
const SITES: usize = 4;
const RACKS: usize = 4;
const SHELVES: usize = 5;
const ROLES: [&str; 3] = ["ADMIN", "FIELD_TECH", "VIEWER"];

/// The resolver bench's catalog, in manifest order.
const CATALOG: [&str; 17] = [
    "fleet:read",
    "site:read",
    "site:manage",
    "rack:read",
    "rack:manage",
    "shelf:read",
    "shelf:manage",
    "miner:read",
    "miner:blink_led",
    "miner:reboot",
    "miner:download_logs",
    "miner:update_pools",
    "miner:firmware_update",
    "user:read",
    "user:manage",
    "role:read",
    "role:manage",
];

/// The resolver bench's roles: `(key, mode, permissions)`.
const ROLE_DEFS: [(&str, &str, &[&str]); 4] = [
    ("SUPER_ADMIN", "immutable", &["*"]),
    ("ADMIN", "editable", &["*", "-user:manage", "-role:manage"]),
    (
        "FIELD_TECH",
        "editable",
        &[
            "fleet:read",
            "miner:read",
            "miner:blink_led",
            "miner:reboot",
            "miner:download_logs",
            "rack:read",
            "shelf:read",
        ],
    ),
    (
        "VIEWER",
        "editable",
        &[
            "fleet:read",
            "site:read",
            "rack:read",
            "shelf:read",
            "miner:read",
        ],
    ),
];

/// What a cap on a capped site still allows `techs`.
const CAP_ALLOW: [&str; 5] = [
    "fleet:read",
    "miner:read",
    "miner:blink_led",
    "rack:read",
    "shelf:read",
];

/// The resolver bench's two routes (the `snapshot_100` manifest).
const BENCH_ROUTES: &str = r#"
[[route]]
path = "/miners"
when = "miner:read"
fallback = "/"

[[route]]
path = "/sites/:site/racks"
when = "rack:read@site:{site}"
fallback = "/"
"#;

fn main() -> ExitCode {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: export-bench OUT_DIR");
        return ExitCode::FAILURE;
    };
    match export(Path::new(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The manifest without routes: catalog, resources, roles.
fn base_manifest() -> String {
    let mut text = String::from("[catalog]\npermissions = [\n");
    for key in CATALOG {
        text.push_str(&format!("  {{ key = \"{key}\" }},\n"));
    }
    text.push_str("]\n");
    for (ty, parents, hideable) in [
        ("site", "\"org\"", false),
        ("rack", "\"site\"", false),
        ("shelf", "\"rack\"", false),
        ("miner", "\"shelf\", \"rack\"", true),
    ] {
        text.push_str(&format!(
            "\n[[resource]]\ntype = \"{ty}\"\nparents = [{parents}]\n"
        ));
        if hideable {
            text.push_str("hideable = true\n");
        }
    }
    for (key, mode, permissions) in ROLE_DEFS {
        let list: Vec<String> = permissions.iter().map(|p| format!("\"{p}\"")).collect();
        text.push_str(&format!(
            "\n[[role]]\nkey = \"{key}\"\nmode = \"{mode}\"\n{}permissions = [{}]\n",
            if key == "SUPER_ADMIN" {
                "guarded = true\n"
            } else {
                ""
            },
            list.join(", ")
        ));
    }
    text
}

/// A role's permissions with `*` and `-key` expanded against the catalog.
fn expand(permissions: &[&str]) -> Vec<String> {
    let mut keys: Vec<&str> = Vec::new();
    for entry in permissions {
        if *entry == "*" {
            keys.extend(CATALOG);
        } else if entry.strip_prefix('-').is_none() {
            keys.push(entry);
        }
    }
    keys.retain(|key| {
        !permissions
            .iter()
            .any(|p| p.strip_prefix('-') == Some(*key))
    });
    CATALOG
        .iter()
        .filter(|key| keys.contains(key))
        .map(|key| (*key).to_owned())
        .collect()
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

/// The resolver bench's `fleet_facts(4, 4, 5)`, as JSON.
fn facts_json() -> Value {
    let mut nodes = Vec::new();
    let mut assignments = vec![json!({"subject": "user:alice", "role": "VIEWER"})];
    let mut caps = Vec::new();
    for s in 0..SITES {
        nodes.push(json!({"node": site(s), "parent": null}));
        for r in 0..RACKS {
            nodes.push(json!({"node": rack(s, r), "parent": site(s)}));
            for h in 0..SHELVES {
                nodes.push(json!({"node": shelf(s, r, h), "parent": rack(s, r)}));
            }
            let role = ROLES
                .get((s + r) % ROLES.len())
                .copied()
                .unwrap_or("VIEWER");
            assignments.push(json!({"subject": "group:techs", "role": role, "scope": rack(s, r)}));
        }
        if s % 3 == 0 {
            caps.push(json!({"selector": "group:techs", "scope": site(s), "allow": CAP_ALLOW}));
        }
    }
    json!({
        "org": "acme",
        "revision": 7,
        "users": [{"id": "alice"}, {"id": "bob"}],
        "members": ["alice", "bob"],
        "groups": [{"id": "members", "default": true}, {"id": "techs"}],
        "group_members": [{"group": "techs", "member": "user:alice"}],
        "nodes": nodes,
        "assignments": assignments,
        "caps": caps,
    })
}

/// 50 nav items: every site, every rack, and the first two shelves of each
/// rack but the last two (4 + 16 + 30), with permissions that allow some
/// and deny others.
fn nav_tree() -> Vec<Value> {
    let mut items = Vec::new();
    for s in 0..SITES {
        items.push(json!({
            "route": format!("/sites/{s}"),
            "permission": "site:manage",
            "path": [site(s)],
        }));
    }
    for s in 0..SITES {
        for r in 0..RACKS {
            items.push(json!({
                "route": format!("/sites/{s}/racks/{s}-{r}"),
                "permission": "rack:manage",
                "path": [site(s), rack(s, r)],
            }));
        }
    }
    'shelves: for s in 0..SITES {
        for r in 0..RACKS {
            for h in 0..2 {
                if items.len() == 50 {
                    break 'shelves;
                }
                items.push(json!({
                    "route": format!("/sites/{s}/racks/{s}-{r}/shelves/{s}-{r}-{h}"),
                    "permission": "miner:reboot",
                    "path": [site(s), rack(s, r), shelf(s, r, h)],
                }));
            }
        }
    }
    items
}

/// One static route per nav item, guarded by `permission@path`.
fn nav_routes(items: &[Value]) -> Result<String, String> {
    let mut text = String::new();
    for item in items {
        let field = |name: &str| item.get(name).ok_or(format!("nav item without `{name}`"));
        let route = field("route")?.as_str().ok_or("route is not a string")?;
        let permission = field("permission")?
            .as_str()
            .ok_or("permission is not a string")?;
        let steps: Vec<&str> = field("path")?
            .as_array()
            .ok_or("nav item without a path")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        text.push_str(&format!(
            "\n[[route]]\npath = \"{route}\"\nwhen = \"{permission}@{}\"\nfallback = \"/\"\n",
            steps.join("/")
        ));
    }
    Ok(text)
}

fn export(out: &Path) -> Result<(), String> {
    let facts_value = facts_json();
    let facts: Facts =
        serde_json::from_value(facts_value.clone()).map_err(|err| format!("facts: {err}"))?;
    let items = nav_tree();
    let base = base_manifest();
    let bench_manifest =
        Manifest::from_toml(&format!("{base}{BENCH_ROUTES}")).map_err(|err| err.to_string())?;
    let nav_manifest = Manifest::from_toml(&format!("{base}{}", nav_routes(&items)?))
        .map_err(|err| format!("nav manifest: {err}"))?;

    let key = SigningKey::from_seed(KID, &[7; 32]);
    let verifier = Verifier::new(
        KeySet::from_jwks_keys(&[key.jwk()]).map_err(|err| format!("key set: {err}"))?,
    );
    let request = CompileRequest {
        principal: "alice",
        token_scopes: None,
        under: None,
        issued_at: ISSUED_AT,
        expires_at: EXPIRES_AT,
        kid: KID,
        provenance: false,
        hash_seed: 0,
    };

    std::fs::create_dir_all(out).map_err(|err| format!("{}: {err}", out.display()))?;
    let write = |name: &str, text: String| {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|err| format!("{}: {err}", path.display()))
    };
    let to_json = |value: &Value| serde_json::to_string_pretty(value).map_err(|e| e.to_string());

    write(
        "jwks.json",
        format!("{}\n", to_json(&json!({"keys": [key.jwk()]}))?),
    )?;
    for (name, manifest) in [
        ("snapshot_100.txt", &bench_manifest),
        ("snapshot_nav.txt", &nav_manifest),
    ] {
        let payload =
            compile(manifest, &facts, &request).map_err(|err| format!("{name}: {err}"))?;
        let envelope = key.sign(&payload).map_err(|err| format!("{name}: {err}"))?;
        let opened = verifier
            .open(&envelope, ISSUED_AT, Expect::default())
            .map_err(|err| format!("{name}: {err}"))?;
        let text = to_text(&envelope);
        println!(
            "{name}: {} known nodes, {} routes, envelope {} B, text {} B",
            opened.payload().nodes.len(),
            opened.payload().routes.len(),
            envelope.len(),
            text.len()
        );
        write(name, format!("{text}\n"))?;
    }
    write("nav_tree.json", format!("{}\n", to_json(&json!(items))?))?;

    let roles: serde_json::Map<String, Value> = ROLE_DEFS
        .iter()
        .map(|(role, _, permissions)| ((*role).to_owned(), json!(expand(permissions))))
        .collect();
    let model = json!({
        "principal": "alice",
        "issued_at": ISSUED_AT,
        "expires_at": EXPIRES_AT,
        "cap_allow": CAP_ALLOW,
        "roles": roles,
        "facts": facts_value,
    });
    write("model.json", format!("{}\n", to_json(&model)?))?;
    Ok(())
}
