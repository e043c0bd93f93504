//! What the HTTP test binaries share: the error shape every refusal must
//! have, a small fleet org built through the model API, `check` tokens, and
//! raw HTTP/1.1 requests for what reqwest will not send (chunked bodies,
//! a `Content-Length` without a body).

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "each test binary uses part of the helpers, which fail loudly"
)]

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{TestDb, TestServer};

/// The fleet manifest, relative to the repository root.
pub(crate) const FLEET: &str = "examples/fleet/manifest.toml";

/// The fleet catalog, in manifest order.
pub(crate) const CATALOG: [&str; 15] = [
    "fleet:read",
    "miner:read",
    "miner:blink_led",
    "miner:reboot",
    "miner:download_logs",
    "miner:update_pools",
    "miner:firmware_update",
    "rack:read",
    "rack:manage",
    "site:read",
    "site:manage",
    "user:read",
    "user:manage",
    "role:read",
    "role:manage",
];

/// FIELD_TECH's seeded permissions, in catalog order.
pub(crate) const FIELD_TECH: [&str; 6] = [
    "fleet:read",
    "miner:read",
    "miner:blink_led",
    "miner:download_logs",
    "rack:read",
    "rack:manage",
];

/// Creates the fleet role "Member admin" (the `manage_members` admin key,
/// its `requires`, and `extra` keys) and gives it at the org root to each
/// of `subjects`: an actor who may read everyone's answers, not more.
pub(crate) async fn member_admin(server: &TestServer, subjects: &[&str], extra: &[&str]) {
    let mut permissions = vec!["user:manage", "user:read"];
    permissions.extend_from_slice(extra);
    let (status, role) = server
        .call(
            Method::POST,
            "/v1/orgs/acme/roles",
            Some(json!({"name": "Member admin", "permissions": permissions})),
        )
        .await;
    assert_eq!(status, 201, "{role}");
    for subject in subjects {
        let (status, given) = server
            .call(
                Method::POST,
                "/v1/orgs/acme/assignments",
                Some(json!({"subject": subject, "role": role["id"]})),
            )
            .await;
        assert_eq!(status, 201, "{given}");
    }
}

/// Asserts that a response is the error `code` with `status`, in exactly
/// the shape `{"error": {"code", "message", "details"}}`.
pub(crate) fn assert_error(what: &str, answer: (u16, Value), want: u16, code: &str) {
    if let Some(problem) = error_problem(what, answer, want, code) {
        panic!("{problem}");
    }
}

/// Asserts the error shape alone.
pub(crate) fn assert_error_shape(what: &str, body: &Value) {
    if let Some(problem) = shape_problem(what, body) {
        panic!("{problem}");
    }
}

/// What is wrong with an answer that must be the error `code` with
/// `status`, if anything.
pub(crate) fn error_problem(
    what: &str,
    (status, body): (u16, Value),
    want: u16,
    code: &str,
) -> Option<String> {
    if (status, body["error"]["code"].as_str()) != (want, Some(code)) {
        return Some(format!(
            "{what}: expected {want} {code}, got {status} {body}"
        ));
    }
    shape_problem(what, &body)
}

/// What is wrong with an error body's shape, if anything: it must have
/// one top-level key `error`, holding exactly `code` (an upper-case code),
/// `message` (text for people) and `details` (an object).
pub(crate) fn shape_problem(what: &str, body: &Value) -> Option<String> {
    let Some(top) = body.as_object() else {
        return Some(format!(
            "{what}: the error body is not a JSON object: {body}"
        ));
    };
    if top.keys().collect::<Vec<_>>() != ["error"] {
        return Some(format!("{what}: not exactly one key `error`: {body}"));
    }
    let Some(error) = body["error"].as_object() else {
        return Some(format!("{what}: `error` is not an object: {body}"));
    };
    let mut keys: Vec<&str> = error.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["code", "details", "message"] {
        return Some(format!(
            "{what}: error keys are not code, message, details: {body}"
        ));
    }
    let code = error["code"].as_str().unwrap_or("");
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        return Some(format!(
            "{what}: the code is not a stable upper-case code: {body}"
        ));
    }
    if error["message"]
        .as_str()
        .is_none_or(|m| m.trim().is_empty())
    {
        return Some(format!("{what}: no message for people: {body}"));
    }
    if !error["details"].is_object() {
        return Some(format!("{what}: details is not an object: {body}"));
    }
    None
}

/// Problems found by a sweep, reported together at the end.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<String>);

impl Problems {
    /// Records `problem`, if any.
    pub(crate) fn note(&mut self, problem: Option<String>) {
        self.0.extend(problem);
    }

    /// Records that an answer must be the error `code` with `status`.
    pub(crate) fn error(&mut self, what: &str, answer: (u16, Value), want: u16, code: &str) {
        self.note(error_problem(what, answer, want, code));
    }

    /// Panics with every problem recorded, if any.
    pub(crate) fn check(self) {
        assert!(
            self.0.is_empty(),
            "{} problem(s):\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// Calls and asserts the status; answers the body.
pub(crate) async fn expect(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let (got, answer) = server.call(method.clone(), path, body).await;
    assert_eq!(got, status, "{method} {path}: {answer}");
    answer
}

/// Calls with a `Tessera-Actor` header.
pub(crate) async fn call_as(
    server: &TestServer,
    actor: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let request = server.request(method, path).header("tessera-actor", actor);
    crate::common::send_json(request, body).await
}

/// Calls with another bearer token.
pub(crate) async fn call_with(
    server: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let request = server
        .client
        .request(method, format!("{}{path}", server.base))
        .bearer_auth(token);
    crate::common::send_json(request, body).await
}

/// A new `check` token in the server's store.
pub(crate) async fn check_token(db: &TestDb) -> String {
    let store = db.store().await;
    let token = tessera_host::create_token(
        &store,
        tessera_host::TokenKind::Check,
        &[],
        tessera_host::setup::unix_now(),
    )
    .await
    .unwrap();
    store.close().await;
    token
}

/// Imports examples/fleet/facts.json (org `acme`: root superuser; alice
/// ADMIN and FIELD_TECH at `site:1`; carol FIELD_TECH at `site:1`; vic a
/// viewer with `miner:21` hidden) through the library, so a test does not
/// depend on the model endpoints.
pub(crate) async fn import_fleet(db: &TestDb) {
    let root = crate::common::repo_root();
    let manifest =
        tessera_core::Manifest::from_toml(&std::fs::read_to_string(root.join(FLEET)).unwrap())
            .unwrap();
    let facts: tessera_core::Facts = serde_json::from_str(
        &std::fs::read_to_string(root.join("examples/fleet/facts.json")).unwrap(),
    )
    .unwrap();
    let store = db.store().await;
    crate::common::import(&store, &manifest, &facts).await;
    store.close().await;
}

/// The org's revision as stored.
pub(crate) async fn store_revision(db: &TestDb, org: &str) -> u64 {
    let store = db.store().await;
    let (revision,): (i64,) = sqlx::query_as("SELECT revision FROM orgs WHERE id = $1")
        .bind(org)
        .fetch_one(store.pool())
        .await
        .unwrap();
    store.close().await;
    u64::try_from(revision).unwrap()
}

/// Ids of the fleet built by [`build_fleet`].
#[derive(Debug, Clone)]
pub(crate) struct Fleet {
    /// alice's FIELD_TECH at `site:1`.
    pub(crate) alice_tech: String,
    /// bob's owner-only FIELD_TECH at the org root.
    pub(crate) bob_own: String,
    /// miner:9 hidden from alice.
    pub(crate) hidden: String,
}

/// Builds org `acme` through the model API: `root` (superuser, not a
/// member), `alice` FIELD_TECH at `site:1` with `miner:9` (under `rack:1`)
/// hidden from her, `bob` FIELD_TECH owner-only at the org root; nodes
/// `site:1`, `rack:1` under it, `miner:9` under that, and `site:2`.
pub(crate) async fn build_fleet(server: &TestServer) -> Fleet {
    use Method as M;
    let org = expect(
        server,
        M::POST,
        "/v1/orgs",
        Some(json!({"id": "acme", "name": "Acme"})),
        201,
    )
    .await;
    assert_eq!(
        (&org["id"], &org["name"]),
        (&json!("acme"), &json!("Acme")),
        "{org}"
    );
    for (id, body) in [
        ("root", json!({"name": "Root", "superuser": true})),
        ("alice", json!({"name": "Alice"})),
        ("bob", json!({"name": "Bob"})),
    ] {
        expect(server, M::PUT, &format!("/v1/users/{id}"), Some(body), 200).await;
    }
    for member in ["alice", "bob"] {
        expect(
            server,
            M::PUT,
            &format!("/v1/orgs/acme/members/{member}"),
            None,
            204,
        )
        .await;
    }
    for (node, parent) in [
        ("site/1", Value::Null),
        ("site/2", Value::Null),
        ("rack/1", json!("site:1")),
        ("miner/9", json!("rack:1")),
    ] {
        let path = format!("/v1/orgs/acme/nodes/{node}");
        expect(
            server,
            M::PUT,
            &path,
            Some(json!({ "parent": parent })),
            204,
        )
        .await;
    }
    let roles = expect(server, M::GET, "/v1/orgs/acme/roles", None, 200).await;
    let tech = role_id(&roles, "FIELD_TECH");
    let alice = expect(
        server,
        M::POST,
        "/v1/orgs/acme/assignments",
        Some(json!({"subject": "user:alice", "role": tech, "scope": "site:1"})),
        201,
    )
    .await;
    let bob = expect(
        server,
        M::POST,
        "/v1/orgs/acme/assignments",
        Some(json!({"subject": "user:bob", "role": tech, "scope": null, "owner_only": true})),
        201,
    )
    .await;
    let hidden = expect(
        server,
        M::POST,
        "/v1/orgs/acme/hidden",
        Some(json!({"selector": "user:alice", "node": "miner:9"})),
        201,
    )
    .await;
    Fleet {
        alice_tech: id_of(&alice),
        bob_own: id_of(&bob),
        hidden: id_of(&hidden),
    }
}

/// The id of the built-in role `key` in a `GET …/roles` answer.
pub(crate) fn role_id(roles: &Value, key: &str) -> String {
    roles
        .as_array()
        .unwrap_or_else(|| panic!("roles are a list: {roles}"))
        .iter()
        .find(|role| role["builtin"] == key)
        .and_then(|role| role["id"].as_str())
        .unwrap_or_else(|| panic!("no built-in {key}: {roles}"))
        .to_owned()
}

/// The `id` of a created object.
pub(crate) fn id_of(created: &Value) -> String {
    created["id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| panic!("a created object has an `id`: {created}"))
        .to_owned()
}

/// A `POST /v1/check` body.
pub(crate) fn check_body(principal: &str, permission: &str, path: &[&str]) -> Value {
    json!({"org": "acme", "principal": principal, "permission": permission, "path": path})
}

/// One value of a Prometheus exposition (the first line starting with
/// `series` followed by a space), or `None`.
pub(crate) fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap())
}

/// The response of a raw HTTP/1.1 exchange: status and JSON body (or the
/// text, as a JSON string).
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

/// Sends `head` (request line and headers, without the blank line), then
/// `body` in pieces, on a fresh connection, and reads the response (the
/// server may answer, and close, before the body is all sent).
pub(crate) async fn raw_exchange(
    server: &TestServer,
    head: &str,
    body: Vec<Vec<u8>>,
) -> RawResponse {
    let address = server.base.strip_prefix("http://").unwrap().to_owned();
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!("{head}\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        for piece in body {
            writer.write_all(&piece).await?;
        }
        writer.flush().await?;
        // Keep the write half open: closing it could end the request early.
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok::<_, std::io::Error>(writer)
    });
    let mut response = Vec::new();
    let read = async {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buffer[..n]),
            }
            if complete(&response) {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the server answered within 10 s");
    writing.abort();
    parse_response(&response)
}

/// Whether `response` holds a whole response with a `Content-Length`.
fn complete(response: &[u8]) -> bool {
    let Some(end) = find(response, b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    head.lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok())
        .is_some_and(|length| response.len() >= end + 4 + length)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn parse_response(response: &[u8]) -> RawResponse {
    let end = find(response, b"\r\n\r\n").unwrap_or_else(|| {
        panic!(
            "no response head in {:?}",
            String::from_utf8_lossy(response)
        )
    });
    let head = String::from_utf8_lossy(&response[..end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let bytes = &response[end + 4..];
    let body = serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()));
    RawResponse { status, body }
}

/// A chunked (`Transfer-Encoding: chunked`) request of `body` to `path`
/// in 64 KiB chunks, with the bootstrap token.
pub(crate) async fn send_chunked(
    server: &TestServer,
    method: &str,
    path: &str,
    body: &[u8],
) -> RawResponse {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked",
        server.token
    );
    let mut pieces: Vec<Vec<u8>> = body
        .chunks(64 * 1024)
        .map(|chunk| {
            let mut piece = format!("{:x}\r\n", chunk.len()).into_bytes();
            piece.extend_from_slice(chunk);
            piece.extend_from_slice(b"\r\n");
            piece
        })
        .collect();
    pieces.push(b"0\r\n\r\n".to_vec());
    raw_exchange(server, &head, pieces).await
}

/// `json` followed by spaces up to exactly `size` bytes.
pub(crate) fn padded(json: &Value, size: usize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(json).unwrap();
    assert!(bytes.len() <= size);
    bytes.resize(size, b' ');
    bytes
}
