//! `GET /v1/orgs/{org}/export` and `tessera export` (docs/documents.md §9):
//! the fleet as a `tessera.org/1` document, canonical (the same state, the
//! same bytes, from the API and the CLI), every part of the model in it in
//! its documented order, a write showing as a diff of exactly its part;
//! and who may export.

use crate::common;
use crate::http_util::{self, FLEET, assert_error};

use reqwest::Method;
use serde_json::{Value, json};

async fn export_text(server: &common::TestServer) -> String {
    let response = server
        .request(Method::GET, "/v1/orgs/acme/export")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.text().await.unwrap()
}

async fn exports(db: &common::TestDb) {
    http_util::import_fleet(db).await;
    let server = common::TestServer::start(db, FLEET).await;
    let (status, _) = server
        .call(
            Method::POST,
            "/v1/orgs/acme/caps",
            Some(json!({"selector": "user:vic", "scope": "site:2", "allow": ["miner:read"]})),
        )
        .await;
    assert_eq!(status, 201);
    // Carol may manage members, not roles nor access: not enough to export.
    http_util::member_admin(&server, &["user:carol"], &[]).await;
    // Ids whose byte order is not a language's order (the Postgres test
    // databases sort text as English does): the document is in byte order.
    for id in ["b_1", "Zeta", "b2", "alpha"] {
        let (status, body) = server
            .call(
                Method::POST,
                "/v1/orgs/acme/groups",
                Some(json!({"id": id, "name": format!("Group {id}")})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let first = export_text(&server).await;
    assert_eq!(
        export_text(&server).await,
        first,
        "canonical: the same bytes twice"
    );
    assert!(first.ends_with("}\n"));
    let document: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(document["format"], "tessera.org/1");
    // The top-level fields, as the text orders them.
    let keys: Vec<&str> = first
        .lines()
        .filter_map(|line| line.strip_prefix("  \""))
        .filter_map(|rest| rest.split_once('"').map(|(key, _)| key))
        .collect();
    assert_eq!(
        keys,
        [
            "format",
            "org",
            "settings",
            "users",
            "members",
            "groups",
            "roles",
            "nodes",
            "assignments",
            "hidden",
            "caps"
        ],
        "the documented order"
    );
    let ids = |part: &str, field: &str| -> Vec<String> {
        document[part]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item[field].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(document["members"], json!(["alice", "carol", "vic"]));
    assert_eq!(
        ids("users", "id"),
        ["alice", "carol", "vic"],
        "members only: root is a superuser, not a member"
    );
    assert_eq!(
        ids("nodes", "node"),
        [
            "site:1", "site:2", "rack:1", "rack:2", "miner:11", "miner:21"
        ],
        "parents first"
    );
    assert_eq!(
        ids("groups", "id"),
        ["Zeta", "alpha", "b2", "b_1", "members"],
        "groups by id, in byte order"
    );
    let sorted = |mut list: Vec<String>| {
        list.sort();
        list
    };
    for (part, field) in [
        ("assignments", "id"),
        ("hidden", "id"),
        ("caps", "id"),
        ("roles", "id"),
        ("groups", "id"),
    ] {
        assert_eq!(ids(part, field), sorted(ids(part, field)), "{part} by id");
    }
    let roles = ids("roles", "name");
    assert!(
        roles.contains(&"Viewer".to_owned()),
        "the custom role: {roles:?}"
    );
    assert!(
        roles.contains(&"ADMIN".to_owned()),
        "the editable built-in: {roles:?}"
    );
    assert!(
        !roles.contains(&"SUPER_ADMIN".to_owned()),
        "not the immutable built-in: {roles:?}"
    );
    assert!(
        !ids("groups", "id").contains(&"admin".to_owned()),
        "the reserved admin group is not listed"
    );
    assert_eq!(document["caps"][0]["allow"], json!(["miner:read"]));

    // A write shows as exactly its part.
    let (status, _) = server
        .call(
            Method::PUT,
            "/v1/orgs/acme/settings",
            Some(json!({"kiosk": true})),
        )
        .await;
    assert!(status < 300);
    let second = export_text(&server).await;
    assert_eq!(first.lines().count(), second.lines().count());
    let changed: Vec<(&str, &str)> = first
        .lines()
        .zip(second.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed, [("    \"kiosk\": false", "    \"kiosk\": true")]);

    // Who may export: an actor needs every admin key; an unknown org is 404.
    let acting = server
        .request(Method::GET, "/v1/orgs/acme/export")
        .header("tessera-actor", "carol");
    assert_error(
        "carol exporting",
        common::send_json(acting, None).await,
        403,
        "FORBIDDEN",
    );
    let unknown = server.request(Method::GET, "/v1/orgs/nope/export");
    assert_error(
        "an unknown org",
        common::send_json(unknown, None).await,
        404,
        "NOT_FOUND",
    );
    server.stop().await;

    // The CLI writes the same bytes, from the store directly.
    let printed = common::tessera_cli(db, &["export", "--org", "acme", "--manifest", FLEET]).await;
    assert_eq!(printed, second);
}

both_backends!(an_org_exports_as_one_canonical_document, exports);
