//! An app that embeds the host library in its own axum service, guards
//! its routes with `RequirePermission` and `RouteGuard`, and relays its
//! pages their user's snapshot, the keys and the revision events
//! (`Relay`, under `/tessera`, for `@tessera/web/session`).
//!
//! ```text
//! cargo run -p tessera-host --example fleet_axum
//! curl -i -H 'x-user: alice' -X POST http://127.0.0.1:7701/miners/1/blink
//! curl -i -H 'x-user: bob'   -X POST http://127.0.0.1:7701/miners/1/blink
//! curl -i -H 'x-user: bob'   http://127.0.0.1:7701/sites/1/racks
//! curl -i -H 'x-user: alice' http://127.0.0.1:7701/tessera/snapshot
//! curl -N -H 'x-user: alice' http://127.0.0.1:7701/tessera/events
//! ```
//!
//! alice is a FIELD_TECH at site 1 (may blink, sees racks); bob is only a
//! member (403 on blink; 403 on the racks page, naming the fallback `/`).

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tessera_core::{NodeKey, Subject};
use tessera_host::setup::{database_url, load_manifest, open_store, unix_now};
use tessera_host::{
    Actor, Admin, Authority, Principal, Relay, RequirePermission, RouteGuard, UserUpdate, reconcile,
};

/// The app's own authentication: here, trust an `x-user` header (a real
/// app checks a session). Everyone acts in the org `acme`.
async fn authenticate(mut request: Request, next: Next) -> Result<Response, StatusCode> {
    let user = request
        .headers()
        .get("x-user")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("anonymous")
        .to_owned();
    request.extensions_mut().insert(Principal {
        org: "acme".to_owned(),
        user,
    });
    Ok(next.run(request).await)
}

/// The path of the miner `/miners/{miner}/…` names. A path comes from the
/// app's own data (docs/model.md §1.4: the URL names the thing, its ancestors are
/// looked up); this app's data is one miner in rack 1 of site 1. An
/// unknown miner gets an invalid path, which denies.
fn miner_path(parts: &axum::http::request::Parts) -> Vec<String> {
    let miner = parts.uri.path().split('/').nth(2).unwrap_or_default();
    match miner {
        "1" => vec!["site:1".into(), "rack:1".into(), "miner:1".into()],
        _ => vec!["?".into()],
    }
}

/// The app's routes, each behind the layer that guards it.
fn app(authority: &Arc<Authority>) -> Router {
    let blink = post(|| async { "blinking\n" }).route_layer(RequirePermission::at(
        Arc::clone(authority),
        "miner:blink_led",
        miner_path,
    ));
    // The route guard covers the pages the manifest's routes describe;
    // the home page is every route's fallback and stays open.
    let pages = Router::new()
        .route("/sites/{site}/racks", get(|| async { "racks\n" }))
        .route_layer(RouteGuard::layer(Arc::clone(authority)));
    Router::new()
        .route("/miners/{miner}/blink", blink)
        .route("/", get(|| async { "home\n" }))
        .merge(pages)
        .nest("/tessera", Relay::new(Arc::clone(authority)).router())
        .layer(middleware::from_fn(authenticate))
}

/// Creates the org, two users, a site, a rack and a miner, and makes alice
/// a FIELD_TECH at the site.
async fn seed(admin: &Admin, now: i64) -> Result<(), Box<dyn std::error::Error>> {
    let backend = Actor::Backend;
    admin.create_org(&backend, "acme", "Acme", now).await?;
    for user in ["alice", "bob"] {
        let update = UserUpdate {
            name: Some(user.to_owned()),
            ..UserUpdate::default()
        };
        admin.put_user(&backend, user, &update, now).await?;
        admin.put_member(&backend, "acme", user, now).await?;
    }
    let site: NodeKey = "site:1".parse()?;
    let rack: NodeKey = "rack:1".parse()?;
    let miner: NodeKey = "miner:1".parse()?;
    admin.put_node(&backend, "acme", &site, None, now).await?;
    admin
        .put_node(&backend, "acme", &rack, Some(&site), now)
        .await?;
    admin
        .put_node(&backend, "acme", &miner, Some(&rack), now)
        .await?;
    let alice: Subject = "user:alice".parse()?;
    admin
        .create_assignment(
            &backend,
            "acme",
            &alice,
            "FIELD_TECH",
            Some(&site),
            false,
            now,
        )
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data_dir = std::env::temp_dir().join(format!("tessera-fleet-axum-{}", std::process::id()));
    let manifest = Arc::new(load_manifest(Path::new("examples/fleet/manifest.toml"))?);
    let store = open_store(&database_url(None, &data_dir), &data_dir).await?;
    let now = unix_now();
    reconcile(&store, &manifest, now).await?;
    seed(&Admin::new(store.clone(), Arc::clone(&manifest)), now).await?;
    let authority = Arc::new(Authority::new(store, manifest, 1000));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:7701").await?;
    println!("fleet_axum listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(&authority)).await?;
    Ok(())
}
