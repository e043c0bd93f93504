//! Hidden entries and caps: `GET|POST …/hidden`, `DELETE …/hidden/{id}`,
//! `GET|POST …/caps` and `DELETE …/caps/{id}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tessera_core::{NodeKey, Selector};
use utoipa::ToSchema;

use super::{parse, parse_opt};
use crate::admin::{CapView, HiddenView};
use crate::clock::unix_now;
use crate::http::AppState;
use crate::http::auth::AdminCaller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{JsonBody, PathArgs};

/// The body of `POST …/hidden`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HiddenBody {
    /// Who the node is hidden from (`everyone`, `user:<id>`,
    /// `not_group:<id>`, ...).
    selector: String,
    /// The registered node hidden, with everything below it (`site:7`).
    node: String,
}

/// The body of `POST …/caps`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CapBody {
    /// Who the cap limits.
    selector: String,
    /// A registered node (`site:7`); `null` or absent: the org root.
    #[serde(default)]
    scope: Option<String>,
    /// The catalog keys still allowed at and below the scope.
    allow: Vec<String>,
}

/// Every hidden entry of the org, by id.
#[utoipa::path(get, path = "/v1/orgs/{org}/hidden", tag = "model",
    params(("org" = String, Path, description = "org id")),
    responses((status = 200, body = Vec<HiddenView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_hidden(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
) -> Result<Json<Vec<HiddenView>>, ApiError> {
    Ok(Json(state.admin.list_hidden(&caller.actor, &org).await?))
}

/// Hides a node (and everything below it) from a selector; an identical
/// entry is answered as it is.
#[utoipa::path(post, path = "/v1/orgs/{org}/hidden", tag = "model", request_body = HiddenBody,
    params(("org" = String, Path, description = "org id")),
    responses((status = 201, body = HiddenView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn create_hidden(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
    JsonBody(body): JsonBody<HiddenBody>,
) -> Result<(StatusCode, Json<HiddenView>), ApiError> {
    let selector: Selector = parse(&body.selector)?;
    let node: NodeKey = parse(&body.node)?;
    let view = state
        .admin
        .create_hidden(&caller.actor, &org, &selector, &node, unix_now())
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Removes a hidden entry (its node must be visible to the actor).
#[utoipa::path(delete, path = "/v1/orgs/{org}/hidden/{id}", tag = "model",
    params(("org" = String, Path, description = "org id"),
        ("id" = String, Path, description = "hidden entry id")),
    responses((status = 204, description = "removed"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_hidden(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, id)): PathArgs<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .delete_hidden(&caller.actor, &org, &id, unix_now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every cap of the org, by id.
#[utoipa::path(get, path = "/v1/orgs/{org}/caps", tag = "model",
    params(("org" = String, Path, description = "org id")),
    responses((status = 200, body = Vec<CapView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_caps(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
) -> Result<Json<Vec<CapView>>, ApiError> {
    Ok(Json(state.admin.list_caps(&caller.actor, &org).await?))
}

/// Limits what a selector may do at and below a scope.
#[utoipa::path(post, path = "/v1/orgs/{org}/caps", tag = "model", request_body = CapBody,
    params(("org" = String, Path, description = "org id")),
    responses((status = 201, body = CapView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn create_cap(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
    JsonBody(body): JsonBody<CapBody>,
) -> Result<(StatusCode, Json<CapView>), ApiError> {
    let selector: Selector = parse(&body.selector)?;
    let scope: Option<NodeKey> = parse_opt(body.scope.as_deref())?;
    let view = state
        .admin
        .create_cap(
            &caller.actor,
            &org,
            &selector,
            scope.as_ref(),
            &body.allow,
            unix_now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Removes a cap (needs every key it withholds, at its scope).
#[utoipa::path(delete, path = "/v1/orgs/{org}/caps/{id}", tag = "model",
    params(("org" = String, Path, description = "org id"),
        ("id" = String, Path, description = "cap id")),
    responses((status = 204, description = "removed"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_cap(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, id)): PathArgs<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .delete_cap(&caller.actor, &org, &id, unix_now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
