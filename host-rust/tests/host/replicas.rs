//! Two `tessera serve` processes on one Postgres database: a revocation
//! made through one is enforced by the other within a second (Postgres
//! `NOTIFY`, not the revision freshness window, which is set far longer),
//! and the other keeps the snapshots the revocation cannot change (the
//! change travels with the notification).

use crate::common;

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

fn serve(db: &common::TestDb, data_dir: &std::path::Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    command
        .arg("serve")
        .current_dir(common::repo_root())
        .env("DATABASE_URL", &db.url)
        .env("TESSERA_DATA_DIR", data_dir)
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_REVISION_FRESHNESS_MS", "60000");
    command
}

async fn check_as(replica: &common::ServeProcess, principal: &str) -> String {
    let (status, body) = replica
        .call(
            Method::POST,
            "/v1/check",
            Some(json!({"org": "acme", "principal": principal, "permission": "rack:manage", "path": ["site:1"]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["decision"].as_str().unwrap().to_owned()
}

async fn check(replica: &common::ServeProcess) -> String {
    check_as(replica, "alice").await
}

/// Cached snapshots kept past an assignment write, from `/metrics`.
async fn kept_past_assignments(replica: &common::ServeProcess) -> u64 {
    let (status, text) = replica.call(Method::GET, "/metrics", None).await;
    assert_eq!(status, 200);
    crate::invalidation::writes_counted(text.as_str().unwrap(), "assignment", "kept")
}

#[tokio::test]
async fn a_revocation_through_one_replica_is_enforced_by_the_other_within_a_second() {
    let db = common::TestDb::new(tessera_host::Backend::Postgres).await;
    let dirs = [
        std::env::temp_dir().join(format!("tessera_replica_a_{}", std::process::id())),
        std::env::temp_dir().join(format!("tessera_replica_b_{}", std::process::id())),
    ];
    let deadline = Duration::from_secs(60);
    let a = common::ServeProcess::spawn(serve(&db, &dirs[0]), deadline).await;
    let b = common::ServeProcess::spawn(serve(&db, &dirs[1]), deadline).await;

    let writes = [
        (
            Method::POST,
            "/v1/orgs".to_owned(),
            Some(json!({"id": "acme", "name": "Acme"})),
        ),
        (
            Method::PUT,
            "/v1/users/alice".to_owned(),
            Some(json!({"name": "Alice"})),
        ),
        (Method::PUT, "/v1/orgs/acme/members/alice".to_owned(), None),
        (
            Method::PUT,
            "/v1/users/bob".to_owned(),
            Some(json!({"name": "Bob"})),
        ),
        (Method::PUT, "/v1/orgs/acme/members/bob".to_owned(), None),
        (
            Method::PUT,
            "/v1/orgs/acme/nodes/site/1".to_owned(),
            Some(json!({"parent": null})),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/assignments".to_owned(),
            Some(json!({"subject": "user:bob", "role": "FIELD_TECH", "scope": "site:1"})),
        ),
    ];
    for (method, path, body) in writes {
        let (status, answer) = a.call(method, &path, body).await;
        assert!(status < 300, "{path}: {status} {answer}");
    }
    let (status, assignment) = a
        .call(
            Method::POST,
            "/v1/orgs/acme/assignments",
            Some(json!({"subject": "user:alice", "role": "FIELD_TECH", "scope": "site:1"})),
        )
        .await;
    assert_eq!(status, 201, "{assignment}");
    // B answers (and caches) the grant.
    let started = Instant::now();
    while check(&b).await != "allow" {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "B never saw the grant"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(check(&b).await, "allow");
    assert_eq!(check_as(&b, "bob").await, "allow");
    let kept = kept_past_assignments(&b).await;

    let id = assignment["id"].as_str().unwrap();
    let (status, _) = a
        .call(
            Method::DELETE,
            &format!("/v1/orgs/acme/assignments/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let revoked = Instant::now();
    while check(&b).await != "deny" {
        assert!(
            revoked.elapsed() < Duration::from_secs(1),
            "B still allows 1 s after the revocation through A"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Bob's snapshot on B outlived alice's revocation.
    assert_eq!(check_as(&b, "bob").await, "allow");
    assert_eq!(kept_past_assignments(&b).await, kept + 1);
    assert!(a.terminate().await.success());
    assert!(b.terminate().await.success());
    for dir in dirs {
        std::fs::remove_dir_all(dir).ok();
    }
    drop(db);
}
