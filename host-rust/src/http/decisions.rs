//! The decision endpoints of docs/http.md §6: every answer comes from the
//! compiled snapshot the host would export for the same question (see
//! [`crate::Authority`]), with the org revision it used.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tessera_core::{CheckRequest, Decision, Dialect, Snapshot, path_text_segments};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, PathArgs, QueryArgs, comma_list};
use crate::authority::Asking;

/// Who a question is about, and how fresh its answer must be.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub(crate) struct Who {
    /// The org id.
    pub(crate) org: String,
    /// A user id, or `anonymous`.
    pub(crate) principal: String,
    /// Narrow the answer to these catalog keys (docs/model.md §1.11).
    #[serde(default)]
    pub(crate) token_scopes: Option<Vec<String>>,
    /// Refuse to answer from an older revision (read-your-writes).
    #[serde(default)]
    pub(crate) min_revision: Option<u64>,
    /// Keys the body has beyond its endpoint's fields. A flattened struct
    /// cannot deny unknown fields, and a misspelled `token_scopes` must not
    /// silently widen an answer, so they are collected and refused.
    #[serde(flatten)]
    #[schema(ignore)]
    pub(crate) unknown: BTreeMap<String, serde_json::Value>,
}

/// The question `who` asks; a body with fields its endpoint does not have
/// is refused, and an org the caller's token is not bound to is not found.
fn asking<'a>(caller: &Caller, who: &'a Who) -> Result<Asking<'a>, ApiError> {
    caller.reach(&who.org)?;
    if let Some(field) = who.unknown.keys().next() {
        return Err(ApiError::bad_request(format!(
            "unknown field `{field}` in the request body"
        )));
    }
    Ok(Asking {
        org: &who.org,
        principal: &who.principal,
        token_scopes: who.token_scopes.as_deref(),
        under: None,
        min_revision: who.min_revision,
    })
}

/// The compiled snapshot for `who`, and the revision it was built at.
async fn snapshot_for(
    state: &AppState,
    caller: &Caller,
    who: &Who,
) -> Result<(Arc<Snapshot>, u64), ApiError> {
    Ok(state.authority.snapshot(&asking(caller, who)?).await?)
}

/// `POST /v1/check`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CheckBody {
    #[serde(flatten)]
    who: Who,
    /// The permission key.
    permission: String,
    /// The path from the top, `type:id` segments.
    path: Vec<String>,
    /// The thing's owner (a user id), for owner-only grants.
    #[serde(default)]
    owner: Option<String>,
}

/// A decision and the revision it used.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CheckAnswer {
    /// `{"decision": "allow"|"deny"|"not_found", "diagnostic"?}`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    decision: Decision,
    /// The org revision the answer used.
    revision: u64,
}

/// Answers one permission check.
#[utoipa::path(post, path = "/v1/check", tag = "decisions", request_body = CheckBody,
    responses((status = 200, body = CheckAnswer), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn check(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<CheckBody>,
) -> Result<Json<CheckAnswer>, ApiError> {
    let (decision, revision) = state
        .authority
        .check(
            &asking(&caller, &body.who)?,
            &body.permission,
            &body.path,
            body.owner.as_deref(),
        )
        .await?;
    state.metrics.decision(decision.decision);
    Ok(Json(CheckAnswer { decision, revision }))
}

/// `POST /v1/check/batch`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct BatchBody {
    #[serde(flatten)]
    who: Who,
    /// The checks, answered in order.
    #[schema(value_type = Vec<Object>)]
    checks: Vec<CheckRequest>,
}

/// Decisions in the order asked.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchAnswer {
    /// One `{"decision", "diagnostic"?}` per check.
    #[schema(value_type = Vec<Object>)]
    decisions: Vec<Decision>,
    /// The org revision the answers used.
    revision: u64,
}

/// Answers many checks from one snapshot.
#[utoipa::path(post, path = "/v1/check/batch", tag = "decisions", request_body = BatchBody,
    responses((status = 200, body = BatchAnswer), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn check_batch(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<BatchBody>,
) -> Result<Json<BatchAnswer>, ApiError> {
    let (snapshot, revision) = snapshot_for(&state, &caller, &body.who).await?;
    let decisions = snapshot.check_many(&body.checks);
    for decision in &decisions {
        state.metrics.decision(decision.decision);
    }
    Ok(Json(BatchAnswer {
        decisions,
        revision,
    }))
}

/// An explanation and the revision it used.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExplainAnswer {
    /// What `check` answers.
    #[schema(value_type = String)]
    decision: tessera_core::Effect,
    /// The org revision the answer used.
    revision: u64,
    /// The whole explanation (the core's `explain` shape).
    #[schema(value_type = Object)]
    trace: tessera_core::Explanation,
}

/// Explains a check: which grants, caps and rules decided it.
#[utoipa::path(post, path = "/v1/explain", tag = "decisions", request_body = CheckBody,
    responses((status = 200, body = ExplainAnswer), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn explain(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<CheckBody>,
) -> Result<Json<ExplainAnswer>, ApiError> {
    let (snapshot, revision) = snapshot_for(&state, &caller, &body.who).await?;
    let trace = snapshot.explain(&body.permission, &body.path, body.owner.as_deref());
    Ok(Json(ExplainAnswer {
        decision: trace.decision,
        revision,
        trace,
    }))
}

/// `POST /v1/filter`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct FilterBody {
    #[serde(flatten)]
    who: Who,
    /// The permission key.
    permission: String,
    /// Node type → column name; asks for a SQL fragment too.
    #[serde(default)]
    columns: Option<BTreeMap<String, String>>,
    /// The owner column, for owner-only rules.
    #[serde(default)]
    owner_column: Option<String>,
    /// `postgres` (default) or `sqlite`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    dialect: Option<Dialect>,
}

/// A filter plan, and its SQL form when columns were given.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FilterAnswer {
    /// The core's filter plan.
    #[schema(value_type = Object)]
    plan: tessera_core::FilterPlan,
    /// `{"sql", "params"}`: a parameterised `WHERE` fragment.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    sql: Option<tessera_core::SqlFilter>,
    /// The org revision the answer used.
    revision: u64,
}

/// The allowed region of one permission, for list queries.
#[utoipa::path(post, path = "/v1/filter", tag = "decisions", request_body = FilterBody,
    responses((status = 200, body = FilterAnswer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn filter(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<FilterBody>,
) -> Result<Json<FilterAnswer>, ApiError> {
    let (snapshot, revision) = snapshot_for(&state, &caller, &body.who).await?;
    let plan = snapshot.filter_plan(&body.permission);
    let sql = match &body.columns {
        None => None,
        Some(columns) => Some(snapshot.filter_sql(
            &body.permission,
            columns,
            body.owner_column.as_deref(),
            body.dialect.unwrap_or(Dialect::Postgres),
        )?),
    };
    Ok(Json(FilterAnswer {
        plan,
        sql,
        revision,
    }))
}

/// `POST /v1/can-anywhere`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PermissionBody {
    #[serde(flatten)]
    who: Who,
    /// The permission key.
    permission: String,
}

/// Whether the permission holds somewhere.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AnywhereAnswer {
    /// True when some node (or the org) allows it.
    allowed: bool,
    /// The org revision the answer used.
    revision: u64,
}

/// Whether the principal holds a permission anywhere (nav gating).
#[utoipa::path(post, path = "/v1/can-anywhere", tag = "decisions", request_body = PermissionBody,
    responses((status = 200, body = AnywhereAnswer), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn can_anywhere(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<PermissionBody>,
) -> Result<Json<AnywhereAnswer>, ApiError> {
    let (snapshot, revision) = snapshot_for(&state, &caller, &body.who).await?;
    Ok(Json(AnywhereAnswer {
        allowed: snapshot.can_anywhere(&body.permission),
        revision,
    }))
}

/// `POST /v1/guard`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct GuardBody {
    #[serde(flatten)]
    who: Who,
    /// A concrete route path (`/sites/7/racks`).
    route: String,
}

/// A route guard's answer and the revision it used.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GuardAnswer {
    /// The core's guard shape (`{"decision", ...}`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    guard: tessera_core::GuardResult,
    /// The org revision the answer used.
    revision: u64,
}

/// Applies the manifest's routes (docs/decisions.md §2.1) to a concrete path.
#[utoipa::path(post, path = "/v1/guard", tag = "decisions", request_body = GuardBody,
    responses((status = 200, body = GuardAnswer), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn guard(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<GuardBody>,
) -> Result<Json<GuardAnswer>, ApiError> {
    let (snapshot, revision) = snapshot_for(&state, &caller, &body.who).await?;
    Ok(Json(GuardAnswer {
        guard: snapshot.guard(&body.route),
        revision,
    }))
}

/// Query parameters of the GET decision endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct WhoQuery {
    /// A user id, or `anonymous`.
    principal: String,
    /// Comma-separated catalog keys narrowing the answer.
    #[serde(default)]
    token_scopes: Option<String>,
    /// Refuse to answer from an older revision.
    #[serde(default)]
    min_revision: Option<u64>,
    /// `effective` only: the path, comma-separated (`site:7,rack:3`).
    #[serde(default)]
    path: Option<String>,
    /// `effective` only: the thing's owner.
    #[serde(default)]
    owner: Option<String>,
}

impl WhoQuery {
    pub(crate) fn who(&self, org: String) -> Who {
        Who {
            org,
            principal: self.principal.clone(),
            token_scopes: self
                .token_scopes
                .as_deref()
                .map(|scopes| comma_list(Some(scopes))),
            min_revision: self.min_revision,
            unknown: BTreeMap::new(),
        }
    }
}

/// A list answer (`nav`, `claims`, `effective`) and its revision.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ListAnswer {
    /// `effective`: the keys in catalog order.
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<Vec<String>>,
    /// `nav`: the nav entries the principal may see.
    #[serde(skip_serializing_if = "Option::is_none")]
    nav: Option<Vec<String>>,
    /// `claims`: the principal's claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    claims: Option<Vec<String>>,
    /// The org revision the answer used.
    revision: u64,
}

impl ListAnswer {
    fn empty(revision: u64) -> Self {
        ListAnswer {
            permissions: None,
            nav: None,
            claims: None,
            revision,
        }
    }
}

/// The permissions that hold at a path.
#[utoipa::path(get, path = "/v1/orgs/{org}/effective", tag = "decisions",
    params(("org" = String, Path, description = "org id"), WhoQuery),
    responses((status = 200, body = ListAnswer), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn effective(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathArgs(org): PathArgs<String>,
    QueryArgs(query): QueryArgs<WhoQuery>,
) -> Result<Json<ListAnswer>, ApiError> {
    let (snapshot, revision) = snapshot_for(&state, &caller, &query.who(org)).await?;
    // The core's reading of a text path: `site:7,,rack:3` is the invalid
    // path it says, not a tidied one.
    let path: Vec<&str> = path_text_segments(query.path.as_deref().unwrap_or("")).collect();
    Ok(Json(ListAnswer {
        permissions: Some(snapshot.effective(&path, query.owner.as_deref())),
        ..ListAnswer::empty(revision)
    }))
}

/// The nav entries the principal may see.
#[utoipa::path(get, path = "/v1/orgs/{org}/nav", tag = "decisions",
    params(("org" = String, Path, description = "org id"), WhoQuery),
    responses((status = 200, body = ListAnswer), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn nav(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathArgs(org): PathArgs<String>,
    QueryArgs(query): QueryArgs<WhoQuery>,
) -> Result<Json<ListAnswer>, ApiError> {
    let (snapshot, revision) = snapshot_for(&state, &caller, &query.who(org)).await?;
    Ok(Json(ListAnswer {
        nav: Some(snapshot.nav()),
        ..ListAnswer::empty(revision)
    }))
}

/// The principal's claims (`roles.*`, `perm.*`, ...).
#[utoipa::path(get, path = "/v1/orgs/{org}/claims", tag = "decisions",
    params(("org" = String, Path, description = "org id"), WhoQuery),
    responses((status = 200, body = ListAnswer), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn claims(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathArgs(org): PathArgs<String>,
    QueryArgs(query): QueryArgs<WhoQuery>,
) -> Result<Json<ListAnswer>, ApiError> {
    let (snapshot, revision) = snapshot_for(&state, &caller, &query.who(org)).await?;
    Ok(Json(ListAnswer {
        claims: Some(snapshot.claims()),
        ..ListAnswer::empty(revision)
    }))
}
