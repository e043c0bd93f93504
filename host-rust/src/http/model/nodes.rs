//! Registered nodes: `GET …/nodes` and `PUT|DELETE …/nodes/{type}/{id}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tessera_core::NodeKey;
use utoipa::ToSchema;

use super::{parse, parse_opt};
use crate::admin::DocNode;
use crate::clock::unix_now;
use crate::http::AppState;
use crate::http::auth::AdminCaller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{JsonBody, PathArgs};

/// The body of `PUT …/nodes/{type}/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeBody {
    /// The parent node (`site:7`); `null` or absent: the org root.
    #[serde(default)]
    parent: Option<String>,
}

/// Every registered node with its parent, parents first (by depth, then
/// key).
#[utoipa::path(get, path = "/v1/orgs/{org}/nodes", tag = "model",
    params(("org" = String, Path, description = "org id")),
    responses((status = 200, body = Vec<DocNode>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn list_nodes(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
) -> Result<Json<Vec<DocNode>>, ApiError> {
    Ok(Json(state.admin.list_nodes(&caller.actor, &org).await?))
}

/// Registers a node under its parent, or re-parents it.
#[utoipa::path(put, path = "/v1/orgs/{org}/nodes/{type}/{id}", tag = "model", request_body = NodeBody,
    params(("org" = String, Path, description = "org id"),
        ("type" = String, Path, description = "a declared node type"),
        ("id" = String, Path, description = "the node id")),
    responses((status = 204, description = "registered"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn put_node(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, ty, id)): PathArgs<(String, String, String)>,
    JsonBody(body): JsonBody<NodeBody>,
) -> Result<StatusCode, ApiError> {
    let node: NodeKey = parse(&format!("{ty}:{id}"))?;
    let parent: Option<NodeKey> = parse_opt(body.parent.as_deref())?;
    state
        .admin
        .put_node(&caller.actor, &org, &node, parent.as_ref(), unix_now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a node with no children and no policy.
#[utoipa::path(delete, path = "/v1/orgs/{org}/nodes/{type}/{id}", tag = "model",
    params(("org" = String, Path, description = "org id"),
        ("type" = String, Path, description = "a declared node type"),
        ("id" = String, Path, description = "the node id")),
    responses((status = 204, description = "deleted"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn delete_node(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, ty, id)): PathArgs<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let node: NodeKey = parse(&format!("{ty}:{id}"))?;
    state
        .admin
        .delete_node(&caller.actor, &org, &node, unix_now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
