//! `RequirePermission` and `RouteGuard` in an app's own axum router: the
//! verdicts, the refusals' shapes, and failing closed.

use crate::common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::json;
use tessera_core::{Manifest, NodeKey, Subject};
use tessera_host::{
    Actor, Admin, Authority, Principal, RequirePermission, RouteGuard, Store, UserUpdate, reconcile,
};
use tower::ServiceExt;

async fn seeded(url: &str) -> Arc<Authority> {
    let store = Store::connect(url).await.unwrap();
    store.migrate_up().await.unwrap();
    let text =
        std::fs::read_to_string(common::repo_root().join("examples/fleet/manifest.toml")).unwrap();
    let manifest = Arc::new(Manifest::from_toml(&text).unwrap());
    reconcile(&store, &manifest, 1).await.unwrap();
    let admin = Admin::new(store.clone(), Arc::clone(&manifest));
    let backend = Actor::Backend;
    admin.create_org(&backend, "acme", "Acme", 1).await.unwrap();
    for user in ["alice", "bob"] {
        let update = UserUpdate {
            name: Some(user.to_owned()),
            ..UserUpdate::default()
        };
        admin.put_user(&backend, user, &update, 1).await.unwrap();
        admin.put_member(&backend, "acme", user, 1).await.unwrap();
    }
    let site: NodeKey = "site:1".parse().unwrap();
    let rack: NodeKey = "rack:1".parse().unwrap();
    admin
        .put_node(&backend, "acme", &site, None, 1)
        .await
        .unwrap();
    admin
        .put_node(&backend, "acme", &rack, Some(&site), 1)
        .await
        .unwrap();
    let alice: Subject = "user:alice".parse().unwrap();
    admin
        .create_assignment(
            &backend,
            "acme",
            &alice,
            "FIELD_TECH",
            Some(&site),
            false,
            1,
        )
        .await
        .unwrap();
    // bob may manage racks he owns, at site 1.
    let bob: Subject = "user:bob".parse().unwrap();
    admin
        .create_assignment(&backend, "acme", &bob, "FIELD_TECH", Some(&site), true, 1)
        .await
        .unwrap();
    Arc::new(Authority::new(store, manifest, 100))
}

fn site_rack(parts: &axum::http::request::Parts) -> Vec<String> {
    let segments: Vec<&str> = parts.uri.path().split('/').collect();
    vec![
        format!("site:{}", segments[2]),
        format!("rack:{}", segments[4]),
    ]
}

fn app(authority: &Arc<Authority>) -> Router {
    let manage = post(|| async { "managed" }).route_layer(RequirePermission::at(
        Arc::clone(authority),
        "rack:manage",
        site_rack,
    ));
    let settings = get(|| async { "settings" }).route_layer(RequirePermission::at_org(
        Arc::clone(authority),
        "site:manage",
    ));
    // The rack's owner, as the app's data would say: here a header.
    let owned = post(|| async { "owned" }).route_layer(RequirePermission::owned(
        Arc::clone(authority),
        "rack:manage",
        site_rack,
        |parts| {
            parts
                .headers
                .get("x-owner")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        },
    ));
    // The route guard covers the pages the manifest describes; `/free` is
    // a page it does not describe.
    let pages = Router::new()
        .route("/sites/{site}/racks", get(|| async { "racks" }))
        .route("/free", get(|| async { "free" }))
        .route_layer(RouteGuard::layer(Arc::clone(authority)));
    Router::new()
        .route("/sites/{site}/racks/{rack}/manage", manage)
        .route("/sites/{site}/racks/{rack}/owned", owned)
        .route("/settings", settings)
        .merge(pages)
}

async fn send(app: &Router, method: &str, uri: &str, user: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    if let Some(user) = user {
        request.extensions_mut().insert(Principal {
            org: "acme".to_owned(),
            user: user.to_owned(),
        });
    }
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = String::from_utf8(bytes.to_vec()).unwrap();
    (status, location.unwrap_or(body))
}

fn json_of(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

fn code(body: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    json["error"]["code"].as_str().unwrap().to_owned()
}

both_backends!(permission_layer, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let authority = seeded(&url).await;
        let app = app(&authority);
        let manage = "/sites/1/racks/1/manage";
        assert_eq!(
            send(&app, "POST", manage, Some("alice")).await,
            (StatusCode::OK, "managed".to_owned())
        );
        let (status, body) = send(&app, "POST", manage, Some("bob")).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "FORBIDDEN".to_owned())
        );
        // A registered rack placed under another site: an invalid path,
        // denied with its diagnostic.
        let (status, body) = send(&app, "POST", "/sites/2/racks/1/manage", Some("alice")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"]["details"]["diagnostic"], "INVALID_PATH");
        // An unregistered rack under site 1 inherits the site's grant.
        let (status, _) = send(&app, "POST", "/sites/1/racks/9/manage", Some("alice")).await;
        assert_eq!(status, StatusCode::OK);
        // No principal: the app forgot to authenticate; fail closed.
        let (status, body) = send(&app, "POST", manage, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED".to_owned())
        );
        // A principal of an unknown org: 404, never a pass.
        let mut request = Request::builder()
            .method("POST")
            .uri(manage)
            .body(Body::empty())
            .unwrap();
        request.extensions_mut().insert(Principal {
            org: "nope".to_owned(),
            user: "alice".to_owned(),
        });
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let (status, body) = send(&app, "GET", "/settings", Some("alice")).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "FORBIDDEN".to_owned())
        );
    }
});

both_backends!(
    owner_only_grants_apply_through_the_layer,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let authority = seeded(&url).await;
            let app = app(&authority);
            let owned = |owner: Option<&'static str>| {
                let mut request = Request::builder()
                    .method("POST")
                    .uri("/sites/1/racks/1/owned")
                    .body(Body::empty())
                    .unwrap();
                if let Some(owner) = owner {
                    request
                        .headers_mut()
                        .insert("x-owner", owner.parse().unwrap());
                }
                request.extensions_mut().insert(Principal {
                    org: "acme".to_owned(),
                    user: "bob".to_owned(),
                });
                request
            };
            for (owner, expected) in [
                (Some("bob"), StatusCode::OK),
                (Some("alice"), StatusCode::FORBIDDEN),
                (None, StatusCode::FORBIDDEN),
            ] {
                let status = app.clone().oneshot(owned(owner)).await.unwrap().status();
                assert_eq!(status, expected, "owner {owner:?}");
            }
            // Without an owner the plain layer never applies bob's grant.
            let (status, _) = send(&app, "POST", "/sites/1/racks/1/manage", Some("bob")).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
    }
);

both_backends!(route_guard_layer, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let authority = seeded(&url).await;
        let app = app(&authority);
        assert_eq!(
            send(&app, "GET", "/sites/1/racks", Some("alice")).await,
            (StatusCode::OK, "racks".to_owned())
        );
        // bob may not read racks at site 1: 403 naming the fallback page.
        let refused = |fallback: &str| json!({"error": {"code": "FORBIDDEN", "message": "permission denied", "details": {"fallback": fallback}}});
        let (status, body) = send(&app, "GET", "/sites/1/racks", Some("bob")).await;
        assert_eq!(
            (status, json_of(&body)),
            (StatusCode::FORBIDDEN, refused("/"))
        );
        // Percent-encoding names the same page: still guarded.
        let (status, body) = send(&app, "GET", "/sites/%31/racks", Some("bob")).await;
        assert_eq!(
            (status, json_of(&body)),
            (StatusCode::FORBIDDEN, refused("/"))
        );
        assert_eq!(
            send(&app, "GET", "/sites/%31/racks", Some("alice")).await,
            (StatusCode::OK, "racks".to_owned())
        );
        // A pattern matches but the parameter is no node id: never a pass.
        let long = format!("/sites/{}/racks", "a".repeat(129));
        for invalid in [
            "/sites/1%2F2/racks",
            "/sites/%2B1/racks",
            "/sites/%zz/racks",
            &long,
        ] {
            let (status, body) = send(&app, "GET", invalid, Some("alice")).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::NOT_FOUND, "NOT_FOUND".to_owned()),
                "{invalid}"
            );
        }
        // A guarded page no route of the manifest describes: refused too.
        let (status, body) = send(&app, "GET", "/free", Some("alice")).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "NOT_FOUND".to_owned())
        );
    }
});
