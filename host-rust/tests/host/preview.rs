//! `POST /v1/orgs/{org}/preview` (docs/http.md §6.12) on the fleet: for
//! writes of every kind, the preview writes nothing (every table, the
//! revision and the audit log as they were) and lists exactly the answers
//! that change when the same write is then made; a write the API refuses
//! is previewed as that refusal; bad previews are refused.

use crate::common;
use crate::http_util::{self, FLEET, assert_error};

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

const PRINCIPALS: [&str; 5] = ["root", "alice", "carol", "vic", "anonymous"];

/// Every answer of every principal at the root and every node (at its
/// path: rack 2 under site 1 once `moved`), by `/v1/check`:
/// `(principal, node, permission, decision)`.
async fn answers(
    server: &common::TestServer,
    keys: &[String],
    moved: bool,
) -> BTreeSet<(String, Option<String>, String, String)> {
    let site = if moved { "site:1" } else { "site:2" };
    let places: [(Option<&str>, Vec<&str>); 7] = [
        (None, vec![]),
        (Some("site:1"), vec!["site:1"]),
        (Some("site:2"), vec!["site:2"]),
        (Some("rack:1"), vec!["site:1", "rack:1"]),
        (Some("rack:2"), vec![site, "rack:2"]),
        (Some("miner:11"), vec!["site:1", "rack:1", "miner:11"]),
        (Some("miner:21"), vec![site, "rack:2", "miner:21"]),
    ];
    let mut all = BTreeSet::new();
    for principal in PRINCIPALS {
        for (node, path) in &places {
            for key in keys {
                let (status, body) = server
                    .call(
                        Method::POST,
                        "/v1/check",
                        Some(json!({"org": "acme", "principal": principal, "permission": key, "path": path})),
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
                all.insert((
                    principal.to_owned(),
                    node.map(str::to_owned),
                    key.clone(),
                    body["decision"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    all
}

async fn previews(db: &common::TestDb) {
    http_util::import_fleet(db).await;
    let server = common::TestServer::start(db, FLEET).await;
    let store = db.store().await;
    let (_, roles) = server.call(Method::GET, "/v1/orgs/acme/roles", None).await;
    let keys: Vec<String> = roles
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|role| role["permissions"].as_array().unwrap().clone())
        .map(|key| key.as_str().unwrap().to_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (_, assignments) = server
        .call(Method::GET, "/v1/orgs/acme/assignments", None)
        .await;
    let carols = assignments
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["subject"] == "user:carol")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let writes: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            "/v1/orgs/acme/assignments".to_owned(),
            Some(json!({"subject": "user:vic", "role": "FIELD_TECH", "scope": "site:2"})),
        ),
        (
            "DELETE",
            format!("/v1/orgs/acme/assignments/{carols}"),
            None,
        ),
        (
            "POST",
            "/v1/orgs/acme/hidden".to_owned(),
            Some(json!({"selector": "user:alice", "node": "miner:21"})),
        ),
        (
            "POST",
            "/v1/orgs/acme/caps".to_owned(),
            Some(json!({"selector": "user:alice", "scope": "site:1", "allow": ["miner:read"]})),
        ),
        (
            "PUT",
            "/v1/orgs/acme/nodes/rack/2".to_owned(),
            Some(json!({"parent": "site:1"})),
        ),
        (
            "PUT",
            "/v1/orgs/acme/settings".to_owned(),
            Some(json!({"kiosk": true})),
        ),
    ];
    let mut listed = 0;
    let mut moved = false;
    for (method, path, body) in writes {
        let before = common::state(&store).await;
        let decided = answers(&server, &keys, moved).await;
        let (status, preview) = server
            .call(
                Method::POST,
                "/v1/orgs/acme/preview",
                Some(json!({"method": method, "path": path, "body": body})),
            )
            .await;
        assert_eq!(status, 200, "{method} {path}: {preview}");
        assert_eq!(
            common::state(&store).await,
            before,
            "{method} {path}: a preview writes nothing"
        );
        assert_eq!(
            answers(&server, &keys, moved).await,
            decided,
            "{method} {path}: nor changes an answer"
        );

        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (status, written) = server.call(method.clone(), &path, body).await;
        assert!(status < 300, "{method} {path}: {written}");
        moved |= path.ends_with("/nodes/rack/2");
        let now = answers(&server, &keys, moved).await;
        let changed: BTreeSet<(String, Option<String>, String, String, String)> = now
            .difference(&decided)
            .map(|(principal, node, key, after)| {
                let before = decided
                    .iter()
                    .find(|(p, n, k, _)| p == principal && n == node && k == key)
                    .unwrap()
                    .3
                    .clone();
                (
                    principal.clone(),
                    node.clone(),
                    key.clone(),
                    before,
                    after.clone(),
                )
            })
            .collect();
        let previewed: BTreeSet<(String, Option<String>, String, String, String)> =
            preview["changes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| keys.contains(&c["permission"].as_str().unwrap().to_owned()))
                .map(|c| {
                    (
                        c["principal"].as_str().unwrap().to_owned(),
                        c["node"].as_str().map(str::to_owned),
                        c["permission"].as_str().unwrap().to_owned(),
                        c["before"].as_str().unwrap().to_owned(),
                        c["after"].as_str().unwrap().to_owned(),
                    )
                })
                .filter(|(principal, ..)| PRINCIPALS.contains(&principal.as_str()))
                .collect();
        assert_eq!(
            previewed, changed,
            "{method} {path}: the preview lists what the write changes"
        );
        let affected: BTreeSet<&String> = changed.iter().map(|c| &c.0).collect();
        assert_eq!(
            preview["principals_affected"].as_u64(),
            Some(affected.len() as u64),
            "{preview}"
        );
        listed += changed.len();
    }
    assert!(listed > 20, "the writes changed {listed} answers");

    // A refused write is previewed as its refusal, and writes nothing.
    let before = common::state(&store).await;
    let role = json!({"method": "POST", "path": "/v1/orgs/acme/roles", "body": {"name": "Rebooter", "permissions": ["miner:reboot"]}});
    let (status, refusal) = server
        .call(Method::POST, "/v1/orgs/acme/preview", Some(role))
        .await;
    let (real_status, real) = server
        .call(
            Method::POST,
            "/v1/orgs/acme/roles",
            Some(json!({"name": "Rebooter", "permissions": ["miner:reboot"]})),
        )
        .await;
    assert_eq!(
        (status, &refusal["error"]["code"]),
        (real_status, &real["error"]["code"]),
        "{refusal} / {real}"
    );
    assert_eq!(refusal["error"]["code"], "READ_PAIRING_VIOLATION");
    assert_eq!(
        common::state(&store).await,
        before,
        "refused previews write nothing"
    );
    // An actor who may see everyone's answers (manage_members) but would
    // give more than it holds is refused as the write would be.
    http_util::member_admin(&server, &["user:carol"], &[]).await;
    let before = common::state(&store).await;
    let as_carol = |path: &str, body: Value| {
        server
            .client
            .post(format!("{}{path}", server.base))
            .bearer_auth(&server.token)
            .header("tessera-actor", "carol")
            .json(&body)
    };
    let admin = json!({"subject": "user:carol", "role": "ADMIN"});
    let refused = common::send_json(
        as_carol(
            "/v1/orgs/acme/preview",
            json!({"method": "POST", "path": "/v1/orgs/acme/assignments", "body": admin}),
        ),
        None,
    )
    .await;
    let real = common::send_json(as_carol("/v1/orgs/acme/assignments", admin), None).await;
    assert_eq!(refused, real, "the preview answers the write's own refusal");
    assert_error("escalation", refused, 403, "ESCALATION_DENIED");
    assert_eq!(
        common::state(&store).await,
        before,
        "refused previews write nothing"
    );

    // Bad previews.
    for (what, body) in [
        (
            "a read",
            json!({"method": "GET", "path": "/v1/orgs/acme/roles"}),
        ),
        (
            "another org",
            json!({"method": "DELETE", "path": "/v1/orgs/beta/members/carol"}),
        ),
        (
            "a global write",
            json!({"method": "PUT", "path": "/v1/users/eve", "body": {"name": "Eve"}}),
        ),
        (
            "a preview",
            json!({"method": "POST", "path": "/v1/orgs/acme/preview"}),
        ),
    ] {
        let request = server
            .client
            .post(format!("{}/v1/orgs/acme/preview", server.base))
            .bearer_auth(&server.token)
            .json(&body);
        assert_error(
            what,
            common::send_json(request, None).await,
            400,
            "BAD_REQUEST",
        );
    }
    store.close().await;
    server.stop().await;
}

both_backends!(
    a_preview_lists_what_the_write_changes_and_writes_nothing,
    previews
);

/// The write's reach bounds what a preview recompiles while it holds the
/// org's lock: with room for one principal, a write reaching one user is
/// previewed, one reaching everyone is refused, and neither writes.
async fn bounded(db: &common::TestDb) {
    http_util::import_fleet(db).await;
    let server = common::TestServer::start_with(db, FLEET, |config| {
        config.quotas.preview_principals = 1;
    })
    .await;
    let store = db.store().await;
    let before = common::state(&store).await;
    let hide = json!({"method": "POST", "path": "/v1/orgs/acme/hidden",
        "body": {"selector": "user:vic", "node": "miner:11"}});
    let (status, preview) = server
        .call(Method::POST, "/v1/orgs/acme/preview", Some(hide))
        .await;
    assert_eq!(status, 200, "{preview}");
    let principals: BTreeSet<&str> = preview["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["principal"].as_str().unwrap())
        .collect();
    assert_eq!(principals, BTreeSet::from(["vic"]), "{preview}");
    assert_eq!(preview["truncated"], false);
    assert_eq!(
        preview["total_changes"].as_u64(),
        Some(preview["changes"].as_array().unwrap().len() as u64)
    );
    let everyone = json!({"method": "POST", "path": "/v1/orgs/acme/assignments",
        "body": {"subject": "@everyone", "role": "FIELD_TECH"}});
    let refused = server
        .call(Method::POST, "/v1/orgs/acme/preview", Some(everyone))
        .await;
    assert_eq!(
        refused.1["error"]["details"],
        json!({"quota": "preview_principals", "limit": 1}),
        "{}",
        refused.1
    );
    assert_error("a preview over its quota", refused, 409, "QUOTA_EXCEEDED");
    assert_eq!(
        common::state(&store).await,
        before,
        "previews write nothing"
    );
    store.close().await;
    server.stop().await;
}

both_backends!(a_preview_recompiles_only_what_the_write_reaches, bounded);
