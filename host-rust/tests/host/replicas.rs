//! Two `tessera serve` processes on one Postgres database: a revocation
//! made through one is enforced by the other within a second (Postgres
//! `NOTIFY`, not the revision freshness window, which is set far longer).

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

async fn check(replica: &common::ServeProcess) -> String {
    let (status, body) = replica
        .call(
            Method::POST,
            "/v1/check",
            Some(json!({"org": "acme", "principal": "alice", "permission": "rack:manage", "path": ["site:1"]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["decision"].as_str().unwrap().to_owned()
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
            "/v1/orgs/acme/nodes/site/1".to_owned(),
            Some(json!({"parent": null})),
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
    assert!(a.terminate().await.success());
    assert!(b.terminate().await.success());
    for dir in dirs {
        std::fs::remove_dir_all(dir).ok();
    }
    drop(db);
}
