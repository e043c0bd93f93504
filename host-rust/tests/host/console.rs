//! Console sign-in (docs/console.md §10.1) on both stores: the app
//! backend's one-time URL; the session cookie it sets (HttpOnly,
//! SameSite=Strict, no token in the browser); every model call of the
//! session acting as its user, in its org, writes only with the CSRF
//! header; signing out, the idle and absolute limits; the refusals; the
//! console page; and `tessera console`.

use crate::common;
use crate::http_util::{self, FLEET, assert_error};

use reqwest::Method;
use serde_json::{Value, json};

/// The session cookie a sign-in URL sets once confirmed, as a `Cookie`
/// header value. Opening the URL only asks to confirm: it spends nothing.
async fn sign_in(server: &common::TestServer, url: &str) -> String {
    for _ in 0..2 {
        let asked = server
            .client
            .get(format!("{}{url}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(asked.status(), 200, "{url}");
        assert!(asked.headers().get("set-cookie").is_none());
        let html = asked.text().await.unwrap();
        assert!(html.contains(&format!("action=\"{url}\"")), "{html}");
    }
    let response = server
        .client
        .post(format!("{}{url}", server.base))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let headers = response.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let html = response.text().await.unwrap();
    assert!(html.contains("url=/console/"), "{html}");
    cookie.split(';').next().unwrap().to_owned()
}

/// A one-time sign-in URL from the app backend.
async fn code(server: &common::TestServer, body: Value) -> String {
    let (status, answer) = server
        .call(Method::POST, "/v1/console-sessions", Some(body))
        .await;
    assert_eq!(status, 201, "{answer}");
    answer["url"].as_str().unwrap().to_owned()
}

/// A request with the session cookie only.
fn with_cookie(
    server: &common::TestServer,
    method: Method,
    path: &str,
    cookie: &str,
) -> reqwest::RequestBuilder {
    server
        .client
        .request(method, format!("{}{path}", server.base))
        .header("cookie", cookie)
}

async fn sessions(db: &common::TestDb) {
    http_util::import_fleet(db).await;
    let server = common::TestServer::start(db, FLEET).await;
    let store = db.store().await;
    http_util::member_admin(&server, &["user:carol"], &[]).await;

    // Refusals of the sign-in request.
    let acting = server
        .request(Method::POST, "/v1/console-sessions")
        .header("tessera-actor", "root")
        .json(&json!({"actor": "carol"}));
    assert_error(
        "an acting user",
        common::send_json(acting, None).await,
        403,
        "FORBIDDEN",
    );
    for (what, body, status, error) in [
        (
            "an unknown user",
            json!({"actor": "nobody"}),
            404,
            "NOT_FOUND",
        ),
        ("a bad user id", json!({"actor": "a b"}), 400, "BAD_REQUEST"),
        (
            "an unknown org",
            json!({"actor": "carol", "org": "nope"}),
            404,
            "NOT_FOUND",
        ),
        (
            "an unknown field",
            json!({"actor": "carol", "as": "root"}),
            400,
            "BAD_REQUEST",
        ),
    ] {
        let request = server
            .request(Method::POST, "/v1/console-sessions")
            .json(&body);
        assert_error(what, common::send_json(request, None).await, status, error);
    }

    // The URL works once; the cookie acts as carol, in acme.
    let url = code(&server, json!({"actor": "carol", "org": "acme"})).await;
    assert!(url.starts_with("/console/sign-in/"), "{url}");
    let cookie = sign_in(&server, &url).await;
    for method in [Method::GET, Method::POST] {
        let again = server
            .client
            .request(method, format!("{}{url}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 404, "a code works once");
    }
    // Another site's page cannot post a sign-in (login CSRF).
    let planted = code(&server, json!({"actor": "carol"})).await;
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.test"),
    ] {
        let posted = server
            .client
            .post(format!("{}{planted}", server.base))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 403, "{name}: {value}");
    }
    let (status, current) = common::send_json(
        with_cookie(
            &server,
            Method::GET,
            "/v1/console-sessions/current",
            &cookie,
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{current}");
    assert_eq!(
        (&current["actor"], &current["org"]),
        (&json!("carol"), &json!("acme"))
    );
    let csrf = current["csrf"].as_str().unwrap().to_owned();
    assert_eq!(csrf.len(), 64);
    assert_eq!(
        current["admin_keys"],
        json!({"manage_roles": "role:manage", "manage_members": "user:manage", "manage_access": "site:manage"})
    );

    // The actor's own snapshot, for the page to gate its controls with.
    let snapshot = with_cookie(
        &server,
        Method::GET,
        "/v1/console-sessions/current/snapshot",
        &cookie,
    )
    .header("accept", "text/plain")
    .send()
    .await
    .unwrap();
    assert_eq!(snapshot.status(), 200);
    let text = snapshot.text().await.unwrap();
    let keys: Value = server
        .client
        .get(format!("{}/v1/keys", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verifier = tessera_core::Verifier::from_jwks(&keys.to_string()).unwrap();
    let opened = verifier
        .open_text(
            &text,
            u64::try_from(tessera_host::setup::unix_now()).unwrap(),
            tessera_core::Expect {
                org: Some("acme"),
                principal: Some("carol"),
            },
        )
        .unwrap();
    assert!(opened.check("user:manage", &[] as &[&str], None).is_allow());
    assert_error(
        "another org's snapshot",
        common::send_json(
            with_cookie(
                &server,
                Method::GET,
                "/v1/console-sessions/current/snapshot?org=beta",
                &cookie,
            ),
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    );

    let (status, groups) = common::send_json(
        with_cookie(&server, Method::GET, "/v1/orgs/acme/groups", &cookie),
        None,
    )
    .await;
    assert_eq!(status, 200, "carol may manage members: {groups}");
    let (status, roles) = common::send_json(
        with_cookie(&server, Method::GET, "/v1/orgs/acme/roles", &cookie),
        None,
    )
    .await;
    assert_eq!(status, 403, "carol may not manage roles: {roles}");
    let group = json!({"id": "night", "name": "Night shift"});
    assert_error(
        "a write without the CSRF header",
        common::send_json(
            with_cookie(&server, Method::POST, "/v1/orgs/acme/groups", &cookie),
            Some(group.clone()),
        )
        .await,
        403,
        "FORBIDDEN",
    );
    assert_error(
        "a write with another CSRF value",
        common::send_json(
            with_cookie(&server, Method::POST, "/v1/orgs/acme/groups", &cookie)
                .header("tessera-csrf", "0".repeat(64)),
            Some(group.clone()),
        )
        .await,
        403,
        "FORBIDDEN",
    );
    let (status, made) = common::send_json(
        with_cookie(&server, Method::POST, "/v1/orgs/acme/groups", &cookie)
            .header("tessera-csrf", &csrf),
        Some(group),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let (_, audit) = server.call(Method::GET, "/v1/orgs/acme/audit", None).await;
    let last = audit.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["actor"], &last["action"]),
        (&json!("carol"), &json!("group.create")),
        "{last}"
    );
    for (what, request, status, error) in [
        (
            "another org",
            with_cookie(&server, Method::GET, "/v1/orgs/beta/groups", &cookie),
            404,
            "NOT_FOUND",
        ),
        (
            "a global endpoint",
            with_cookie(&server, Method::PUT, "/v1/users/eve", &cookie)
                .header("tessera-csrf", &csrf),
            403,
            "FORBIDDEN",
        ),
        (
            "another actor",
            with_cookie(&server, Method::GET, "/v1/orgs/acme/groups", &cookie)
                .header("tessera-actor", "root"),
            400,
            "BAD_REQUEST",
        ),
        (
            "a decision endpoint (the cookie is no token)",
            with_cookie(&server, Method::POST, "/v1/check", &cookie),
            401,
            "UNAUTHENTICATED",
        ),
        (
            "no cookie",
            server
                .client
                .get(format!("{}/v1/console-sessions/current", server.base)),
            401,
            "UNAUTHENTICATED",
        ),
    ] {
        let body = (method_of(what)).then(|| json!({"name": "Eve"}));
        assert_error(what, common::send_json(request, body).await, status, error);
    }

    // Signing out needs the CSRF header, clears the cookie, ends the session.
    assert_error(
        "signing out without the CSRF header",
        common::send_json(
            with_cookie(
                &server,
                Method::DELETE,
                "/v1/console-sessions/current",
                &cookie,
            ),
            None,
        )
        .await,
        403,
        "FORBIDDEN",
    );
    let out = with_cookie(
        &server,
        Method::DELETE,
        "/v1/console-sessions/current",
        &cookie,
    )
    .header("tessera-csrf", &csrf)
    .send()
    .await
    .unwrap();
    assert_eq!(out.status(), 204);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_error(
        "a signed-out session",
        common::send_json(
            with_cookie(&server, Method::GET, "/v1/orgs/acme/groups", &cookie),
            None,
        )
        .await,
        401,
        "UNAUTHENTICATED",
    );

    // Limits: a code older than a minute; 30 minutes unused; 8 hours in all.
    let stale = code(&server, json!({"actor": "carol"})).await;
    sqlx::query("UPDATE console_codes SET expires_at = expires_at - 61")
        .execute(store.pool())
        .await
        .unwrap();
    for method in [Method::GET, Method::POST] {
        let expired = server
            .client
            .request(method, format!("{}{stale}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(expired.status(), 404, "a code lives 60 s");
    }
    for (what, statement) in [
        (
            "30 minutes unused",
            "UPDATE console_sessions SET seen_at = seen_at - 1800",
        ),
        (
            "8 hours in all",
            "UPDATE console_sessions SET created_at = created_at - 28800",
        ),
    ] {
        let cookie = sign_in(&server, &code(&server, json!({"actor": "carol"})).await).await;
        let current = with_cookie(
            &server,
            Method::GET,
            "/v1/console-sessions/current",
            &cookie,
        );
        assert_eq!(common::send_json(current, None).await.0, 200, "{what}");
        sqlx::query(statement).execute(store.pool()).await.unwrap();
        let current = with_cookie(
            &server,
            Method::GET,
            "/v1/console-sessions/current",
            &cookie,
        );
        assert_error(
            what,
            common::send_json(current, None).await,
            401,
            "UNAUTHENTICATED",
        );
    }

    // A preview through a session; its answers are not cached.
    let carol = sign_in(
        &server,
        &code(&server, json!({"actor": "carol", "org": "acme"})).await,
    )
    .await;
    let current = with_cookie(&server, Method::GET, "/v1/console-sessions/current", &carol)
        .send()
        .await
        .unwrap();
    assert_eq!(current.headers()["cache-control"], "no-store");
    let csrf = current.json::<Value>().await.unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_owned();
    let previewed = with_cookie(&server, Method::POST, "/v1/orgs/acme/preview", &carol)
        .header("tessera-csrf", &csrf)
        .json(&json!({"method": "POST", "path": "/v1/orgs/acme/groups", "body": {"id": "day", "name": "Day"}}));
    let (status, preview) = common::send_json(previewed, None).await;
    assert_eq!(status, 200, "{preview}");

    // An unbound session opens its snapshot only where its user belongs.
    let (status, _) = server
        .call(
            Method::POST,
            "/v1/orgs",
            Some(json!({"id": "other", "name": "Other"})),
        )
        .await;
    assert_eq!(status, 201);
    let unbound = sign_in(&server, &code(&server, json!({"actor": "carol"})).await).await;
    for (org, status) in [("acme", 200), ("other", 404), ("nowhere", 404)] {
        let path = format!("/v1/console-sessions/current/snapshot?org={org}");
        let answer = with_cookie(&server, Method::GET, &path, &unbound)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "{org}");
    }

    // Two session cookies are none; deactivating a user ends its sessions
    // for good.
    let vic = sign_in(
        &server,
        &code(&server, json!({"actor": "vic", "org": "acme"})).await,
    )
    .await;
    let doubled = format!("{vic}; {vic}");
    assert_error(
        "two session cookies",
        common::send_json(
            with_cookie(
                &server,
                Method::GET,
                "/v1/console-sessions/current",
                &doubled,
            ),
            None,
        )
        .await,
        401,
        "UNAUTHENTICATED",
    );
    for active in [false, true] {
        let (status, body) = server
            .call(
                Method::PUT,
                "/v1/users/vic",
                Some(json!({"active": active})),
            )
            .await;
        assert!(status < 300, "{body}");
        assert_error(
            "a deactivated user's session",
            common::send_json(
                with_cookie(&server, Method::GET, "/v1/console-sessions/current", &vic),
                None,
            )
            .await,
            401,
            "UNAUTHENTICATED",
        );
    }

    // The page, embedded, loading nothing from elsewhere.
    let page = server
        .client
        .get(format!("{}/console", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("default-src 'self'"), "{policy}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    server.stop().await;

    // `tessera console` makes a URL in the store that the host redeems.
    let printed = common::tessera_cli(
        db,
        &[
            "console",
            "--actor",
            "carol",
            "--url",
            "http://example.test/",
        ],
    )
    .await;
    let path = printed
        .trim()
        .strip_prefix("http://example.test")
        .unwrap_or_else(|| panic!("{printed}"))
        .to_owned();
    let server = common::TestServer::start(db, FLEET).await;
    sign_in(&server, &path).await;
    server.stop().await;
    store.close().await;
}

/// Whether the refusal case sends a body.
fn method_of(what: &str) -> bool {
    what == "a global endpoint"
}

both_backends!(a_console_session_acts_as_its_user, sessions);
