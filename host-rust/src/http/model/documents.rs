//! `GET …/export`: the org as one document (docs/documents.md §9.1).

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use crate::http::AppState;
use crate::http::auth::AdminCaller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::PathArgs;

/// The org's access as a `tessera.org/1` document, in canonical form: the
/// same state gives the same bytes, from any store. With an actor, all
/// three `[admin]` keys are needed.
#[utoipa::path(get, path = "/v1/orgs/{org}/export", tag = "model",
    params(("org" = String, Path, description = "org id")),
    responses((status = 200, description = "the document", body = Object),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn export(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
) -> Result<Response, ApiError> {
    let document = state.admin.export(&caller.actor, &org).await?;
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        document.to_canonical_json(),
    )
        .into_response())
}
