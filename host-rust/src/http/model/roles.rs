//! Roles: `GET|POST …/roles` and `PATCH|DELETE …/roles/{id}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::admin::RoleView;
use crate::clock::unix_now;
use crate::http::AppState;
use crate::http::auth::AdminCaller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{JsonBody, PathArgs};

/// The body of `POST …/roles`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRoleBody {
    /// Display name, unique in the org ignoring case.
    name: String,
    /// Catalog keys, closed under `requires` (empty when absent).
    #[serde(default)]
    permissions: Vec<String>,
}

/// The body of `PATCH …/roles/{id}`; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateRoleBody {
    /// A new display name (not for built-ins).
    #[serde(default)]
    name: Option<String>,
    /// A new permission set, replacing the old one.
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

/// Every role of the org: built-ins in manifest order, then custom roles
/// by name; permissions in catalog order.
#[utoipa::path(get, path = "/v1/orgs/{org}/roles", tag = "model",
    params(("org" = String, Path, description = "org id")),
    responses((status = 200, body = Vec<RoleView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_roles(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
) -> Result<Json<Vec<RoleView>>, ApiError> {
    Ok(Json(state.admin.list_roles(&caller.actor, &org).await?))
}

/// Creates a custom role.
#[utoipa::path(post, path = "/v1/orgs/{org}/roles", tag = "model", request_body = CreateRoleBody,
    params(("org" = String, Path, description = "org id")),
    responses((status = 201, body = RoleView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn create_role(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
    JsonBody(body): JsonBody<CreateRoleBody>,
) -> Result<(StatusCode, Json<RoleView>), ApiError> {
    let view = state
        .admin
        .create_role(
            &caller.actor,
            &org,
            &body.name,
            &body.permissions,
            unix_now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Renames a custom role and/or replaces a role's permissions.
#[utoipa::path(patch, path = "/v1/orgs/{org}/roles/{id}", tag = "model", request_body = UpdateRoleBody,
    params(("org" = String, Path, description = "org id"),
        ("id" = String, Path, description = "role id")),
    responses((status = 200, body = RoleView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn update_role(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, id)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<UpdateRoleBody>,
) -> Result<Json<RoleView>, ApiError> {
    let view = state
        .admin
        .update_role(
            &caller.actor,
            &org,
            &id,
            body.name.as_deref(),
            body.permissions.as_deref(),
            unix_now(),
        )
        .await?;
    Ok(Json(view))
}

/// Deletes a custom role that has no assignments.
#[utoipa::path(delete, path = "/v1/orgs/{org}/roles/{id}", tag = "model",
    params(("org" = String, Path, description = "org id"),
        ("id" = String, Path, description = "role id")),
    responses((status = 204, description = "deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn delete_role(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, id)): PathArgs<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .delete_role(&caller.actor, &org, &id, unix_now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
