//! `GET /v1/orgs/{org}/events`: the org's revision events
//! (docs/http.md §6.10), for a page that holds a snapshot and wants to
//! know when to fetch a new one.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::PathArgs;

/// A Server-Sent Events stream: `event: revision`, `id:` and
/// `data: {"revision": N}` each time the org's revision moves (first the
/// current revision, unless `Last-Event-ID` names it already), and a
/// comment every 15 s. A `check` or `admin` token.
#[utoipa::path(get, path = "/v1/orgs/{org}/events", tag = "snapshots",
    params(("org" = String, Path, description = "org id"),
        ("Last-Event-ID" = Option<u64>, Header, description = "the last revision the client saw: the stream resumes after it")),
    responses(
        (status = 200, description = "the event stream", content_type = "text/event-stream", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn events(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathArgs(org): PathArgs<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.reach(&org)?;
    state
        .streams
        .respond(Arc::clone(&state.authority), org, &headers)
        .await
}
