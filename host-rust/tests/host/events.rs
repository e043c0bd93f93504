//! `GET /v1/orgs/{org}/events` (docs/http.md §6.10): the current revision
//! first, then one event per move, resuming after `Last-Event-ID`; the
//! refusals; the bound on open streams; streams closed at shutdown; a
//! write on one replica reaching a stream on another. And the axum
//! `Relay` (docs/frontend.md §8.1), which serves the same stream, the user's
//! snapshot and the keys to an app's pages.

use crate::common;
use crate::http_util::{self, FLEET, assert_error, check_token};

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use http_body_util::BodyExt;
use reqwest::Method;
use serde_json::json;
use tessera_core::Manifest;
use tessera_host::{Authority, Principal, Relay, Store, reconcile};
use tower::ServiceExt;

/// An open event stream, read event by event.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(server: &common::TestServer, token: &str, last_event_id: Option<&str>) -> Events {
        let mut request = server
            .client
            .get(format!("{}/v1/orgs/acme/events", server.base))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "an event stream"
        );
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// The next event's fields (comments skipped), or `None` when the
    /// stream ended; fails after `within`.
    async fn next_within(&mut self, within: Duration) -> Option<Vec<(String, String)>> {
        tokio::time::timeout(within, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let fields: Vec<(String, String)> = block
                        .lines()
                        .filter(|line| !line.is_empty() && !line.starts_with(':'))
                        .map(|line| {
                            let (key, value) = line.split_once(':').unwrap_or((line, ""));
                            (key.to_owned(), value.trim_start().to_owned())
                        })
                        .collect();
                    if fields.is_empty() {
                        continue;
                    }
                    return Some(fields);
                }
                match self.response.chunk().await.unwrap() {
                    Some(chunk) => self.buffer.push_str(std::str::from_utf8(&chunk).unwrap()),
                    None => return None,
                }
            }
        })
        .await
        .expect("an event in time")
    }

    /// The next event, which must be a revision event: its revision.
    async fn revision(&mut self) -> u64 {
        let fields = self
            .next_within(Duration::from_secs(5))
            .await
            .expect("an event");
        let field = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .unwrap_or_else(|| panic!("no `{name}` in {fields:?}"))
        };
        assert_eq!(field("event"), "revision");
        let data: serde_json::Value = serde_json::from_str(&field("data")).unwrap();
        let revision = data["revision"].as_u64().unwrap();
        assert_eq!(field("id"), revision.to_string(), "the id is the revision");
        revision
    }

    /// No event arrives within `wait`.
    async fn quiet_for(&mut self, wait: Duration) {
        let got = tokio::time::timeout(wait, self.next_within(wait * 2)).await;
        assert!(got.is_err(), "no event expected: {got:?}");
    }
}

async fn write(server: &common::TestServer, user: &str) {
    let (status, body) = server
        .call(
            Method::PUT,
            &format!("/v1/users/{user}"),
            Some(json!({"name": user})),
        )
        .await;
    assert!(status < 300, "{body}");
    let (status, body) = server
        .call(Method::PUT, &format!("/v1/orgs/acme/members/{user}"), None)
        .await;
    assert!(status < 300, "{body}");
}

async fn revision(server: &common::TestServer) -> u64 {
    let response = server
        .request(Method::GET, "/v1/orgs/acme/snapshot?principal=carol")
        .send()
        .await
        .unwrap();
    response.headers()["tessera-revision"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn streams(db: &common::TestDb) {
    http_util::import_fleet(db).await;
    let server = common::TestServer::start(db, FLEET).await;
    let check = check_token(db).await;
    let current = revision(&server).await;

    // The current revision first, then each write's.
    let mut events = Events::open(&server, &check, None).await;
    assert_eq!(events.revision().await, current);
    write(&server, "dora").await;
    // Two writes: the user is global (every org moves), the membership is acme's.
    let after = revision(&server).await;
    assert!(after >= current + 2, "{current} → {after}");
    let mut seen = events.revision().await;
    while seen < after {
        let next = events.revision().await;
        assert!(next > seen, "revisions only go up: {seen} then {next}");
        seen = next;
    }
    assert_eq!(seen, after);

    // Resuming at the current revision sends nothing until a write.
    let mut resumed = Events::open(&server, &check, Some(&after.to_string())).await;
    resumed.quiet_for(Duration::from_millis(300)).await;
    let (status, _) = server
        .call(Method::DELETE, "/v1/orgs/acme/members/dora", None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(resumed.revision().await, after + 1);
    // Resuming behind gets the current revision at once.
    let mut behind = Events::open(&server, &check, Some(&current.to_string())).await;
    assert_eq!(behind.revision().await, after + 1);

    // Refusals: not a revision, an unknown org, no token, a token bound elsewhere.
    let bad = server
        .client
        .get(format!("{}/v1/orgs/acme/events", server.base))
        .bearer_auth(&check)
        .header("last-event-id", "yesterday");
    assert_error(
        "a bad Last-Event-ID",
        common::send_json(bad, None).await,
        400,
        "BAD_REQUEST",
    );
    let unknown = server
        .client
        .get(format!("{}/v1/orgs/nope/events", server.base))
        .bearer_auth(&check);
    assert_error(
        "an unknown org",
        common::send_json(unknown, None).await,
        404,
        "NOT_FOUND",
    );
    let anonymous = server
        .client
        .get(format!("{}/v1/orgs/acme/events", server.base));
    assert_error(
        "no token",
        common::send_json(anonymous, None).await,
        401,
        "UNAUTHENTICATED",
    );

    // Shutdown closes the open streams (and does not wait for them).
    tokio::time::timeout(Duration::from_secs(5), server.stop())
        .await
        .expect("shutdown does not wait for open streams");
    for stream in [&mut events, &mut resumed, &mut behind] {
        let mut left = 0;
        while stream.next_within(Duration::from_secs(5)).await.is_some() {
            left += 1;
            assert!(left < 10, "the stream ends at shutdown");
        }
    }
}

both_backends!(revision_events_follow_the_org, streams);

async fn bounded(db: &common::TestDb) {
    http_util::import_fleet(db).await;
    let server =
        common::TestServer::start_with(db, FLEET, |config| config.max_event_streams = 2).await;
    let check = check_token(db).await;
    let first = Events::open(&server, &check, None).await;
    let second = Events::open(&server, &check, None).await;
    let third = server
        .client
        .get(format!("{}/v1/orgs/acme/events", server.base))
        .bearer_auth(&check);
    assert_error(
        "a stream over the bound",
        common::send_json(third, None).await,
        503,
        "UNAVAILABLE",
    );
    // A closed stream gives its place back.
    drop(first);
    let mut reopened = None;
    for _ in 0..50 {
        let response = server
            .client
            .get(format!("{}/v1/orgs/acme/events", server.base))
            .bearer_auth(&check)
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            reopened = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        reopened.is_some(),
        "the place of a closed stream is given back"
    );
    drop((second, reopened));
    server.stop().await;
}

both_backends!(event_streams_are_bounded, bounded);

#[tokio::test]
async fn a_write_on_one_replica_reaches_a_stream_on_the_other() {
    let db = common::TestDb::new(tessera_host::Backend::Postgres).await;
    http_util::import_fleet(&db).await;
    // Revisions trusted for a minute: only NOTIFY can make the event quick.
    let slow = |config: &mut tessera_host::ServeConfig| {
        config.revision_freshness = Duration::from_secs(60);
    };
    let a = common::TestServer::start_with(&db, FLEET, slow).await;
    let b = common::TestServer::start_with(&db, FLEET, slow).await;
    let check = check_token(&db).await;
    let mut events = Events::open(&b, &check, None).await;
    let current = events.revision().await;
    let started = std::time::Instant::now();
    write(&a, "zed").await;
    let written = http_util::store_revision(&db, "acme").await;
    assert!(written > current);
    let mut seen = current;
    while seen < written {
        seen = events.revision().await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(events);
    a.stop().await;
    b.stop().await;
}

/// An app's own router: its authentication sets the principal from an
/// `x-user` header (none: no principal), the relay is nested under
/// `/tessera`.
async fn relay_app(db: &common::TestDb) -> axum::Router {
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate_up().await.unwrap();
    let text = std::fs::read_to_string(common::repo_root().join(FLEET)).unwrap();
    let manifest = Arc::new(Manifest::from_toml(&text).unwrap());
    reconcile(&store, &manifest, 1).await.unwrap();
    tessera_host::setup::ensure_signing_key(&store, tessera_host::setup::unix_now())
        .await
        .unwrap();
    let authority = Arc::new(Authority::new(store, manifest, 100));
    axum::Router::new()
        .nest("/tessera", Relay::new(authority).router())
        .layer(axum::middleware::from_fn(
            |mut request: Request, next: axum::middleware::Next| async move {
                if let Some(user) = request
                    .headers()
                    .get("x-user")
                    .and_then(|v| v.to_str().ok())
                {
                    let principal = Principal {
                        org: "acme".to_owned(),
                        user: user.to_owned(),
                    };
                    request.extensions_mut().insert(principal);
                }
                next.run(request).await
            },
        ))
}

async fn get(app: &axum::Router, path: &str, headers: &[(&str, &str)]) -> axum::response::Response {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn relay(db: &common::TestDb) {
    http_util::import_fleet(db).await;
    let app = relay_app(db).await;

    // The snapshot of the principal the app authenticated: text, not to be
    // stored, tagged; the tag answers 304.
    let response = get(&app, "/tessera/snapshot", &[("x-user", "carol")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(response.headers().contains_key("tessera-revision"));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = std::str::from_utf8(&body).unwrap();
    let text = text.to_owned();
    let again = get(
        &app,
        "/tessera/snapshot",
        &[("x-user", "carol"), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["cache-control"], "no-store");

    // No principal: 401, whatever the request says; a bad query: 400.
    let none = get(&app, "/tessera/snapshot?principal=carol", &[]).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let bad = get(
        &app,
        "/tessera/snapshot?principal=root",
        &[("x-user", "carol")],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let ahead = get(
        &app,
        "/tessera/snapshot?min_revision=999999",
        &[("x-user", "carol")],
    )
    .await;
    assert_eq!(ahead.status(), StatusCode::CONFLICT);

    // The keys verify the snapshot.
    let keys = get(&app, "/tessera/keys", &[]).await;
    assert_eq!(keys.status(), StatusCode::OK);
    let jwks = keys.into_body().collect().await.unwrap().to_bytes();
    let verifier = tessera_core::Verifier::from_jwks(std::str::from_utf8(&jwks).unwrap()).unwrap();
    let now = u64::try_from(tessera_host::setup::unix_now()).unwrap();
    let carol = tessera_core::Expect {
        org: Some("acme"),
        principal: Some("carol"),
    };
    assert!(
        verifier.open_text(&text, now, carol).is_ok(),
        "carol's, signed by a published key"
    );

    // The event stream starts with the current revision.
    let events = get(&app, "/tessera/events", &[("x-user", "carol")]).await;
    assert_eq!(events.status(), StatusCode::OK);
    let mut body = events.into_body();
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let first = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(first.contains("event: revision"), "{first}");
    assert_eq!(
        get(&app, "/tessera/events", &[]).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

both_backends!(the_axum_relay_serves_the_users_snapshot, relay);
