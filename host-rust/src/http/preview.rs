//! `POST /v1/orgs/{org}/preview` (docs/http.md §6.12): what a model write
//! would change, before it is made. The write runs as the API would run
//! it, every check and error included, but its transaction is held instead
//! of committed; the decisions are read in it, then it is rolled back.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_core::{Effect, Footprint, Reach, Snapshot};
use tower::ServiceExt;
use utoipa::ToSchema;

use super::AppState;
use super::auth::AdminCaller;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, PathArgs};
use super::model;
use crate::admin::{AdminError, Candidate, Held, Outline, holding, node_paths, outline_rows};
use crate::authority::{AuthorityError, answers_at};
use crate::changes::Change;
use crate::facts::StructureIn;
use crate::store::Tx;

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
    /// The answers that change, by principal, node and permission; the
    /// first 10,000.
    changes: Vec<DecisionChange>,
    /// Whether `changes` stops short of `total_changes`.
    truncated: bool,
    /// How many answers change.
    total_changes: usize,
    /// How many principals have at least one change.
    pub(crate) principals_affected: usize,
    /// The org revision the write would apply to.
    revision: u64,
}

/// The most changes one answer lists.
const LISTED_CHANGES: usize = 10_000;

/// A place an answer is asked at: the node (`None`: the org root) and its
/// path from the top.
type Place = (Option<String>, Vec<String>);

/// The places of one side: the root, then every node either side has,
/// at this side's path when it has the node, else at the other's (a check
/// does not ask whether a path's nodes are registered).
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
    // The caller's credentials, whichever it used: a token and its actor,
    // or a console session's cookie and CSRF value.
    for name in [
        AUTHORIZATION.as_str(),
        "tessera-actor",
        COOKIE.as_str(),
        "tessera-csrf",
    ] {
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
    let (routes, _) = model::handlers().split_for_parts();
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
    let method = write_method(&body.method)?;
    let prefix = uri.path().strip_suffix("preview").unwrap_or_default();
    if prefix.is_empty() || !body.path.starts_with(prefix) || body.path.ends_with("/preview") {
        return Err(ApiError::bad_request(format!(
            "`path` must be a model write under {prefix}"
        )));
    }
    preview_write(&state, &caller, &org, &headers, method, &body).await
}

/// Previews `body`'s write, a model write of `org` (checked by the
/// caller): the refusal it gets, or what it changes.
async fn preview_write(
    state: &Arc<AppState>,
    caller: &AdminCaller,
    org: &str,
    headers: &HeaderMap,
    method: Method,
    body: &PreviewBody,
) -> Result<Response, ApiError> {
    let held = preview_run(state, caller, org, |held| {
        held_write(state, headers, method, body, held)
    })
    .await?;
    Ok(match held {
        Ok(preview) => axum::Json(preview).into_response(),
        Err(refused) => refused,
    })
}

/// What `run` would change in `org`: it makes its writes with their
/// transaction held in the [`Held`] it is given (and answers the API's
/// response to them); the decisions are read in that transaction, which
/// is then rolled back. `Err(response)` when `run` answered a refusal.
pub(crate) async fn preview_run<'a, F, Fut>(
    state: &'a Arc<AppState>,
    caller: &AdminCaller,
    org: &str,
    run: F,
) -> Result<Result<Preview, Response>, ApiError>
where
    F: FnOnce(Arc<Held>) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>> + 'a,
{
    let org = org.to_owned();
    // The actor may see everyone's answers, or nothing is written, nor said.
    let before = state
        .admin
        .outline(&caller.actor, caller.caller.access.orgs.is_some(), &org)
        .await?;
    let mut footprints = BTreeMap::new();
    for principal in principals(&before.users, &[]) {
        let (_, footprint) = state
            .authority
            .pinned(&org, &principal, before.revision)
            .await?;
        footprints.insert(principal, footprint);
    }
    let held = Arc::new(Held::default());
    let response = run(Arc::clone(&held)).await?;
    if !response.status().is_success() {
        return Ok(Err(response));
    }
    let Some((mut tx, change)) = held.take() else {
        // The write changes nothing (an identical assignment, say).
        return Ok(Ok(compare(state, &org, &before, None).await?));
    };
    let after = read_held(state, &mut tx, &org, &before, &footprints, change).await;
    tx.rollback()
        .await
        .map_err(crate::store::StoreError::from)?;
    let after = after?;
    Ok(Ok(compare(state, &org, &before, Some(&after)).await?))
}

fn write_method(method: &str) -> Result<Method, ApiError> {
    match method.to_ascii_uppercase().as_str() {
        "POST" => Ok(Method::POST),
        "PUT" => Ok(Method::PUT),
        "PATCH" => Ok(Method::PATCH),
        "DELETE" => Ok(Method::DELETE),
        _ => Err(ApiError::bad_request(
            "`method` must be POST, PUT, PATCH or DELETE",
        )),
    }
}

/// Every principal of either side, by id, then `anonymous`.
fn principals(before: &[Candidate], after: &[Candidate]) -> Vec<String> {
    let users: BTreeSet<&String> = before.iter().chain(after).map(|user| &user.id).collect();
    users
        .into_iter()
        .cloned()
        .chain(std::iter::once("anonymous".to_owned()))
        .collect()
}

/// The org as the held write leaves it.
struct After {
    outline: Outline,
    /// The snapshots the write can change, by principal; every other
    /// principal's is the one it has now.
    snapshots: BTreeMap<String, Snapshot>,
}

/// Reads the held write's org: its outline, and the snapshot of every
/// principal its reach touches (or that the preview did not see before),
/// compiled from one read of the org's structure. The org's write lock is
/// held meanwhile, so the number compiled is bounded by a quota.
async fn read_held(
    state: &AppState,
    tx: &mut Tx,
    org: &str,
    before: &Outline,
    footprints: &BTreeMap<String, Arc<Footprint>>,
    change: Option<Change>,
) -> Result<After, ApiError> {
    let outline = outline_rows(tx, state.admin.store.backend(), before.seen, org).await?;
    if outline.revision != before.revision + 1 {
        return Err(AuthorityError::Moved {
            from: before.revision,
            to: outline.revision.saturating_sub(1),
        }
        .into());
    }
    let reach = change.map_or(Reach::Everyone, |change| change.reach);
    let touched: Vec<String> = principals(&before.users, &outline.users)
        .into_iter()
        .filter(|principal| {
            footprints
                .get(principal)
                .is_none_or(|footprint| reach.touches(footprint))
        })
        .collect();
    let limit = state.admin.quotas().preview_principals;
    if u64::try_from(touched.len()).unwrap_or(u64::MAX) > limit {
        return Err(AdminError::QuotaExceeded {
            quota: "preview_principals",
            limit,
        }
        .into());
    }
    let structure = StructureIn::load(tx, org)
        .await
        .map_err(AuthorityError::from)?;
    let mut snapshots = BTreeMap::new();
    for principal in touched {
        let facts = structure
            .facts(tx, org, &principal)
            .await
            .map_err(AuthorityError::from)?;
        let snapshot = state.authority.compiled(&principal, &facts)?;
        snapshots.insert(principal, snapshot);
    }
    Ok(After { outline, snapshots })
}

/// Compares every principal's answers at the revision the preview started
/// at with its answers after the write (`None`: a write that changes
/// nothing), one principal at a time.
async fn compare(
    state: &AppState,
    org: &str,
    before: &Outline,
    after: Option<&After>,
) -> Result<Preview, ApiError> {
    let before_paths = node_paths(&before.tree);
    let after_paths = after.map_or_else(
        || before_paths.clone(),
        |after| node_paths(&after.outline.tree),
    );
    let was_at = places(&before_paths, &after_paths);
    let now_at = places(&after_paths, &before_paths);
    let everyone = principals(
        &before.users,
        after.map_or(&[], |after| &after.outline.users),
    );
    let keys: Vec<String> = state
        .admin
        .manifest
        .catalog
        .entries()
        .iter()
        .map(|entry| entry.key.clone())
        .collect();
    let mut preview = Preview {
        changes: Vec::new(),
        truncated: false,
        total_changes: 0,
        principals_affected: 0,
        revision: before.revision,
    };
    // A principal the write does not reach keeps its snapshot: its answers
    // can differ only where a place's path does (a node registered,
    // deleted or moved), and nowhere when none does.
    let tree_moved = was_at.iter().zip(&now_at).any(|(was, now)| was.1 != now.1);
    for principal in &everyone {
        let recompiled = after.and_then(|after| after.snapshots.get(principal));
        if recompiled.is_none() && !tree_moved {
            continue;
        }
        let (was, _) = state
            .authority
            .pinned(org, principal, before.revision)
            .await?;
        let now = recompiled.unwrap_or(&was);
        let total = preview.total_changes;
        let places = was_at
            .iter()
            .zip(&now_at)
            .filter(|(was, now)| recompiled.is_some() || was.1 != now.1);
        for ((node, was_path), (_, now_path)) in places {
            let answers = answers_at(&was, was_path).zip(answers_at(now, now_path));
            for (key, (was, now)) in keys.iter().zip(answers) {
                if was == now {
                    continue;
                }
                preview.total_changes += 1;
                if preview.changes.len() < LISTED_CHANGES {
                    preview.changes.push(DecisionChange {
                        principal: principal.clone(),
                        node: node.clone(),
                        permission: key.clone(),
                        before: effect(was),
                        after: effect(now),
                    });
                }
            }
        }
        preview.principals_affected += usize::from(preview.total_changes > total);
    }
    preview.truncated = preview.total_changes > preview.changes.len();
    Ok(preview)
}
