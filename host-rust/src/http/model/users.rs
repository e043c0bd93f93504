//! Users (global) and org membership: `PUT /v1/users/{id}`,
//! `GET /v1/orgs/{org}/members` and `PUT|DELETE /v1/orgs/{org}/members/{user}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::admin::{MemberView, UserUpdate, UserView};
use crate::clock::unix_now;
use crate::http::AppState;
use crate::http::auth::AdminCaller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{JsonBody, PathArgs, QueryArgs};

/// The body of `PUT /v1/users/{id}`; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserBody {
    /// Display name (required when creating the user).
    #[serde(default)]
    name: Option<String>,
    /// Platform operator flag (default `false` for a new user).
    #[serde(default)]
    superuser: Option<bool>,
    /// Active flag (default `true` for a new user).
    #[serde(default)]
    active: Option<bool>,
}

/// Creates or updates a user; answers it as stored.
#[utoipa::path(put, path = "/v1/users/{id}", tag = "model", request_body = UserBody,
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn put_user(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(id): PathArgs<String>,
    JsonBody(body): JsonBody<UserBody>,
) -> Result<Json<UserView>, ApiError> {
    let update = UserUpdate {
        name: body.name,
        superuser: body.superuser,
        active: body.active,
    };
    state
        .admin
        .put_user(&caller.actor, &id, &update, unix_now())
        .await?;
    // A user's flags and name reach every org it is in.
    Ok(Json(state.admin.get_user(&id).await?))
}

/// Query parameters of `GET …/members`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MemberSearch {
    /// Text the id or the name contains (ASCII letters in either case);
    /// absent or empty: every member.
    #[serde(default)]
    search: String,
    /// How many members at most, 1 to 100 (default 20).
    #[serde(default = "default_search_limit")]
    limit: u32,
}

fn default_search_limit() -> u32 {
    20
}

/// The org's members whose id or name contains `search`, by id.
#[utoipa::path(get, path = "/v1/orgs/{org}/members", tag = "model",
    params(("org" = String, Path, description = "org id"), MemberSearch),
    responses((status = 200, body = Vec<MemberView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn search_members(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
    QueryArgs(query): QueryArgs<MemberSearch>,
) -> Result<Json<Vec<MemberView>>, ApiError> {
    Ok(Json(
        state
            .admin
            .search_members(&caller.actor, &org, &query.search, query.limit)
            .await?,
    ))
}

/// Makes a user a member of the org (re-adding is a no-op).
#[utoipa::path(put, path = "/v1/orgs/{org}/members/{user}", tag = "model",
    params(("org" = String, Path, description = "org id"),
        ("user" = String, Path, description = "user id")),
    responses((status = 204, description = "a member"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn put_member(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, user)): PathArgs<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .put_member(&caller.actor, &org, &user, unix_now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a member from the org, with its group memberships and
/// assignments there.
#[utoipa::path(delete, path = "/v1/orgs/{org}/members/{user}", tag = "model",
    params(("org" = String, Path, description = "org id"),
        ("user" = String, Path, description = "user id")),
    responses((status = 204, description = "removed"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn delete_member(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, user)): PathArgs<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .delete_member(&caller.actor, &org, &user, unix_now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
