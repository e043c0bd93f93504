//! Access questions for people (docs/http.md §6.11): who can do something
//! at a node, and what one user can do where. Every answer is the one
//! `POST /v1/check` gives: each user's compiled snapshot is asked, so the
//! lists cannot disagree with a check.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tessera_core::{Diagnostic, Effect, Snapshot};
use utoipa::ToSchema;

use super::AppState;
use super::auth::AdminCaller;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, PathArgs};
use crate::admin::parents_first;
use crate::authority::Asking;

/// Users examined per read of the candidates.
const CANDIDATES_PER_READ: u32 = 256;
/// The default and the largest page of `who-can`.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1_000;

/// `POST /v1/who-can`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WhoCanBody {
    /// The org id.
    org: String,
    /// The permission key.
    permission: String,
    /// The path from the top, `type:id` segments.
    path: Vec<String>,
    /// The thing's owner (a user id), for owner-only grants.
    #[serde(default)]
    owner: Option<String>,
    /// Users per page, 1 to 1,000 (default 100).
    #[serde(default)]
    limit: Option<u32>,
    /// The `next` of the previous page.
    #[serde(default)]
    after: Option<String>,
}

/// An assignment that gives a user the permission.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Via {
    subject: String,
    role: String,
    scope: Option<String>,
}

/// A user who is allowed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Allowed {
    id: String,
    name: String,
    /// The assignments that give it (empty for a superuser).
    via: Vec<Via>,
}

/// The answer of `POST /v1/who-can`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WhoCan {
    /// Every active user `check` allows, by id, one page.
    principals: Vec<Allowed>,
    /// Whether the anonymous principal is allowed.
    anonymous: bool,
    /// The cursor of the next page (`after`), or null after the last.
    next: Option<String>,
    /// The check's diagnostic when the question itself is wrong (an
    /// unknown permission, an invalid path): then nobody is listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    diagnostic: Option<Diagnostic>,
    /// The highest org revision the answers used.
    revision: u64,
}

fn asking<'a>(org: &'a str, principal: &'a str) -> Asking<'a> {
    Asking {
        org,
        principal,
        token_scopes: None,
        under: None,
        min_revision: None,
    }
}

/// The assignments that grant the permission, from `explain`.
fn via(snapshot: &Snapshot, body: &WhoCanBody) -> Vec<Via> {
    snapshot
        .explain(&body.permission, &body.path, body.owner.as_deref())
        .assignments
        .into_iter()
        .filter(|used| used.grants_permission)
        .map(|used| Via {
            subject: used.subject,
            role: used.role,
            scope: used.scope,
        })
        .collect()
}

/// Who `check` allows to do `permission` at `path`: every active user
/// (members, superusers, and the non-members `@everyone`/`@authenticated`
/// grants reach), by id, a page at a time, with the assignments that give
/// it; and whether the anonymous principal is allowed. An admin token;
/// with `Tessera-Actor`, the actor needs the `manage_members` admin key.
#[utoipa::path(post, path = "/v1/who-can", tag = "access", request_body = WhoCanBody,
    responses((status = 200, body = WhoCan), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn who_can(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    JsonBody(body): JsonBody<WhoCanBody>,
) -> Result<Json<WhoCan>, ApiError> {
    caller.caller.reach(&body.org)?;
    let limit = body.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "`limit` must be 1 to {MAX_LIMIT}"
        )));
    }
    // The actor's right to list members comes first: a refusal names no one.
    let holders = |after: Option<String>| {
        let state = Arc::clone(&state);
        let (actor, org, permission) = (
            caller.actor.clone(),
            body.org.clone(),
            body.permission.clone(),
        );
        let bound = caller.caller.access.orgs.is_some();
        async move {
            state
                .admin
                .holders(
                    &actor,
                    bound,
                    &org,
                    &permission,
                    after.as_deref(),
                    CANDIDATES_PER_READ,
                )
                .await
        }
    };
    let mut page = holders(body.after.clone()).await?;
    let (visitor, mut revision) = state
        .authority
        .snapshot(&asking(&body.org, "anonymous"))
        .await?;
    let asked = visitor.check(&body.permission, &body.path, body.owner.as_deref());
    let mut answer = WhoCan {
        principals: Vec::new(),
        anonymous: asked.decision == Effect::Allow,
        next: None,
        diagnostic: asked
            .diagnostic
            .filter(|diagnostic| !matches!(diagnostic, Diagnostic::OutsideSnapshot)),
        revision,
    };
    if answer.diagnostic.is_some() {
        return Ok(Json(answer));
    }
    loop {
        let exhausted = page.len() < CANDIDATES_PER_READ as usize;
        let mut last = None;
        for candidate in page {
            let (snapshot, at) = state
                .authority
                .snapshot(&asking(&body.org, &candidate.id))
                .await?;
            revision = revision.max(at);
            let decision = snapshot.check(&body.permission, &body.path, body.owner.as_deref());
            if decision.decision == Effect::Allow {
                answer.principals.push(Allowed {
                    via: via(&snapshot, &body),
                    id: candidate.id.clone(),
                    name: candidate.name,
                });
                if answer.principals.len() == limit as usize {
                    answer.next = Some(candidate.id);
                    answer.revision = revision;
                    return Ok(Json(answer));
                }
            }
            last = Some(candidate.id);
        }
        match last {
            Some(last) if !exhausted => {
                page = holders(Some(last)).await?;
            }
            _ => break,
        }
    }
    answer.revision = revision;
    Ok(Json(answer))
}

/// The permissions at one node where they differ from its parent's.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NodeAccess {
    node: String,
    permissions: Vec<String>,
}

/// The answer of `GET …/users/{id}/access`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AccessMap {
    /// The keys allowed at the org root.
    root: Vec<String>,
    /// Every registered node whose keys differ from its parent's, parents
    /// first.
    nodes: Vec<NodeAccess>,
    /// The top node of each subtree hidden from the user.
    hidden: Vec<String>,
    /// The org revision the answers used.
    revision: u64,
}

/// What one user may do where: the keys at the org root, every registered
/// node whose keys differ from its parent's (the map a "manage access"
/// screen draws) and the hidden subtrees. Owner-only grants are left out
/// (they depend on the thing's owner). An admin token; with
/// `Tessera-Actor`, the actor needs the `manage_members` admin key.
#[utoipa::path(get, path = "/v1/orgs/{org}/users/{id}/access", tag = "access",
    params(("org" = String, Path, description = "org id"), ("id" = String, Path, description = "user id")),
    responses((status = 200, body = AccessMap), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn user_access(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, user)): PathArgs<(String, String)>,
) -> Result<Json<AccessMap>, ApiError> {
    let tree = state
        .admin
        .user_tree(
            &caller.actor,
            caller.caller.access.orgs.is_some(),
            &org,
            &user,
        )
        .await?;
    let (snapshot, revision) = state.authority.snapshot(&asking(&org, &user)).await?;
    let root = snapshot.effective::<String>(&[], None);
    let mut held: HashMap<String, Option<Vec<String>>> = HashMap::new();
    let mut answer = AccessMap {
        root,
        nodes: Vec::new(),
        hidden: Vec::new(),
        revision,
    };
    for (key, path) in parents_first(&tree) {
        let parent = path
            .len()
            .checked_sub(2)
            .and_then(|at| path.get(at))
            .map_or(Some(&answer.root), |parent| {
                held.get(parent).and_then(Option::as_ref)
            });
        let Some(parent) = parent.cloned() else {
            // Below a hidden node: hidden too, already listed at its top.
            held.insert(key, None);
            continue;
        };
        if snapshot.hides(&path) {
            answer.hidden.push(key.clone());
            held.insert(key, None);
            continue;
        }
        let here = snapshot.effective(&path, None);
        if here != parent {
            answer.nodes.push(NodeAccess {
                node: key.clone(),
                permissions: here.clone(),
            });
        }
        held.insert(key, Some(here));
    }
    Ok(Json(answer))
}

/// The body of `POST …/users/{id}/explain`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserExplainBody {
    /// The permission key.
    permission: String,
    /// The path from the top, `type:id` segments.
    #[serde(default)]
    path: Vec<String>,
    /// The thing's owner (a user id), for owner-only grants.
    #[serde(default)]
    owner: Option<String>,
}

/// The answer of `POST …/users/{id}/explain`: as `POST /v1/explain`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserExplanation {
    /// What `check` answers.
    #[schema(value_type = String)]
    decision: Effect,
    /// The org revision the answer used.
    revision: u64,
    /// The whole explanation (the core's `explain` shape).
    #[schema(value_type = Object)]
    trace: tessera_core::Explanation,
}

/// Why one user is allowed or denied something: `POST /v1/explain` for a
/// person, behind the same gate as the access map (the `manage_members`
/// key; a user the caller may not read is `404`).
#[utoipa::path(post, path = "/v1/orgs/{org}/users/{id}/explain", tag = "access",
    request_body = UserExplainBody,
    params(("org" = String, Path, description = "org id"), ("id" = String, Path, description = "user id")),
    responses((status = 200, body = UserExplanation), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn user_explain(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, user)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<UserExplainBody>,
) -> Result<Json<UserExplanation>, ApiError> {
    let bound = caller.caller.access.orgs.is_some();
    state
        .admin
        .readable_user(&caller.actor, bound, &org, &user)
        .await?;
    let (snapshot, revision) = state.authority.snapshot(&asking(&org, &user)).await?;
    let trace = snapshot.explain(&body.permission, &body.path, body.owner.as_deref());
    Ok(Json(UserExplanation {
        decision: trace.decision,
        revision,
        trace,
    }))
}

/// `POST …/users/{id}/view`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ViewBody {
    /// Concrete routes to guard (`/sites/7/racks`), at most 100.
    #[serde(default)]
    routes: Vec<String>,
}

/// A route's guard, as the user would get it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RouteView {
    route: String,
    /// The core's guard shape (`{"decision", "fallback"?}`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    guard: tessera_core::GuardResult,
}

/// What one user sees: the answer of `POST …/users/{id}/view`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct View {
    /// Their nav: the route paths open to them (as `GET …/nav`).
    nav: Vec<String>,
    /// Each asked route's guard, in the order asked.
    routes: Vec<RouteView>,
    /// The registered nodes they can see, parents first.
    visible: Vec<String>,
    /// The top node of each subtree hidden from them.
    hidden: Vec<String>,
    /// The org revision the answers used.
    revision: u64,
}

/// The most routes one view guards.
const VIEW_ROUTES: usize = 100;

/// What one user sees, from their compiled snapshot (the answers their
/// own browser's resolver gives): their nav, the guard of each asked
/// route, the registered nodes they can see and the subtrees hidden from
/// them. Behind the access map's gate (the `manage_members` key; a user
/// the caller may not read is `404`). The snapshot itself is not handed
/// out: it is a signed credential of its user.
#[utoipa::path(post, path = "/v1/orgs/{org}/users/{id}/view", tag = "access",
    request_body = ViewBody,
    params(("org" = String, Path, description = "org id"), ("id" = String, Path, description = "user id")),
    responses((status = 200, body = View), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn user_view(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs((org, user)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<ViewBody>,
) -> Result<Json<View>, ApiError> {
    if body.routes.len() > VIEW_ROUTES {
        return Err(ApiError::bad_request(format!(
            "`routes` holds at most {VIEW_ROUTES} routes"
        )));
    }
    let tree = state
        .admin
        .user_tree(
            &caller.actor,
            caller.caller.access.orgs.is_some(),
            &org,
            &user,
        )
        .await?;
    let (snapshot, revision) = state.authority.snapshot(&asking(&org, &user)).await?;
    let mut view = View {
        nav: snapshot.nav(),
        routes: body
            .routes
            .into_iter()
            .map(|route| RouteView {
                guard: snapshot.guard(&route),
                route,
            })
            .collect(),
        visible: Vec::new(),
        hidden: Vec::new(),
        revision,
    };
    let mut under_hidden: BTreeSet<String> = BTreeSet::new();
    for (key, path) in parents_first(&tree) {
        if path.iter().any(|node| under_hidden.contains(node)) {
            continue;
        }
        if snapshot.hides(&path) {
            view.hidden.push(key.clone());
            under_hidden.insert(key);
        } else {
            view.visible.push(key);
        }
    }
    Ok(Json(view))
}
