//! `POST /v1/orgs/{org}/apply` (docs/documents.md §9.3): a random org
//! exported, applied into an empty org of a second store and exported
//! again, byte-equal, every decision the same; a second apply a no-op; a
//! dry run that writes nothing; each invariant a document can break
//! refused with its code and its pointer, the store unchanged.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Manifest;
use tessera_core::testing::model_from_seed;

use crate::access::{check as decide, node_paths, paired};
use crate::common::{self, TestServer};
use crate::http_util::{self, FLEET, store_revision};

async fn export(server: &TestServer, org: &str) -> String {
    let response = server
        .request(Method::GET, &format!("/v1/orgs/{org}/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

async fn apply(server: &TestServer, org: &str, document: &Value, dry_run: bool) -> (u16, Value) {
    server
        .call(
            Method::POST,
            &format!("/v1/orgs/{org}/apply"),
            Some(json!({"document": document, "dry_run": dry_run})),
        )
        .await
}

async fn audit_rows(server: &TestServer, org: &str) -> usize {
    let (status, rows) = server
        .call(Method::GET, &format!("/v1/orgs/{org}/audit"), None)
        .await;
    assert_eq!(status, 200, "{rows}");
    rows.as_array().unwrap().len()
}

async fn round_trips(db: &common::TestDb) {
    let (mut questions, mut steps) = (0, 0);
    for seed in [5_u64, 23] {
        let model = model_from_seed(seed);
        let manifest = Manifest::from_toml(&model.manifest_toml).unwrap();
        let model = paired(model, &manifest);
        let file =
            std::env::temp_dir().join(format!("tessera_apply_{seed}_{}.toml", std::process::id()));
        std::fs::write(&file, &model.manifest_toml).unwrap();
        let manifest_path = file.to_str().unwrap();
        let org = model.facts.org.as_str();

        let source_db = common::TestDb::new(db.backend).await;
        let store = source_db.store().await;
        common::import(&store, &manifest, &model.facts).await;
        store.close().await;
        let source = TestServer::start(&source_db, manifest_path).await;
        let text = export(&source, org).await;
        let document: Value = serde_json::from_str(&text).unwrap();

        // Users are global: each seed's target is a store of its own.
        let target_db = common::TestDb::new(db.backend).await;
        let target = TestServer::start(&target_db, manifest_path).await;
        let (status, planned) = apply(&target, org, &document, true).await;
        assert_eq!(status, 200, "seed {seed}: {planned}");
        assert_eq!(planned["applied"], false);
        assert_eq!(
            planned["plan"][0],
            json!({"kind": "org", "op": "create", "target": org, "pointer": "/org"})
        );
        let (status, applied) = apply(&target, org, &document, false).await;
        assert_eq!(status, 200, "seed {seed}: {applied}");
        assert_eq!(applied["applied"], true);
        assert_eq!(
            applied["plan"], planned["plan"],
            "the dry run's plan is the one applied"
        );
        steps += applied["plan"].as_array().unwrap().len();
        assert_eq!(
            export(&target, org).await,
            text,
            "seed {seed}: byte-equal after a round trip"
        );
        let rows = audit_rows(&target, org).await;
        assert_eq!(
            rows,
            applied["plan"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|step| step["kind"] != "user")
                .count()
                + 1,
            "one audit row per step of the org, one for the apply"
        );

        let keys: Vec<String> = manifest
            .catalog
            .entries()
            .iter()
            .map(|entry| entry.key.clone())
            .collect();
        let mut paths = node_paths(&model.facts);
        paths.insert(0, Vec::new());
        let mut principals: Vec<String> = document["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|user| user["id"].as_str().unwrap().to_owned())
            .collect();
        principals.push("anonymous".to_owned());
        for permission in keys.iter().step_by(2) {
            for path in &paths {
                for principal in &principals {
                    assert_eq!(
                        decide(&target, org, principal, permission, path).await,
                        decide(&source, org, principal, permission, path).await,
                        "seed {seed}: {principal} {permission} at {path:?}"
                    );
                    questions += 1;
                }
            }
        }

        // Again: an empty plan, nothing written.
        let revision = store_revision(&target_db, org).await;
        let (status, again) = apply(&target, org, &document, false).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(
            (&again["plan"], &again["applied"]),
            (&json!([]), &json!(false))
        );
        assert_eq!(
            store_revision(&target_db, org).await,
            revision,
            "no revision bump"
        );
        assert_eq!(audit_rows(&target, org).await, rows, "no audit row");
        source.stop().await;
        target.stop().await;
    }
    println!("apply round trips: {steps} steps applied, {questions} decisions compared");
}

both_backends!(a_document_round_trips_into_another_store, round_trips);

/// A refused document: what it breaks, who applies it, the document, the
/// status, code and pointer.
type Case<'a> = (
    &'a str,
    Option<&'a str>,
    Value,
    u16,
    &'a str,
    Option<String>,
);

/// Calls `apply` as `actor` (a user id) when given.
async fn apply_as(
    server: &TestServer,
    actor: Option<&str>,
    document: &Value,
    dry_run: bool,
) -> (u16, Value) {
    let mut request = server
        .request(Method::POST, "/v1/orgs/acme/apply")
        .json(&json!({"document": document, "dry_run": dry_run}));
    if let Some(actor) = actor {
        request = request.header("tessera-actor", actor);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn refusals(db: &common::TestDb) {
    http_util::import_fleet(db).await;
    let server = TestServer::start(db, FLEET).await;
    let call = |method, path: &'static str, body| server.call(method, path, Some(body));
    // alice alone holds the guarded SUPER_ADMIN at the root; dave holds the
    // three [admin] keys (and their reads) only; globex has a group.
    let (status, body) = call(
        Method::POST,
        "/v1/orgs/acme/assignments",
        json!({"subject": "user:alice", "role": "SUPER_ADMIN"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(Method::PUT, "/v1/users/dave", json!({"name": "Dave"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = server
        .call(Method::PUT, "/v1/orgs/acme/members/dave", None)
        .await;
    assert_eq!(status, 204);
    let keys = json!([
        "user:read",
        "user:manage",
        "role:read",
        "role:manage",
        "site:read",
        "site:manage"
    ]);
    let (status, keymaster) = call(
        Method::POST,
        "/v1/orgs/acme/roles",
        json!({"name": "Keymaster", "permissions": keys}),
    )
    .await;
    assert_eq!(status, 201, "{keymaster}");
    let (status, body) = call(
        Method::POST,
        "/v1/orgs/acme/assignments",
        json!({"subject": "user:dave", "role": keymaster["id"]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(
        Method::POST,
        "/v1/orgs",
        json!({"id": "globex", "name": "Globex"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(
        Method::POST,
        "/v1/orgs/globex/groups",
        json!({"id": "gx", "name": "Globex people"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let text = export(&server, "acme").await;
    let base: Value = serde_json::from_str(&text).unwrap();
    let revision = store_revision(db, "acme").await;
    let rows = audit_rows(&server, "acme").await;
    let super_admin = base["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a["role"] == "SUPER_ADMIN")
        .unwrap();
    let other_assignment = (super_admin + 1) % base["assignments"].as_array().unwrap().len();
    let viewer = base["roles"]
        .as_array()
        .unwrap()
        .iter()
        .position(|role| role["name"] == "Viewer")
        .unwrap();
    let viewer_id = base["roles"][viewer]["id"].clone();
    let roles = base["roles"].as_array().unwrap().len();
    let users = base["users"].as_array().unwrap().len();
    let edit = |change: &dyn Fn(&mut Value)| {
        let mut document = base.clone();
        change(&mut document);
        document
    };
    let cases: Vec<Case> = vec![
        (
            "a newer format",
            None,
            edit(&|d| d["format"] = json!("tessera.org/2")),
            400,
            "BAD_REQUEST",
            Some("/format".into()),
        ),
        (
            "another org's document",
            None,
            edit(&|d| d["org"]["id"] = json!("globex")),
            400,
            "BAD_REQUEST",
            Some("/org/id".into()),
        ),
        (
            "an unknown field",
            None,
            edit(&|d| d["settings"]["colour"] = json!("red")),
            400,
            "BAD_REQUEST",
            Some("/settings/colour".into()),
        ),
        (
            "the last superuser demoted",
            None,
            edit(&|d| {
                d["users"].as_array_mut().unwrap().push(json!({"id": "root", "name": "Platform operator", "superuser": false, "active": true}))
            }),
            409,
            "LAST_SUPERUSER",
            Some(format!("/users/{users}")),
        ),
        (
            "the guarded role's last holder",
            None,
            edit(&|d| {
                d["assignments"].as_array_mut().unwrap().remove(super_admin);
            }),
            409,
            "LAST_GUARDED_ASSIGNMENT",
            None,
        ),
        (
            "a read-pairing violation",
            None,
            edit(&|d| d["roles"][viewer]["permissions"] = json!(["miner:reboot"])),
            400,
            "READ_PAIRING_VIOLATION",
            Some(format!("/roles/{viewer}")),
        ),
        (
            "an unknown permission",
            None,
            edit(&|d| d["roles"][viewer]["permissions"] = json!(["miner:fly"])),
            400,
            "UNKNOWN_PERMISSION",
            Some(format!("/roles/{viewer}")),
        ),
        (
            "a reserved role name",
            None,
            edit(&|d| {
                d["roles"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"id": "r-new", "name": "super_admin", "permissions": []}))
            }),
            400,
            "RESERVED_ROLE_NAME",
            Some(format!("/roles/{roles}")),
        ),
        (
            "an immutable built-in",
            None,
            edit(&|d| {
                d["roles"].as_array_mut().unwrap().push(json!({"id": "SUPER_ADMIN", "name": "SUPER_ADMIN", "builtin": "SUPER_ADMIN", "permissions": []}))
            }),
            403,
            "BUILTIN_ROLE_IMMUTABLE",
            Some(format!("/roles/{roles}")),
        ),
        (
            "the reserved admin group",
            None,
            edit(&|d| {
                d["groups"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"id": "admin", "name": "Admins", "default": false, "members": []}))
            }),
            409,
            "RESERVED_GROUP",
            Some("/groups/1".into()),
        ),
        (
            "a group cycle",
            None,
            edit(&|d| {
                let groups = d["groups"].as_array_mut().unwrap();
                groups.push(
                    json!({"id": "g1", "name": "One", "default": false, "members": ["group:g2"]}),
                );
                groups.push(
                    json!({"id": "g2", "name": "Two", "default": false, "members": ["group:g1"]}),
                );
            }),
            400,
            "GROUP_CYCLE",
            Some("/groups/2/members/0".into()),
        ),
        (
            // After two good ones: the apply's one statement for the three
            // inserts nothing, and their writes one by one name the third.
            "another org's group",
            None,
            edit(&|d| {
                let assignments = d["assignments"].as_array_mut().unwrap();
                for (id, node) in [("a-v1", "site:1"), ("a-v2", "site:2")] {
                    assignments.push(json!({"id": id, "subject": "user:carol", "role": viewer_id, "scope": node, "owner_only": true}));
                }
                assignments.push(json!({"id": "a-x", "subject": "group:gx", "role": viewer_id, "scope": null, "owner_only": false}));
            }),
            404,
            "NOT_FOUND",
            Some(format!(
                "/assignments/{}",
                base["assignments"].as_array().unwrap().len() + 2
            )),
        ),
        (
            // Creates run before deletes: the changed entry's old self
            // still holds the id when it would be created.
            "a changed assignment that keeps its id",
            None,
            edit(&|d| {
                let changed = &mut d["assignments"][other_assignment]["owner_only"];
                *changed = json!(!changed.as_bool().unwrap());
            }),
            409,
            "NAME_TAKEN",
            Some(format!("/assignments/{other_assignment}/id")),
        ),
        (
            "two new assignments with one id",
            None,
            edit(&|d| {
                let assignments = d["assignments"].as_array_mut().unwrap();
                for node in ["site:1", "site:2"] {
                    assignments.push(json!({"id": "a-twice", "subject": "user:carol", "role": viewer_id, "scope": node, "owner_only": true}));
                }
            }),
            400,
            "BAD_REQUEST",
            Some(format!(
                "/assignments/{}/id",
                base["assignments"].as_array().unwrap().len() + 1
            )),
        ),
        (
            "two new hidden entries with one id",
            None,
            edit(&|d| {
                let hidden = d["hidden"].as_array_mut().unwrap();
                for node in ["miner:11", "miner:21"] {
                    hidden.push(json!({"id": "h-twice", "selector": "user:carol", "node": node}));
                }
            }),
            400,
            "BAD_REQUEST",
            Some(format!(
                "/hidden/{}/id",
                base["hidden"].as_array().unwrap().len() + 1
            )),
        ),
        (
            "an escalation",
            Some("dave"),
            edit(&|d| {
                d["assignments"].as_array_mut().unwrap().push(json!({"id": "a-y", "subject": "user:dave", "role": "FIELD_TECH", "scope": "site:1", "owner_only": false}))
            }),
            403,
            "ESCALATION_DENIED",
            Some(format!(
                "/assignments/{}",
                base["assignments"].as_array().unwrap().len()
            )),
        ),
    ];
    for (what, actor, document, status, code, pointer) in cases {
        for dry_run in [true, false] {
            let (got, body) = apply_as(&server, actor, &document, dry_run).await;
            assert_eq!(
                (got, body["error"]["code"].as_str()),
                (status, Some(code)),
                "{what} (dry run {dry_run}): {body}"
            );
            assert_eq!(
                body["error"]["details"]["pointer"].as_str(),
                pointer.as_deref(),
                "{what}: {body}"
            );
        }
        assert_eq!(
            export(&server, "acme").await,
            text,
            "{what}: nothing written"
        );
        assert_eq!(
            store_revision(db, "acme").await,
            revision,
            "{what}: no bump"
        );
        assert_eq!(
            audit_rows(&server, "acme").await,
            rows,
            "{what}: no audit row"
        );
    }

    // A dry run of a good document: its plan and whom it changes; nothing written.
    let hide = edit(&|d| {
        d["hidden"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": "h-new", "selector": "user:carol", "node": "miner:11"}))
    });
    let (status, planned) = apply_as(&server, None, &hide, true).await;
    assert_eq!(status, 200, "{planned}");
    assert_eq!(
        planned["plan"],
        json!([{"kind": "hidden", "op": "create", "target": "h-new", "pointer": format!("/hidden/{}", base["hidden"].as_array().unwrap().len())}])
    );
    assert_eq!(planned["principals_affected"], 1, "carol: {planned}");
    assert_eq!(
        planned["counts"],
        json!({"hidden": {"create": 1, "update": 0, "delete": 0}})
    );
    assert_eq!(
        export(&server, "acme").await,
        text,
        "a dry run writes nothing"
    );
    // Then applied, as dave (who holds site:manage and sees miner:11).
    let (status, applied) = apply_as(&server, Some("dave"), &hide, false).await;
    assert_eq!(
        (status, &applied["applied"]),
        (200, &json!(true)),
        "{applied}"
    );
    assert_eq!(store_revision(db, "acme").await, revision + 1, "one bump");
    assert_eq!(
        audit_rows(&server, "acme").await,
        rows + 2,
        "the hidden entry's row and the apply's"
    );
    let after: Value = serde_json::from_str(&export(&server, "acme").await).unwrap();
    assert!(
        after["hidden"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"] == "h-new"),
        "the document's id is kept"
    );
    server.stop().await;

    // The CLI: the plan as a table; without a terminal, `--yes` applies.
    let mut document = after;
    document["hidden"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "h-cli", "selector": "user:vic", "node": "miner:11"}));
    let file = std::env::temp_dir().join(format!(
        "tessera_apply_{:?}_{}.json",
        db.backend,
        std::process::id()
    ));
    std::fs::write(&file, document.to_string()).unwrap();
    let file = file.to_str().unwrap();
    let asked = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["apply", "--org", "acme", file, "--manifest", FLEET])
        .current_dir(common::repo_root())
        .env("DATABASE_URL", &db.url)
        .env_remove("TESSERA_DATA_DIR")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let table = String::from_utf8(asked.stdout).unwrap();
    assert_eq!(asked.status.code(), Some(1), "not confirmed: {table}");
    assert!(table.contains("hidden       create h-cli"), "{table}");
    assert!(table.ends_with("1 steps: hidden create 1\n"), "{table}");
    let applied = common::tessera_cli(
        db,
        &["apply", "--org", "acme", file, "--yes", "--manifest", FLEET],
    )
    .await;
    assert!(
        applied.contains("Applied 1 steps to the org `acme`"),
        "{applied}"
    );
    let again = common::tessera_cli(
        db,
        &["apply", "--org", "acme", file, "--yes", "--manifest", FLEET],
    )
    .await;
    assert!(again.starts_with("No changes"), "{again}");
}

both_backends!(
    an_apply_refuses_with_its_code_and_pointer_and_writes_nothing,
    refusals
);

/// Each example's demo org (`serve --demo`'s) applies into an empty store
/// and exports as the very file: valid, and canonical.
async fn demos(db: &common::TestDb) {
    for (example, org) in [("fleet", "acme"), ("media", "arcade"), ("wiki", "otter")] {
        let fresh = common::TestDb::new(db.backend).await;
        let manifest = format!("examples/{example}/manifest.toml");
        let server = TestServer::start(&fresh, &manifest).await;
        let text = std::fs::read_to_string(
            common::repo_root().join(format!("examples/{example}/demo.json")),
        )
        .unwrap();
        let document: Value = serde_json::from_str(&text).unwrap();
        let (status, applied) = apply(&server, org, &document, false).await;
        assert_eq!(status, 200, "{example}: {applied}");
        assert_eq!(export(&server, org).await, text, "{example}: canonical");
        server.stop().await;
    }
}

both_backends!(the_example_demo_orgs_apply_as_they_are, demos);

/// An apply over a quota is refused, counted once at its end, and writes
/// nothing; one that ends within it passes, at the quota exactly.
async fn quotas(db: &common::TestDb) {
    http_util::import_fleet(db).await;
    // The fleet has 6 nodes: room for one more.
    let server = TestServer::start_with(db, FLEET, |config| config.quotas.nodes = 7).await;
    let text = export(&server, "acme").await;
    let base: Value = serde_json::from_str(&text).unwrap();
    let with = |count: usize| {
        let mut document = base.clone();
        for at in 0..count {
            document["nodes"]
                .as_array_mut()
                .unwrap()
                .push(json!({"node": format!("site:{}", 100 + at), "parent": null}));
        }
        document
    };
    let (status, refused) = apply(&server, "acme", &with(2), false).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (409, &json!("QUOTA_EXCEEDED")),
        "{refused}"
    );
    assert_eq!(refused["error"]["details"]["quota"], "nodes");
    assert_eq!(export(&server, "acme").await, text, "nothing written");
    let (status, applied) = apply(&server, "acme", &with(1), false).await;
    assert_eq!(
        (status, &applied["applied"]),
        (200, &json!(true)),
        "{applied}"
    );
    server.stop().await;
}

both_backends!(an_apply_over_a_quota_writes_nothing, quotas);

/// An entry listed twice where the document does not refuse it (a user,
/// a member, a node, a group's member): its second step finds the write
/// done and changes nothing, and the apply goes on in its transaction.
async fn repeats(db: &common::TestDb) {
    http_util::import_fleet(db).await;
    let server = TestServer::start(db, FLEET).await;
    let base: Value = serde_json::from_str(&export(&server, "acme").await).unwrap();
    let mut document = base.clone();
    let twice = |list: &mut Value, entry: Value| {
        let list = list.as_array_mut().unwrap();
        list.push(entry.clone());
        list.push(entry);
    };
    twice(
        &mut document["users"],
        json!({"id": "erin", "name": "Erin", "superuser": false, "active": true}),
    );
    twice(&mut document["members"], json!("erin"));
    twice(
        &mut document["nodes"],
        json!({"node": "site:77", "parent": null}),
    );
    twice(&mut document["groups"][0]["members"], json!("user:erin"));
    let (status, applied) = apply(&server, "acme", &document, false).await;
    assert_eq!(
        (status, &applied["applied"]),
        (200, &json!(true)),
        "{applied}"
    );
    let after: Value = serde_json::from_str(&export(&server, "acme").await).unwrap();
    let count = |list: &Value, wanted: &Value| {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|entry| *entry == wanted || entry.get("node") == Some(wanted))
            .count()
    };
    assert_eq!(count(&after["members"], &json!("erin")), 1, "{after}");
    assert_eq!(count(&after["nodes"], &json!("site:77")), 1, "{after}");
    assert_eq!(
        count(&after["groups"][0]["members"], &json!("user:erin")),
        1,
        "{after}"
    );
    server.stop().await;
}

both_backends!(an_entry_listed_twice_is_written_once, repeats);

/// The CLI's progress without a terminal: a line per tenth on stderr for
/// an apply of 200 steps or more and for an export of 200 entries or
/// more, none for a short one; stdout keeps the table and the document.
async fn progress(db: &common::TestDb) {
    let run = |args: Vec<String>| {
        let url = db.url.clone();
        async move {
            let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
                .args(&args)
                .current_dir(common::repo_root())
                .env("DATABASE_URL", url)
                .env_remove("TESSERA_DATA_DIR")
                .stdin(std::process::Stdio::null())
                .output()
                .await
                .unwrap();
            assert!(output.status.success(), "tessera {args:?}: {output:?}");
            let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
            (text(output.stdout), text(output.stderr))
        }
    };
    let cli = |words: &[&str]| {
        let mut args: Vec<String> = words.iter().map(|word| (*word).to_owned()).collect();
        args.extend(["--manifest".to_owned(), FLEET.to_owned()]);
        args
    };
    http_util::import_fleet(db).await;
    let (acme, _) = run(cli(&["export", "--org", "acme"])).await;
    let mut document: Value = serde_json::from_str(&acme).unwrap();
    document["org"]["id"] = json!("wide");
    for at in 0..250 {
        document["nodes"]
            .as_array_mut()
            .unwrap()
            .push(json!({"node": format!("site:{}", 100 + at), "parent": null}));
    }
    let file = std::env::temp_dir().join(format!(
        "tessera_progress_{:?}_{}.json",
        db.backend,
        std::process::id()
    ));
    std::fs::write(&file, document.to_string()).unwrap();
    let file = file.to_str().unwrap();

    let (table, shown) = run(cli(&["apply", "--org", "wide", file, "--yes"])).await;
    let steps = table
        .lines()
        .last()
        .and_then(|line| line.strip_prefix("Applied "))
        .and_then(|rest| rest.split_once(' '))
        .map(|(steps, _)| steps.parse::<usize>().unwrap())
        .unwrap_or_else(|| panic!("{table}"));
    assert!(steps > 250, "{table}");
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 10, "a line per tenth: {shown}");
    assert_eq!(
        lines[0],
        format!("applied {} of {steps} steps (10%)", steps.div_ceil(10))
    );
    assert_eq!(lines[9], format!("applied {steps} of {steps} steps (100%)"));

    let (text, shown) = run(cli(&["export", "--org", "wide"])).await;
    let exported: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        exported["nodes"].as_array().unwrap().len(),
        document["nodes"].as_array().unwrap().len()
    );
    let last = shown.lines().last().unwrap_or_default();
    let (done, total) = last
        .strip_prefix("read ")
        .and_then(|rest| rest.strip_suffix(" entries (100%)"))
        .and_then(|rest| rest.split_once(" of "))
        .unwrap_or_else(|| panic!("the export's progress, on stderr: {shown}"));
    assert_eq!(done, total, "{shown}");

    let (_, shown) = run(cli(&["export", "--org", "acme"])).await;
    assert_eq!(shown, "", "a small export shows no progress");
    std::fs::remove_file(file).unwrap();
}

both_backends!(the_cli_shows_progress_on_long_applies_and_exports, progress);
