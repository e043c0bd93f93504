//! `POST /v1/who-can` and `GET /v1/orgs/{org}/users/{id}/access`
//! (docs/http.md §6.11) on random models from the core's generators: for
//! every user × sampled permission × every registered path, who-can lists
//! exactly the users `/v1/check` allows (and says so of anonymous), page
//! by page; each user's access map gives, at every node, exactly the keys
//! `/v1/orgs/{org}/effective` gives, and the hidden subtrees `check`
//! answers `not_found` in. Plus the refusals.

use crate::common;
use crate::http_util::assert_error;

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::Manifest;
use tessera_core::testing::model_from_seed;

/// Each registered node's path from the top.
pub(crate) fn node_paths(facts: &tessera_core::Facts) -> Vec<Vec<String>> {
    let parents: BTreeMap<String, Option<String>> = facts
        .nodes
        .iter()
        .map(|fact| {
            (
                fact.node.to_string(),
                fact.parent.as_ref().map(ToString::to_string),
            )
        })
        .collect();
    parents
        .keys()
        .map(|node| {
            let mut path = vec![node.clone()];
            let mut at = node.clone();
            while let Some(Some(parent)) = parents.get(&at) {
                path.insert(0, parent.clone());
                at = parent.clone();
            }
            path
        })
        .collect()
}

/// Every page of who-can, `limit` at a time: the ids, and the anonymous flag.
async fn who_can(
    server: &common::TestServer,
    org: &str,
    permission: &str,
    path: &[String],
    limit: u32,
) -> (Vec<String>, bool) {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    let mut anonymous = None;
    for _ in 0..1000 {
        let (status, body) = server
            .call(
                Method::POST,
                "/v1/who-can",
                Some(json!({"org": org, "permission": permission, "path": path, "limit": limit, "after": after})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        anonymous.get_or_insert(body["anonymous"].as_bool().unwrap());
        for principal in body["principals"].as_array().unwrap() {
            ids.push(principal["id"].as_str().unwrap().to_owned());
        }
        match body["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return (ids, anonymous.unwrap()),
        }
    }
    panic!("who-can never ended");
}

pub(crate) async fn check(
    server: &common::TestServer,
    org: &str,
    principal: &str,
    permission: &str,
    path: &[String],
) -> String {
    let (status, body) = server
        .call(
            Method::POST,
            "/v1/check",
            Some(
                json!({"org": org, "principal": principal, "permission": permission, "path": path}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["decision"].as_str().unwrap().to_owned()
}

/// The model as the store accepts it (docs/admin.md §5; the generators do
/// not know these rules): every role holds the read key its other keys
/// pair with, an active superuser `root` stays when the model deactivates
/// its own, and no group nesting makes a cycle.
pub(crate) fn paired(
    mut model: tessera_core::testing::Model,
    manifest: &Manifest,
) -> tessera_core::testing::Model {
    let keys: BTreeSet<&str> = manifest
        .catalog
        .entries()
        .iter()
        .map(|entry| entry.key.as_str())
        .collect();
    for role in &mut model.facts.roles {
        let reads: Vec<String> = role
            .permissions
            .iter()
            .filter_map(|key| key.split_once(':'))
            .map(|(resource, _)| format!("{resource}:read"))
            .filter(|read| keys.contains(read.as_str()))
            .collect();
        role.permissions.extend(reads);
        role.permissions.sort();
        role.permissions.dedup();
    }
    let mut inside: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    model.facts.group_members.retain(|edge| {
        let tessera_core::Member::Group(child) = &edge.member else {
            return true;
        };
        // A cycle: the parent is (transitively) inside the child already.
        let mut seen = BTreeSet::new();
        let mut todo = vec![child.clone()];
        while let Some(group) = todo.pop() {
            if group == edge.group {
                return false;
            }
            if seen.insert(group.clone()) {
                todo.extend(inside.get(&group).into_iter().flatten().cloned());
            }
        }
        inside.entry(child.clone()).or_default();
        inside
            .entry(edge.group.clone())
            .or_default()
            .insert(child.clone());
        true
    });
    model.facts.users.push(tessera_core::UserFact {
        id: "root".to_owned(),
        name: None,
        superuser: true,
        active: true,
    });
    model
}

async fn agree(db: &common::TestDb) {
    let (mut questions, mut allowed, mut places) = (0, 0, 0);
    for seed in [3_u64, 17, 101] {
        let model = model_from_seed(seed);
        let manifest = Manifest::from_toml(&model.manifest_toml).unwrap();
        let model = paired(model, &manifest);
        let fresh = common::TestDb::new(db.backend).await;
        let store = fresh.store().await;
        common::import(&store, &manifest, &model.facts).await;
        store.close().await;
        let file =
            std::env::temp_dir().join(format!("tessera_access_{seed}_{}.toml", std::process::id()));
        std::fs::write(&file, &model.manifest_toml).unwrap();
        let server = common::TestServer::start(&fresh, file.to_str().unwrap()).await;
        let org = model.facts.org.as_str();
        let users: Vec<&str> = model
            .facts
            .users
            .iter()
            .map(|user| user.id.as_str())
            .collect();
        let mut paths = node_paths(&model.facts);
        paths.insert(0, Vec::new());
        let keys: Vec<String> = manifest
            .catalog
            .entries()
            .iter()
            .map(|entry| entry.key.clone())
            .collect();

        for (at, permission) in keys.iter().enumerate().filter(|(at, _)| at % 2 == 0) {
            for path in &paths {
                let (listed, anonymous) = who_can(
                    &server,
                    org,
                    permission,
                    path,
                    if at % 4 == 0 { 2 } else { 1000 },
                )
                .await;
                let listed: BTreeSet<String> = listed.into_iter().collect();
                for user in &users {
                    let allows = check(&server, org, user, permission, path).await == "allow";
                    assert_eq!(
                        listed.contains(*user),
                        allows,
                        "seed {seed}: {user} {permission} at {path:?}"
                    );
                    allowed += usize::from(allows);
                    questions += 1;
                }
                assert_eq!(
                    anonymous,
                    check(&server, org, "anonymous", permission, path).await == "allow"
                );
            }
        }

        for user in &users {
            let (status, map) = server
                .call(
                    Method::GET,
                    &format!("/v1/orgs/{org}/users/{user}/access"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{map}");
            let listed: BTreeMap<&str, &Value> = map["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|entry| (entry["node"].as_str().unwrap(), &entry["permissions"]))
                .collect();
            let hidden: BTreeSet<&str> = map["hidden"]
                .as_array()
                .unwrap()
                .iter()
                .map(|node| node.as_str().unwrap())
                .collect();
            for path in &paths {
                let text = path.join(",");
                let (_, effective) = server
                    .call(
                        Method::GET,
                        &format!("/v1/orgs/{org}/effective?principal={user}&path={text}"),
                        None,
                    )
                    .await;
                let under_hidden = path.iter().any(|node| hidden.contains(node.as_str()));
                let drawn = path
                    .iter()
                    .rev()
                    .find_map(|node| listed.get(node.as_str()).copied())
                    .unwrap_or(&map["root"]);
                if under_hidden {
                    let first = keys.first().unwrap();
                    assert_eq!(
                        check(&server, org, user, first, path).await,
                        "not_found",
                        "seed {seed}: {user} at {path:?}"
                    );
                } else {
                    assert_eq!(
                        drawn, &effective["permissions"],
                        "seed {seed}: {user}'s map at {path:?}"
                    );
                }
                places += 1;
            }
        }
        server.stop().await;
        std::fs::remove_file(&file).ok();
    }
    println!(
        "who-can: {questions} questions agree with /v1/check ({allowed} allowed); access maps: {places} places agree with /v1/effective"
    );
    assert!(
        questions > 100 && allowed > 0,
        "{questions} questions, {allowed} allowed"
    );
}

both_backends!(who_can_and_access_maps_agree_with_check, agree);

async fn refusals(db: &common::TestDb) {
    crate::http_util::import_fleet(db).await;
    let server = common::TestServer::start(db, crate::http_util::FLEET).await;
    let ask = |body: Value| {
        server
            .client
            .post(format!("{}/v1/who-can", server.base))
            .bearer_auth(&server.token)
            .json(&body)
    };
    // A wrong question names nobody, with the check's diagnostic.
    let (status, body) = server
        .call(
            Method::POST,
            "/v1/who-can",
            Some(json!({"org": "acme", "permission": "no:such", "path": []})),
        )
        .await;
    assert_eq!(
        (status, body["diagnostic"].as_str()),
        (200, Some("UNKNOWN_PERMISSION")),
        "{body}"
    );
    assert_eq!(body["principals"], json!([]));
    let (_, body) = server
        .call(
            Method::POST,
            "/v1/who-can",
            Some(json!({"org": "acme", "permission": "miner:read", "path": ["nonsense"]})),
        )
        .await;
    assert_eq!(body["diagnostic"], "INVALID_PATH");
    for (what, body, status, code) in [
        (
            "limit 0",
            json!({"org": "acme", "permission": "miner:read", "path": [], "limit": 0}),
            400,
            "BAD_REQUEST",
        ),
        (
            "limit over 1,000",
            json!({"org": "acme", "permission": "miner:read", "path": [], "limit": 1001}),
            400,
            "BAD_REQUEST",
        ),
        (
            "an unknown field",
            json!({"org": "acme", "permission": "miner:read", "path": [], "principal": "x"}),
            400,
            "BAD_REQUEST",
        ),
        (
            "an unknown org",
            json!({"org": "nope", "permission": "miner:read", "path": []}),
            404,
            "NOT_FOUND",
        ),
    ] {
        assert_error(
            what,
            common::send_json(ask(body.clone()), None).await,
            status,
            code,
        );
    }
    // The via of a grant; a superuser is listed without one.
    let (_, body) = server
        .call(Method::POST, "/v1/who-can", Some(json!({"org": "acme", "permission": "miner:blink_led", "path": ["site:1", "rack:1", "miner:11"]})))
        .await;
    let carol = body["principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "carol")
        .expect("carol may blink");
    assert_eq!(carol["via"][0]["role"], "FIELD_TECH", "{carol}");
    let root = body["principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "root")
        .expect("a superuser may blink");
    assert_eq!(root["via"], json!([]), "{root}");
    // An acting user without manage_members is refused; so is an unknown user's map.
    let acting = server
        .client
        .post(format!("{}/v1/who-can", server.base))
        .bearer_auth(&server.token)
        .header("tessera-actor", "carol")
        .json(&json!({"org": "acme", "permission": "miner:read", "path": []}));
    let refused = common::send_json(acting, None).await;
    assert_eq!(refused.0, 403, "{}", refused.1);
    let unknown = server
        .client
        .get(format!("{}/v1/orgs/acme/users/nobody/access", server.base))
        .bearer_auth(&server.token);
    assert_error(
        "an unknown user",
        common::send_json(unknown, None).await,
        404,
        "NOT_FOUND",
    );
    server.stop().await;
}

both_backends!(who_can_refusals, refusals);

/// Users are global and orgs are tenants: an org administrator who is not
/// a superuser reads its org's members' answers only, never the names or
/// the existence of other tenants' users or of the host's superusers; the
/// trusted backend reads every user an answer can be about.
async fn tenants(db: &common::TestDb) {
    crate::http_util::import_fleet(db).await;
    let server = common::TestServer::start(db, crate::http_util::FLEET).await;
    let (status, body) = server
        .call(
            Method::PUT,
            "/v1/users/eve",
            Some(json!({"name": "Eve of another org"})),
        )
        .await;
    assert!(status < 300, "{body}");
    crate::http_util::member_admin(&server, &["user:carol", "@everyone"], &["fleet:read"]).await;
    let question = json!({"org": "acme", "permission": "fleet:read", "path": []});
    let listed = |body: &Value| -> Vec<String> {
        body["principals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, body) = server
        .call(Method::POST, "/v1/who-can", Some(question.clone()))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(&body), ["alice", "carol", "eve", "root", "vic"]);
    let as_carol = server
        .client
        .post(format!("{}/v1/who-can", server.base))
        .bearer_auth(&server.token)
        .header("tessera-actor", "carol")
        .json(&question);
    let (status, body) = common::send_json(as_carol, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(&body), ["alice", "carol", "vic"], "members only");
    for user in ["eve", "root"] {
        let path = format!("/v1/orgs/acme/users/{user}/access");
        let (status, map) = server.call(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{user}: {map}");
        let as_carol = server
            .client
            .get(format!("{}{path}", server.base))
            .bearer_auth(&server.token)
            .header("tessera-actor", "carol");
        assert_error(
            &format!("carol mapping {user}"),
            common::send_json(as_carol, None).await,
            404,
            "NOT_FOUND",
        );
    }
    // Why, for a person: /v1/explain's answer, behind the same gate.
    let asked = json!({"permission": "fleet:read", "path": []});
    let (status, why) = server
        .call(
            Method::POST,
            "/v1/orgs/acme/users/carol/explain",
            Some(asked.clone()),
        )
        .await;
    assert_eq!(status, 200, "{why}");
    let (_, explained) = server
        .call(
            Method::POST,
            "/v1/explain",
            Some(json!({"org": "acme", "principal": "carol", "permission": "fleet:read", "path": []})),
        )
        .await;
    assert_eq!(why["trace"], explained["trace"]);
    assert_eq!(why["decision"], "allow");
    let (status, _) = server
        .call(
            Method::POST,
            "/v1/orgs/acme/users/eve/explain",
            Some(asked.clone()),
        )
        .await;
    assert_eq!(status, 200, "the backend reads every user");
    let eve = server
        .client
        .post(format!("{}/v1/orgs/acme/users/eve/explain", server.base))
        .bearer_auth(&server.token)
        .header("tessera-actor", "carol")
        .json(&asked);
    assert_error(
        "carol asking why of eve",
        common::send_json(eve, None).await,
        404,
        "NOT_FOUND",
    );
    let anonymous = server
        .client
        .get(format!(
            "{}/v1/orgs/acme/users/anonymous/access",
            server.base
        ))
        .bearer_auth(&server.token)
        .header("tessera-actor", "carol");
    let (status, map) = common::send_json(anonymous, None).await;
    assert_eq!(status, 200, "anonymous is mapped for every caller: {map}");
    // What a user sees ("view as"), behind the same gate: their nav and
    // guards as the decision routes answer them, their visible nodes.
    let view = |user: &str| {
        server
            .client
            .post(format!("{}/v1/orgs/acme/users/{user}/view", server.base))
            .bearer_auth(&server.token)
            .header("tessera-actor", "carol")
            .json(&json!({"routes": ["/miners", "/nowhere"]}))
    };
    let (status, seen) = common::send_json(view("alice"), None).await;
    assert_eq!(status, 200, "{seen}");
    let (_, nav) = server
        .call(Method::GET, "/v1/orgs/acme/nav?principal=alice", None)
        .await;
    assert_eq!(seen["nav"], nav["nav"], "alice's nav");
    let (_, guard) = server
        .call(
            Method::POST,
            "/v1/guard",
            Some(json!({"org": "acme", "principal": "alice", "route": "/miners"})),
        )
        .await;
    assert_eq!(seen["routes"][0]["decision"], guard["decision"]);
    assert_eq!(seen["routes"][1]["decision"], "no_route");
    let (_, map) = server
        .call(Method::GET, "/v1/orgs/acme/users/alice/access", None)
        .await;
    assert_eq!(
        seen["hidden"], map["hidden"],
        "the hidden subtrees, as the map says"
    );
    assert_error(
        "carol viewing as eve",
        common::send_json(view("eve"), None).await,
        404,
        "NOT_FOUND",
    );

    // A tenant's admin token (bound to acme), acting as the backend, reads
    // members only too.
    let store = db.store().await;
    let bound = tessera_host::create_token(
        &store,
        tessera_host::TokenKind::Admin,
        &["acme".to_owned()],
        tessera_host::setup::unix_now(),
    )
    .await
    .unwrap();
    store.close().await;
    let as_tenant = server
        .client
        .post(format!("{}/v1/who-can", server.base))
        .bearer_auth(&bound)
        .json(&question);
    let (status, body) = common::send_json(as_tenant, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        listed(&body),
        ["alice", "carol", "vic"],
        "a bound token: members only"
    );
    let eve = server
        .client
        .get(format!("{}/v1/orgs/acme/users/eve/access", server.base))
        .bearer_auth(&bound);
    assert_error(
        "a bound token mapping eve",
        common::send_json(eve, None).await,
        404,
        "NOT_FOUND",
    );
    server.stop().await;
}

both_backends!(an_org_admin_reads_its_members_only, tenants);
