//! The audit trail: `GET …/audit?after=<id>`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::admin::AuditEntry;
use crate::http::AppState;
use crate::http::auth::AdminCaller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{PathArgs, QueryArgs};

/// Query parameters of `GET …/audit`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Rows after this id (exclusive); the last page's last `id` is the
    /// cursor for the next. Default 0: from the start.
    #[serde(default)]
    after: i64,
}

/// The org's audit rows after `after`, oldest first, one page (at most
/// `AUDIT_PAGE` rows) at a time.
#[utoipa::path(get, path = "/v1/orgs/{org}/audit", tag = "model",
    params(("org" = String, Path, description = "org id"), AuditQuery),
    responses((status = 200, body = Vec<AuditEntry>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn audit(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
    QueryArgs(query): QueryArgs<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    Ok(Json(
        state.admin.audit(&caller.actor, &org, query.after).await?,
    ))
}
