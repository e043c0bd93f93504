//! Hostile and mistaken requests against a real bound server, on SQLite and
//! Postgres: every refusal is `{"error": {"code", "message", "details"}}`
//! with the status of docs/admin.md §5 — unknown routes 404, wrong methods 405,
//! bodies over 1 MiB 413 (declared or streamed), malformed, mistyped,
//! incomplete or deeply nested JSON 400, percent-garbage in paths 400 or
//! 404 — and never a 500.

use crate::common;
use crate::http_util;

use reqwest::Method;
use serde_json::{Value, json};

use common::{TestDb, TestServer};
use http_util::{FLEET, Problems, check_body, padded, raw_exchange, send_chunked};

const MIB: usize = 1 << 20;

/// Sends raw bytes as a JSON body.
async fn send_bytes(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let request = server
        .request(method, path)
        .header("content-type", "application/json")
        .body(body);
    common::send_json(request, None).await
}

/// Bodies no endpoint may take: each is a 400 BAD_REQUEST.
fn malformed() -> Vec<(String, Vec<u8>)> {
    let deep_array = "[".repeat(10_000);
    let deep_object = "{\"a\":".repeat(10_000);
    let mut cases: Vec<(String, Vec<u8>)> = [
        ("truncated", "{\"org\":".to_owned()),
        ("not JSON", "org=acme&principal=carol".to_owned()),
        ("a list", "[]".to_owned()),
        ("a string", "\"acme\"".to_owned()),
        ("a number", "42".to_owned()),
        ("null", "null".to_owned()),
        ("trailing garbage", "{} x".to_owned()),
        ("two objects", "{}{}".to_owned()),
        ("10,000 [", deep_array.clone()),
        ("10,000 nested objects", deep_object),
        ("100,000 [", "[".repeat(100_000)),
        (
            "balanced 10,000 []",
            format!("{deep_array}{}", "]".repeat(10_000)),
        ),
        ("single quotes", "{'org': 'acme'}".to_owned()),
        ("a lone surrogate", "{\"org\": \"\\ud800\"}".to_owned()),
    ]
    .into_iter()
    .map(|(what, body)| (what.to_owned(), body.into_bytes()))
    .collect();
    cases.push((
        "invalid UTF-8".to_owned(),
        b"{\"org\": \"\xff\xfe\"}".to_vec(),
    ));
    cases
}

/// `/v1/check` bodies with the wrong types or missing fields.
fn mistyped_checks() -> Vec<(&'static str, Value)> {
    let good = check_body("carol", "miner:blink_led", &["site:1"]);
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    vec![
        ("org a number", with("org", json!(1))),
        ("org null", with("org", Value::Null)),
        ("principal a list", with("principal", json!(["carol"]))),
        (
            "permission an object",
            with("permission", json!({"key": "miner:read"})),
        ),
        ("path a string", with("path", json!("site:1"))),
        ("path of numbers", with("path", json!([1, 2]))),
        ("path nested deeply", with("path", json!([[[["site:1"]]]]))),
        ("owner a number", with("owner", json!(7))),
        ("min_revision negative", with("min_revision", json!(-1))),
        ("min_revision a string", with("min_revision", json!("3"))),
        ("min_revision a fraction", with("min_revision", json!(1.5))),
        ("min_revision too big", with("min_revision", json!(1e40))),
        (
            "token_scopes a string",
            with("token_scopes", json!("miner:read")),
        ),
        ("token_scopes of numbers", with("token_scopes", json!([1]))),
        // A misspelled field must not silently widen the answer.
        (
            "token_scope misspelled",
            with("token_scope", json!(["miner:read"])),
        ),
        ("min_revison misspelled", with("min_revison", json!(99))),
        ("no org", without("org")),
        ("no principal", without("principal")),
        ("no permission", without("permission")),
        ("no path", without("path")),
        ("empty object", json!({})),
    ]
}

/// The status each hostile input of the sweeps below gets, on SQLite and
/// on Postgres (they differ where Postgres refuses a NUL character that
/// SQLite stores): pinned, so a change of answer is a decision.
const PINNED: &[(&str, u16, u16)] = &[
    ("a NUL in the org", 404, 400),
    ("a NUL principal", 404, 400),
    ("a control character in the principal", 404, 404),
    ("a 500,000-byte org", 404, 404),
    ("a 500,000-byte principal", 404, 404),
    ("a non-ASCII org", 404, 404),
    ("an empty org", 404, 404),
    ("an empty principal", 404, 404),
    ("/v1/orgs/%FF/effective?principal=carol", 400, 400),
    ("/v1/orgs/%FF%FE/nav?principal=carol", 400, 400),
    ("/v1/orgs/%C0%AF/claims?principal=carol", 400, 400),
    ("/v1/orgs/%E2%82/snapshot?principal=carol", 400, 400),
    ("/v1/orgs/ac%00me/effective?principal=carol", 404, 400),
    ("/v1/orgs/a%2Fb/nav?principal=carol", 404, 404),
    ("/v1/orgs/%25/claims?principal=carol", 404, 404),
    ("/v1/orgs/%zz/claims?principal=carol", 404, 404),
    ("/v1/orgs/%/claims?principal=carol", 404, 404),
    ("/v1/orgs/acme/effective?principal=%FF", 404, 404),
    ("/v1/orgs/acme/effective?principal=car%00ol", 404, 400),
    ("/v1/orgs/acme/nav?principal=%zz", 404, 404),
    ("/v1/orgs/acme/claims?principal=%", 404, 404),
    ("/v1/orgs/acme/snapshot?principal=%00", 404, 400),
    (
        "/v1/orgs/acme/effective?principal=carol&token_scopes=%00",
        400,
        400,
    ),
    (
        "/v1/orgs/acme/snapshot?principal=carol&under=site:%00",
        400,
        400,
    ),
    (
        "/v1/orgs/acme/effective?principal=carol&path=site:%00",
        200,
        200,
    ),
    ("/v1/orgs/acme/effective?principal=carol&path=%FF", 200, 200),
    ("PUT /v1/users/%FF", 400, 400),
    ("PUT /v1/users/a%00b", 400, 400),
    ("PUT /v1/users/%zz", 400, 400),
    ("PUT /v1/orgs/%FF/members/alice", 400, 400),
    ("PUT /v1/orgs/acme/members/%C0%AF", 400, 400),
    ("PUT /v1/orgs/acme/members/a%00b", 400, 400),
    ("DELETE /v1/orgs/acme/members/%E2%82", 400, 400),
    ("GET /v1/orgs/%FF/groups", 400, 400),
    ("GET /v1/orgs/ac%00me/roles", 404, 400),
    ("PATCH /v1/orgs/acme/groups/%FF", 400, 400),
    ("DELETE /v1/orgs/acme/groups/a%00b", 404, 400),
    (
        "PUT /v1/orgs/acme/groups/members/members/user/%FF",
        400,
        400,
    ),
    (
        "PUT /v1/orgs/acme/groups/members/members/%FF/alice",
        400,
        400,
    ),
    (
        "PUT /v1/orgs/acme/groups/members/members/robot/alice",
        400,
        400,
    ),
    (
        "DELETE /v1/orgs/acme/groups/%00/members/group/%00",
        400,
        400,
    ),
    ("PATCH /v1/orgs/acme/roles/%FF", 400, 400),
    ("DELETE /v1/orgs/acme/roles/a%00b", 404, 400),
    ("PUT /v1/orgs/acme/nodes/%FF/1", 400, 400),
    ("PUT /v1/orgs/acme/nodes/site/%00", 400, 400),
    ("PUT /v1/orgs/acme/nodes/site/a%2Fb", 400, 400),
    ("PUT /v1/orgs/acme/nodes/site/9", 400, 400),
    ("DELETE /v1/orgs/acme/nodes/site/%E2%82", 400, 400),
    ("DELETE /v1/orgs/acme/assignments/%FF", 400, 400),
    ("DELETE /v1/orgs/acme/assignments/a%00b", 404, 400),
    ("DELETE /v1/orgs/acme/hidden/%C0%AF", 400, 400),
    ("DELETE /v1/orgs/acme/caps/%00", 404, 400),
    ("PUT /v1/orgs/%FF/settings", 400, 400),
    ("GET /v1/orgs/acme/audit?after=abc", 400, 400),
    ("GET /v1/orgs/%00/audit", 404, 400),
    (
        "POST /v1/orgs {\"id\":\"a\\u0000b\",\"name\":\"X\"}",
        400,
        400,
    ),
    (
        "POST /v1/orgs {\"id\":\"nul\",\"name\":\"N\\u0000L\"}",
        201,
        400,
    ),
    ("PUT /v1/users/zed {\"name\":\"Z\\u0000d\"}", 200, 400),
    (
        "PUT /v1/users/zoe {\"name\":\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        200,
        200,
    ),
    (
        "POST /v1/orgs/acme/groups {\"name\":\"g\\u0000\"}",
        400,
        400,
    ),
    (
        "POST /v1/orgs/acme/groups {\"name\":\"lkkymhdmdsrzngvhmnbpljksfepnhjpnuajwutnqiezypqhnfavpcciiivlcbgjzdvajhuvjoakvbckcavxkenvaera",
        400,
        400,
    ),
    (
        "POST /v1/orgs/acme/roles {\"name\":\"lkkymhdmdsrzngvhmnbpljksfepnhjpnuajwutnqiezypqhnfavpcciiivlcbgjzdvajhuvjoakvbckcavxkenvaera",
        400,
        400,
    ),
    (
        "POST /v1/orgs/acme/roles {\"name\":\"r\\u0000\",\"permissions\":[]}",
        400,
        400,
    ),
    (
        "POST /v1/orgs/acme/roles {\"name\":\"r2\",\"permissions\":[\"miner:read\\u0000\"]}",
        400,
        400,
    ),
    (
        "POST /v1/orgs/acme/assignments {\"role\":\"FIELD_TECH\",\"scope\":null,\"subject\":\"user:\\u0000\"}",
        400,
        400,
    ),
    (
        "POST /v1/orgs/acme/assignments {\"role\":\"F\\u0000\",\"scope\":null,\"subject\":\"user:carol\"}",
        404,
        400,
    ),
    (
        "POST /v1/orgs/acme/hidden {\"node\":\"miner:11\",\"selector\":\"user:\\u0000\"}",
        400,
        400,
    ),
    (
        "POST /v1/orgs/acme/caps {\"allow\":[],\"scope\":\"site:\\u0000\",\"selector\":\"everyone\"}",
        400,
        400,
    ),
];

/// Records a problem unless `answer` has the status pinned for `what` on
/// `db`'s backend (and, for an error, the API's error shape).
fn pinned(problems: &mut Problems, db: &TestDb, what: &str, (status, body): (u16, Value)) {
    let want = PINNED
        .iter()
        .find(|(pinned, ..)| *pinned == what)
        .map(|(_, sqlite, postgres)| match db.backend {
            tessera_host::Backend::Sqlite => *sqlite,
            tessera_host::Backend::Postgres => *postgres,
        });
    match want {
        Some(want) if want == status => {
            if status >= 400 {
                problems.note(http_util::shape_problem(what, &body));
            }
        }
        Some(want) => problems.note(Some(format!("{what}: {status}, pinned {want}: {body}"))),
        None => problems.note(Some(format!(
            "UNPINNED\t{what:?}\t{:?}\t{status}",
            db.backend
        ))),
    }
}

async fn answer_routes(db: &TestDb) {
    http_util::import_fleet(db).await;
    let server = TestServer::start(db, FLEET).await;
    let mut problems = Problems::default();
    let carol = check_body(
        "carol",
        "miner:blink_led",
        &["site:1", "rack:1", "miner:11"],
    );
    let (status, answer) = server
        .call(Method::POST, "/v1/check", Some(carol.clone()))
        .await;
    assert_eq!(
        (status, &answer["decision"]),
        (200, &json!("allow")),
        "{answer}"
    );

    // Unknown routes: 404 NOT_FOUND.
    for (method, path) in [
        (Method::GET, "/"),
        (Method::GET, "/v1"),
        (Method::GET, "/v1/nope"),
        (Method::POST, "/v1/nope"),
        (Method::POST, "/v1/check/extra"),
        (Method::POST, "/v1/check/batch/extra"),
        (Method::POST, "/V1/CHECK"),
        (Method::POST, "/v2/check"),
        (Method::GET, "/v1/orgs/acme/unknown"),
        (Method::GET, "/v1/orgs/acme/snapshot/extra"),
        (Method::DELETE, "/v1/orgs/acme/roles/x/y/z"),
        (Method::GET, "/healthz/x"),
    ] {
        let answer = server.call(method.clone(), path, None).await;
        problems.error(&format!("{method} {path}"), answer, 404, "NOT_FOUND");
    }

    // Known routes, wrong methods: 405 METHOD_NOT_ALLOWED.
    for (method, path) in [
        (Method::GET, "/v1/check"),
        (Method::PUT, "/v1/check"),
        (Method::DELETE, "/v1/check"),
        (Method::GET, "/v1/check/batch"),
        (Method::GET, "/v1/explain"),
        (Method::GET, "/v1/filter"),
        (Method::GET, "/v1/can-anywhere"),
        (Method::GET, "/v1/guard"),
        (Method::DELETE, "/v1/keys"),
        (Method::POST, "/v1/keys"),
        (Method::POST, "/v1/orgs/acme/effective"),
        (Method::POST, "/v1/orgs/acme/nav"),
        (Method::PUT, "/v1/orgs/acme/claims"),
        (Method::DELETE, "/v1/orgs/acme/snapshot"),
        (Method::POST, "/healthz"),
        (Method::DELETE, "/metrics"),
        (Method::POST, "/openapi.json"),
    ] {
        let answer = server.call(method.clone(), path, None).await;
        problems.error(
            &format!("{method} {path}"),
            answer,
            405,
            "METHOD_NOT_ALLOWED",
        );
    }

    // Body size: exactly 1 MiB is taken, one byte more is 413, whether the
    // length is declared or the body streamed in chunks.
    let (status, answer) =
        send_bytes(&server, Method::POST, "/v1/check", padded(&carol, MIB)).await;
    assert_eq!(
        (status, &answer["decision"]),
        (200, &json!("allow")),
        "a 1 MiB body: {answer}"
    );
    for size in [MIB + 1, 4 * MIB] {
        let answer = send_bytes(&server, Method::POST, "/v1/check", padded(&carol, size)).await;
        problems.error(
            &format!("a {size}-byte body"),
            answer,
            413,
            "PAYLOAD_TOO_LARGE",
        );
    }
    let answer = send_bytes(
        &server,
        Method::POST,
        "/v1/check/batch",
        vec![b'['; MIB + 1],
    )
    .await;
    problems.error("1 MiB + 1 of [", answer, 413, "PAYLOAD_TOO_LARGE");
    let chunked = send_chunked(&server, "POST", "/v1/check", &padded(&carol, 1000)).await;
    assert_eq!(
        (chunked.status, &chunked.body["decision"]),
        (200, &json!("allow")),
        "{}",
        chunked.body
    );
    let chunked = send_chunked(&server, "POST", "/v1/check", &padded(&carol, MIB)).await;
    assert_eq!(
        (chunked.status, &chunked.body["decision"]),
        (200, &json!("allow")),
        "{}",
        chunked.body
    );
    for size in [MIB + 1, 3 * MIB] {
        let chunked = send_chunked(&server, "POST", "/v1/check", &padded(&carol, size)).await;
        problems.error(
            &format!("a chunked {size}-byte body"),
            (chunked.status, chunked.body),
            413,
            "PAYLOAD_TOO_LARGE",
        );
    }
    // A declared length over the limit is refused before the body comes.
    let head = format!(
        "POST /v1/check HTTP/1.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}",
        server.token,
        64 * MIB
    );
    let declared = raw_exchange(&server, &head, vec![b"{".to_vec()]).await;
    problems.error(
        "a declared 64 MiB body",
        (declared.status, declared.body),
        413,
        "PAYLOAD_TOO_LARGE",
    );

    // Malformed JSON: 400 on every answer route that takes a body.
    for path in [
        "/v1/check",
        "/v1/check/batch",
        "/v1/explain",
        "/v1/filter",
        "/v1/can-anywhere",
        "/v1/guard",
    ] {
        for (what, body) in malformed() {
            let answer = send_bytes(&server, Method::POST, path, body).await;
            problems.error(&format!("{path}: {what}"), answer, 400, "BAD_REQUEST");
        }
        let answer = send_bytes(&server, Method::POST, path, Vec::new()).await;
        problems.error(
            &format!("{path}: an empty body"),
            answer,
            400,
            "BAD_REQUEST",
        );
    }
    for (what, body) in mistyped_checks() {
        for path in ["/v1/check", "/v1/explain"] {
            let answer = server.call(Method::POST, path, Some(body.clone())).await;
            problems.error(&format!("{path}: {what}"), answer, 400, "BAD_REQUEST");
        }
    }
    for (what, body) in [
        (
            "checks missing",
            json!({"org": "acme", "principal": "carol"}),
        ),
        (
            "checks an object",
            json!({"org": "acme", "principal": "carol", "checks": {"permission": "x"}}),
        ),
        (
            "a check without a path",
            json!({"org": "acme", "principal": "carol", "checks": [{"permission": "miner:read"}]}),
        ),
        (
            "a check that is a string",
            json!({"org": "acme", "principal": "carol", "checks": ["miner:read"]}),
        ),
    ] {
        let answer = server
            .call(Method::POST, "/v1/check/batch", Some(body))
            .await;
        problems.error(&format!("batch: {what}"), answer, 400, "BAD_REQUEST");
    }
    for (path, body) in [
        ("/v1/filter", json!({"org": "acme", "principal": "carol"})),
        (
            "/v1/filter",
            json!({"org": "acme", "principal": "carol", "permission": "miner:read", "columns": ["site_id"]}),
        ),
        (
            "/v1/can-anywhere",
            json!({"org": "acme", "principal": "carol", "permission": 3}),
        ),
        ("/v1/guard", json!({"org": "acme", "principal": "carol"})),
        (
            "/v1/guard",
            json!({"org": "acme", "principal": "carol", "route": ["/miners"]}),
        ),
    ] {
        let answer = server.call(Method::POST, path, Some(body.clone())).await;
        problems.error(&format!("{path}: {body}"), answer, 400, "BAD_REQUEST");
    }

    // Query parameters: missing or mistyped is 400.
    for path in [
        "/v1/orgs/acme/effective",
        "/v1/orgs/acme/effective?path=site:1",
        "/v1/orgs/acme/nav?principal=carol&min_revision=abc",
        "/v1/orgs/acme/claims?principal=carol&min_revision=-1",
        "/v1/orgs/acme/effective?principal=carol&min_revision=99999999999999999999999",
        "/v1/orgs/acme/snapshot?principal=carol&min_revision=1.5",
        "/v1/orgs/acme/snapshot",
    ] {
        let answer = server.call(Method::GET, path, None).await;
        problems.error(path, answer, 400, "BAD_REQUEST");
    }

    // Hostile strings inside well-formed JSON: never a 500.
    let nul = |key: &str, value: &str| {
        let mut body = carol.clone();
        body[key] = json!(value);
        body
    };
    for (what, body) in [
        ("a NUL in the org", nul("org", "ac\u{0}me")),
        ("a NUL principal", nul("principal", "\u{0}")),
        (
            "a control character in the principal",
            nul("principal", "car\u{1b}ol"),
        ),
        ("a 500,000-byte org", nul("org", &"a".repeat(500_000))),
        (
            "a 500,000-byte principal",
            nul("principal", &"c".repeat(500_000)),
        ),
        ("a non-ASCII org", nul("org", "ąćę😀")),
        ("an empty org", nul("org", "")),
        ("an empty principal", nul("principal", "")),
    ] {
        let answer = server.call(Method::POST, "/v1/check", Some(body)).await;
        pinned(&mut problems, db, what, answer);
    }
    for (what, body, diagnostic) in [
        (
            "a NUL permission",
            nul("permission", "miner:read\u{0}"),
            "UNKNOWN_PERMISSION",
        ),
        (
            "a huge permission",
            nul("permission", &"m".repeat(500_000)),
            "UNKNOWN_PERMISSION",
        ),
    ] {
        let (status, answer) = server.call(Method::POST, "/v1/check", Some(body)).await;
        assert_eq!(
            (status, &answer["diagnostic"]),
            (200, &json!(diagnostic)),
            "{what}: {answer}"
        );
    }
    for path in [
        json!(["site:\u{0}"]),
        json!(["\u{0}:1"]),
        json!(["site:1", ""]),
        json!([":"]),
    ] {
        let mut body = carol.clone();
        body["path"] = path.clone();
        let (status, answer) = server.call(Method::POST, "/v1/check", Some(body)).await;
        assert_eq!(
            (status, &answer["decision"], &answer["diagnostic"]),
            (200, &json!("deny"), &json!("INVALID_PATH")),
            "path {path}: {answer}"
        );
    }

    // Percent-garbage in path and query parameters: 400 or 404, never 500.
    for path in [
        "/v1/orgs/%FF/effective?principal=carol",
        "/v1/orgs/%FF%FE/nav?principal=carol",
        "/v1/orgs/%C0%AF/claims?principal=carol",
        "/v1/orgs/%E2%82/snapshot?principal=carol",
        "/v1/orgs/ac%00me/effective?principal=carol",
        "/v1/orgs/a%2Fb/nav?principal=carol",
        "/v1/orgs/%25/claims?principal=carol",
        "/v1/orgs/%zz/claims?principal=carol",
        "/v1/orgs/%/claims?principal=carol",
        "/v1/orgs/acme/effective?principal=%FF",
        "/v1/orgs/acme/effective?principal=car%00ol",
        "/v1/orgs/acme/nav?principal=%zz",
        "/v1/orgs/acme/claims?principal=%",
        "/v1/orgs/acme/snapshot?principal=%00",
        "/v1/orgs/acme/effective?principal=carol&token_scopes=%00",
        "/v1/orgs/acme/snapshot?principal=carol&under=site:%00",
    ] {
        let answer = server.call(Method::GET, path, None).await;
        pinned(&mut problems, db, path, answer);
    }
    // A garbage path or owner in a query allows nothing (or is refused).
    for path in [
        "/v1/orgs/acme/effective?principal=carol&path=site:%00",
        "/v1/orgs/acme/effective?principal=carol&path=%FF",
    ] {
        let (status, answer) = server.call(Method::GET, path, None).await;
        if status == 200 {
            assert_eq!(answer["permissions"], json!([]), "{path}: {answer}");
        }
        pinned(&mut problems, db, path, (status, answer));
    }

    // After all that, the server still answers.
    let (status, answer) = server.call(Method::POST, "/v1/check", Some(carol)).await;
    assert_eq!(
        (status, &answer["decision"]),
        (200, &json!("allow")),
        "{answer}"
    );
    server.stop().await;
    problems.check();
}

both_backends!(errors_on_answer_routes, answer_routes);

/// `len` pseudo-random letters (no compression brings them under a
/// btree's row limit).
fn noise(len: usize) -> String {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + u8::try_from(state % 26).unwrap())
        })
        .collect()
}

async fn model_routes(db: &TestDb) {
    http_util::import_fleet(db).await;
    let server = TestServer::start(db, FLEET).await;
    let mut problems = Problems::default();

    // Wrong methods on model routes.
    for (method, path) in [
        (Method::GET, "/v1/orgs"),
        (Method::PUT, "/v1/orgs"),
        (Method::GET, "/v1/users/alice"),
        (Method::POST, "/v1/users/alice"),
        (Method::GET, "/v1/orgs/acme/members/alice"),
        (Method::PUT, "/v1/orgs/acme/groups"),
        (Method::DELETE, "/v1/orgs/acme/groups"),
        (
            Method::GET,
            "/v1/orgs/acme/groups/members/members/user/alice",
        ),
        (Method::PUT, "/v1/orgs/acme/roles"),
        (Method::PUT, "/v1/orgs/acme/roles/ADMIN"),
        (Method::GET, "/v1/orgs/acme/nodes/site/1"),
        (Method::PATCH, "/v1/orgs/acme/assignments"),
        (Method::GET, "/v1/orgs/acme/assignments/x1"),
        (Method::PUT, "/v1/orgs/acme/hidden/x1"),
        (Method::PATCH, "/v1/orgs/acme/caps/x1"),
        (Method::PATCH, "/v1/orgs/acme/settings"),
        (Method::DELETE, "/v1/orgs/acme/settings"),
        (Method::POST, "/v1/orgs/acme/nodes"),
        (Method::POST, "/v1/orgs/acme/members"),
        (Method::POST, "/v1/catalog"),
        (Method::POST, "/v1/orgs/acme/audit"),
    ] {
        let answer = server.call(method.clone(), path, None).await;
        problems.error(
            &format!("{method} {path}"),
            answer,
            405,
            "METHOD_NOT_ALLOWED",
        );
    }

    // Malformed and oversized bodies on writes.
    let writes = [
        (Method::POST, "/v1/orgs"),
        (Method::PUT, "/v1/users/zed"),
        (Method::POST, "/v1/orgs/acme/groups"),
        (Method::PATCH, "/v1/orgs/acme/groups/members"),
        (Method::POST, "/v1/orgs/acme/roles"),
        (Method::PATCH, "/v1/orgs/acme/roles/ADMIN"),
        (Method::PUT, "/v1/orgs/acme/nodes/site/9"),
        (Method::POST, "/v1/orgs/acme/assignments"),
        (Method::POST, "/v1/orgs/acme/hidden"),
        (Method::POST, "/v1/orgs/acme/caps"),
        (Method::PUT, "/v1/orgs/acme/settings"),
    ];
    for (method, path) in &writes {
        for (what, body) in malformed() {
            let answer = send_bytes(&server, method.clone(), path, body).await;
            problems.error(
                &format!("{method} {path}: {what}"),
                answer,
                400,
                "BAD_REQUEST",
            );
        }
        let answer = send_bytes(&server, method.clone(), path, padded(&json!({}), MIB + 1)).await;
        problems.error(
            &format!("{method} {path}: 1 MiB + 1"),
            answer,
            413,
            "PAYLOAD_TOO_LARGE",
        );
        let chunked =
            send_chunked(&server, method.as_str(), path, &padded(&json!({}), 2 * MIB)).await;
        problems.error(
            &format!("{method} {path}: a chunked 2 MiB body"),
            (chunked.status, chunked.body),
            413,
            "PAYLOAD_TOO_LARGE",
        );
    }
    for (method, path, body) in [
        (Method::POST, "/v1/orgs", json!({"id": "o2"})),
        (Method::POST, "/v1/orgs", json!({"id": 2, "name": "Two"})),
        (
            Method::PUT,
            "/v1/users/zed",
            json!({"name": "Zed", "superuser": "yes"}),
        ),
        (Method::PUT, "/v1/users/zed", json!({"name": ["Zed"]})),
        (
            Method::POST,
            "/v1/orgs/acme/groups",
            json!({"default": true}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/groups",
            json!({"name": "g", "default": "no"}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/roles",
            json!({"name": "r", "permissions": "miner:read"}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/roles",
            json!({"permissions": []}),
        ),
        (
            Method::PATCH,
            "/v1/orgs/acme/roles/viewer",
            json!({"permissions": [1]}),
        ),
        (
            Method::PUT,
            "/v1/orgs/acme/nodes/site/9",
            json!({"parent": 1}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/assignments",
            json!({"subject": "user:carol", "scope": null}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/assignments",
            json!({"subject": "user:carol", "role": "FIELD_TECH", "owner_only": "true"}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/hidden",
            json!({"selector": "everyone"}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/caps",
            json!({"selector": "everyone", "scope": null, "allow": "miner:read"}),
        ),
        (
            Method::PUT,
            "/v1/orgs/acme/settings",
            json!({"kiosk": "true"}),
        ),
        (Method::PUT, "/v1/orgs/acme/settings", json!({})),
    ] {
        let answer = server.call(method.clone(), path, Some(body.clone())).await;
        problems.error(
            &format!("{method} {path} {body}"),
            answer,
            400,
            "BAD_REQUEST",
        );
    }

    // Percent-garbage in model path parameters: 400 or 404, never 500.
    let name = json!({"name": "X"});
    for (method, path, body) in [
        (Method::PUT, "/v1/users/%FF", Some(name.clone())),
        (Method::PUT, "/v1/users/a%00b", Some(name.clone())),
        (Method::PUT, "/v1/users/%zz", Some(name.clone())),
        (Method::PUT, "/v1/orgs/%FF/members/alice", None),
        (Method::PUT, "/v1/orgs/acme/members/%C0%AF", None),
        (Method::PUT, "/v1/orgs/acme/members/a%00b", None),
        (Method::DELETE, "/v1/orgs/acme/members/%E2%82", None),
        (Method::GET, "/v1/orgs/%FF/groups", None),
        (Method::GET, "/v1/orgs/ac%00me/roles", None),
        (
            Method::PATCH,
            "/v1/orgs/acme/groups/%FF",
            Some(name.clone()),
        ),
        (Method::DELETE, "/v1/orgs/acme/groups/a%00b", None),
        (
            Method::PUT,
            "/v1/orgs/acme/groups/members/members/user/%FF",
            None,
        ),
        (
            Method::PUT,
            "/v1/orgs/acme/groups/members/members/%FF/alice",
            None,
        ),
        (
            Method::PUT,
            "/v1/orgs/acme/groups/members/members/robot/alice",
            None,
        ),
        (
            Method::DELETE,
            "/v1/orgs/acme/groups/%00/members/group/%00",
            None,
        ),
        (Method::PATCH, "/v1/orgs/acme/roles/%FF", Some(name.clone())),
        (Method::DELETE, "/v1/orgs/acme/roles/a%00b", None),
        (
            Method::PUT,
            "/v1/orgs/acme/nodes/%FF/1",
            Some(json!({"parent": null})),
        ),
        (
            Method::PUT,
            "/v1/orgs/acme/nodes/site/%00",
            Some(json!({"parent": null})),
        ),
        (
            Method::PUT,
            "/v1/orgs/acme/nodes/site/a%2Fb",
            Some(json!({"parent": null})),
        ),
        (
            Method::PUT,
            "/v1/orgs/acme/nodes/site/9",
            Some(json!({"parent": "site:%00"})),
        ),
        (Method::DELETE, "/v1/orgs/acme/nodes/site/%E2%82", None),
        (Method::DELETE, "/v1/orgs/acme/assignments/%FF", None),
        (Method::DELETE, "/v1/orgs/acme/assignments/a%00b", None),
        (Method::DELETE, "/v1/orgs/acme/hidden/%C0%AF", None),
        (Method::DELETE, "/v1/orgs/acme/caps/%00", None),
        (
            Method::PUT,
            "/v1/orgs/%FF/settings",
            Some(json!({"kiosk": true})),
        ),
        (Method::GET, "/v1/orgs/acme/audit?after=abc", None),
        (Method::GET, "/v1/orgs/%00/audit", None),
    ] {
        let answer = server.call(method.clone(), path, body).await;
        pinned(&mut problems, db, &format!("{method} {path}"), answer);
    }

    // Hostile strings in write bodies: a success or a 4xx, never a 500.
    for (method, path, body) in [
        (
            Method::POST,
            "/v1/orgs",
            json!({"id": "a\u{0}b", "name": "X"}),
        ),
        (
            Method::POST,
            "/v1/orgs",
            json!({"id": "nul", "name": "N\u{0}L"}),
        ),
        (Method::PUT, "/v1/users/zed", json!({"name": "Z\u{0}d"})),
        (
            Method::PUT,
            "/v1/users/zoe",
            json!({"name": "z".repeat(500_000)}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/groups",
            json!({"name": "g\u{0}"}),
        ),
        // Incompressible long names: on Postgres an indexed name over the
        // btree row limit would fail in the database, not in validation.
        (
            Method::POST,
            "/v1/orgs/acme/groups",
            json!({"name": noise(6_000)}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/roles",
            json!({"name": noise(6_000), "permissions": []}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/roles",
            json!({"name": "r\u{0}", "permissions": []}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/roles",
            json!({"name": "r2", "permissions": ["miner:read\u{0}"]}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/assignments",
            json!({"subject": "user:\u{0}", "role": "FIELD_TECH", "scope": null}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/assignments",
            json!({"subject": "user:carol", "role": "F\u{0}", "scope": null}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/hidden",
            json!({"selector": "user:\u{0}", "node": "miner:11"}),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/caps",
            json!({"selector": "everyone", "scope": "site:\u{0}", "allow": []}),
        ),
    ] {
        let mut shown = body.to_string();
        shown.truncate(100);
        let answer = server.call(method.clone(), path, Some(body)).await;
        pinned(
            &mut problems,
            db,
            &format!("{method} {path} {shown}"),
            answer,
        );
    }
    server.stop().await;
    problems.check();
}

both_backends!(errors_on_model_routes, model_routes);
