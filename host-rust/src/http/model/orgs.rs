//! Orgs: `POST /v1/orgs`, and `PATCH|DELETE /v1/orgs/{org}` (global
//! writes: superuser actors only).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::unix_now;
use crate::http::AppState;
use crate::http::auth::AdminCaller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{JsonBody, PathArgs};

/// The body of `POST /v1/orgs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateOrgBody {
    /// The org id (`[A-Za-z0-9._~-]{1,128}`).
    id: String,
    /// Display name.
    name: String,
}

/// The body of `PATCH /v1/orgs/{org}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RenameOrgBody {
    /// The new display name.
    name: String,
}

/// An org as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrgView {
    /// The org id.
    id: String,
    /// Display name (trimmed).
    name: String,
}

impl OrgView {
    /// The view of an org written with `name` (stored trimmed).
    fn new(id: String, name: &str) -> Self {
        OrgView {
            id,
            name: name.trim().to_owned(),
        }
    }
}

/// Creates an org with its `admin` and `members` groups and its built-in
/// roles.
#[utoipa::path(post, path = "/v1/orgs", tag = "model", request_body = CreateOrgBody,
    responses((status = 201, body = OrgView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn create_org(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    JsonBody(body): JsonBody<CreateOrgBody>,
) -> Result<(StatusCode, Json<OrgView>), ApiError> {
    state
        .admin
        .create_org(&caller.actor, &body.id, &body.name, unix_now())
        .await?;
    Ok((StatusCode::CREATED, Json(OrgView::new(body.id, &body.name))))
}

/// Renames an org.
#[utoipa::path(patch, path = "/v1/orgs/{org}", tag = "model", request_body = RenameOrgBody,
    params(("org" = String, Path, description = "org id")),
    responses((status = 200, body = OrgView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn rename_org(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
    JsonBody(body): JsonBody<RenameOrgBody>,
) -> Result<Json<OrgView>, ApiError> {
    state
        .admin
        .rename_org(&caller.actor, &org, &body.name, unix_now())
        .await?;
    Ok(Json(OrgView::new(org, &body.name)))
}

/// Deletes an org and everything in it; its audit trail outlives it.
#[utoipa::path(delete, path = "/v1/orgs/{org}", tag = "model",
    params(("org" = String, Path, description = "org id")),
    responses((status = 204, description = "deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_org(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .delete_org(&caller.actor, &org, unix_now())
        .await?;
    // Tokens bound to the org lost that binding (or were revoked): what
    // this server remembers of tokens is forgotten at once.
    state.tokens.forget_all();
    Ok(StatusCode::NO_CONTENT)
}
