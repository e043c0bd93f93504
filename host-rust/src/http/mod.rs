//! The host's HTTP API (docs/http.md §6): axum handlers over [`Admin`] for
//! writes and [`Authority`] for answers. Every route is declared once, in
//! an `OpenApiRouter`, so `/openapi.json` is generated from the handlers
//! that serve it.

mod access;
mod apply;
mod auth;
mod catalog;
mod console;
mod decisions;
mod declared;
mod error;
mod events;
mod extract;
mod metrics;
mod model;
mod ops;
mod preview;
mod snapshots;
mod streams;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::Admin;
use crate::authority::Authority;
use crate::store::Store;

pub(crate) use auth::TokenCache;
pub(crate) use error::ApiError;
pub(crate) use metrics::Metrics;
pub(crate) use snapshots::export_response;
pub use streams::Streams;

/// Limits of the snapshot endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Lifetime of exported snapshots, in seconds.
    pub(crate) snapshot_ttl: i64,
    /// The largest snapshot exported (`SNAPSHOT_TOO_LARGE` above).
    pub(crate) max_snapshot_bytes: usize,
    /// Whether a `check` token may export a superuser's snapshot.
    pub(crate) check_token_superuser_snapshots: bool,
}

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) admin: Admin,
    pub(crate) authority: Arc<Authority>,
    pub(crate) tokens: TokenCache,
    pub(crate) metrics: Metrics,
    pub(crate) limits: Limits,
    /// The open revision event streams.
    pub(crate) streams: Streams,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera host API", description = "docs/http.md §6: decisions, snapshots, the model and operations. Every error is `{\"error\": {\"code\", \"message\", \"details\"}}`."),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

/// Declares the `Authorization: Bearer <token>` scheme.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole API, with its OpenAPI document.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(decisions::check))
        .routes(routes!(decisions::check_batch))
        .routes(routes!(decisions::explain))
        .routes(routes!(decisions::filter))
        .routes(routes!(decisions::can_anywhere))
        .routes(routes!(decisions::guard))
        .routes(routes!(decisions::effective))
        .routes(routes!(decisions::nav))
        .routes(routes!(decisions::claims))
        .routes(routes!(snapshots::snapshot))
        .routes(routes!(snapshots::keys))
        .routes(routes!(events::events))
        .routes(routes!(access::who_can))
        .routes(routes!(access::user_access))
        .routes(routes!(access::user_explain))
        .routes(routes!(access::user_view))
        .routes(routes!(preview::preview))
        .routes(routes!(apply::apply))
        .routes(routes!(catalog::catalog))
        .routes(routes!(console::create))
        .routes(routes!(console::current, console::sign_out))
        .routes(routes!(console::snapshot))
        .merge(model::routes(&state))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::metrics))
        .split_for_parts();
    #[cfg(console_built)]
    let router = router
        .route("/console/app.js", axum::routing::get(console::script))
        .route(
            "/console/tessera_wasm_bg.wasm",
            axum::routing::get(console::wasm),
        );
    let mut api = api;
    declared::declare_common_answers(&mut api);
    let api = Arc::new(api);
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || ops::openapi(Arc::clone(&api))),
        )
        .route("/console", axum::routing::get(console::console))
        .route("/console/", axum::routing::get(console::console))
        .route("/console/console.css", axum::routing::get(console::style))
        .route("/console/icon.svg", axum::routing::get(console::icon))
        .route(
            "/console/sign-in/{code}",
            axum::routing::get(console::confirm).post(console::sign_in),
        )
        .fallback(ops::unknown_route)
        .method_not_allowed_fallback(ops::wrong_method)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            metrics::track,
        ))
        .with_state(state)
}
