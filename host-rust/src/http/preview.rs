//! `POST /v1/orgs/{org}/preview` (docs/http.md §6.12): what a model write
//! would change, before it is made. The write runs as the API would run
//! it, every check and error included, but its transaction is held instead
//! of committed; the decisions are read in it, then it is rolled back.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_core::Effect;
use tower::ServiceExt;
use utoipa::ToSchema;

use super::AppState;
use super::auth::AdminCaller;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, PathArgs};
use super::model;
use crate::admin::{Held, audience_rows, holding, node_paths, node_rows};
use crate::authority::{Answers, Place};

/// The body of `POST …/preview`: a model write of the same org.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviewBody {
    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    method: String,
    /// The write's path, under `/v1/orgs/{org}/`.
    path: String,
    /// The write's JSON body, if it takes one.
    #[serde(default)]
    body: Option<Value>,
}

/// One answer a write changes.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DecisionChange {
    /// A user id or `anonymous`.
    principal: String,
    /// The node (`type:id`), or null for the org root.
    node: Option<String>,
    permission: String,
    /// `allow`, `deny` or `not_found`.
    before: String,
    after: String,
}

/// The answer of a preview whose write would succeed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Preview {
    /// Every answer that changes, by principal, node and permission.
    changes: Vec<DecisionChange>,
    /// How many principals have at least one change.
    principals_affected: usize,
    /// The org revision the write would apply to.
    revision: u64,
}

/// The places of one side: the root, then every node either side has,
/// at this side's path when it has the node, else at the other's.
fn places(
    mine: &BTreeMap<String, Vec<String>>,
    other: &BTreeMap<String, Vec<String>>,
) -> Vec<Place> {
    let nodes: BTreeSet<&String> = mine.keys().chain(other.keys()).collect();
    std::iter::once((None, Vec::new()))
        .chain(nodes.into_iter().map(|node| {
            let path = mine
                .get(node)
                .or_else(|| other.get(node))
                .cloned()
                .unwrap_or_default();
            (Some(node.clone()), path)
        }))
        .collect()
}

fn effect(effect: Effect) -> String {
    match effect {
        Effect::Allow => "allow",
        Effect::Deny => "deny",
        Effect::NotFound => "not_found",
    }
    .to_owned()
}

/// Runs the write on the API's own model routes, its transaction held.
async fn held_write(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    method: Method,
    body: &PreviewBody,
    held: Arc<Held>,
) -> Result<Response, ApiError> {
    let mut request = Request::builder().method(method).uri(&body.path);
    for name in [AUTHORIZATION.as_str(), "tessera-actor"] {
        for value in headers.get_all(name) {
            request = request.header(name, value);
        }
    }
    let payload = match &body.body {
        Some(value) => {
            request = request.header(CONTENT_TYPE, "application/json");
            Body::from(value.to_string())
        }
        None => Body::empty(),
    };
    let request = request
        .body(payload)
        .map_err(|err| ApiError::bad_request(format!("`path` is not a request path: {err}")))?;
    let (routes, _) = model::routes(state).split_for_parts();
    let routes = routes.with_state(Arc::clone(state));
    let response = holding(held, routes.oneshot(request)).await;
    Ok(response.into_response())
}

/// What a model write would change, without making it: the error the write
/// would give (same status, code and details), or every answer of every
/// user and of anonymous, at the org root and at every registered node,
/// that the write changes. Nothing is written. An admin token; the acting
/// user needs the `manage_members` admin key, and the write's own.
#[utoipa::path(post, path = "/v1/orgs/{org}/preview", tag = "access", request_body = PreviewBody,
    params(("org" = String, Path, description = "org id")),
    responses((status = 200, body = Preview), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn preview(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
    uri: Uri,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PreviewBody>,
) -> Result<Response, ApiError> {
    let method = match body.method.to_ascii_uppercase().as_str() {
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        _ => {
            return Err(ApiError::bad_request(
                "`method` must be POST, PUT, PATCH or DELETE",
            ));
        }
    };
    let prefix = uri.path().strip_suffix("preview").unwrap_or_default();
    if prefix.is_empty() || !body.path.starts_with(prefix) || body.path.ends_with("/preview") {
        return Err(ApiError::bad_request(format!(
            "`path` must be a model write under {prefix}"
        )));
    }
    // The actor may see everyone's answers, or nothing is written, nor said.
    let before_users = state
        .admin
        .audience(&caller.actor, &org, None, u32::MAX)
        .await?;
    let before_tree = state.admin.node_tree(&caller.actor, &org).await?;
    let revision = state.authority.revision_now(&org).await?;
    let held = Arc::new(Held::default());
    let response = held_write(&state, &headers, method, &body, Arc::clone(&held)).await?;
    if !response.status().is_success() {
        return Ok(response);
    }
    let Some(mut tx) = held.take() else {
        // The write changes nothing (an identical assignment, say).
        return Ok(axum::Json(Preview {
            changes: Vec::new(),
            principals_affected: 0,
            revision,
        })
        .into_response());
    };
    let after_users = audience_rows(&mut tx, &org, None, u32::MAX).await?;
    let after_tree = node_rows(&mut tx, &org).await?;
    let mut principals: Vec<String> = before_users
        .into_iter()
        .chain(after_users)
        .map(|user| user.id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    principals.push("anonymous".to_owned());
    let (before_paths, after_paths) = (node_paths(&before_tree), node_paths(&after_tree));
    let before_places = places(&before_paths, &after_paths);
    let after_places = places(&after_paths, &before_paths);
    let after = state
        .authority
        .table_in(&mut tx, &org, &principals, &after_places)
        .await;
    tx.rollback()
        .await
        .map_err(crate::store::StoreError::from)?;
    let after = after?;
    let before = state
        .authority
        .table_now(&org, &principals, &before_places)
        .await?;
    let keys: Vec<String> = state
        .admin
        .manifest
        .catalog
        .entries()
        .iter()
        .map(|entry| entry.key.clone())
        .collect();
    Ok(axum::Json(diff(
        &principals,
        &before_places,
        &keys,
        &before,
        &after,
        revision,
    ))
    .into_response())
}

/// Every answer that differs between the two tables.
fn diff(
    principals: &[String],
    places: &[Place],
    keys: &[String],
    before: &[Answers],
    after: &[Answers],
    revision: u64,
) -> Preview {
    let mut changes = Vec::new();
    let mut affected = 0;
    for ((principal, was), now) in principals.iter().zip(before).zip(after) {
        let count = changes.len();
        for (((node, _), was), now) in places.iter().zip(was).zip(now) {
            for ((key, was), now) in keys.iter().zip(was).zip(now) {
                if was != now {
                    changes.push(DecisionChange {
                        principal: principal.clone(),
                        node: node.clone(),
                        permission: key.clone(),
                        before: effect(*was),
                        after: effect(*now),
                    });
                }
            }
        }
        affected += usize::from(changes.len() > count);
    }
    Preview {
        changes,
        principals_affected: affected,
        revision,
    }
}
