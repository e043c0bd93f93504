//! Groups and group membership: `GET|POST …/groups`,
//! `PATCH|DELETE …/groups/{id}` and
//! `PUT|DELETE …/groups/{id}/members/{user|group}/{member}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tessera_core::Member;
use utoipa::ToSchema;

use super::parse;
use crate::admin::{GroupListing, GroupView};
use crate::clock::unix_now;
use crate::http::AppState;
use crate::http::auth::AdminCaller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{JsonBody, PathArgs};

/// The body of `POST …/groups`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateGroupBody {
    /// The group id; generated when absent.
    #[serde(default)]
    id: Option<String>,
    /// Display name.
    name: String,
    /// Whether member users with no explicit group are treated as members.
    #[serde(default)]
    default: bool,
}

/// The body of `PATCH …/groups/{id}`; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateGroupBody {
    /// A new display name.
    #[serde(default)]
    name: Option<String>,
    /// A new default flag.
    #[serde(default)]
    default: Option<bool>,
}

/// Every group of the org, `admin` included, by id.
#[utoipa::path(get, path = "/v1/orgs/{org}/groups", tag = "model",
    params(("org" = String, Path, description = "org id")),
    responses((status = 200, body = Vec<GroupListing>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_groups(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
) -> Result<Json<Vec<GroupListing>>, ApiError> {
    Ok(Json(state.admin.list_groups(&caller.actor, &org).await?))
}

/// Creates a group.
#[utoipa::path(post, path = "/v1/orgs/{org}/groups", tag = "model", request_body = CreateGroupBody,
    params(("org" = String, Path, description = "org id")),
    responses((status = 201, body = GroupView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn create_group(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
    JsonBody(body): JsonBody<CreateGroupBody>,
) -> Result<(StatusCode, Json<GroupView>), ApiError> {
    let view = state
        .admin
        .create_group(
            &caller.actor,
            &org,
            body.id.as_deref(),
            &body.name,
            body.default,
            unix_now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Renames a group or sets its default flag.
#[utoipa::path(patch, path = "/v1/orgs/{org}/groups/{id}", tag = "model", request_body = UpdateGroupBody,
    params(("org" = String, Path, description = "org id"),
        ("id" = String, Path, description = "group id")),
    responses((status = 200, body = GroupView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn update_group(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, id)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<UpdateGroupBody>,
) -> Result<Json<GroupView>, ApiError> {
    let view = state
        .admin
        .update_group(
            &caller.actor,
            &org,
            &id,
            body.name.as_deref(),
            body.default,
            unix_now(),
        )
        .await?;
    Ok(Json(view))
}

/// Deletes a group no assignment, hidden entry, cap or group refers to.
#[utoipa::path(delete, path = "/v1/orgs/{org}/groups/{id}", tag = "model",
    params(("org" = String, Path, description = "org id"),
        ("id" = String, Path, description = "group id")),
    responses((status = 204, description = "deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn delete_group(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, id)): PathArgs<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .delete_group(&caller.actor, &org, &id, unix_now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The member a membership path names: `user/<id>` or `group/<id>`.
fn member(kind: &str, id: &str) -> Result<Member, ApiError> {
    parse(&format!("{kind}:{id}"))
}

/// Adds a member user or a group of the org to a group (re-adding is a
/// no-op).
#[utoipa::path(put, path = "/v1/orgs/{org}/groups/{id}/members/{kind}/{member}", tag = "model",
    params(("org" = String, Path, description = "org id"),
        ("id" = String, Path, description = "group id"),
        ("kind" = String, Path, description = "`user` or `group`"),
        ("member" = String, Path, description = "the user or group id")),
    responses((status = 204, description = "a member"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn put_group_member(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, id, kind, user)): PathArgs<(String, String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let member = member(&kind, &user)?;
    state
        .admin
        .put_group_member(&caller.actor, &org, &id, &member, unix_now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a user or a group from a group.
#[utoipa::path(delete, path = "/v1/orgs/{org}/groups/{id}/members/{kind}/{member}", tag = "model",
    params(("org" = String, Path, description = "org id"),
        ("id" = String, Path, description = "group id"),
        ("kind" = String, Path, description = "`user` or `group`"),
        ("member" = String, Path, description = "the user or group id")),
    responses((status = 204, description = "removed"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn delete_group_member(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, id, kind, user)): PathArgs<(String, String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let member = member(&kind, &user)?;
    state
        .admin
        .delete_group_member(&caller.actor, &org, &id, &member, unix_now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
