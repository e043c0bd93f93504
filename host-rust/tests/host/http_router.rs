//! What the API answers that is not about the wire (routing, token kinds,
//! org binding), asked of the router in process with
//! `tower::ServiceExt::oneshot` (`common::oneshot`, which every
//! `TestServer::call` uses too): no socket, one request in, one response
//! out.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{self, TestDb};

use axum::Router;
use axum::http::Method;
use serde_json::{Value, json};
use tessera_host::{Running, TokenKind};

/// A started (not serving) host: its router, and its own data directory
/// (the bootstrap token lives there), removed when dropped.
struct Host {
    running: Running,
    router: Router,
    data_dir: std::path::PathBuf,
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

async fn host(db: &TestDb) -> Host {
    static HOSTS: AtomicUsize = AtomicUsize::new(0);
    let at = HOSTS.fetch_add(1, Ordering::Relaxed);
    let data_dir = std::env::temp_dir().join(format!("tessera_router_{}_{at}", std::process::id()));
    let config = tessera_host::ServeConfig {
        data_dir: data_dir.clone(),
        database_url: Some(db.url.clone()),
        manifest: common::repo_root().join("examples/fleet/manifest.toml"),
        listen: "127.0.0.1:0".parse().unwrap(),
        snapshot_ttl: 900,
        max_snapshot_bytes: 256 * 1024,
        cache_capacity: 100,
        revision_freshness: std::time::Duration::ZERO,
        check_token_superuser_snapshots: false,
        quotas: tessera_host::Quotas::default(),
        max_event_streams: 10_000,
    };
    let running = tessera_host::start(config).await.unwrap();
    let router = running.router();
    Host {
        running,
        router,
        data_dir,
    }
}

/// One request asked of the router in process.
async fn ask(
    router: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    common::oneshot(router, token, method, path, body).await
}

fn code(answer: &Value) -> &str {
    answer["error"]["code"].as_str().unwrap_or("")
}

async fn an_unknown_route_is_a_404_and_another_method_a_405(db: &TestDb) {
    let host = host(db).await;
    let router = &host.router;
    let token = host.running.bootstrap_token.clone();
    let (status, answer) = ask(router, Method::GET, "/v1/nowhere", Some(&token), None).await;
    assert_eq!((status, code(&answer)), (404, "NOT_FOUND"), "{answer}");
    let (status, answer) = ask(router, Method::DELETE, "/v1/check", Some(&token), None).await;
    assert_eq!(
        (status, code(&answer)),
        (405, "METHOD_NOT_ALLOWED"),
        "{answer}"
    );
}

both_backends!(
    an_unknown_route_is_a_404_and_another_method_a_405,
    an_unknown_route_is_a_404_and_another_method_a_405
);

async fn a_request_without_a_known_token_is_401(db: &TestDb) {
    let host = host(db).await;
    let router = &host.router;
    for token in [None, Some("tsk_admin_not-a-token")] {
        let (status, answer) = ask(router, Method::GET, "/v1/orgs/acme/groups", token, None).await;
        assert_eq!(
            (status, code(&answer)),
            (401, "UNAUTHENTICATED"),
            "{token:?}: {answer}"
        );
    }
}

both_backends!(
    a_request_without_a_known_token_is_401,
    a_request_without_a_known_token_is_401
);

async fn a_check_token_may_ask_but_not_read_or_write_the_model(db: &TestDb) {
    let host = host(db).await;
    let router = &host.router;
    let admin = host.running.bootstrap_token.clone();
    let org = json!({"id": "acme", "name": "Acme"});
    let (status, _) = ask(router, Method::POST, "/v1/orgs", Some(&admin), Some(org)).await;
    assert_eq!(status, 201);
    let store = db.store().await;
    let check = tessera_host::create_token(&store, TokenKind::Check, &[], 1)
        .await
        .unwrap();
    let (status, answer) = ask(
        router,
        Method::GET,
        "/v1/orgs/acme/groups",
        Some(&check),
        None,
    )
    .await;
    assert_eq!((status, code(&answer)), (403, "FORBIDDEN"), "{answer}");
    let group = json!({"name": "Techs"});
    let (status, answer) = ask(
        router,
        Method::POST,
        "/v1/orgs/acme/groups",
        Some(&check),
        Some(group),
    )
    .await;
    assert_eq!((status, code(&answer)), (403, "FORBIDDEN"), "{answer}");
    let question =
        json!({"org": "acme", "principal": "anonymous", "permission": "fleet:read", "path": []});
    let (status, answer) = ask(
        router,
        Method::POST,
        "/v1/check",
        Some(&check),
        Some(question),
    )
    .await;
    assert_eq!(
        (status, &answer["decision"]),
        (200, &json!("deny")),
        "{answer}"
    );
}

both_backends!(
    a_check_token_may_ask_but_not_read_or_write_the_model,
    a_check_token_may_ask_but_not_read_or_write_the_model
);

async fn a_token_bound_to_an_org_sees_any_other_org_as_unknown(db: &TestDb) {
    let host = host(db).await;
    let router = &host.router;
    let admin = host.running.bootstrap_token.clone();
    for id in ["acme", "globex"] {
        let org = json!({"id": id, "name": id});
        let (status, _) = ask(router, Method::POST, "/v1/orgs", Some(&admin), Some(org)).await;
        assert_eq!(status, 201);
    }
    let store = db.store().await;
    let bound = tessera_host::create_token(&store, TokenKind::Admin, &["acme".to_owned()], 1)
        .await
        .unwrap();
    let (status, _) = ask(
        router,
        Method::GET,
        "/v1/orgs/acme/groups",
        Some(&bound),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let other = ask(
        router,
        Method::GET,
        "/v1/orgs/globex/groups",
        Some(&bound),
        None,
    )
    .await;
    let missing = ask(
        router,
        Method::GET,
        "/v1/orgs/initech/groups",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(other.0, 404);
    assert_eq!(
        other.1["error"]["details"],
        json!({"kind": "org", "id": "globex"})
    );
    assert_eq!(
        other.1["error"]["message"]
            .as_str()
            .map(|m| m.replace("globex", "X")),
        missing.1["error"]["message"]
            .as_str()
            .map(|m| m.replace("initech", "X")),
        "another org answers as an unknown one: {} vs {}",
        other.1,
        missing.1
    );
}

both_backends!(
    a_token_bound_to_an_org_sees_any_other_org_as_unknown,
    a_token_bound_to_an_org_sees_any_other_org_as_unknown
);

async fn deleting_an_org_unbinds_its_tokens_and_revokes_those_left_unbound(db: &TestDb) {
    let host = host(db).await;
    let router = &host.router;
    let admin = host.running.bootstrap_token.clone();
    for id in ["acme", "globex"] {
        let org = json!({"id": id, "name": id});
        let (status, _) = ask(router, Method::POST, "/v1/orgs", Some(&admin), Some(org)).await;
        assert_eq!(status, 201);
    }
    let store = db.store().await;
    let acme = ["acme".to_owned()];
    let both = ["acme".to_owned(), "globex".to_owned()];
    let only = tessera_host::create_token(&store, TokenKind::Admin, &acme, 1)
        .await
        .unwrap();
    let two = tessera_host::create_token(&store, TokenKind::Admin, &both, 1)
        .await
        .unwrap();
    for token in [&only, &two] {
        let (status, _) = ask(
            router,
            Method::GET,
            "/v1/orgs/acme/groups",
            Some(token),
            None,
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, _) = ask(router, Method::DELETE, "/v1/orgs/acme", Some(&admin), None).await;
    assert_eq!(status, 204);
    let org = json!({"id": "acme", "name": "Another tenant"});
    let (status, _) = ask(router, Method::POST, "/v1/orgs", Some(&admin), Some(org)).await;
    assert_eq!(status, 201);
    // Bound to acme alone: revoked, never widened to every org.
    let (status, answer) = ask(
        router,
        Method::GET,
        "/v1/orgs/acme/groups",
        Some(&only),
        None,
    )
    .await;
    assert_eq!(
        (status, code(&answer)),
        (401, "UNAUTHENTICATED"),
        "{answer}"
    );
    let (status, _) = ask(
        router,
        Method::GET,
        "/v1/orgs/globex/groups",
        Some(&only),
        None,
    )
    .await;
    assert_eq!(status, 401);
    // Bound to both: keeps globex, does not reach the new acme.
    let (status, answer) = ask(
        router,
        Method::GET,
        "/v1/orgs/acme/groups",
        Some(&two),
        None,
    )
    .await;
    assert_eq!((status, code(&answer)), (404, "NOT_FOUND"), "{answer}");
    let (status, _) = ask(
        router,
        Method::GET,
        "/v1/orgs/globex/groups",
        Some(&two),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

both_backends!(
    deleting_an_org_unbinds_its_tokens_and_revokes_those_left_unbound,
    deleting_an_org_unbinds_its_tokens_and_revokes_those_left_unbound
);
