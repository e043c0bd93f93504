//! Org settings: `GET|PUT …/settings` (kiosk mode).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::unix_now;
use crate::http::AppState;
use crate::http::auth::AdminCaller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{JsonBody, PathArgs};

/// The org's settings, as written and as answered.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// Kiosk mode: anonymous visitors may only use `read` keys (docs/model.md §1.9).
    kiosk: bool,
}

/// The org's settings.
#[utoipa::path(get, path = "/v1/orgs/{org}/settings", tag = "model",
    params(("org" = String, Path, description = "org id")),
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_settings(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
) -> Result<Json<Settings>, ApiError> {
    let kiosk = state.admin.kiosk(&caller.actor, &org).await?;
    Ok(Json(Settings { kiosk }))
}

/// Sets the org's settings.
#[utoipa::path(put, path = "/v1/orgs/{org}/settings", tag = "model", request_body = Settings,
    params(("org" = String, Path, description = "org id")),
    responses((status = 200, body = Settings), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn put_settings(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
    JsonBody(body): JsonBody<Settings>,
) -> Result<Json<Settings>, ApiError> {
    state
        .admin
        .put_settings(&caller.actor, &org, body.kiosk, unix_now())
        .await?;
    Ok(Json(body))
}
