//! The README's main job, run exactly as written (from the repository
//! root, with the data dir and port moved by environment variables so the
//! test neither touches `./tessera-data` nor needs port 7700): the demo org
//! it creates answered over HTTP as the README's walk-through says, a
//! snapshot verified with the published keys, a graceful stop, and a
//! second start on the same data directory that changes nothing.

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

/// The main job, run as written, on `data_dir` and a free port.
async fn main_job(data_dir: &std::path::Path) -> common::ServeProcess {
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("exec {}", readme_main_command()))
        .current_dir(common::repo_root())
        .env("TESSERA_DATA_DIR", data_dir)
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env_remove("DATABASE_URL");
    common::ServeProcess::spawn(command, Duration::from_secs(600)).await
}

#[tokio::test]
async fn the_readme_main_job_serves_a_fleet() {
    let data_dir = std::env::temp_dir().join(format!("tessera_readme_{}", std::process::id()));
    let server = main_job(&data_dir).await;
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

    assert!(
        server
            .printed("demo org acme")
            .await
            .starts_with("demo org acme (Acme Mining): 21 steps applied"),
    );
    assert_eq!(
        server.printed("demo user carol").await,
        "demo user carol: Carol (field tech at site 1 only)"
    );
    // The README's walk-through.
    for (principal, permission, path, expected) in [
        (
            "carol",
            "miner:blink_led",
            vec!["site:1", "rack:1", "miner:11"],
            "allow",
        ),
        ("carol", "miner:reboot", vec!["site:1"], "deny"),
        (
            "vic",
            "miner:read",
            vec!["site:2", "rack:2", "miner:21"],
            "not_found",
        ),
        ("alice", "miner:reboot", vec!["site:2"], "allow"),
    ] {
        let (status, answer) = server
            .call(
                Method::POST,
                "/v1/check",
                Some(json!({"org": "acme", "principal": principal, "permission": permission, "path": path})),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            answer["decision"], expected,
            "{principal} {permission} {path:?}"
        );
    }
    let (status, _) = server
        .call(
            Method::POST,
            "/v1/orgs/acme/assignments",
            Some(json!({"subject": "user:carol", "role": "ADMIN", "scope": "site:2"})),
        )
        .await;
    assert_eq!(status, 201);

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
            .check("miner:blink_led", &["site:1", "rack:1", "miner:11"], None)
            .is_allow()
    );

    let (_, before) = server.call(Method::GET, "/v1/orgs/acme/export", None).await;
    assert!(
        server.terminate().await.success(),
        "a clean exit on SIGTERM"
    );

    // Again on the same data: the org, carol's new assignment included, stays.
    let again = main_job(&data_dir).await;
    let (_, after) = again.call(Method::GET, "/v1/orgs/acme/export", None).await;
    assert_eq!(after, before, "a second start changes nothing");
    assert!(
        again
            .printed("demo org acme")
            .await
            .starts_with("demo org acme (Acme Mining): exists")
    );
    assert!(again.terminate().await.success());
    std::fs::remove_dir_all(&data_dir).ok();
}
