//! The model endpoints of docs/http.md §6 against a real bound server, on SQLite
//! and Postgres: each endpoint's success status and shape (issue 4), and
//! each admin error code of docs/admin.md §5 reached through HTTP with its status
//! and the error shape. (The library tests check that a refused write
//! changes nothing row by row; here a refusal sweep checks that no audit
//! row was appended and no revision bumped.)

use crate::common;
use crate::http_util;

use reqwest::Method;
use serde_json::{Value, json};

use common::{TestDb, TestServer};
use http_util::{
    CATALOG, FIELD_TECH, FLEET, Problems, assert_error, build_fleet, call_as, check_body, expect,
    id_of, store_revision,
};

const ROLE_KEYS: [&str; 6] = ["builtin", "guarded", "id", "mode", "name", "permissions"];

fn keys_of(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn find<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .find(|item| item["id"] == id)
}

async fn claims(server: &TestServer, principal: &str) -> Value {
    let answer = expect(
        server,
        Method::GET,
        &format!("/v1/orgs/acme/claims?principal={principal}"),
        None,
        200,
    )
    .await;
    answer["claims"].clone()
}

async fn decide(server: &TestServer, principal: &str, permission: &str, path: &[&str]) -> Value {
    let body = check_body(principal, permission, path);
    let answer = expect(server, Method::POST, "/v1/check", Some(body), 200).await;
    answer["decision"].clone()
}

async fn success_shapes(db: &TestDb) {
    use Method as M;
    let server = TestServer::start(db, FLEET).await;
    let s = &server;

    // Orgs and users.
    let org = expect(
        s,
        M::POST,
        "/v1/orgs",
        Some(json!({"id": "acme", "name": "Acme"})),
        201,
    )
    .await;
    assert_eq!(org, json!({"id": "acme", "name": "Acme"}));
    let root = expect(
        s,
        M::PUT,
        "/v1/users/root",
        Some(json!({"name": "Root", "superuser": true})),
        200,
    )
    .await;
    assert_eq!(
        root,
        json!({"id": "root", "name": "Root", "superuser": true, "active": true})
    );
    let alice = expect(
        s,
        M::PUT,
        "/v1/users/alice",
        Some(json!({"name": "Alice"})),
        200,
    )
    .await;
    assert_eq!(
        alice,
        json!({"id": "alice", "name": "Alice", "superuser": false, "active": true})
    );
    let alice = expect(
        s,
        M::PUT,
        "/v1/users/alice",
        Some(json!({"name": "Alice A.", "active": false})),
        200,
    )
    .await;
    assert_eq!(
        alice,
        json!({"id": "alice", "name": "Alice A.", "superuser": false, "active": false})
    );
    let alice = expect(
        s,
        M::PUT,
        "/v1/users/alice",
        Some(json!({"active": true})),
        200,
    )
    .await;
    assert_eq!(
        alice,
        json!({"id": "alice", "name": "Alice A.", "superuser": false, "active": true}),
        "absent fields keep their value"
    );
    for user in ["bob", "carol"] {
        expect(
            s,
            M::PUT,
            &format!("/v1/users/{user}"),
            Some(json!({"name": user})),
            200,
        )
        .await;
    }
    for user in ["alice", "bob", "carol"] {
        let body = expect(
            s,
            M::PUT,
            &format!("/v1/orgs/acme/members/{user}"),
            None,
            204,
        )
        .await;
        assert_eq!(body, Value::Null, "204 has no body");
    }
    expect(s, M::PUT, "/v1/orgs/acme/members/alice", None, 204).await;
    let found = expect(s, M::GET, "/v1/orgs/acme/members?search=AR", None, 200).await;
    assert_eq!(
        found,
        json!([{"id": "carol", "name": "carol"}]),
        "id or name, either case"
    );
    let found = expect(s, M::GET, "/v1/orgs/acme/members?limit=2", None, 200).await;
    assert_eq!(
        found,
        json!([{"id": "alice", "name": "Alice A."}, {"id": "bob", "name": "bob"}]),
        "every member by id, at most `limit`"
    );
    let found = expect(s, M::GET, "/v1/orgs/acme/members?search=%25", None, 200).await;
    assert_eq!(found, json!([]), "`%` is matched literally");

    // Groups.
    let groups = expect(s, M::GET, "/v1/orgs/acme/groups", None, 200).await;
    assert_eq!(
        find(&groups, "members"),
        Some(&json!({"id": "members", "name": "members", "default": true, "members": []})),
        "{groups}"
    );
    assert!(
        find(&groups, "admin").is_some(),
        "the reserved group exists: {groups}"
    );
    let techs = expect(
        s,
        M::POST,
        "/v1/orgs/acme/groups",
        Some(json!({"name": "Techs"})),
        201,
    )
    .await;
    assert_eq!(keys_of(&techs), ["default", "id", "name"]);
    assert_eq!(
        (&techs["name"], &techs["default"]),
        (&json!("Techs"), &json!(false))
    );
    let techs = id_of(&techs);
    let night = expect(
        s,
        M::POST,
        "/v1/orgs/acme/groups",
        Some(json!({"name": "Night shift", "default": true})),
        201,
    )
    .await;
    assert_eq!(night["default"], true);
    let night = id_of(&night);
    assert_ne!(techs, night);
    let renamed = expect(
        s,
        M::PATCH,
        &format!("/v1/orgs/acme/groups/{techs}"),
        Some(json!({"name": "Technicians"})),
        200,
    )
    .await;
    assert_eq!(
        renamed,
        json!({"id": techs, "name": "Technicians", "default": false})
    );
    let groups = expect(s, M::GET, "/v1/orgs/acme/groups", None, 200).await;
    let mut listed = renamed.clone();
    listed["members"] = json!([]);
    assert_eq!(find(&groups, &techs), Some(&listed));
    // Memberships, seen through claims (nesting is transitive).
    assert_eq!(
        claims(s, "carol").await,
        json!(["groups.Night shift", "groups.members", "users.carol"]),
        "group-less: every default group"
    );
    expect(
        s,
        M::PUT,
        &format!("/v1/orgs/acme/groups/{techs}/members/user/carol"),
        None,
        204,
    )
    .await;
    expect(
        s,
        M::PUT,
        &format!("/v1/orgs/acme/groups/{night}/members/group/{techs}"),
        None,
        204,
    )
    .await;
    assert_eq!(
        claims(s, "carol").await,
        json!(["groups.Night shift", "groups.Technicians", "users.carol"])
    );
    let groups = expect(s, M::GET, "/v1/orgs/acme/groups", None, 200).await;
    assert_eq!(
        (
            &find(&groups, &night).unwrap()["members"],
            &find(&groups, &techs).unwrap()["members"]
        ),
        (&json!([format!("group:{techs}")]), &json!(["user:carol"])),
        "each group's direct members: {groups}"
    );
    expect(
        s,
        M::DELETE,
        &format!("/v1/orgs/acme/groups/{night}/members/group/{techs}"),
        None,
        204,
    )
    .await;
    assert_eq!(
        claims(s, "carol").await,
        json!(["groups.Technicians", "users.carol"])
    );

    // Roles.
    let roles = expect(s, M::GET, "/v1/orgs/acme/roles", None, 200).await;
    let mut admin: Vec<&str> = CATALOG.to_vec();
    admin.retain(|key| *key != "user:manage" && *key != "role:manage");
    for (key, mode, guarded, permissions) in [
        ("SUPER_ADMIN", "immutable", true, CATALOG.to_vec()),
        ("ADMIN", "editable", false, admin),
        ("FIELD_TECH", "editable", false, FIELD_TECH.to_vec()),
    ] {
        let role = roles
            .as_array()
            .unwrap()
            .iter()
            .find(|role| role["builtin"] == key)
            .unwrap_or_else(|| panic!("{key} in {roles}"));
        assert_eq!(keys_of(role), ROLE_KEYS, "{role}");
        assert_eq!(
            (&role["mode"], &role["guarded"], &role["permissions"]),
            (&json!(mode), &json!(guarded), &json!(permissions)),
            "{key}"
        );
    }
    for role in roles.as_array().unwrap() {
        assert_eq!(keys_of(role), ROLE_KEYS, "{role}");
    }
    let viewer = expect(
        s,
        M::POST,
        "/v1/orgs/acme/roles",
        Some(json!({"name": "Viewer", "permissions": ["rack:read", "miner:read", "fleet:read"]})),
        201,
    )
    .await;
    assert_eq!(keys_of(&viewer), ROLE_KEYS);
    let viewer_id = id_of(&viewer);
    assert_eq!(
        viewer,
        json!({"id": viewer_id, "name": "Viewer", "builtin": null, "mode": "custom", "guarded": false, "permissions": ["fleet:read", "miner:read", "rack:read"]}),
        "permissions in catalog order"
    );
    let empty = expect(
        s,
        M::POST,
        "/v1/orgs/acme/roles",
        Some(json!({"name": "Nothing", "permissions": []})),
        201,
    )
    .await;
    assert_eq!(empty["permissions"], json!([]));
    let patched = expect(
        s,
        M::PATCH,
        &format!("/v1/orgs/acme/roles/{viewer_id}"),
        Some(json!({"permissions": ["site:read", "rack:read"]})),
        200,
    )
    .await;
    assert_eq!(
        patched,
        json!({"id": viewer_id, "name": "Viewer", "builtin": null, "mode": "custom", "guarded": false, "permissions": ["rack:read", "site:read"]})
    );
    let patched = expect(
        s,
        M::PATCH,
        &format!("/v1/orgs/acme/roles/{viewer_id}"),
        Some(json!({"name": "Watcher"})),
        200,
    )
    .await;
    assert_eq!(
        (&patched["name"], &patched["permissions"]),
        (&json!("Watcher"), &json!(["rack:read", "site:read"]))
    );
    let tech = expect(
        s,
        M::PATCH,
        "/v1/orgs/acme/roles/FIELD_TECH",
        Some(json!({"permissions": ["miner:blink_led", "miner:read", "fleet:read"]})),
        200,
    )
    .await;
    assert_eq!(
        (&tech["builtin"], &tech["mode"], &tech["permissions"]),
        (
            &json!("FIELD_TECH"),
            &json!("editable"),
            &json!(["fleet:read", "miner:read", "miner:blink_led"])
        ),
        "an editable built-in is the operator's"
    );
    let roles = expect(s, M::GET, "/v1/orgs/acme/roles", None, 200).await;
    assert_eq!(find(&roles, &viewer_id), Some(&patched));

    // The catalog a role editor ticks along.
    let catalog = expect(s, M::GET, "/v1/catalog", None, 200).await;
    let entries = catalog["catalog"].as_array().unwrap();
    assert_eq!(
        entries
            .iter()
            .map(|entry| entry["key"].clone())
            .collect::<Vec<_>>(),
        CATALOG.iter().map(|key| json!(key)).collect::<Vec<_>>(),
        "catalog order"
    );
    let entry = |key: &str| entries.iter().find(|entry| entry["key"] == key).unwrap();
    assert_eq!(
        entry("miner:read"),
        &json!({"key": "miner:read", "description": null, "requires": [],
            "required_by": ["miner:blink_led", "miner:reboot", "miner:download_logs",
                "miner:update_pools", "miner:firmware_update"]})
    );
    assert_eq!(entry("miner:reboot")["requires"], json!(["miner:read"]));

    // Nodes.
    for (node, body) in [
        ("site/1", json!({"parent": null})),
        ("site/2", json!({})),
        ("rack/1", json!({"parent": "site:1"})),
        ("miner/7", json!({"parent": "rack:1"})),
    ] {
        let answer = expect(
            s,
            M::PUT,
            &format!("/v1/orgs/acme/nodes/{node}"),
            Some(body),
            204,
        )
        .await;
        assert_eq!(answer, Value::Null);
    }
    expect(
        s,
        M::PUT,
        "/v1/orgs/acme/nodes/rack/1",
        Some(json!({"parent": "site:1"})),
        204,
    )
    .await;
    expect(
        s,
        M::PUT,
        "/v1/orgs/acme/nodes/site/3",
        Some(json!({"parent": null})),
        204,
    )
    .await;
    assert_eq!(
        expect(s, M::GET, "/v1/orgs/acme/nodes", None, 200).await,
        json!([
            {"node": "site:1", "parent": null},
            {"node": "site:2", "parent": null},
            {"node": "site:3", "parent": null},
            {"node": "rack:1", "parent": "site:1"},
            {"node": "miner:7", "parent": "rack:1"},
        ]),
        "parents first, by depth then key"
    );

    // Assignments.
    let tech = expect(
        s,
        M::POST,
        "/v1/orgs/acme/assignments",
        Some(json!({"subject": "user:alice", "role": "FIELD_TECH", "scope": "site:1"})),
        201,
    )
    .await;
    let tech_id = id_of(&tech);
    assert_eq!(
        tech,
        json!({"id": tech_id, "subject": "user:alice", "role": "FIELD_TECH", "scope": "site:1", "owner_only": false})
    );
    assert_eq!(
        decide(
            s,
            "alice",
            "miner:blink_led",
            &["site:1", "rack:1", "miner:7"]
        )
        .await,
        "allow"
    );
    // Re-parenting (the trusted backend may): rack:1, below alice's grant,
    // is a node her snapshot knows, so a path placing it under site:2 is
    // invalid until it is moved there.
    let alice_at = |path: &[&str]| check_body("alice", "miner:read", path);
    let elsewhere = alice_at(&["site:2", "rack:1"]);
    let invalid = json!({"decision": "deny", "diagnostic": "INVALID_PATH"});
    let answer = expect(s, M::POST, "/v1/check", Some(elsewhere.clone()), 200).await;
    assert_eq!(
        (&answer["decision"], &answer["diagnostic"]),
        (&invalid["decision"], &invalid["diagnostic"]),
        "{answer}"
    );
    expect(
        s,
        M::PUT,
        "/v1/orgs/acme/nodes/rack/1",
        Some(json!({"parent": "site:2"})),
        204,
    )
    .await;
    let answer = expect(s, M::POST, "/v1/check", Some(elsewhere.clone()), 200).await;
    assert_eq!(
        (&answer["decision"], answer.get("diagnostic")),
        (&json!("deny"), None),
        "moved: {answer}"
    );
    expect(
        s,
        M::PUT,
        "/v1/orgs/acme/nodes/rack/1",
        Some(json!({"parent": "site:1"})),
        204,
    )
    .await;
    assert_eq!(
        decide(s, "alice", "miner:read", &["site:1", "rack:1"]).await,
        "allow"
    );
    let answer = expect(s, M::POST, "/v1/check", Some(elsewhere), 200).await;
    assert_eq!(answer["diagnostic"], "INVALID_PATH", "moved back: {answer}");
    let group = expect(
        s,
        M::POST,
        "/v1/orgs/acme/assignments",
        Some(json!({"subject": format!("group:{techs}"), "role": viewer_id, "scope": null})),
        201,
    )
    .await;
    assert_eq!(
        (&group["subject"], &group["scope"], &group["owner_only"]),
        (
            &json!(format!("group:{techs}")),
            &Value::Null,
            &json!(false)
        )
    );
    assert_eq!(
        decide(s, "carol", "site:read", &[]).await,
        "allow",
        "carol is in Technicians"
    );
    let owned = expect(
        s,
        M::POST,
        "/v1/orgs/acme/assignments",
        Some(json!({"subject": "@members", "role": viewer_id, "scope": "site:2", "owner_only": true})),
        201,
    )
    .await;
    assert_eq!(
        (&owned["subject"], &owned["owner_only"]),
        (&json!("@members"), &json!(true))
    );
    for subject in ["@everyone", "@authenticated"] {
        let body = json!({"subject": subject, "role": id_of(&empty), "scope": "site:3"});
        let created = expect(s, M::POST, "/v1/orgs/acme/assignments", Some(body), 201).await;
        assert_eq!(created["subject"], subject);
    }
    let assignments = expect(s, M::GET, "/v1/orgs/acme/assignments", None, 200).await;
    assert_eq!(find(&assignments, &tech_id), Some(&tech));
    assert_eq!(find(&assignments, &id_of(&group)), Some(&group));
    assert_eq!(find(&assignments, &id_of(&owned)), Some(&owned));
    assert_eq!(assignments.as_array().unwrap().len(), 5);

    // Hidden entries and caps.
    let hidden = expect(
        s,
        M::POST,
        "/v1/orgs/acme/hidden",
        Some(json!({"selector": "user:bob", "node": "miner:7"})),
        201,
    )
    .await;
    let hidden_id = id_of(&hidden);
    assert_eq!(
        hidden,
        json!({"id": hidden_id, "selector": "user:bob", "node": "miner:7"})
    );
    let not_techs = expect(
        s,
        M::POST,
        "/v1/orgs/acme/hidden",
        Some(json!({"selector": format!("not_group:{techs}"), "node": "miner:7"})),
        201,
    )
    .await;
    assert_eq!(not_techs["selector"], format!("not_group:{techs}"));
    assert_eq!(
        decide(s, "carol", "site:read", &["site:1", "rack:1", "miner:7"]).await,
        "allow",
        "carol is in Technicians"
    );
    assert_eq!(
        decide(s, "alice", "site:read", &["site:1", "rack:1", "miner:7"]).await,
        "not_found",
        "alice is not"
    );
    assert_eq!(
        decide(s, "root", "site:read", &["site:1", "rack:1", "miner:7"]).await,
        "allow",
        "superusers are never selected"
    );
    assert_eq!(
        decide(s, "bob", "site:read", &["site:1", "rack:1", "miner:7"]).await,
        "not_found"
    );
    let listed = expect(s, M::GET, "/v1/orgs/acme/hidden", None, 200).await;
    assert_eq!(find(&listed, &hidden_id), Some(&hidden));
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let cap = expect(
        s,
        M::POST,
        "/v1/orgs/acme/caps",
        Some(json!({"selector": "everyone", "scope": "site:1", "allow": ["miner:read", "fleet:read"]})),
        201,
    )
    .await;
    let cap_id = id_of(&cap);
    assert_eq!(keys_of(&cap), ["allow", "id", "scope", "selector"]);
    assert_eq!(
        (&cap["selector"], &cap["scope"]),
        (&json!("everyone"), &json!("site:1"))
    );
    let mut allow: Vec<&str> = cap["allow"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    allow.sort_unstable();
    assert_eq!(allow, ["fleet:read", "miner:read"]);
    assert_eq!(
        decide(s, "alice", "miner:blink_led", &["site:1"]).await,
        "deny",
        "capped"
    );
    assert_eq!(decide(s, "alice", "miner:read", &["site:1"]).await, "allow");
    let root_cap = expect(
        s,
        M::POST,
        "/v1/orgs/acme/caps",
        Some(json!({"selector": "user:carol", "scope": null, "allow": []})),
        201,
    )
    .await;
    assert_eq!(
        (&root_cap["scope"], &root_cap["allow"]),
        (&Value::Null, &json!([]))
    );
    assert_eq!(decide(s, "carol", "site:read", &[]).await, "deny");
    let caps = expect(s, M::GET, "/v1/orgs/acme/caps", None, 200).await;
    assert_eq!(find(&caps, &cap_id), Some(&cap));
    assert_eq!(caps.as_array().unwrap().len(), 2);

    // Settings: kiosk mode caps anonymous to read keys.
    let everyone = expect(
        s,
        M::POST,
        "/v1/orgs/acme/assignments",
        Some(json!({"subject": "@everyone", "role": "FIELD_TECH", "scope": "site:2"})),
        201,
    )
    .await;
    assert_eq!(
        decide(s, "anonymous", "miner:blink_led", &["site:2"]).await,
        "allow"
    );
    let settings = expect(
        s,
        M::PUT,
        "/v1/orgs/acme/settings",
        Some(json!({"kiosk": true})),
        200,
    )
    .await;
    assert_eq!(settings, json!({"kiosk": true}));
    assert_eq!(
        expect(s, M::GET, "/v1/orgs/acme/settings", None, 200).await,
        json!({"kiosk": true}),
        "read back"
    );
    assert_eq!(
        decide(s, "anonymous", "miner:blink_led", &["site:2"]).await,
        "deny"
    );
    assert_eq!(
        decide(s, "anonymous", "miner:read", &["site:2"]).await,
        "allow"
    );
    expect(
        s,
        M::PUT,
        "/v1/orgs/acme/settings",
        Some(json!({"kiosk": false})),
        200,
    )
    .await;
    assert_eq!(
        decide(s, "anonymous", "miner:blink_led", &["site:2"]).await,
        "allow"
    );

    // Audit: rows after a write, the cursor, the acting user.
    let rows = expect(s, M::GET, "/v1/orgs/acme/audit", None, 200).await;
    let rows = rows.as_array().unwrap().clone();
    assert!(
        rows.len() >= 20,
        "every write appended a row: {}",
        rows.len()
    );
    let ids: Vec<i64> = rows.iter().map(|row| row["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "oldest first: {ids:?}"
    );
    for row in &rows {
        for key in [
            "id", "actor", "action", "target", "before", "after", "revision", "at",
        ] {
            assert!(row.get(key).is_some(), "{key} in {row}");
        }
    }
    let last = *ids.last().unwrap();
    let after = expect(
        s,
        M::GET,
        &format!("/v1/orgs/acme/audit?after={last}"),
        None,
        200,
    )
    .await;
    assert_eq!(after, json!([]));
    let (status, created) = call_as(
        s,
        "root",
        M::POST,
        "/v1/orgs/acme/groups",
        Some(json!({"name": "Audited"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let after = expect(
        s,
        M::GET,
        &format!("/v1/orgs/acme/audit?after={last}"),
        None,
        200,
    )
    .await;
    let after = after.as_array().unwrap();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["actor"], "root");
    assert!(
        after[0]["target"]
            .as_str()
            .unwrap()
            .contains(&id_of(&created)),
        "{}",
        after[0]
    );
    assert_eq!(
        after[0]["revision"].as_u64().unwrap(),
        store_revision(db, "acme").await
    );
    let some = expect(
        s,
        M::GET,
        &format!("/v1/orgs/acme/audit?after={}", ids[2]),
        None,
        200,
    )
    .await;
    assert_eq!(some.as_array().unwrap().len(), rows.len() - 3 + 1);

    // Deletes: 204, gone from the lists, 404 the second time.
    let deletes = [
        format!("/v1/orgs/acme/assignments/{}", id_of(&everyone)),
        format!("/v1/orgs/acme/hidden/{hidden_id}"),
        format!("/v1/orgs/acme/hidden/{}", id_of(&not_techs)),
        format!("/v1/orgs/acme/caps/{cap_id}"),
        format!("/v1/orgs/acme/caps/{}", id_of(&root_cap)),
        format!("/v1/orgs/acme/assignments/{}", id_of(&group)),
        format!("/v1/orgs/acme/assignments/{}", id_of(&owned)),
        format!("/v1/orgs/acme/roles/{viewer_id}"),
        format!("/v1/orgs/acme/groups/{techs}/members/user/carol"),
        format!("/v1/orgs/acme/groups/{techs}"),
        format!("/v1/orgs/acme/groups/{night}"),
        "/v1/orgs/acme/nodes/miner/7".to_owned(),
        "/v1/orgs/acme/members/bob".to_owned(),
    ];
    for path in &deletes {
        let body = expect(s, M::DELETE, path, None, 204).await;
        assert_eq!(body, Value::Null, "{path}");
    }
    for path in &deletes {
        let answer = s.call(M::DELETE, path, None).await;
        assert_error(&format!("DELETE {path} again"), answer, 404, "NOT_FOUND");
    }
    let hidden = expect(s, M::GET, "/v1/orgs/acme/hidden", None, 200).await;
    let caps = expect(s, M::GET, "/v1/orgs/acme/caps", None, 200).await;
    assert_eq!((hidden, caps), (json!([]), json!([])));
    let roles = expect(s, M::GET, "/v1/orgs/acme/roles", None, 200).await;
    assert!(find(&roles, &viewer_id).is_none());
    let groups = expect(s, M::GET, "/v1/orgs/acme/groups", None, 200).await;
    assert!(find(&groups, &techs).is_none() && find(&groups, &night).is_none());
    assert_eq!(
        decide(s, "carol", "site:read", &["site:1", "rack:1", "miner:7"]).await,
        "deny"
    );
    let answer = s
        .call(
            M::POST,
            "/v1/check",
            Some(check_body("bob", "site:read", &["site:1"])),
        )
        .await;
    assert_eq!(
        answer.0, 200,
        "bob is still a user, no longer a member: {answer:?}"
    );
    server.stop().await;
}

both_backends!(model_endpoints_succeed_with_their_shapes, success_shapes);

/// One refusal: who asks, what, and the status and code expected.
struct Refusal {
    what: &'static str,
    actor: Option<&'static str>,
    method: Method,
    path: String,
    body: Option<Value>,
    status: u16,
    code: &'static str,
}

fn refusal(
    what: &'static str,
    actor: Option<&'static str>,
    method: Method,
    path: impl Into<String>,
    body: Option<Value>,
    (status, code): (u16, &'static str),
) -> Refusal {
    Refusal {
        what,
        actor,
        method,
        path: path.into(),
        body,
        status,
        code,
    }
}

async fn audit_len(server: &TestServer, org: &str) -> usize {
    let rows = expect(
        server,
        Method::GET,
        &format!("/v1/orgs/{org}/audit"),
        None,
        200,
    )
    .await;
    rows.as_array().unwrap().len()
}

async fn error_codes(db: &TestDb) {
    use Method as M;
    let server = TestServer::start(db, FLEET).await;
    let s = &server;
    build_fleet(s).await;

    // More of acme: carol may manage roles (and holds miner:read), dave
    // is in Techs, which holds Viewer; groups A ⊃ B; alice is the only
    // direct SUPER_ADMIN; a cap at site:2 and one naming not_group:A.
    for user in ["carol", "dave"] {
        expect(
            s,
            M::PUT,
            &format!("/v1/users/{user}"),
            Some(json!({"name": user})),
            200,
        )
        .await;
        expect(
            s,
            M::PUT,
            &format!("/v1/orgs/acme/members/{user}"),
            None,
            204,
        )
        .await;
    }
    let role = |name: &str, keys: &[&str]| json!({"name": name, "permissions": keys});
    let viewer = id_of(
        &expect(
            s,
            M::POST,
            "/v1/orgs/acme/roles",
            Some(role("Viewer", &["fleet:read", "miner:read"])),
            201,
        )
        .await,
    );
    let role_admin = id_of(
        &expect(
            s,
            M::POST,
            "/v1/orgs/acme/roles",
            Some(role(
                "RoleAdmin",
                &["role:read", "role:manage", "miner:read"],
            )),
            201,
        )
        .await,
    );
    let group = |name: &str| json!({"name": name});
    let techs = id_of(
        &expect(
            s,
            M::POST,
            "/v1/orgs/acme/groups",
            Some(group("Techs")),
            201,
        )
        .await,
    );
    let a = id_of(&expect(s, M::POST, "/v1/orgs/acme/groups", Some(group("A")), 201).await);
    let b = id_of(&expect(s, M::POST, "/v1/orgs/acme/groups", Some(group("B")), 201).await);
    expect(
        s,
        M::PUT,
        &format!("/v1/orgs/acme/groups/{a}/members/group/{b}"),
        None,
        204,
    )
    .await;
    expect(
        s,
        M::PUT,
        &format!("/v1/orgs/acme/groups/{techs}/members/user/dave"),
        None,
        204,
    )
    .await;
    let assign = |subject: String, role: &str, scope: Value| json!({"subject": subject, "role": role, "scope": scope});
    expect(
        s,
        M::POST,
        "/v1/orgs/acme/assignments",
        Some(assign("user:carol".into(), &role_admin, Value::Null)),
        201,
    )
    .await;
    expect(
        s,
        M::POST,
        "/v1/orgs/acme/assignments",
        Some(assign(format!("group:{techs}"), &viewer, Value::Null)),
        201,
    )
    .await;
    expect(
        s,
        M::PUT,
        "/v1/orgs/acme/nodes/site/4",
        Some(json!({"parent": null})),
        204,
    )
    .await;
    expect(
        s,
        M::POST,
        "/v1/orgs/acme/assignments",
        Some(assign("user:dave".into(), &viewer, json!("site:4"))),
        201,
    )
    .await;
    let guarded = id_of(
        &expect(
            s,
            M::POST,
            "/v1/orgs/acme/assignments",
            Some(assign("user:alice".into(), "SUPER_ADMIN", Value::Null)),
            201,
        )
        .await,
    );
    expect(
        s,
        M::POST,
        "/v1/orgs/acme/caps",
        Some(json!({"selector": "everyone", "scope": "site:2", "allow": ["fleet:read"]})),
        201,
    )
    .await;
    expect(
        s,
        M::POST,
        "/v1/orgs/acme/caps",
        Some(json!({"selector": format!("not_group:{a}"), "scope": null, "allow": CATALOG})),
        201,
    )
    .await;
    // What carol holds she may put in a role (the positive control of
    // ESCALATION_DENIED below).
    let (status, answer) = call_as(
        s,
        "carol",
        M::POST,
        "/v1/orgs/acme/roles",
        Some(role("Reader", &["miner:read"])),
    )
    .await;
    assert_eq!(status, 201, "{answer}");

    // Another org, whose ids acme must not see.
    expect(
        s,
        M::POST,
        "/v1/orgs",
        Some(json!({"id": "other", "name": "Other"})),
        201,
    )
    .await;
    expect(s, M::PUT, "/v1/orgs/other/members/alice", None, 204).await;
    let other_group = id_of(
        &expect(
            s,
            M::POST,
            "/v1/orgs/other/groups",
            Some(group("Elsewhere")),
            201,
        )
        .await,
    );
    let other_role = id_of(
        &expect(
            s,
            M::POST,
            "/v1/orgs/other/roles",
            Some(role("Elsewhere", &["fleet:read"])),
            201,
        )
        .await,
    );
    for (node, parent) in [
        ("site/1", Value::Null),
        ("site/8", Value::Null),
        ("rack/8", json!("site:8")),
        ("miner/8", json!("rack:8")),
    ] {
        expect(
            s,
            M::PUT,
            &format!("/v1/orgs/other/nodes/{node}"),
            Some(json!({ "parent": parent })),
            204,
        )
        .await;
    }
    let other_assignment = id_of(
        &expect(
            s,
            M::POST,
            "/v1/orgs/other/assignments",
            Some(assign("user:alice".into(), &other_role, json!("site:8"))),
            201,
        )
        .await,
    );
    let other_hidden = id_of(
        &expect(
            s,
            M::POST,
            "/v1/orgs/other/hidden",
            Some(json!({"selector": "everyone", "node": "miner:8"})),
            201,
        )
        .await,
    );
    let other_cap = id_of(
        &expect(
            s,
            M::POST,
            "/v1/orgs/other/caps",
            Some(json!({"selector": "everyone", "scope": "site:8", "allow": []})),
            201,
        )
        .await,
    );

    let audit_before = (audit_len(s, "acme").await, audit_len(s, "other").await);
    let revisions_before = (
        store_revision(db, "acme").await,
        store_revision(db, "other").await,
    );

    let g = |id: &str| format!("/v1/orgs/acme/groups/{id}");
    let r = |id: &str| format!("/v1/orgs/acme/roles/{id}");
    let none = Value::Null;
    #[rustfmt::skip]
    let refusals = vec![
        // BAD_REQUEST
        refusal("bad org id", None, M::POST, "/v1/orgs", Some(json!({"id": "bad id!", "name": "X"})), (400, "BAD_REQUEST")),
        refusal("blank org name", None, M::POST, "/v1/orgs", Some(json!({"id": "x2", "name": "  "})), (400, "BAD_REQUEST")),
        refusal("reserved user id", None, M::PUT, "/v1/users/anonymous", Some(json!({"name": "Anon"})), (400, "BAD_REQUEST")),
        refusal("a new user without a name", None, M::PUT, "/v1/users/newbie", Some(json!({})), (400, "BAD_REQUEST")),
        refusal("a too-long user id", None, M::PUT, format!("/v1/users/{}", "u".repeat(129)), Some(json!({"name": "U"})), (400, "BAD_REQUEST")),
        refusal("a misplaced node type", None, M::PUT, "/v1/orgs/acme/nodes/rack/5", Some(json!({"parent": null})), (400, "BAD_REQUEST")),
        refusal("an undeclared node type", None, M::PUT, "/v1/orgs/acme/nodes/planet/1", Some(json!({"parent": null})), (400, "BAD_REQUEST")),
        refusal("an unregistered parent", None, M::PUT, "/v1/orgs/acme/nodes/rack/5", Some(json!({"parent": "site:99"})), (400, "BAD_REQUEST")),
        refusal("a bad node id", None, M::PUT, "/v1/orgs/acme/nodes/site/bad%20id", Some(json!({"parent": null})), (400, "BAD_REQUEST")),
        refusal("a bad parent key", None, M::PUT, "/v1/orgs/acme/nodes/rack/5", Some(json!({"parent": "site"})), (400, "BAD_REQUEST")),
        refusal("a bad selector", None, M::POST, "/v1/orgs/acme/hidden", Some(json!({"selector": "weird", "node": "miner:9"})), (400, "BAD_REQUEST")),
        refusal("an empty group selector", None, M::POST, "/v1/orgs/acme/caps", Some(json!({"selector": "group:", "scope": null, "allow": []})), (400, "BAD_REQUEST")),
        refusal("a bad subject", None, M::POST, "/v1/orgs/acme/assignments", Some(assign("robot:x".into(), &viewer, none.clone())), (400, "BAD_REQUEST")),
        refusal("a bad member kind", None, M::PUT, format!("{}/members/robot/alice", g(&techs)), None, (400, "BAD_REQUEST")),
        refusal("a member search of none", None, M::GET, "/v1/orgs/acme/members?limit=0", None, (400, "BAD_REQUEST")),
        refusal("a member search of too many", None, M::GET, "/v1/orgs/acme/members?limit=101", None, (400, "BAD_REQUEST")),
        refusal("a member search limit not a number", None, M::GET, "/v1/orgs/acme/members?limit=ten", None, (400, "BAD_REQUEST")),
        refusal("a member search with a NUL", None, M::GET, "/v1/orgs/acme/members?search=a%00b", None, (400, "BAD_REQUEST")),
        // UNKNOWN_PERMISSION
        refusal("an unknown key in a new role", None, M::POST, "/v1/orgs/acme/roles", Some(role("Flyer", &["miner:fly"])), (400, "UNKNOWN_PERMISSION")),
        refusal("an unknown key in a role edit", None, M::PATCH, r("FIELD_TECH"), Some(json!({"permissions": ["nope:nope"]})), (400, "UNKNOWN_PERMISSION")),
        refusal("a formula is not a key", None, M::POST, "/v1/orgs/acme/roles", Some(role("Star", &["*"])), (400, "UNKNOWN_PERMISSION")),
        refusal("an unknown key in a cap", None, M::POST, "/v1/orgs/acme/caps", Some(json!({"selector": "everyone", "scope": null, "allow": ["miner:fly"]})), (400, "UNKNOWN_PERMISSION")),
        // READ_PAIRING_VIOLATION
        refusal("reboot without read", None, M::POST, "/v1/orgs/acme/roles", Some(role("Rebooter", &["miner:reboot"])), (400, "READ_PAIRING_VIOLATION")),
        refusal("manage without read", None, M::PATCH, r("FIELD_TECH"), Some(json!({"permissions": ["rack:manage"]})), (400, "READ_PAIRING_VIOLATION")),
        // RESERVED_ROLE_NAME
        refusal("a built-in's name", None, M::POST, "/v1/orgs/acme/roles", Some(role("admin", &[])), (400, "RESERVED_ROLE_NAME")),
        refusal("a built-in's name, padded", None, M::POST, "/v1/orgs/acme/roles", Some(role(" Field_Tech ", &[])), (400, "RESERVED_ROLE_NAME")),
        refusal("renamed to a built-in's name", None, M::PATCH, r(&viewer), Some(json!({"name": "super_admin"})), (400, "RESERVED_ROLE_NAME")),
        // NOT_HIDEABLE
        refusal("hiding a site", None, M::POST, "/v1/orgs/acme/hidden", Some(json!({"selector": "everyone", "node": "site:1"})), (400, "NOT_HIDEABLE")),
        refusal("hiding a rack", None, M::POST, "/v1/orgs/acme/hidden", Some(json!({"selector": "user:bob", "node": "rack:1"})), (400, "NOT_HIDEABLE")),
        // GROUP_CYCLE
        refusal("B contains A contains B", None, M::PUT, format!("{}/members/group/{a}", g(&b)), None, (400, "GROUP_CYCLE")),
        refusal("A contains A", None, M::PUT, format!("{}/members/group/{a}", g(&a)), None, (400, "GROUP_CYCLE")),
        // FORBIDDEN: the acting user lacks the [admin] key.
        refusal("bob creates a role", Some("bob"), M::POST, "/v1/orgs/acme/roles", Some(role("Mine", &[])), (403, "FORBIDDEN")),
        refusal("bob creates a group", Some("bob"), M::POST, "/v1/orgs/acme/groups", Some(group("Mine")), (403, "FORBIDDEN")),
        refusal("bob assigns", Some("bob"), M::POST, "/v1/orgs/acme/assignments", Some(assign("user:bob".into(), &viewer, none.clone())), (403, "FORBIDDEN")),
        refusal("bob registers a node", Some("bob"), M::PUT, "/v1/orgs/acme/nodes/site/5", Some(json!({"parent": null})), (403, "FORBIDDEN")),
        refusal("bob sets kiosk", Some("bob"), M::PUT, "/v1/orgs/acme/settings", Some(json!({"kiosk": true})), (403, "FORBIDDEN")),
        refusal("bob reads the audit", Some("bob"), M::GET, "/v1/orgs/acme/audit", None, (403, "FORBIDDEN")),
        refusal("bob reads the groups", Some("bob"), M::GET, "/v1/orgs/acme/groups", None, (403, "FORBIDDEN")),
        refusal("bob reads the roles", Some("bob"), M::GET, "/v1/orgs/acme/roles", None, (403, "FORBIDDEN")),
        refusal("bob reads the assignments", Some("bob"), M::GET, "/v1/orgs/acme/assignments", None, (403, "FORBIDDEN")),
        refusal("bob reads the hidden entries", Some("bob"), M::GET, "/v1/orgs/acme/hidden", None, (403, "FORBIDDEN")),
        refusal("bob reads the caps", Some("bob"), M::GET, "/v1/orgs/acme/caps", None, (403, "FORBIDDEN")),
        refusal("an unknown actor reads the caps", Some("nobody"), M::GET, "/v1/orgs/acme/caps", None, (403, "FORBIDDEN")),
        refusal("carol (roles only) adds a member", Some("carol"), M::PUT, "/v1/orgs/acme/members/root", None, (403, "FORBIDDEN")),
        // ESCALATION_DENIED
        refusal("carol grants a key she lacks", Some("carol"), M::POST, "/v1/orgs/acme/roles", Some(role("Blinker", &["miner:read", "miner:blink_led"])), (403, "ESCALATION_DENIED")),
        refusal("carol edits a role she does not hold", Some("carol"), M::PATCH, r(&viewer), Some(json!({"permissions": ["fleet:read", "miner:read", "site:read"]})), (403, "ESCALATION_DENIED")),
        refusal("a non-superuser creates an org", Some("alice"), M::POST, "/v1/orgs", Some(json!({"id": "mine", "name": "Mine"})), (403, "ESCALATION_DENIED")),
        refusal("a non-superuser edits a user", Some("alice"), M::PUT, "/v1/users/dave", Some(json!({"name": "D"})), (403, "ESCALATION_DENIED")),
        refusal("a non-superuser re-parents", Some("alice"), M::PUT, "/v1/orgs/acme/nodes/rack/1", Some(json!({"parent": "site:2"})), (403, "ESCALATION_DENIED")),
        // BUILTIN_ROLE_IMMUTABLE / NON_DELETABLE
        refusal("editing SUPER_ADMIN", None, M::PATCH, r("SUPER_ADMIN"), Some(json!({"permissions": ["fleet:read"]})), (403, "BUILTIN_ROLE_IMMUTABLE")),
        refusal("renaming SUPER_ADMIN", None, M::PATCH, r("SUPER_ADMIN"), Some(json!({"name": "Boss"})), (403, "BUILTIN_ROLE_IMMUTABLE")),
        refusal("deleting SUPER_ADMIN", None, M::DELETE, r("SUPER_ADMIN"), None, (403, "BUILTIN_ROLE_IMMUTABLE")),
        refusal("deleting ADMIN", None, M::DELETE, r("ADMIN"), None, (403, "BUILTIN_ROLE_NON_DELETABLE")),
        refusal("deleting FIELD_TECH", None, M::DELETE, r("FIELD_TECH"), None, (403, "BUILTIN_ROLE_NON_DELETABLE")),
        // NOT_FOUND, including ids of another org
        refusal("an unknown org", None, M::GET, "/v1/orgs/nope/roles", None, (404, "NOT_FOUND")),
        refusal("a member of an unknown org", None, M::PUT, "/v1/orgs/nope/members/alice", None, (404, "NOT_FOUND")),
        refusal("an unknown user as member", None, M::PUT, "/v1/orgs/acme/members/ghost", None, (404, "NOT_FOUND")),
        refusal("an unknown assignment", None, M::DELETE, "/v1/orgs/acme/assignments/nope", None, (404, "NOT_FOUND")),
        refusal("an unknown hidden entry", None, M::DELETE, "/v1/orgs/acme/hidden/nope", None, (404, "NOT_FOUND")),
        refusal("an unknown cap", None, M::DELETE, "/v1/orgs/acme/caps/nope", None, (404, "NOT_FOUND")),
        refusal("an unknown role", None, M::PATCH, r("nope"), Some(json!({"name": "X"})), (404, "NOT_FOUND")),
        refusal("an unknown group", None, M::PATCH, g("nope"), Some(json!({"name": "X"})), (404, "NOT_FOUND")),
        refusal("an unknown node", None, M::DELETE, "/v1/orgs/acme/nodes/site/99", None, (404, "NOT_FOUND")),
        refusal("an unknown role assigned", None, M::POST, "/v1/orgs/acme/assignments", Some(assign("user:dave".into(), "nope", none.clone())), (404, "NOT_FOUND")),
        refusal("an unregistered scope", None, M::POST, "/v1/orgs/acme/assignments", Some(assign("user:dave".into(), &viewer, json!("site:99"))), (404, "NOT_FOUND")),
        refusal("a non-member assigned", None, M::POST, "/v1/orgs/acme/assignments", Some(assign("user:root".into(), &viewer, none.clone())), (404, "NOT_FOUND")),
        refusal("an unknown user assigned", None, M::POST, "/v1/orgs/acme/assignments", Some(assign("user:ghost".into(), &viewer, none.clone())), (404, "NOT_FOUND")),
        refusal("an unregistered node hidden", None, M::POST, "/v1/orgs/acme/hidden", Some(json!({"selector": "everyone", "node": "miner:404"})), (404, "NOT_FOUND")),
        refusal("a non-member put in a group", None, M::PUT, format!("{}/members/user/root", g(&techs)), None, (404, "NOT_FOUND")),
        refusal("another org's group", None, M::PATCH, g(&other_group), Some(json!({"name": "Mine"})), (404, "NOT_FOUND")),
        refusal("another org's group, deleted", None, M::DELETE, g(&other_group), None, (404, "NOT_FOUND")),
        refusal("another org's group as member", None, M::PUT, format!("{}/members/group/{other_group}", g(&techs)), None, (404, "NOT_FOUND")),
        refusal("another org's group in a selector", None, M::POST, "/v1/orgs/acme/caps", Some(json!({"selector": format!("group:{other_group}"), "scope": null, "allow": []})), (404, "NOT_FOUND")),
        refusal("another org's role", None, M::PATCH, r(&other_role), Some(json!({"name": "Mine"})), (404, "NOT_FOUND")),
        refusal("another org's role, deleted", None, M::DELETE, r(&other_role), None, (404, "NOT_FOUND")),
        refusal("another org's role assigned", None, M::POST, "/v1/orgs/acme/assignments", Some(assign("user:dave".into(), &other_role, none.clone())), (404, "NOT_FOUND")),
        refusal("another org's node as scope", None, M::POST, "/v1/orgs/acme/assignments", Some(assign("user:dave".into(), &viewer, json!("site:8"))), (404, "NOT_FOUND")),
        refusal("another org's assignment", None, M::DELETE, format!("/v1/orgs/acme/assignments/{other_assignment}"), None, (404, "NOT_FOUND")),
        refusal("another org's hidden entry", None, M::DELETE, format!("/v1/orgs/acme/hidden/{other_hidden}"), None, (404, "NOT_FOUND")),
        refusal("another org's cap", None, M::DELETE, format!("/v1/orgs/acme/caps/{other_cap}"), None, (404, "NOT_FOUND")),
        // NAME_TAKEN
        refusal("a role name in another case", None, M::POST, "/v1/orgs/acme/roles", Some(role("  VIEWER ", &[])), (409, "NAME_TAKEN")),
        refusal("a role renamed onto another", None, M::PATCH, r(&role_admin), Some(json!({"name": "viewer"})), (409, "NAME_TAKEN")),
        refusal("a group name in another case", None, M::POST, "/v1/orgs/acme/groups", Some(group("techs")), (409, "NAME_TAKEN")),
        refusal("a group renamed onto another", None, M::PATCH, g(&a), Some(json!({"name": "TECHS"})), (409, "NAME_TAKEN")),
        refusal("an existing org id", None, M::POST, "/v1/orgs", Some(json!({"id": "acme", "name": "Again"})), (409, "NAME_TAKEN")),
        // *_IN_USE
        refusal("a role still assigned", None, M::DELETE, r(&viewer), None, (409, "ROLE_IN_USE")),
        refusal("a group with an assignment", None, M::DELETE, g(&techs), None, (409, "GROUP_IN_USE")),
        refusal("a group named by a cap", None, M::DELETE, g(&a), None, (409, "GROUP_IN_USE")),
        refusal("a group inside another", None, M::DELETE, g(&b), None, (409, "GROUP_IN_USE")),
        refusal("a node with children", None, M::DELETE, "/v1/orgs/acme/nodes/site/1", None, (409, "NODE_IN_USE")),
        refusal("a node carrying an assignment", None, M::DELETE, "/v1/orgs/acme/nodes/site/4", None, (409, "NODE_IN_USE")),
        refusal("a node carrying a hidden entry", None, M::DELETE, "/v1/orgs/acme/nodes/miner/9", None, (409, "NODE_IN_USE")),
        refusal("a node carrying a cap", None, M::DELETE, "/v1/orgs/acme/nodes/site/2", None, (409, "NODE_IN_USE")),
        // RESERVED_GROUP
        refusal("adding to admin", None, M::PUT, format!("{}/members/user/alice", g("admin")), None, (409, "RESERVED_GROUP")),
        refusal("removing from admin", None, M::DELETE, format!("{}/members/user/alice", g("admin")), None, (409, "RESERVED_GROUP")),
        refusal("admin as a default group", None, M::PATCH, g("admin"), Some(json!({"default": true})), (409, "RESERVED_GROUP")),
        refusal("adding to @everyone", None, M::PUT, format!("{}/members/user/alice", g("@everyone")), None, (409, "RESERVED_GROUP")),
        // LAST_*
        refusal("demoting the last superuser", None, M::PUT, "/v1/users/root", Some(json!({"superuser": false})), (409, "LAST_SUPERUSER")),
        refusal("deactivating the last superuser", None, M::PUT, "/v1/users/root", Some(json!({"active": false})), (409, "LAST_SUPERUSER")),
        refusal("unassigning the last SUPER_ADMIN", None, M::DELETE, format!("/v1/orgs/acme/assignments/{guarded}"), None, (409, "LAST_GUARDED_ASSIGNMENT")),
        refusal("deactivating the last SUPER_ADMIN", None, M::PUT, "/v1/users/alice", Some(json!({"active": false})), (409, "LAST_GUARDED_ASSIGNMENT")),
        refusal("removing the last SUPER_ADMIN from the org", None, M::DELETE, "/v1/orgs/acme/members/alice", None, (409, "LAST_GUARDED_ASSIGNMENT")),
        refusal("un-defaulting the last default group", None, M::PATCH, g("members"), Some(json!({"default": false})), (409, "LAST_DEFAULT_GROUP")),
        refusal("deleting the last default group", None, M::DELETE, g("members"), None, (409, "LAST_DEFAULT_GROUP")),
        // STALE and PAYLOAD_TOO_LARGE (the decision and size sweeps are in
        // http_decisions.rs and http_errors.rs).
        refusal("min_revision ahead", None, M::POST, "/v1/check", Some(json!({"org": "acme", "principal": "alice", "permission": "fleet:read", "path": [], "min_revision": 1_000_000})), (409, "STALE")),
        refusal("a role over 1 MiB", None, M::POST, "/v1/orgs/acme/roles", Some(json!({"name": "Big", "permissions": vec!["miner:read"; 100_000]})), (413, "PAYLOAD_TOO_LARGE")),
    ];
    let mut problems = Problems::default();
    for refusal in refusals {
        let answer = match refusal.actor {
            Some(actor) => {
                call_as(
                    s,
                    actor,
                    refusal.method.clone(),
                    &refusal.path,
                    refusal.body,
                )
                .await
            }
            None => {
                s.call(refusal.method.clone(), &refusal.path, refusal.body)
                    .await
            }
        };
        let what = format!("{} ({} {})", refusal.what, refusal.method, refusal.path);
        problems.error(&what, answer, refusal.status, refusal.code);
    }
    // A refused write appends no audit row and bumps no revision.
    let audit_after = (audit_len(s, "acme").await, audit_len(s, "other").await);
    let revisions_after = (
        store_revision(db, "acme").await,
        store_revision(db, "other").await,
    );
    if audit_after != audit_before || revisions_after != revisions_before {
        problems.note(Some(format!(
            "refused writes changed the audit trail or revisions: audit {audit_before:?} → {audit_after:?}, revisions {revisions_before:?} → {revisions_after:?}"
        )));
    }
    // The other org's objects survived acme's attempts on them.
    let other_groups = expect(s, M::GET, "/v1/orgs/other/groups", None, 200).await;
    assert!(
        find(&other_groups, &other_group).is_some_and(|g| g["name"] == "Elsewhere"),
        "{other_groups}"
    );
    for (list, id) in [
        ("roles", &other_role),
        ("assignments", &other_assignment),
        ("hidden", &other_hidden),
        ("caps", &other_cap),
    ] {
        let listed = expect(s, M::GET, &format!("/v1/orgs/other/{list}"), None, 200).await;
        assert!(find(&listed, id).is_some(), "other's {list}: {listed}");
    }
    // FORBIDDEN for an actor that is no user at all (never the backend).
    let (status, answer) = call_as(
        s,
        "ghost",
        M::POST,
        "/v1/orgs/acme/groups",
        Some(group("Ghosts")),
    )
    .await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (403, &json!("FORBIDDEN")),
        "an unknown actor: {answer}"
    );
    http_util::assert_error_shape("an unknown actor", &answer);
    server.stop().await;
    problems.check();
}

both_backends!(model_error_codes_over_http, error_codes);

/// A manifest with a recursive type (folders in folders): filter plans,
/// but no SQL (`UNSUPPORTED`).
async fn recursive_types(db: &TestDb) {
    let vectors =
        std::fs::read_to_string(common::repo_root().join("tests/vectors/mam_grants.json")).unwrap();
    let vectors: Value = serde_json::from_str(&vectors).unwrap();
    let manifest = vectors["manifest_toml"].as_str().unwrap();
    assert!(
        manifest.contains(r#"parents = ["project", "folder"]"#),
        "folders nest"
    );
    let dir = std::env::temp_dir().join(format!("tessera_mam_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("manifest_{:?}.toml", db.backend));
    std::fs::write(&path, manifest).unwrap();
    let server = TestServer::start(db, path.to_str().unwrap()).await;
    expect(
        &server,
        Method::POST,
        "/v1/orgs",
        Some(json!({"id": "acme", "name": "Acme"})),
        201,
    )
    .await;
    expect(
        &server,
        Method::PUT,
        "/v1/orgs/acme/nodes/project/1",
        Some(json!({"parent": null})),
        204,
    )
    .await;
    expect(
        &server,
        Method::PUT,
        "/v1/orgs/acme/nodes/folder/1",
        Some(json!({"parent": "project:1"})),
        204,
    )
    .await;
    expect(
        &server,
        Method::PUT,
        "/v1/orgs/acme/nodes/folder/2",
        Some(json!({"parent": "folder:1"})),
        204,
    )
    .await;
    let ask = json!({"org": "acme", "principal": "anonymous", "permission": "asset:read"});
    let answer = expect(&server, Method::POST, "/v1/filter", Some(ask.clone()), 200).await;
    assert_eq!(
        answer["plan"]["permission"], "asset:read",
        "a plan: {answer}"
    );
    let mut with_columns = ask.clone();
    with_columns["columns"] =
        json!({"project": "project_id", "folder": "folder_id", "asset": "asset_id"});
    for dialect in ["postgres", "sqlite"] {
        with_columns["dialect"] = json!(dialect);
        let answer = server
            .call(Method::POST, "/v1/filter", Some(with_columns.clone()))
            .await;
        assert_error(
            &format!("SQL for recursive types ({dialect})"),
            answer,
            400,
            "UNSUPPORTED",
        );
    }
    // The path of a nested folder is valid and checks answer.
    let body = json!({"org": "acme", "principal": "anonymous", "permission": "asset:read", "path": ["project:1", "folder:1", "folder:2", "asset:1"]});
    let answer = expect(&server, Method::POST, "/v1/check", Some(body), 200).await;
    assert_eq!(answer["decision"], "deny", "{answer}");
    assert!(
        answer.get("diagnostic").is_none(),
        "a valid nested path: {answer}"
    );
    server.stop().await;
    std::fs::remove_file(&path).ok();
    // The other backend's run may still use the directory.
    std::fs::remove_dir(&dir).ok();
}

both_backends!(
    filter_sql_is_unsupported_for_recursive_types,
    recursive_types
);
