//! The HTTP API's tokens and operations, against a real bound server on
//! SQLite and Postgres: missing, wrong and malformed tokens are 401, a
//! `check` token answers questions and is 403 on everything else, every
//! route of docs/http.md §6 is served (and in `/openapi.json`), `/healthz` and
//! `/metrics` work.
//!
//! The org here is imported through the library (examples/fleet/facts.json),
//! so these tests do not depend on the model endpoints; `http_model.rs`
//! tests those.

use crate::common;
use crate::http_util;

use std::collections::BTreeSet;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};

use common::{TestDb, TestServer};
use http_util::{FLEET, assert_error, assert_error_shape, call_with, check_body, check_token};

/// What a route is, for what a `check` token may do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Decisions, snapshots and keys: any valid token.
    Answer,
    /// The model, reads included: admin tokens only.
    Model,
    /// Operations: no token needed.
    Ops,
    /// The revision event stream: any valid token, and a body that never
    /// ends (events.rs tests it).
    Stream,
}

/// Every route of docs/http.md §6 (with the issue's shapes): method and pattern,
/// `{}` standing for a parameter. `…/groups/{id}/members/{user|group}/{id}`
/// is written as its two literal forms; a router may serve either as a
/// parameter.
const ROUTES: &[(&str, &str, Kind)] = &[
    ("POST", "/v1/check", Kind::Answer),
    ("POST", "/v1/check/batch", Kind::Answer),
    ("POST", "/v1/explain", Kind::Answer),
    ("POST", "/v1/filter", Kind::Answer),
    ("POST", "/v1/can-anywhere", Kind::Answer),
    ("POST", "/v1/guard", Kind::Answer),
    ("GET", "/v1/orgs/{}/effective", Kind::Answer),
    ("GET", "/v1/orgs/{}/nav", Kind::Answer),
    ("GET", "/v1/orgs/{}/claims", Kind::Answer),
    ("GET", "/v1/orgs/{}/snapshot", Kind::Answer),
    ("GET", "/v1/keys", Kind::Answer),
    ("GET", "/v1/orgs/{}/events", Kind::Stream),
    ("POST", "/v1/who-can", Kind::Model),
    ("GET", "/v1/orgs/{}/users/{}/access", Kind::Model),
    ("POST", "/v1/orgs/{}/preview", Kind::Model),
    ("GET", "/v1/orgs/{}/export", Kind::Model),
    ("POST", "/v1/orgs", Kind::Model),
    ("PUT", "/v1/users/{}", Kind::Model),
    ("PUT", "/v1/orgs/{}/members/{}", Kind::Model),
    ("DELETE", "/v1/orgs/{}/members/{}", Kind::Model),
    ("GET", "/v1/orgs/{}/groups", Kind::Model),
    ("POST", "/v1/orgs/{}/groups", Kind::Model),
    ("PATCH", "/v1/orgs/{}/groups/{}", Kind::Model),
    ("DELETE", "/v1/orgs/{}/groups/{}", Kind::Model),
    ("PUT", "/v1/orgs/{}/groups/{}/members/user/{}", Kind::Model),
    (
        "DELETE",
        "/v1/orgs/{}/groups/{}/members/user/{}",
        Kind::Model,
    ),
    ("PUT", "/v1/orgs/{}/groups/{}/members/group/{}", Kind::Model),
    (
        "DELETE",
        "/v1/orgs/{}/groups/{}/members/group/{}",
        Kind::Model,
    ),
    ("GET", "/v1/orgs/{}/roles", Kind::Model),
    ("POST", "/v1/orgs/{}/roles", Kind::Model),
    ("PATCH", "/v1/orgs/{}/roles/{}", Kind::Model),
    ("DELETE", "/v1/orgs/{}/roles/{}", Kind::Model),
    ("PUT", "/v1/orgs/{}/nodes/{}/{}", Kind::Model),
    ("DELETE", "/v1/orgs/{}/nodes/{}/{}", Kind::Model),
    ("GET", "/v1/orgs/{}/assignments", Kind::Model),
    ("POST", "/v1/orgs/{}/assignments", Kind::Model),
    ("DELETE", "/v1/orgs/{}/assignments/{}", Kind::Model),
    ("GET", "/v1/orgs/{}/hidden", Kind::Model),
    ("POST", "/v1/orgs/{}/hidden", Kind::Model),
    ("DELETE", "/v1/orgs/{}/hidden/{}", Kind::Model),
    ("GET", "/v1/orgs/{}/caps", Kind::Model),
    ("POST", "/v1/orgs/{}/caps", Kind::Model),
    ("DELETE", "/v1/orgs/{}/caps/{}", Kind::Model),
    ("PUT", "/v1/orgs/{}/settings", Kind::Model),
    ("GET", "/v1/orgs/{}/audit", Kind::Model),
    ("GET", "/healthz", Kind::Ops),
    ("GET", "/metrics", Kind::Ops),
];

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

/// A concrete path for a pattern: the org is `acme`, other parameters `x1`.
fn concrete(pattern: &str) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some((before, after)) = rest.split_once("{}") {
        out.push_str(before);
        out.push_str(if out.ends_with("/v1/orgs/") {
            "acme"
        } else {
            "x1"
        });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Whether a served route pattern (`/v1/orgs/{org}/groups/{id}`) serves
/// the expected one (`/v1/orgs/{}/groups/{}`): same segments, a `{}` only
/// where the served one has a parameter, a literal where the served one
/// has the same literal or a parameter.
fn serves(served: &str, expected: &str) -> bool {
    let served: Vec<&str> = served.split('/').collect();
    let expected: Vec<&str> = expected.split('/').collect();
    let is_param = |segment: &str| segment.starts_with('{') && segment.ends_with('}');
    served.len() == expected.len()
        && served.iter().zip(&expected).all(|(s, e)| {
            if *e == "{}" {
                is_param(s)
            } else {
                s == e || is_param(s)
            }
        })
}

/// The body a `check` token's question to an answer route carries.
fn answer_request(pattern: &str) -> (String, Option<Value>) {
    let check = check_body(
        "carol",
        "miner:blink_led",
        &["site:1", "rack:1", "miner:11"],
    );
    let who = |extra: Value| {
        let mut body = json!({"org": "acme", "principal": "carol"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Some(body)
    };
    match pattern {
        "/v1/check" | "/v1/explain" => (pattern.to_owned(), Some(check)),
        "/v1/check/batch" => (
            pattern.to_owned(),
            who(json!({"checks": [{"permission": "miner:read", "path": ["site:1"]}]})),
        ),
        "/v1/filter" | "/v1/can-anywhere" => {
            (pattern.to_owned(), who(json!({"permission": "miner:read"})))
        }
        "/v1/guard" => (pattern.to_owned(), who(json!({"route": "/miners"}))),
        "/v1/who-can" => (
            pattern.to_owned(),
            Some(json!({"org": "acme", "permission": "miner:read", "path": ["site:1"]})),
        ),
        "/v1/keys" => (pattern.to_owned(), None),
        _ => (format!("{}?principal=carol", concrete(pattern)), None),
    }
}

/// The `tessera_http_requests_total` series: (route, method, status).
fn request_series(metrics: &str) -> BTreeSet<(String, String, String)> {
    let label = |line: &str, key: &str| {
        let start = line.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
        let rest = &line[start..];
        rest[..rest.find('"').unwrap()].to_owned()
    };
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("tessera_http_requests_total{"))
        .map(|line| {
            (
                label(line, "route"),
                label(line, "method"),
                label(line, "status"),
            )
        })
        .collect()
}

async fn tokens(db: &TestDb) {
    http_util::import_fleet(db).await;
    let server = TestServer::start(db, FLEET).await;
    let check = check_token(db).await;
    let carol = check_body(
        "carol",
        "miner:blink_led",
        &["site:1", "rack:1", "miner:11"],
    );

    // The admin (bootstrap) token answers.
    let (status, answer) = server
        .call(Method::POST, "/v1/check", Some(carol.clone()))
        .await;
    assert_eq!(
        (status, &answer["decision"]),
        (200, &json!("allow")),
        "{answer}"
    );

    // Missing and wrong tokens: 401 on answers and on writes alike.
    let guarded = [
        (Method::POST, "/v1/check", Some(carol.clone())),
        (Method::GET, "/v1/orgs/acme/snapshot?principal=carol", None),
        (Method::GET, "/v1/orgs/acme/effective?principal=carol", None),
        (
            Method::POST,
            "/v1/orgs",
            Some(json!({"id": "evil", "name": "Evil"})),
        ),
        (
            Method::PUT,
            "/v1/users/mallory",
            Some(json!({"name": "Mallory"})),
        ),
        (Method::GET, "/v1/orgs/acme/roles", None),
    ];
    for (method, path, body) in guarded {
        let request = server
            .client
            .request(method.clone(), format!("{}{path}", server.base));
        let missing = common::send_json(request, body.clone()).await;
        assert_error(
            &format!("{method} {path} without a token"),
            missing,
            401,
            "UNAUTHENTICATED",
        );
        let wrong = format!("tsk_admin_{}", "0".repeat(48));
        let wrong = call_with(&server, &wrong, method.clone(), path, body.clone()).await;
        assert_error(
            &format!("{method} {path} with a wrong token"),
            wrong,
            401,
            "UNAUTHENTICATED",
        );
    }

    // The public keys are public: no token needed.
    let keys = server
        .client
        .get(format!("{}/v1/keys", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(keys.status(), 200);
    let jwks: serde_json::Value = keys.json().await.unwrap();
    assert!(!jwks["keys"].as_array().unwrap().is_empty(), "{jwks}");

    // Malformed Authorization headers.
    let mut garbage: Vec<HeaderValue> = [
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Bearer    ".to_owned(),
        "Basic dXNlcjpwYXNz".to_owned(),
        format!("Token {}", server.token),
        server.token.clone(),
        format!("Bearer {}x", server.token),
        format!("Bearer {}", &server.token[..server.token.len() - 1]),
        format!("Bearer {check}{}", server.token),
        "Bearer %00".to_owned(),
        format!("Bearer {}", "A".repeat(8000)),
    ]
    .iter()
    .map(|text| HeaderValue::from_str(text).unwrap())
    .collect();
    garbage.push(HeaderValue::from_bytes(b"Bearer \xff\xfe\xfd").unwrap());
    for header in garbage {
        let request = server
            .client
            .post(format!("{}/v1/check", server.base))
            .header(AUTHORIZATION, header.clone());
        let answer = common::send_json(request, Some(carol.clone())).await;
        assert_error(
            &format!("Authorization: {header:?}"),
            answer,
            401,
            "UNAUTHENTICATED",
        );
    }

    // A check token answers every question: decisions, snapshots, keys.
    for (name, pattern, kind) in ROUTES {
        if *kind != Kind::Answer {
            continue;
        }
        let (path, body) = answer_request(pattern);
        let (status, answer) = call_with(&server, &check, method(name), &path, body).await;
        assert_eq!(status, 200, "{name} {path} with a check token: {answer}");
    }
    let (_, answer) = call_with(
        &server,
        &check,
        Method::POST,
        "/v1/check",
        Some(carol.clone()),
    )
    .await;
    assert_eq!(answer["decision"], "allow", "{answer}");

    // ... and is FORBIDDEN on every model route, reads included, with or
    // without an acting user, whatever the body.
    for (name, pattern, kind) in ROUTES {
        if *kind != Kind::Model {
            continue;
        }
        let path = concrete(pattern);
        let body = matches!(*name, "POST" | "PUT" | "PATCH").then(|| json!({}));
        let answer = call_with(&server, &check, method(name), &path, body).await;
        assert_error(
            &format!("{name} {path} with a check token"),
            answer,
            403,
            "FORBIDDEN",
        );
    }
    for (method, path, body) in [
        (
            Method::POST,
            "/v1/orgs",
            json!({"id": "evil", "name": "Evil"}),
        ),
        (
            Method::PUT,
            "/v1/users/mallory",
            json!({"name": "Mallory", "superuser": true}),
        ),
        (
            Method::PUT,
            "/v1/orgs/acme/settings",
            json!({"kiosk": true}),
        ),
    ] {
        let request = server
            .client
            .request(method.clone(), format!("{}{path}", server.base))
            .bearer_auth(&check)
            .header("tessera-actor", "root");
        let answer = common::send_json(request, Some(body)).await;
        assert_error(
            &format!("{method} {path}: check token as root"),
            answer,
            403,
            "FORBIDDEN",
        );
    }
    // The refused writes did nothing: no org `evil`, no user `mallory`.
    let (status, answer) = server
        .call(
            Method::POST,
            "/v1/check",
            Some(
                json!({"org": "evil", "principal": "root", "permission": "fleet:read", "path": []}),
            ),
        )
        .await;
    assert_error(
        "org created by a check token",
        (status, answer),
        404,
        "NOT_FOUND",
    );
    let (status, answer) = server
        .call(
            Method::POST,
            "/v1/check",
            Some(check_body("mallory", "fleet:read", &[])),
        )
        .await;
    assert_error(
        "user created by a check token",
        (status, answer),
        404,
        "NOT_FOUND",
    );

    // An admin token made after the server started works at once.
    let store = db.store().await;
    let admin = tessera_host::create_token(
        &store,
        tessera_host::TokenKind::Admin,
        &[],
        tessera_host::setup::unix_now(),
    )
    .await
    .unwrap();
    store.close().await;
    let (status, answer) =
        call_with(&server, &admin, Method::GET, "/v1/orgs/acme/roles", None).await;
    assert_eq!(status, 200, "a new admin token reads the model: {answer}");

    // Every route was matched by the router (the metrics label requests
    // with their route pattern, and unmatched ones `unmatched`), with the
    // status the token's kind calls for.
    let metrics = server
        .request(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = request_series(&metrics);
    for (name, pattern, kind) in ROUTES {
        if matches!(kind, Kind::Ops | Kind::Stream) {
            continue;
        }
        let want = if *kind == Kind::Answer { "200" } else { "403" };
        assert!(
            series
                .iter()
                .any(|(route, m, status)| serves(route, pattern) && m == name && status == want),
            "{name} {pattern}: no request of the router's route with status {want}; served: {series:#?}"
        );
    }
    server.stop().await;
}

both_backends!(tokens_decide_who_may_call_what, tokens);

/// A token of `kind` bound to `orgs`, made in the server's store.
async fn bound_token(db: &TestDb, kind: tessera_host::TokenKind, orgs: &[&str]) -> String {
    let store = db.store().await;
    let orgs: Vec<String> = orgs.iter().map(|org| (*org).to_owned()).collect();
    let token = tessera_host::create_token(&store, kind, &orgs, tessera_host::setup::unix_now())
        .await
        .unwrap();
    store.close().await;
    token
}

async fn bound_tokens(db: &TestDb) {
    use tessera_host::TokenKind;
    http_util::import_fleet(db).await;
    let server = TestServer::start(db, FLEET).await;
    let check_beta = bound_token(db, TokenKind::Check, &["beta"]).await;
    let admin_beta = bound_token(db, TokenKind::Admin, &["beta", "gamma"]).await;
    let check_acme = bound_token(db, TokenKind::Check, &["acme"]).await;
    let admin_acme = bound_token(db, TokenKind::Admin, &["acme"]).await;

    // Every route that acts in an org answers 404 to a token bound to
    // other orgs, as an unknown org does; global model routes are
    // refused to any bound token; keys stay public.
    let mut swept = 0;
    for (name, pattern, kind) in ROUTES {
        let token = match kind {
            Kind::Ops => continue,
            Kind::Answer | Kind::Stream => &check_beta,
            Kind::Model => &admin_beta,
        };
        let (path, body) = match kind {
            Kind::Answer | Kind::Stream => answer_request(pattern),
            _ if *pattern == "/v1/who-can" => answer_request(pattern),
            _ => (concrete(pattern), Some(json!({}))),
        };
        let answer = call_with(&server, token, method(name), &path, body).await;
        let global = matches!(*pattern, "/v1/orgs" | "/v1/users/{}");
        let what = format!("{name} {path} with a token bound to other orgs");
        match (*pattern, global) {
            ("/v1/keys", _) => assert_eq!(answer.0, 200, "{what}: {}", answer.1),
            (_, true) => assert_error(&what, answer, 403, "FORBIDDEN"),
            (_, false) => assert_error(&what, answer, 404, "NOT_FOUND"),
        }
        swept += 1;
    }
    assert!(swept >= 40, "swept {swept} routes");

    // Bound to the org asked about, the same tokens answer.
    let carol = check_body(
        "carol",
        "miner:blink_led",
        &["site:1", "rack:1", "miner:11"],
    );
    let (status, answer) =
        call_with(&server, &check_acme, Method::POST, "/v1/check", Some(carol)).await;
    assert_eq!(
        (status, &answer["decision"]),
        (200, &json!("allow")),
        "{answer}"
    );
    let (status, answer) = call_with(
        &server,
        &admin_acme,
        Method::GET,
        "/v1/orgs/acme/roles",
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    // A percent-encoded org id names the same org.
    let (status, answer) = call_with(
        &server,
        &admin_acme,
        Method::GET,
        "/v1/orgs/%61cme/roles",
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    // A check token exports a member's snapshot, not a superuser's (a
    // bearer credential for everything in the org); an admin token may.
    let snapshot = |principal: &str| format!("/v1/orgs/acme/snapshot?principal={principal}");
    let (status, _) = call_with(&server, &check_acme, Method::GET, &snapshot("carol"), None).await;
    assert_eq!(status, 200);
    for token in [&check_acme, &check_token(db).await] {
        let answer = call_with(&server, token, Method::GET, &snapshot("root"), None).await;
        assert_error(
            "a check token exports root's snapshot",
            answer,
            403,
            "FORBIDDEN",
        );
    }
    let scoped = format!("{}&token_scopes=fleet:read", snapshot("root"));
    let answer = call_with(&server, &check_acme, Method::GET, &scoped, None).await;
    assert_error(
        "a check token exports root's scoped snapshot",
        answer,
        403,
        "FORBIDDEN",
    );
    let (status, _) = server.call(Method::GET, &snapshot("root"), None).await;
    assert_eq!(status, 200, "the admin token exports root's snapshot");
    server.stop().await;

    // The operator may allow it.
    let server = TestServer::start_with(db, FLEET, |config| {
        config.check_token_superuser_snapshots = true;
    })
    .await;
    let (status, _) = call_with(&server, &check_acme, Method::GET, &snapshot("root"), None).await;
    assert_eq!(status, 200, "allowed by the setting");
    server.stop().await;
}

both_backends!(tokens_bound_to_orgs_reach_only_those_orgs, bound_tokens);

async fn operations(db: &TestDb) {
    http_util::import_fleet(db).await;
    let server = TestServer::start(db, FLEET).await;

    // Health needs no token and answers exactly {"status": "ok"}.
    let health = server
        .client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(
        health.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );

    // The OpenAPI document is JSON generated from the router: every route
    // of docs/http.md §6 with its method.
    let response = server
        .client
        .get(format!("{}/openapi.json", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let openapi: Value = response.json().await.unwrap();
    assert!(
        openapi["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "an OpenAPI 3 document: {}",
        openapi["openapi"]
    );
    let paths = openapi["paths"].as_object().expect("paths");
    for (name, pattern, _) in ROUTES {
        let operation = name.to_ascii_lowercase();
        let documented = paths.iter().any(|(path, item)| {
            serves(path, pattern)
                && item
                    .get(&operation)
                    .is_some_and(|op| op["responses"].is_object())
        });
        assert!(
            documented,
            "{name} {pattern} is not in /openapi.json; documented: {:?}",
            paths.keys().collect::<Vec<_>>()
        );
    }

    // Metrics: requests per route, decisions by outcome, the snapshot cache.
    let carol = check_body(
        "carol",
        "miner:blink_led",
        &["site:1", "rack:1", "miner:11"],
    );
    let scrape = || async {
        let response = server
            .request(Method::GET, "/metrics")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        response.text().await.unwrap()
    };
    let allow = r#"tessera_decisions_total{outcome="allow"}"#;
    let deny = r#"tessera_decisions_total{outcome="deny"}"#;
    let hits = r#"tessera_snapshot_cache_total{result="hit"}"#;
    let misses = r#"tessera_snapshot_cache_total{result="miss"}"#;
    let before = scrape().await;
    for _ in 0..3 {
        let (status, answer) = server
            .call(Method::POST, "/v1/check", Some(carol.clone()))
            .await;
        assert_eq!((status, &answer["decision"]), (200, &json!("allow")));
    }
    let (_, answer) = server
        .call(
            Method::POST,
            "/v1/check",
            Some(check_body("carol", "miner:reboot", &["site:1"])),
        )
        .await;
    assert_eq!(answer["decision"], "deny");
    let after = scrape().await;
    let value = |text: &str, series: &str| {
        http_util::metric(text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    assert_eq!(
        value(&after, allow),
        value(&before, allow) + 3.0,
        "three allows"
    );
    assert_eq!(value(&after, deny), value(&before, deny) + 1.0, "one deny");
    assert!(
        value(&after, hits) >= value(&before, hits) + 3.0,
        "repeated checks are answered from the cache"
    );
    assert!(
        value(&after, misses) >= 1.0,
        "the first check compiled a snapshot"
    );
    let checks = request_series(&after)
        .into_iter()
        .find(|(route, method, status)| {
            route == "/v1/check" && method == "POST" && status == "200"
        });
    assert!(checks.is_some(), "{after}");
    assert!(
        after.contains(r#"tessera_http_requests_total{route="/v1/check""#),
        "requests are counted under the route pattern: {after}"
    );
    let count = value(
        &after,
        r#"tessera_http_requests_total{route="/v1/check",method="POST",status="200"}"#,
    );
    assert!(count >= 4.0, "{after}");
    assert!(
        after.contains(
            r#"tessera_http_request_duration_seconds_bucket{route="/v1/check",le="+Inf"}"#
        ),
        "latency histograms per route: {after}"
    );
    assert!(after.contains("tessera_snapshot_build_seconds"), "{after}");
    // The checks above built snapshots: at least one org structure read.
    let reads = after
        .lines()
        .find_map(|line| line.strip_prefix("tessera_structure_reads_total "))
        .and_then(|count| count.parse::<u64>().ok());
    assert!(reads.is_some_and(|reads| reads >= 1), "{after}");
    // Unknown routes are counted under one label, not one per path.
    let (status, body) = server.call(Method::GET, "/v1/nope/12345", None).await;
    assert_error("unknown route", (status, body), 404, "NOT_FOUND");
    let after = scrape().await;
    assert!(!after.contains("/v1/nope/12345"), "{after}");
    server.stop().await;
}

both_backends!(operations_health_metrics_openapi, operations);

#[test]
fn route_matching_of_this_test_is_strict() {
    assert!(serves(
        "/v1/orgs/{org}/groups/{id}",
        "/v1/orgs/{}/groups/{}"
    ));
    assert!(serves(
        "/v1/orgs/{org}/groups/{id}/members/{kind}/{member}",
        "/v1/orgs/{}/groups/{}/members/user/{}"
    ));
    assert!(!serves("/v1/orgs/{org}/groups", "/v1/orgs/{}/groups/{}"));
    assert!(!serves(
        "/v1/orgs/acme/groups/{id}",
        "/v1/orgs/{}/groups/{}"
    ));
    assert!(!serves(
        "/v1/orgs/{org}/roles/{id}",
        "/v1/orgs/{}/groups/{}"
    ));
    assert_eq!(
        concrete("/v1/orgs/{}/nodes/{}/{}"),
        "/v1/orgs/acme/nodes/x1/x1"
    );
    assert_error_shape(
        "sample",
        &json!({"error": {"code": "NOT_FOUND", "message": "m", "details": {}}}),
    );
}
