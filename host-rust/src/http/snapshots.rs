//! Signed snapshots for clients (docs/snapshots.md §3) and the key set that verifies
//! them.

use std::sync::Arc;
use tessera_core::ErrorCode;

use axum::Json;
use axum::extract::State;
use axum::http::header::{ACCEPT, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tessera_core::NodeKey;
use utoipa::IntoParams;

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{PathArgs, QueryArgs, comma_list};
use crate::authority::{Asking, Export};
use crate::clock::unix_now;
use crate::keys::published_keys;
use crate::tokens::TokenKind;

/// The media type of the binary envelope.
pub(crate) const SNAPSHOT_MEDIA_TYPE: &str = "application/vnd.tessera.snapshot";

/// Query parameters of `GET …/snapshot`.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SnapshotQuery {
    /// A user id, or `anonymous`.
    principal: String,
    /// Comma-separated catalog keys the snapshot is narrowed to.
    token_scopes: Option<String>,
    /// Subtree roots (`site:7`), comma-separated or repeated
    /// (`under=wiki:5&under=wiki:9`): a subtree snapshot.
    under: Option<Vec<String>>,
    /// Refuse to build from an older revision.
    min_revision: Option<u64>,
}

impl SnapshotQuery {
    /// Reads the parameters, `under` repeatable, every other one at most
    /// once.
    fn from_pairs(pairs: Vec<(String, String)>) -> Result<SnapshotQuery, ApiError> {
        let mut query = SnapshotQuery::default();
        let mut principal = None;
        for (key, value) in pairs {
            let once = |slot: bool| {
                if slot {
                    Err(ApiError::bad_request(format!("`{key}` is given twice")))
                } else {
                    Ok(())
                }
            };
            match key.as_str() {
                "principal" => {
                    once(principal.is_some())?;
                    principal = Some(value);
                }
                "token_scopes" => {
                    once(query.token_scopes.is_some())?;
                    query.token_scopes = Some(value);
                }
                "min_revision" => {
                    once(query.min_revision.is_some())?;
                    query.min_revision = Some(value.parse().map_err(|_| {
                        ApiError::bad_request("`min_revision` must be a revision number")
                    })?);
                }
                "under" => query
                    .under
                    .get_or_insert_with(Vec::new)
                    .extend(comma_list(Some(&value))),
                _ => return Err(ApiError::bad_request(format!("unknown parameter `{key}`"))),
            }
        }
        query.principal =
            principal.ok_or_else(|| ApiError::bad_request("`principal` is required"))?;
        // `under=` with nothing in it asks for the whole org.
        query.under = query.under.filter(|roots| !roots.is_empty());
        Ok(query)
    }
}

/// A signed snapshot: the binary envelope, or its `tss1.` text form with
/// `Accept: text/plain`; `Tessera-Revision` carries the revision, `ETag`
/// names the copy, and `If-None-Match` with a copy's tag answers `304`
/// while that copy is still the principal's snapshot.
#[utoipa::path(get, path = "/v1/orgs/{org}/snapshot", tag = "snapshots",
    params(("org" = String, Path, description = "org id"), SnapshotQuery),
    responses(
        (status = 200, description = "the snapshot", content_type = "application/vnd.tessera.snapshot", body = Vec<u8>),
        (status = 304, description = "the copy `If-None-Match` names is still the principal's snapshot"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub(crate) async fn snapshot(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathArgs(org): PathArgs<String>,
    QueryArgs(pairs): QueryArgs<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.reach(&org)?;
    let query = SnapshotQuery::from_pairs(pairs)?;
    let token_scopes = query
        .token_scopes
        .as_deref()
        .map(|scopes| comma_list(Some(scopes)));
    let under = match query.under.as_deref() {
        None => None,
        Some(roots) => Some(
            roots
                .iter()
                .map(|key| {
                    key.parse::<NodeKey>().map_err(|_| {
                        ApiError::bad_request(format!("`{key}` is not a node key (`type:id`)"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let roots = under.as_ref().map_or(0, Vec::len);
    let allowed = state.admin.quotas().under_roots;
    if u64::try_from(roots).unwrap_or(u64::MAX) > allowed {
        return Err(ApiError::new(
            ErrorCode::QuotaExceeded,
            format!("a snapshot names at most {allowed} subtree roots, not {roots}"),
        )
        .with_details(serde_json::json!({ "quota": "under_roots", "limit": allowed })));
    }
    let asking = Asking {
        org: &org,
        principal: &query.principal,
        token_scopes: token_scopes.as_deref(),
        under: under.as_deref(),
        min_revision: query.min_revision,
    };
    let exported = export(&state, &asking, &headers).await?;
    let superuser = match &exported {
        Export::Built { built, .. } => built.superuser,
        Export::NotModified { superuser, .. } => *superuser,
    };
    // An active superuser's snapshot lets whoever holds it do everything in
    // the org until it expires: a `check` token may not export one unless
    // the operator allows it. Decided on the snapshot built, not on an
    // earlier read, so a promotion in between cannot slip through.
    if superuser
        && caller.access.kind == TokenKind::Check
        && !state.limits.check_token_superuser_snapshots
    {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "a `check` token may not export a superuser's snapshot",
        ));
    }
    Ok(export_response(exported, wants_text(&headers)))
}

/// The snapshot `asking` names, signed with the host's limits, or
/// [`Export::NotModified`] for the copy `If-None-Match` names.
pub(crate) async fn export(
    state: &AppState,
    asking: &Asking<'_>,
    headers: &HeaderMap,
) -> Result<Export, ApiError> {
    let if_none_match = headers
        .get(IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok());
    Ok(state
        .authority
        .export(
            asking,
            state.limits.snapshot_ttl,
            state.limits.max_snapshot_bytes,
            unix_now(),
            if_none_match,
        )
        .await?)
}

/// Whether the caller asked for the `tss1.` text (`Accept: text/plain`).
pub(crate) fn wants_text(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/plain"))
}

/// An export as the answer: the envelope (or `304`), `Tessera-Revision`,
/// `ETag` and `Vary: accept`.
pub(crate) fn export_response(exported: Export, text: bool) -> Response {
    let (mut response, revision, etag) = match exported {
        Export::NotModified { revision, etag, .. } => {
            (StatusCode::NOT_MODIFIED.into_response(), revision, etag)
        }
        Export::Built { built, etag } => (
            envelope_response(built.envelope, text),
            built.revision,
            etag,
        ),
    };
    response
        .headers_mut()
        .insert("tessera-revision", HeaderValue::from(revision));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(ETAG, etag);
    }
    // The tag names the question, not the representation's media type.
    response
        .headers_mut()
        .insert(VARY, HeaderValue::from_static("accept"));
    response
}

/// The envelope as the binary media type, or its `tss1.` text form.
fn envelope_response(envelope: Vec<u8>, text: bool) -> Response {
    if text {
        (
            [(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            tessera_core::to_text(&envelope),
        )
            .into_response()
    } else {
        (
            [(CONTENT_TYPE, HeaderValue::from_static(SNAPSHOT_MEDIA_TYPE))],
            envelope,
        )
            .into_response()
    }
}

/// The public keys that verify snapshots (JWKS). Public keys are public:
/// no token is needed, so browsers and middleware can fetch them directly
/// (a token, if sent, is not checked).
#[utoipa::path(get, path = "/v1/keys", tag = "snapshots", security(()),
    responses((status = 200, description = "JWKS", body = Object)))]
pub(crate) async fn keys(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let keys = published_keys(&state.store, unix_now()).await?;
    Ok(Json(serde_json::json!({ "keys": keys })))
}
