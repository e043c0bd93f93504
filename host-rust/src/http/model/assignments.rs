//! Assignments: `GET|POST …/assignments` and `DELETE …/assignments/{id}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tessera_core::{NodeKey, Subject};
use utoipa::ToSchema;

use super::{parse, parse_opt};
use crate::admin::AssignmentView;
use crate::clock::unix_now;
use crate::http::AppState;
use crate::http::auth::AdminCaller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{JsonBody, PathArgs};

/// The body of `POST …/assignments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignmentBody {
    /// `user:<id>`, `group:<id>`, `@everyone`, `@authenticated` or `@members`.
    subject: String,
    /// The role id.
    role: String,
    /// A registered node (`site:7`); `null` or absent: the org root.
    #[serde(default)]
    scope: Option<String>,
    /// Grant only on things the principal owns.
    #[serde(default)]
    owner_only: bool,
}

/// Every assignment of the org, oldest first.
#[utoipa::path(get, path = "/v1/orgs/{org}/assignments", tag = "model",
    params(("org" = String, Path, description = "org id")),
    responses((status = 200, body = Vec<AssignmentView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_assignments(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
) -> Result<Json<Vec<AssignmentView>>, ApiError> {
    Ok(Json(
        state.admin.list_assignments(&caller.actor, &org).await?,
    ))
}

/// Gives a subject a role at the org root or at a node; an identical live
/// assignment is answered as it is.
#[utoipa::path(post, path = "/v1/orgs/{org}/assignments", tag = "model", request_body = AssignmentBody,
    params(("org" = String, Path, description = "org id")),
    responses((status = 201, body = AssignmentView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn create_assignment(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
    JsonBody(body): JsonBody<AssignmentBody>,
) -> Result<(StatusCode, Json<AssignmentView>), ApiError> {
    let subject: Subject = parse(&body.subject)?;
    let scope: Option<NodeKey> = parse_opt(body.scope.as_deref())?;
    let view = state
        .admin
        .create_assignment(
            &caller.actor,
            &org,
            &subject,
            &body.role,
            scope.as_ref(),
            body.owner_only,
            unix_now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Removes an assignment.
#[utoipa::path(delete, path = "/v1/orgs/{org}/assignments/{id}", tag = "model",
    params(("org" = String, Path, description = "org id"),
        ("id" = String, Path, description = "assignment id")),
    responses((status = 204, description = "removed"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub(crate) async fn delete_assignment(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, id)): PathArgs<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .delete_assignment(&caller.actor, &org, &id, unix_now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
