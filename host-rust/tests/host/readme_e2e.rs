//! The README's main job, run exactly as written (from the repository
//! root, with the data dir and port moved by environment variables so the
//! test neither touches `./tessera-data` nor needs port 7700), then a fleet
//! scenario over HTTP, a snapshot verified with the published keys, and a
//! graceful stop.

use crate::common;

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tessera_core::{Expect, Verifier};

/// The first `sh` block after the README's "Run the main job" line.
fn readme_main_command() -> String {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    let after = readme
        .split_once("Run the main job")
        .expect("README names the main job")
        .1;
    let block = after.split_once("```sh\n").expect("a sh block").1;
    let command = block.split_once("```").expect("closed block").0.trim();
    assert!(
        command.contains("tessera") && command.contains("serve"),
        "the main job is `tessera serve`: {command}"
    );
    command.to_owned()
}

#[tokio::test]
async fn the_readme_main_job_serves_a_fleet() {
    let data_dir = std::env::temp_dir().join(format!("tessera_readme_{}", std::process::id()));
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("exec {}", readme_main_command()))
        .current_dir(common::repo_root())
        .env("TESSERA_DATA_DIR", &data_dir)
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env_remove("DATABASE_URL");
    let server = common::ServeProcess::spawn(command, Duration::from_secs(600)).await;
    let token_file = std::fs::read_to_string(data_dir.join("token")).unwrap();
    assert_eq!(
        token_file.trim(),
        server.token,
        "the token file holds the printed token"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data_dir.join("token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(
        data_dir.join("tessera.db").exists(),
        "embedded SQLite in the data dir"
    );

    let (status, roles) = fleet(&server).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"FIELD_TECH"), "{names:?}");
    for (principal, path, expected) in [
        ("carol", vec!["site:1", "rack:1", "miner:1"], "allow"),
        ("carol", vec!["site:2"], "deny"),
        ("dave", vec!["site:1", "rack:1", "miner:1"], "deny"),
    ] {
        let (status, answer) = server
            .call(
                Method::POST,
                "/v1/check",
                Some(json!({"org": "acme", "principal": principal, "permission": "miner:blink_led", "path": path})),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(answer["decision"], expected, "{principal} {path:?}");
    }

    // The exported snapshot verifies with the published keys and agrees.
    let client = reqwest::Client::new();
    let text = client
        .get(format!(
            "{}/v1/orgs/acme/snapshot?principal=carol",
            server.base
        ))
        .bearer_auth(&server.token)
        .header("accept", "text/plain")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, jwks) = server.call(Method::GET, "/v1/keys", None).await;
    let verifier = Verifier::from_jwks(&jwks.to_string()).unwrap();
    let now = u64::try_from(tessera_host::setup::unix_now()).unwrap();
    let expect = Expect {
        org: Some("acme"),
        principal: Some("carol"),
    };
    let snapshot = verifier.open_text(&text, now, expect).unwrap();
    assert!(
        snapshot
            .check("miner:blink_led", &["site:1", "rack:1", "miner:1"], None)
            .is_allow()
    );

    assert!(
        server.terminate().await.success(),
        "a clean exit on SIGTERM"
    );
    std::fs::remove_dir_all(&data_dir).ok();
}

/// Builds the fleet: org acme, carol a FIELD_TECH at site 1, dave a member;
/// answers `GET …/roles`.
async fn fleet(server: &common::ServeProcess) -> (u16, serde_json::Value) {
    let writes = [
        (
            Method::POST,
            "/v1/orgs",
            Some(json!({"id": "acme", "name": "Acme"})),
        ),
        (
            Method::PUT,
            "/v1/users/carol",
            Some(json!({"name": "Carol"})),
        ),
        (Method::PUT, "/v1/users/dave", Some(json!({"name": "Dave"}))),
        (Method::PUT, "/v1/orgs/acme/members/carol", None),
        (Method::PUT, "/v1/orgs/acme/members/dave", None),
        (
            Method::PUT,
            "/v1/orgs/acme/nodes/site/1",
            Some(json!({"parent": null})),
        ),
        (
            Method::PUT,
            "/v1/orgs/acme/nodes/rack/1",
            Some(json!({"parent": "site:1"})),
        ),
        (
            Method::POST,
            "/v1/orgs/acme/assignments",
            Some(json!({"subject": "user:carol", "role": "FIELD_TECH", "scope": "site:1"})),
        ),
    ];
    for (method, path, body) in writes {
        let (status, answer) = server.call(method, path, body).await;
        assert!(status < 300, "{path}: {status} {answer}");
    }
    server.call(Method::GET, "/v1/orgs/acme/roles", None).await
}
