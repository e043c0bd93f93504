//! The committed snapshot fixture that the independent Node decoder
//! (`tests/node/format.test.mjs`) reads. The fixture is regenerated here
//! and must equal what is committed (Ed25519 signatures are deterministic),
//! so docs/format.md, the Rust encoder and the Node decoder cannot drift apart.
//! Run with `TESSERA_BLESS=1` to rewrite it after a deliberate format change.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test setup fails loudly"
)]

use tessera_core::{CompileRequest, Facts, Manifest, NodeKey, SigningKey, compile, to_text};
use tessera_tests::repo_root;

const FACTS: &str = r#"{
  "org": "acme",
  "revision": 42,
  "users": [{"id": "alice", "name": "Alice Example"}],
  "members": ["alice"],
  "groups": [{"id": "members", "name": "members", "default": true}, {"id": "techs", "name": "Field Techs"}],
  "group_members": [{"group": "techs", "member": "user:alice"}],
  "nodes": [
    {"node": "site:1", "parent": null},
    {"node": "rack:1", "parent": "site:1"},
    {"node": "miner:9", "parent": "rack:1"}
  ],
  "assignments": [
    {"id": "a1", "subject": "user:alice", "role": "ADMIN", "scope": null},
    {"id": "a2", "subject": "group:techs", "role": "FIELD_TECH", "scope": "site:1"}
  ],
  "hidden": [{"id": "h1", "selector": "user:alice", "node": "miner:9"}],
  "caps": [{"id": "c1", "selector": "members", "scope": "rack:1", "allow": ["fleet:read", "miner:read", "rack:read"]}]
}"#;

#[test]
fn committed_fixture_matches_the_encoder() {
    let root = repo_root();
    let manifest = Manifest::from_toml(
        &std::fs::read_to_string(root.join("examples/fleet/manifest.toml")).unwrap(),
    )
    .unwrap();
    let facts: Facts = serde_json::from_str(FACTS).unwrap();
    let under = ["site:1".parse::<NodeKey>().unwrap()];
    let scopes = [
        "miner:read".to_owned(),
        "fleet:read".to_owned(),
        "rack:read".to_owned(),
    ];
    let key = SigningKey::from_seed("fixture-key", &[42; 32]);
    let payload = compile(
        &manifest,
        &facts,
        &CompileRequest {
            principal: "alice",
            token_scopes: Some(&scopes),
            under: Some(&under),
            issued_at: 1_700_000_000,
            expires_at: 1_700_000_300,
            kid: "fixture-key",
            provenance: true,
            hash_seed: 0,
        },
    )
    .unwrap();
    let envelope = key.sign(&payload).unwrap();
    let jwks = format!(
        "{{\"keys\":[{}]}}\n",
        serde_json::to_string(&key.jwk()).unwrap()
    );
    let mut decoded = serde_json::to_string_pretty(&payload).unwrap();
    decoded.push('\n');
    let files = [
        ("snapshot.bin", envelope.clone()),
        (
            "snapshot.txt",
            format!("{}\n", to_text(&envelope)).into_bytes(),
        ),
        ("jwks.json", jwks.into_bytes()),
        ("payload.json", decoded.into_bytes()),
    ];
    let dir = root.join("tests/fixtures/format");
    let bless = std::env::var_os("TESSERA_BLESS").is_some();
    for (name, bytes) in files {
        let path = dir.join(name);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == bytes,
            "{} differs from the encoder's output; rerun with TESSERA_BLESS=1 if the format change is deliberate",
            path.display()
        );
    }
}
