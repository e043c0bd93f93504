//! The decision and snapshot endpoints of docs/http.md §6 against a real bound
//! server, on SQLite and Postgres, over a small fleet built through the
//! model API: answers with the revision they used, diagnostics as 200
//! denies, unknown org or principal 404, `min_revision` ahead of the store
//! 409 STALE, token scopes narrowing, read-your-writes on the same server,
//! and signed snapshots that verify with `GET /v1/keys` and agree with
//! `/v1/check`.

use crate::common;
use crate::http_util;

use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::{Expect, Verifier};

use common::{TestDb, TestServer};
use http_util::{FIELD_TECH, FLEET, assert_error, build_fleet, check_body, store_revision};

/// principal, permission, path, owner, expected decision.
type Case<'a> = (&'a str, &'a str, &'a [&'a str], Option<&'a str>, &'a str);

fn with(mut body: Value, extra: Value) -> Value {
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

async fn post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    server.call(Method::POST, path, Some(body)).await
}

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    server.call(Method::GET, path, None).await
}

/// A server over the small fleet (built through the model API), its
/// model ids and the org's revision once built.
struct Fixture {
    server: TestServer,
    fleet: http_util::Fleet,
    revision: u64,
}

async fn fixture(db: &TestDb) -> Fixture {
    let server = TestServer::start(db, FLEET).await;
    let fleet = build_fleet(&server).await;
    let revision = store_revision(db, "acme").await;
    Fixture {
        server,
        fleet,
        revision,
    }
}

/// A miner three levels down.
const DEEP: [&str; 3] = ["site:1", "rack:1", "miner:1"];

/// alice blinking the deep miner (allowed: FIELD_TECH at `site:1`).
fn blink() -> Value {
    check_body("alice", "miner:blink_led", &DEEP)
}

async fn plain_decisions_answer_with_the_store_revision(db: &TestDb) {
    let Fixture {
        server, revision, ..
    } = fixture(db).await;
    // Plain decisions, each with the store's revision.
    let cases: [Case; 13] = [
        ("alice", "miner:blink_led", &DEEP, None, "allow"),
        ("alice", "miner:blink_led", &["site:1"], None, "allow"),
        ("alice", "miner:read", &["site:1", "miner:5"], None, "allow"),
        ("alice", "miner:blink_led", &["site:2"], None, "deny"),
        ("alice", "miner:blink_led", &[], None, "deny"),
        ("alice", "miner:reboot", &DEEP, None, "deny"),
        (
            "alice",
            "miner:read",
            &["site:1", "rack:1", "miner:9"],
            None,
            "not_found",
        ),
        ("bob", "miner:blink_led", &["site:2"], Some("bob"), "allow"),
        ("bob", "miner:blink_led", &["site:2"], Some("alice"), "deny"),
        ("bob", "miner:blink_led", &["site:2"], None, "deny"),
        ("root", "site:manage", &[], None, "allow"),
        (
            "root",
            "miner:read",
            &["site:1", "rack:1", "miner:9"],
            None,
            "allow",
        ),
        ("anonymous", "fleet:read", &[], None, "deny"),
    ];
    for (principal, permission, path, owner, expected) in cases {
        let mut body = check_body(principal, permission, path);
        if let Some(owner) = owner {
            body = with(body, json!({ "owner": owner }));
        }
        let (status, answer) = post(&server, "/v1/check", body).await;
        assert_eq!(
            (status, answer),
            (200, json!({"decision": expected, "revision": revision})),
            "{principal} {permission} {path:?} owner {owner:?}"
        );
    }
    server.stop().await;
}

both_backends!(
    plain_decisions_answer_with_the_store_revision,
    plain_decisions_answer_with_the_store_revision
);

async fn a_bad_question_is_a_200_deny_with_its_diagnostic(db: &TestDb) {
    let Fixture {
        server, revision, ..
    } = fixture(db).await;
    // A bad question is a 200 deny with its diagnostic.
    for (permission, path, diagnostic) in [
        ("miner:fly", vec!["site:1"], "UNKNOWN_PERMISSION"),
        ("MINER:READ", vec!["site:1"], "UNKNOWN_PERMISSION"),
        ("miner:blink_led", vec!["rack:1"], "INVALID_PATH"),
        ("miner:blink_led", vec!["site:2", "rack:1"], "INVALID_PATH"),
        ("miner:blink_led", vec!["bogus:1"], "INVALID_PATH"),
        ("miner:blink_led", vec!["site:no way"], "INVALID_PATH"),
        ("miner:blink_led", vec!["site1"], "INVALID_PATH"),
    ] {
        let (status, answer) =
            post(&server, "/v1/check", check_body("alice", permission, &path)).await;
        assert_eq!(
            (status, answer),
            (
                200,
                json!({"decision": "deny", "diagnostic": diagnostic, "revision": revision})
            ),
            "{permission} {path:?}"
        );
    }
    server.stop().await;
}

both_backends!(
    a_bad_question_is_a_200_deny_with_its_diagnostic,
    a_bad_question_is_a_200_deny_with_its_diagnostic
);

async fn an_unknown_org_or_principal_is_404(db: &TestDb) {
    let Fixture { server, .. } = fixture(db).await;
    // Unknown org or principal: 404.
    let answer = post(
        &server,
        "/v1/check",
        with(
            check_body("alice", "fleet:read", &[]),
            json!({"org": "nope"}),
        ),
    )
    .await;
    assert_error("unknown org", answer, 404, "NOT_FOUND");
    let answer = post(
        &server,
        "/v1/check",
        check_body("nobody", "fleet:read", &[]),
    )
    .await;
    assert_error("unknown principal", answer, 404, "NOT_FOUND");
    server.stop().await;
}

both_backends!(
    an_unknown_org_or_principal_is_404,
    an_unknown_org_or_principal_is_404
);

async fn min_revision_ahead_of_the_store_is_stale_and_at_or_below_answers(db: &TestDb) {
    let Fixture {
        server, revision, ..
    } = fixture(db).await;
    // min_revision: ahead of the store is STALE; at or below it answers.
    let blink = blink();
    let answer = post(
        &server,
        "/v1/check",
        with(blink.clone(), json!({"min_revision": revision + 1})),
    )
    .await;
    assert_error("min_revision ahead", answer, 409, "STALE");
    let answer = post(
        &server,
        "/v1/check",
        with(blink.clone(), json!({"min_revision": u64::MAX >> 12})),
    )
    .await;
    assert_error("min_revision far ahead", answer, 409, "STALE");
    for min in [revision, revision - 1, 0] {
        let (status, answer) = post(
            &server,
            "/v1/check",
            with(blink.clone(), json!({"min_revision": min})),
        )
        .await;
        assert_eq!(
            (status, answer),
            (200, json!({"decision": "allow", "revision": revision})),
            "min_revision {min}"
        );
    }
    server.stop().await;
}

both_backends!(
    min_revision_ahead_of_the_store_is_stale_and_at_or_below_answers,
    min_revision_ahead_of_the_store_is_stale_and_at_or_below_answers
);

async fn token_scopes_narrow_the_answer_and_unknown_scopes_are_refused(db: &TestDb) {
    let Fixture {
        server, revision, ..
    } = fixture(db).await;
    let blink = blink();
    // Token scopes narrow the answer, superusers included; null is no limit,
    // [] allows nothing; a scope that is not a catalog key is refused.
    for (principal, permission, scopes, expected) in [
        ("alice", "miner:blink_led", json!(["miner:read"]), "deny"),
        ("alice", "miner:read", json!(["miner:read"]), "allow"),
        (
            "alice",
            "miner:blink_led",
            json!(["miner:read", "miner:blink_led"]),
            "allow",
        ),
        ("alice", "miner:blink_led", Value::Null, "allow"),
        ("alice", "miner:read", json!([]), "deny"),
        ("root", "site:manage", json!(["fleet:read"]), "deny"),
        ("root", "fleet:read", json!(["fleet:read"]), "allow"),
    ] {
        let body = with(
            check_body(principal, permission, &DEEP),
            json!({ "token_scopes": scopes }),
        );
        let (status, answer) = post(&server, "/v1/check", body).await;
        assert_eq!(
            (status, answer),
            (200, json!({"decision": expected, "revision": revision})),
            "{principal} {permission} scopes {scopes}"
        );
    }
    for scopes in [
        json!(["miner:fly"]),
        json!(["*"]),
        json!(["miner:read", "miner:*"]),
    ] {
        let body = with(blink.clone(), json!({ "token_scopes": scopes }));
        let answer = post(&server, "/v1/check", body).await;
        assert_error(
            &format!("token scopes {scopes}"),
            answer,
            400,
            "UNKNOWN_PERMISSION",
        );
    }
    server.stop().await;
}

both_backends!(
    token_scopes_narrow_the_answer_and_unknown_scopes_are_refused,
    token_scopes_narrow_the_answer_and_unknown_scopes_are_refused
);

async fn a_batch_answers_in_order_at_one_revision(db: &TestDb) {
    let Fixture {
        server, revision, ..
    } = fixture(db).await;
    // Batch: answers in order, one revision.
    let batch = json!({"org": "acme", "principal": "alice", "checks": [
        {"permission": "miner:blink_led", "path": DEEP},
        {"permission": "miner:blink_led", "path": ["site:2"]},
        {"permission": "miner:read", "path": ["site:1", "rack:1", "miner:9"]},
        {"permission": "miner:fly", "path": []},
        {"permission": "miner:read", "path": ["rack:1"]},
        {"permission": "rack:manage", "path": ["site:1", "rack:1"]},
    ]});
    let (status, answer) = post(&server, "/v1/check/batch", batch.clone()).await;
    assert_eq!(
        (status, answer),
        (
            200,
            json!({"decisions": [
                {"decision": "allow"},
                {"decision": "deny"},
                {"decision": "not_found"},
                {"decision": "deny", "diagnostic": "UNKNOWN_PERMISSION"},
                {"decision": "deny", "diagnostic": "INVALID_PATH"},
                {"decision": "allow"},
            ], "revision": revision})
        )
    );
    let owned = json!({"org": "acme", "principal": "bob", "checks": [
        {"permission": "miner:blink_led", "path": ["site:2"], "owner": "bob"},
        {"permission": "miner:blink_led", "path": ["site:2"]},
    ]});
    let (status, answer) = post(&server, "/v1/check/batch", owned).await;
    assert_eq!(
        (status, &answer["decisions"]),
        (200, &json!([{"decision": "allow"}, {"decision": "deny"}]))
    );
    let scoped = with(batch.clone(), json!({"token_scopes": ["miner:read"]}));
    let (status, answer) = post(&server, "/v1/check/batch", scoped).await;
    assert_eq!(
        (status, &answer["decisions"][0]),
        (200, &json!({"decision": "deny"})),
        "{answer}"
    );
    let (status, answer) = post(
        &server,
        "/v1/check/batch",
        json!({"org": "acme", "principal": "alice", "checks": []}),
    )
    .await;
    assert_eq!(
        (status, answer),
        (200, json!({"decisions": [], "revision": revision}))
    );
    let answer = post(
        &server,
        "/v1/check/batch",
        with(batch.clone(), json!({"min_revision": revision + 1})),
    )
    .await;
    assert_error("batch min_revision ahead", answer, 409, "STALE");
    let answer = post(
        &server,
        "/v1/check/batch",
        with(batch.clone(), json!({"principal": "nobody"})),
    )
    .await;
    assert_error("batch unknown principal", answer, 404, "NOT_FOUND");
    server.stop().await;
}

both_backends!(
    a_batch_answers_in_order_at_one_revision,
    a_batch_answers_in_order_at_one_revision
);

async fn explain_answers_the_decision_the_revision_and_the_trace(db: &TestDb) {
    let Fixture {
        server, revision, ..
    } = fixture(db).await;
    let blink = blink();
    // Explain: the decision, the revision, the trace.
    let (status, answer) = post(&server, "/v1/explain", blink.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (&answer["decision"], &answer["revision"]),
        (&json!("allow"), &json!(revision))
    );
    let trace = &answer["trace"];
    assert_eq!(trace["decision"], "allow", "{answer}");
    assert_eq!(trace["decisive_node"], "site:1", "{answer}");
    assert!(
        trace["assignments"]
            .as_array()
            .is_some_and(|assignments| !assignments.is_empty()),
        "{answer}"
    );
    let hidden = check_body("alice", "miner:read", &["site:1", "rack:1", "miner:9"]);
    let (status, answer) = post(&server, "/v1/explain", hidden).await;
    assert_eq!(status, 200);
    assert_eq!(answer["decision"], "not_found", "{answer}");
    assert_eq!(answer["trace"]["hidden_node"], "miner:9", "{answer}");
    let (status, answer) = post(
        &server,
        "/v1/explain",
        with(blink.clone(), json!({"token_scopes": ["miner:read"]})),
    )
    .await;
    assert_eq!(
        (status, &answer["decision"]),
        (200, &json!("deny")),
        "{answer}"
    );
    assert_eq!(answer["trace"]["removed_by_token_scopes"], true, "{answer}");
    let (status, answer) = post(
        &server,
        "/v1/explain",
        check_body("alice", "miner:fly", &[]),
    )
    .await;
    assert_eq!(
        (status, &answer["trace"]["diagnostic"]),
        (200, &json!("UNKNOWN_PERMISSION")),
        "{answer}"
    );
    let answer = post(
        &server,
        "/v1/explain",
        with(blink.clone(), json!({"min_revision": revision + 1})),
    )
    .await;
    assert_error("explain min_revision ahead", answer, 409, "STALE");
    server.stop().await;
}

both_backends!(
    explain_answers_the_decision_the_revision_and_the_trace,
    explain_answers_the_decision_the_revision_and_the_trace
);

async fn filter_answers_the_plan_and_its_sql_in_either_dialect(db: &TestDb) {
    let Fixture {
        server, revision, ..
    } = fixture(db).await;
    // Filter: the plan, and its SQL in either dialect.
    let read = json!({"org": "acme", "principal": "alice", "permission": "miner:read"});
    let (status, answer) = post(&server, "/v1/filter", read.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["revision"], revision);
    assert!(
        answer.get("sql").is_none_or(Value::is_null),
        "no SQL without columns: {answer}"
    );
    let plan = &answer["plan"];
    assert_eq!(
        (&plan["permission"], &plan["default"], &plan["org"]),
        (&json!("miner:read"), &json!("deny"), &json!("deny")),
        "{plan}"
    );
    let rules = plan["rules"].as_array().unwrap();
    let rule = |node: &str| {
        rules
            .iter()
            .find(|rule| rule["node"] == node)
            .map(|rule| rule["rule"].clone())
    };
    assert_eq!(rule("site:1"), Some(json!("allow")), "{plan}");
    assert_eq!(rule("miner:9"), Some(json!("hidden")), "{plan}");
    assert_eq!(rule("site:2"), None, "site 2 takes the default: {plan}");
    let columns = json!({"site": "site_id", "rack": "rack_id", "miner": "miner_id"});
    for (dialect, placeholder, other) in [("sqlite", "?1", "$1"), ("postgres", "$1", "?1")] {
        let body = with(
            read.clone(),
            json!({"columns": columns, "dialect": dialect}),
        );
        let (status, answer) = post(&server, "/v1/filter", body).await;
        assert_eq!(status, 200, "{dialect}: {answer}");
        let sql = answer["sql"]["sql"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"));
        assert!(
            sql.contains(placeholder) && !sql.contains(other),
            "{dialect}: {sql}"
        );
        assert!(sql.contains("site_id") && sql.contains("miner_id"), "{sql}");
        assert!(
            !sql.contains("'1'") && !sql.contains("'9'"),
            "ids are parameters, not literals: {sql}"
        );
        let params = answer["sql"]["params"].as_array().unwrap();
        assert!(
            params.contains(&json!("1")) && params.contains(&json!("9")),
            "{answer}"
        );
        assert_eq!(answer["revision"], revision);
    }
    for (columns, what) in [
        (json!({"site": "site_id"}), "a missing column"),
        (
            json!({"site": "site_id; DROP TABLE t", "rack": "rack_id", "miner": "miner_id"}),
            "a column that is not a name",
        ),
    ] {
        let body = with(
            read.clone(),
            json!({"columns": columns, "dialect": "sqlite"}),
        );
        let answer = post(&server, "/v1/filter", body).await;
        assert_error(what, answer, 400, "BAD_REQUEST");
    }
    let answer = post(
        &server,
        "/v1/filter",
        with(
            read.clone(),
            json!({"columns": columns, "dialect": "oracle"}),
        ),
    )
    .await;
    assert_error("an unknown dialect", answer, 400, "BAD_REQUEST");
    server.stop().await;
}

both_backends!(
    filter_answers_the_plan_and_its_sql_in_either_dialect,
    filter_answers_the_plan_and_its_sql_in_either_dialect
);

async fn an_owner_only_grant_needs_the_owner_column(db: &TestDb) {
    let Fixture { server, .. } = fixture(db).await;
    let read = json!({"org": "acme", "principal": "alice", "permission": "miner:read"});
    let columns = json!({"site": "site_id", "rack": "rack_id", "miner": "miner_id"});
    // bob's owner-only grant needs the owner column.
    let bob = json!({"org": "acme", "principal": "bob", "permission": "miner:read", "columns": columns, "dialect": "postgres"});
    let answer = post(&server, "/v1/filter", bob.clone()).await;
    assert_error(
        "owner-only rules without an owner column",
        answer,
        400,
        "BAD_REQUEST",
    );
    let (status, answer) = post(
        &server,
        "/v1/filter",
        with(bob, json!({"owner_column": "owner_id"})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["sql"]["sql"].as_str().unwrap().contains("owner_id"),
        "{answer}"
    );
    assert!(
        answer["sql"]["params"]
            .as_array()
            .unwrap()
            .contains(&json!("bob")),
        "{answer}"
    );
    let answer = post(
        &server,
        "/v1/filter",
        with(read.clone(), json!({"org": "nope"})),
    )
    .await;
    assert_error("filter unknown org", answer, 404, "NOT_FOUND");
    server.stop().await;
}

both_backends!(
    an_owner_only_grant_needs_the_owner_column,
    an_owner_only_grant_needs_the_owner_column
);

async fn can_anywhere_never_counts_owner_only_grants(db: &TestDb) {
    let Fixture {
        server, revision, ..
    } = fixture(db).await;
    // can-anywhere: owner-only grants never count.
    for (principal, permission, expected) in [
        ("alice", "miner:blink_led", true),
        ("alice", "miner:reboot", false),
        ("bob", "miner:blink_led", false),
        ("root", "role:manage", true),
        ("anonymous", "fleet:read", false),
        ("alice", "miner:fly", false),
    ] {
        let body = json!({"org": "acme", "principal": principal, "permission": permission});
        let (status, answer) = post(&server, "/v1/can-anywhere", body).await;
        assert_eq!(
            (status, answer),
            (200, json!({"allowed": expected, "revision": revision})),
            "{principal} {permission}"
        );
    }
    server.stop().await;
}

both_backends!(
    can_anywhere_never_counts_owner_only_grants,
    can_anywhere_never_counts_owner_only_grants
);

async fn guard_answers_the_manifest_routes(db: &TestDb) {
    let Fixture {
        server, revision, ..
    } = fixture(db).await;
    // Guard: the manifest's routes.
    for (principal, route, expected) in [
        ("alice", "/sites/1/racks", json!({"decision": "allow"})),
        ("alice", "/sites/1/racks/", json!({"decision": "allow"})),
        (
            "alice",
            "/sites/2/racks",
            json!({"decision": "redirect", "fallback": "/"}),
        ),
        ("alice", "/miners", json!({"decision": "allow"})),
        (
            "alice",
            "/settings/users",
            json!({"decision": "redirect", "fallback": "/"}),
        ),
        ("root", "/settings/users", json!({"decision": "allow"})),
        (
            "bob",
            "/miners",
            json!({"decision": "redirect", "fallback": "/"}),
        ),
        ("alice", "/nowhere", json!({"decision": "no_route"})),
        // A pattern matches but the parameter is no node id.
        (
            "alice",
            "/sites/no%20way/racks",
            json!({"decision": "not_found"}),
        ),
    ] {
        let body = json!({"org": "acme", "principal": principal, "route": route});
        let (status, answer) = post(&server, "/v1/guard", body).await;
        assert_eq!(status, 200, "{principal} {route}: {answer}");
        assert_eq!(
            answer,
            with(expected, json!({"revision": revision})),
            "{principal} {route}"
        );
    }
    server.stop().await;
}

both_backends!(
    guard_answers_the_manifest_routes,
    guard_answers_the_manifest_routes
);

async fn effective_lists_keys_in_catalog_order(db: &TestDb) {
    let Fixture {
        server, revision, ..
    } = fixture(db).await;
    // effective: catalog order, whatever order the scopes came in.
    let effective = |query: &str| format!("/v1/orgs/acme/effective?{query}");
    for (query, expected) in [
        ("principal=alice&path=site:1,rack:1", FIELD_TECH.to_vec()),
        ("principal=alice&path=site:1", FIELD_TECH.to_vec()),
        ("principal=alice&path=", vec![]),
        ("principal=alice", vec![]),
        ("principal=alice&path=site:2", vec![]),
        ("principal=alice&path=site:1,rack:1,miner:9", vec![]),
        ("principal=alice&path=rack:1", vec![]),
        ("principal=bob&path=site:2&owner=bob", FIELD_TECH.to_vec()),
        ("principal=bob&path=site:2", vec![]),
        (
            "principal=alice&path=site:1&token_scopes=rack:read,miner:read",
            vec!["miner:read", "rack:read"],
        ),
        ("principal=alice&path=site:1&token_scopes=", vec![]),
        (
            "principal=root&path=&token_scopes=role:manage,fleet:read",
            vec!["fleet:read"],
        ),
        (
            "principal=root&token_scopes=role:manage,role:read,fleet:read",
            vec!["fleet:read", "role:read", "role:manage"],
        ),
    ] {
        let (status, answer) = get(&server, &effective(query)).await;
        assert_eq!(
            (status, answer),
            (200, json!({"permissions": expected, "revision": revision})),
            "{query}"
        );
    }
    let (status, answer) = get(&server, &effective("principal=root&path=site:2")).await;
    assert_eq!(
        (status, &answer["permissions"]),
        (200, &json!(http_util::CATALOG)),
        "{answer}"
    );
    let answer = get(
        &server,
        &effective("principal=alice&path=site:1&token_scopes=miner:fly"),
    )
    .await;
    assert_error("effective unknown scope", answer, 400, "UNKNOWN_PERMISSION");
    let answer = get(&server, &effective("principal=nobody&path=site:1")).await;
    assert_error("effective unknown principal", answer, 404, "NOT_FOUND");
    let answer = get(&server, "/v1/orgs/nope/effective?principal=alice").await;
    assert_error("effective unknown org", answer, 404, "NOT_FOUND");
    let answer = get(
        &server,
        &effective(&format!("principal=alice&min_revision={}", revision + 1)),
    )
    .await;
    assert_error("effective min_revision ahead", answer, 409, "STALE");
    let (status, _) = get(
        &server,
        &effective(&format!("principal=alice&min_revision={revision}")),
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await;
}

both_backends!(
    effective_lists_keys_in_catalog_order,
    effective_lists_keys_in_catalog_order
);

async fn nav_and_claims_answer_the_principal(db: &TestDb) {
    let Fixture {
        server, revision, ..
    } = fixture(db).await;
    // nav and claims.
    for (principal, expected) in [
        ("alice", json!(["/miners"])),
        ("root", json!(["/miners", "/settings/users"])),
        ("bob", json!([])),
        ("anonymous", json!([])),
    ] {
        let (status, answer) =
            get(&server, &format!("/v1/orgs/acme/nav?principal={principal}")).await;
        assert_eq!(
            (status, answer),
            (200, json!({"nav": expected, "revision": revision})),
            "{principal}"
        );
    }
    for (query, expected) in [
        ("principal=alice", json!(["groups.members", "users.alice"])),
        (
            "principal=root",
            json!(["admin", "groups.admin", "users.root"]),
        ),
        (
            "principal=root&token_scopes=fleet:read",
            json!(["users.root"]),
        ),
        ("principal=anonymous", json!([])),
    ] {
        let (status, answer) = get(&server, &format!("/v1/orgs/acme/claims?{query}")).await;
        assert_eq!(
            (status, answer),
            (200, json!({"claims": expected, "revision": revision})),
            "{query}"
        );
    }
    let answer = get(&server, "/v1/orgs/acme/nav?principal=nobody").await;
    assert_error("nav unknown principal", answer, 404, "NOT_FOUND");
    let answer = get(&server, "/v1/orgs/nope/claims?principal=alice").await;
    assert_error("claims unknown org", answer, 404, "NOT_FOUND");
    server.stop().await;
}

both_backends!(
    nav_and_claims_answer_the_principal,
    nav_and_claims_answer_the_principal
);

async fn a_server_sees_its_own_writes_at_its_next_answer(db: &TestDb) {
    let Fixture {
        server,
        fleet,
        revision,
    } = fixture(db).await;
    let blink = blink();
    // Read-your-writes: this server's own writes are seen by its very next
    // answer, though it trusts a revision it read for a while.
    let revoke = server
        .request(
            Method::DELETE,
            &format!("/v1/orgs/acme/assignments/{}", fleet.alice_tech),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status().as_u16(), 204);
    // The write answers the revision that reads it.
    let written: u64 = revoke.headers()["tessera-revision"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(written > revision);
    let (status, answer) = post(&server, "/v1/check", blink.clone()).await;
    assert_eq!(
        (status, &answer["decision"]),
        (200, &json!("deny")),
        "a revoked grant is denied at once: {answer}"
    );
    let after_revoke = answer["revision"].as_u64().unwrap();
    assert!(after_revoke > revision, "a new revision: {answer}");
    assert_eq!(after_revoke, written);
    assert_eq!(after_revoke, store_revision(db, "acme").await);
    let (status, answer) = post(
        &server,
        "/v1/check",
        with(blink.clone(), json!({"min_revision": after_revoke})),
    )
    .await;
    assert_eq!((status, &answer["decision"]), (200, &json!("deny")));
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/v1/orgs/acme/hidden/{}", fleet.hidden),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let root_read = check_body("root", "miner:read", &["site:1", "rack:1", "miner:9"]);
    let alice_read = check_body("alice", "miner:read", &["site:1", "rack:1", "miner:9"]);
    let (_, answer) = post(&server, "/v1/check", alice_read.clone()).await;
    assert_eq!(
        answer["decision"], "deny",
        "no longer hidden, no longer granted: {answer}"
    );
    let (_, answer) = post(&server, "/v1/check", root_read.clone()).await;
    assert_eq!(answer["decision"], "allow");
    let body = json!({"subject": "user:alice", "role": "FIELD_TECH", "scope": "site:1"});
    let (status, _) = server
        .call(Method::POST, "/v1/orgs/acme/assignments", Some(body))
        .await;
    assert_eq!(status, 201);
    let (_, answer) = post(&server, "/v1/check", alice_read).await;
    assert_eq!(
        answer["decision"], "allow",
        "a new grant is seen at once: {answer}"
    );
    // A global write (a user's flag) is seen in every org at once.
    let (status, _) = server
        .call(
            Method::PUT,
            "/v1/users/root",
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, 409, "root is the last superuser");
    let (status, _) = server
        .call(
            Method::PUT,
            "/v1/users/alice",
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, answer) = post(&server, "/v1/check", blink.clone()).await;
    assert_eq!(
        answer["decision"], "deny",
        "a deactivated user is denied at once: {answer}"
    );
    let (status, _) = server
        .call(
            Method::PUT,
            "/v1/users/alice",
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, answer) = post(&server, "/v1/check", blink).await;
    assert_eq!(answer["decision"], "allow", "{answer}");
    let (_, answer) = post(&server, "/v1/check", root_read).await;
    assert_eq!(answer["decision"], "allow");
    server.stop().await;
}

both_backends!(
    a_server_sees_its_own_writes_at_its_next_answer,
    a_server_sees_its_own_writes_at_its_next_answer
);

/// The decision a snapshot gives, as the JSON `/v1/check` answers
/// (without the revision).
fn local(
    snapshot: &tessera_core::Snapshot,
    permission: &str,
    path: &[&str],
    owner: Option<&str>,
) -> Value {
    serde_json::to_value(snapshot.check(permission, path, owner)).unwrap()
}

async fn snapshots(db: &TestDb) {
    let server = TestServer::start(db, FLEET).await;
    build_fleet(&server).await;
    let revision = store_revision(db, "acme").await;
    let now = u64::try_from(tessera_host::setup::unix_now()).unwrap();

    // The JWKS.
    let (status, jwks) = get(&server, "/v1/keys").await;
    assert_eq!(status, 200);
    let keys = jwks["keys"].as_array().unwrap_or_else(|| panic!("{jwks}"));
    assert!(!keys.is_empty());
    for key in keys {
        assert_eq!(
            (&key["kty"], &key["crv"]),
            (&json!("OKP"), &json!("Ed25519")),
            "{key}"
        );
        assert!(
            key["kid"].as_str().is_some_and(|kid| !kid.is_empty()),
            "{key}"
        );
        assert!(
            key["x"].as_str().is_some_and(|x| x.len() == 43),
            "32 bytes, base64url: {key}"
        );
    }
    let verifier = Verifier::from_jwks(&jwks.to_string()).unwrap();

    // The binary envelope verifies and answers as /v1/check does.
    let fetch = |query: String, accept: Option<&'static str>| {
        let mut request = server.request(Method::GET, &format!("/v1/orgs/acme/snapshot?{query}"));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let kind = response
                .headers()
                .get("content-type")
                .map(|value| value.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (status, kind, response.bytes().await.unwrap().to_vec())
        }
    };
    let (status, kind, bytes) = fetch("principal=alice".to_owned(), None).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(kind, "application/vnd.tessera.snapshot");
    let expect = Expect {
        org: Some("acme"),
        principal: Some("alice"),
    };
    let snapshot = verifier.open(&bytes, now, expect).unwrap();
    assert_eq!(snapshot.header().revision, revision);
    assert_eq!(snapshot.header().org, "acme");
    assert!(snapshot.header().subtrees.is_none());
    assert!(
        verifier
            .open(
                &bytes,
                now,
                Expect {
                    org: Some("acme"),
                    principal: Some("bob")
                }
            )
            .is_err(),
        "the snapshot is alice's"
    );
    let questions: [(&str, &[&str], Option<&str>); 8] = [
        ("miner:blink_led", &["site:1", "rack:1", "miner:1"], None),
        ("miner:blink_led", &["site:2"], None),
        ("miner:read", &["site:1", "rack:1", "miner:9"], None),
        ("miner:reboot", &["site:1"], None),
        ("rack:manage", &["site:1", "rack:1"], None),
        ("miner:fly", &[], None),
        ("miner:read", &["site:2", "rack:1"], None),
        ("fleet:read", &[], Some("alice")),
    ];
    for (permission, path, owner) in questions {
        let mut body = check_body("alice", permission, path);
        if let Some(owner) = owner {
            body = with(body, json!({ "owner": owner }));
        }
        let (status, mut answer) = post(&server, "/v1/check", body).await;
        assert_eq!(status, 200);
        assert_eq!(
            answer.as_object_mut().unwrap().remove("revision"),
            Some(json!(revision))
        );
        assert_eq!(
            local(&snapshot, permission, path, owner),
            answer,
            "{permission} {path:?}"
        );
    }
    // bob's owner-only grant travels with his snapshot.
    let (status, _, bytes) = fetch("principal=bob".to_owned(), None).await;
    assert_eq!(status, 200);
    let bob = verifier
        .open(
            &bytes,
            now,
            Expect {
                org: Some("acme"),
                principal: Some("bob"),
            },
        )
        .unwrap();
    assert_eq!(
        local(&bob, "miner:blink_led", &["site:2"], Some("bob")),
        json!({"decision": "allow"})
    );
    assert_eq!(
        local(&bob, "miner:blink_led", &["site:2"], None),
        json!({"decision": "deny"})
    );

    // The text form.
    let (status, kind, text) = fetch("principal=alice".to_owned(), Some("text/plain")).await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/plain"), "{kind}");
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with("tss1."), "{text}");
    let opened = verifier.open_text(text.trim(), now, expect).unwrap();
    assert_eq!(
        local(
            &opened,
            "miner:blink_led",
            &["site:1", "rack:1", "miner:1"],
            None
        ),
        json!({"decision": "allow"})
    );

    // A subtree snapshot.
    let (status, _, bytes) = fetch("principal=alice&under=site:1".to_owned(), None).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let subtree = verifier.open(&bytes, now, expect).unwrap();
    assert_eq!(
        subtree.header().subtrees,
        Some(vec!["site:1".parse().unwrap()])
    );
    assert_eq!(
        local(
            &subtree,
            "miner:blink_led",
            &["site:1", "rack:1", "miner:1"],
            None
        ),
        json!({"decision": "allow"})
    );
    assert_eq!(
        local(&subtree, "miner:blink_led", &["site:2"], None),
        json!({"decision": "deny", "diagnostic": "OUTSIDE_SNAPSHOT"})
    );

    // `under` repeats (docs/snapshots.md §3); other parameters may not.
    let (status, _, bytes) =
        fetch("principal=alice&under=site:1&under=site:2".to_owned(), None).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let two = verifier.open(&bytes, now, expect).unwrap();
    assert_eq!(two.header().subtrees.as_ref().map(Vec::len), Some(2));
    let (status, _, _) = fetch("principal=alice&principal=bob".to_owned(), None).await;
    assert_eq!(status, 400);
    let (status, _, _) = fetch("principal=alice&undr=site:1".to_owned(), None).await;
    assert_eq!(status, 400, "a misspelled parameter is refused");

    // Token scopes travel in the snapshot.
    let (status, _, bytes) = fetch(
        "principal=alice&token_scopes=miner:read,rack:read".to_owned(),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let scoped = verifier.open(&bytes, now, expect).unwrap();
    let deep = ["site:1", "rack:1", "miner:1"];
    assert_eq!(
        local(&scoped, "miner:blink_led", &deep, None),
        json!({"decision": "deny"})
    );
    assert_eq!(
        local(&scoped, "miner:read", &deep, None),
        json!({"decision": "allow"})
    );
    let (status, _, bytes) = fetch("principal=alice&token_scopes=".to_owned(), None).await;
    assert_eq!(status, 200);
    let nothing = verifier.open(&bytes, now, expect).unwrap();
    assert_eq!(
        local(&nothing, "miner:read", &deep, None),
        json!({"decision": "deny"})
    );
    let (status, _, bytes) = fetch("principal=anonymous".to_owned(), None).await;
    assert_eq!(status, 200);
    verifier
        .open(
            &bytes,
            now,
            Expect {
                org: Some("acme"),
                principal: Some("anonymous"),
            },
        )
        .unwrap();

    // Refusals.
    let refusal = |(status, kind, bytes): (u16, String, Vec<u8>)| {
        assert!(
            kind.starts_with("application/json"),
            "an error is JSON: {kind}"
        );
        (status, serde_json::from_slice::<Value>(&bytes).unwrap())
    };
    for (query, status, code) in [
        ("principal=nobody", 404, "NOT_FOUND"),
        (
            "principal=alice&token_scopes=miner:fly",
            400,
            "UNKNOWN_PERMISSION",
        ),
        ("principal=alice&under=site", 400, "BAD_REQUEST"),
        ("", 400, "BAD_REQUEST"),
    ] {
        let answer = refusal(fetch(query.to_owned(), None).await);
        assert_error(&format!("snapshot?{query}"), answer, status, code);
    }
    let answer = refusal(
        fetch(
            format!("principal=alice&min_revision={}", revision + 1),
            None,
        )
        .await,
    );
    assert_error("snapshot min_revision ahead", answer, 409, "STALE");
    let answer = get(&server, "/v1/orgs/nope/snapshot?principal=alice").await;
    assert_error("snapshot unknown org", answer, 404, "NOT_FOUND");
    // More subtree roots than the under_roots quota (64 by default).
    let roots: String = (0..65).map(|at| format!("&under=site:{at}")).collect();
    let answer = refusal(fetch(format!("principal=alice{roots}"), None).await);
    assert_error(
        "snapshot over the under_roots quota",
        answer.clone(),
        409,
        "QUOTA_EXCEEDED",
    );
    assert_eq!(
        answer.1["error"]["details"],
        json!({"quota": "under_roots", "limit": 64})
    );

    // Over the configured maximum: 413 SNAPSHOT_TOO_LARGE, while the same
    // server's own checks (whole snapshots, no limit) still answer.
    let tiny = TestServer::start_with(db, FLEET, |config| config.max_snapshot_bytes = 64).await;
    let response = tiny
        .request(Method::GET, "/v1/orgs/acme/snapshot?principal=alice")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_error(
        "a snapshot over the maximum",
        (status, body),
        413,
        "SNAPSHOT_TOO_LARGE",
    );
    let answer = tiny
        .call(
            Method::POST,
            "/v1/check",
            Some(check_body("alice", "miner:blink_led", &deep)),
        )
        .await;
    assert_eq!(
        answer,
        (200, json!({"decision": "allow", "revision": revision}))
    );
    tiny.stop().await;
    server.stop().await;
}

both_backends!(snapshots_verify_and_agree, snapshots);
