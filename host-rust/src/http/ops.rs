//! Operations: health, metrics, the OpenAPI document, and the answers for
//! unknown routes and wrong methods (in the API's error shape).

use std::sync::Arc;
use tessera_core::ErrorCode;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::ApiError;

/// `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok` when the store answers.
    status: &'static str,
}

/// Liveness and store reachability.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, body = Health), (status = 500, body = super::error::ErrorBody),
        (status = 503, body = super::error::ErrorBody)))]
pub(crate) async fn healthz(State(state): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
    sqlx::query("SELECT 1")
        .execute(state.store.pool())
        .await
        .map_err(crate::store::StoreError::from)?;
    Ok(Json(Health { status: "ok" }))
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(state.authority.stats()),
    )
}

/// `GET /openapi.json`.
pub(crate) async fn openapi(api: Arc<utoipa::openapi::OpenApi>) -> impl IntoResponse {
    Json(api.as_ref().clone())
}

/// Any route the API does not have.
pub(crate) async fn unknown_route() -> ApiError {
    ApiError::not_found("no such route")
}

/// A known route with a method it does not take.
pub(crate) async fn wrong_method() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "the route does not take that method",
    )
}
