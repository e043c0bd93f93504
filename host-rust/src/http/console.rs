//! The operator console's sign-in and page (docs/console.md §10): the app
//! backend asks for a one-time URL for a user it authenticated; opening it
//! sets an `HttpOnly`, `SameSite=Strict` session cookie that acts as that
//! user on the model and access endpoints ([`super::auth`]), so the
//! browser never holds an API token.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tessera_core::ErrorCode;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{AdminCaller, SESSION_COOKIE, session_cookie};
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, PathArgs, QueryArgs};
use crate::admin::Actor;
use crate::authority::Asking;
use crate::clock::unix_now;
use crate::missing::Missing;
use crate::sessions::{self, ABSOLUTE_LIMIT, SessionError};

/// The body of `POST /v1/console-sessions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignInBody {
    /// The user the session acts as: one the app backend authenticated.
    actor: String,
    /// The one org the session may act in; every org when absent.
    #[serde(default)]
    org: Option<String>,
}

/// A one-time sign-in URL.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SignIn {
    /// The path to open, on this host, within `expires_at`; it works once.
    url: String,
    /// Unix seconds.
    expires_at: i64,
}

/// The manifest's `[admin]` keys: which catalog key gates which part of
/// the model (docs/admin.md §5).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AdminKeyNames {
    manage_roles: String,
    manage_members: String,
    manage_access: String,
}

/// The signed-in session, as the console page reads it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CurrentSession {
    /// The user every call of the session acts as.
    actor: String,
    /// The one org it may act in, or null for every org.
    org: Option<String>,
    /// What a write must carry in the `Tessera-Csrf` header.
    csrf: String,
    /// When the session ends unless used again (Unix seconds).
    expires_at: i64,
    /// The keys the console gates its controls with, asked of the actor's
    /// own snapshot at the org root; null when the manifest has no
    /// `[admin]` section (only an active superuser may act).
    admin_keys: Option<AdminKeyNames>,
}

/// Query parameters of `GET /v1/console-sessions/current/snapshot`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SnapshotQuery {
    /// The org; required for a session that is not bound to one, and the
    /// session's own org otherwise.
    org: Option<String>,
    /// Refuse to build from an older revision (read-your-writes).
    min_revision: Option<u64>,
}

impl From<SessionError> for ApiError {
    fn from(err: SessionError) -> Self {
        match err {
            SessionError::BadId(_) => ApiError::bad_request(err.to_string()),
            SessionError::UnknownActor(user) => {
                crate::authority::AuthorityError::NotFound(Missing::new("user", &user)).into()
            }
            SessionError::UnknownOrg(org) => {
                crate::authority::AuthorityError::NotFound(Missing::new("org", &org)).into()
            }
            SessionError::Store(err) => err.into(),
        }
    }
}

/// A one-time URL that signs a browser in to the console as `actor` (in
/// `org` only, when given): valid 60 s, once. For the app backend, which
/// authenticated the user: an admin token without `Tessera-Actor`; a
/// token bound to orgs must name one of them.
#[utoipa::path(post, path = "/v1/console-sessions", tag = "console", request_body = SignInBody,
    responses((status = 201, body = SignIn), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    JsonBody(body): JsonBody<SignInBody>,
) -> Result<(StatusCode, Json<SignIn>), ApiError> {
    if caller.actor != Actor::Backend {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only the app backend (an admin token without Tessera-Actor) signs users in",
        ));
    }
    match (&body.org, caller.caller.access.orgs.is_some()) {
        (Some(org), _) => caller.caller.reach(org)?,
        (None, true) => {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "a token bound to orgs signs users in to one of its orgs: name it in `org`",
            ));
        }
        (None, false) => {}
    }
    let (code, expires_at) =
        sessions::create_code(&state.store, &body.actor, body.org.as_deref(), unix_now()).await?;
    Ok((
        StatusCode::CREATED,
        Json(SignIn {
            url: format!("/console/sign-in/{code}"),
            expires_at,
        }),
    ))
}

/// The session signed in with this browser's cookie. Only the cookie
/// authenticates it.
#[utoipa::path(get, path = "/v1/console-sessions/current", tag = "console",
    responses((status = 200, body = CurrentSession), (status = 401, body = ErrorBody)))]
pub(crate) async fn current(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, session) = signed_in(&state, &headers).await?;
    let admin_keys = state
        .admin
        .manifest
        .admin
        .as_ref()
        .map(|keys| AdminKeyNames {
            manage_roles: keys.manage_roles.clone(),
            manage_members: keys.manage_members.clone(),
            manage_access: keys.manage_access.clone(),
        });
    let answer = Json(CurrentSession {
        actor: session.actor,
        org: session.org,
        csrf: session.csrf,
        expires_at: session.expires_at,
        admin_keys,
    });
    Ok(([(CACHE_CONTROL, "no-store")], answer).into_response())
}

/// The signed-in user's own signed snapshot in the org, what the console
/// gates its controls with (as `GET …/snapshot` answers it: the binary
/// envelope, or the `tss1.` text for `Accept: text/plain`, `ETag` and
/// `304`). Only the cookie authenticates it.
#[utoipa::path(get, path = "/v1/console-sessions/current/snapshot", tag = "console",
    params(SnapshotQuery),
    responses((status = 200, description = "the actor's snapshot", content_type = "text/plain"),
        (status = 304, description = "the copy `If-None-Match` names is still current"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub(crate) async fn snapshot(
    State(state): State<Arc<AppState>>,
    QueryArgs(query): QueryArgs<SnapshotQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, session) = signed_in(&state, &headers).await?;
    let org = match (&session.org, query.org) {
        (Some(bound), Some(asked)) if *bound != asked => {
            return Err(
                crate::authority::AuthorityError::NotFound(Missing::new("org", &asked)).into(),
            );
        }
        (Some(bound), _) => bound.clone(),
        (None, Some(asked)) => asked,
        (None, None) => {
            return Err(ApiError::bad_request(
                "`org` is required: the session is not bound to one",
            ));
        }
    };
    if !sessions::belongs(&state.store, &session.actor, &org).await? {
        return Err(crate::authority::AuthorityError::NotFound(Missing::new("org", &org)).into());
    }
    let asking = Asking {
        org: &org,
        principal: &session.actor,
        token_scopes: None,
        under: None,
        min_revision: query.min_revision,
    };
    let exported = super::snapshots::export(&state, &asking, &headers).await?;
    let mut response = super::export_response(exported, super::snapshots::wants_text(&headers));
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Signs out: ends the session and clears its cookie. The `Tessera-Csrf`
/// header must carry the session's value.
#[utoipa::path(delete, path = "/v1/console-sessions/current", tag = "console",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn sign_out(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (token, session) = signed_in(&state, &headers).await?;
    super::auth::require_csrf(&headers, &session)?;
    sessions::end(&state.store, &token).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, cookie_header("", 0));
    Ok(response)
}

/// The session of this request's cookie, and its secret; `401` without one.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(String, sessions::Session), ApiError> {
    let token = session_cookie(headers)
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "not signed in to the console"))?;
    let session = sessions::session(&state.store, &token, unix_now())
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "the console session ended; sign in again",
            )
        })?;
    Ok((token, session))
}

/// The session cookie: `HttpOnly` (no script reads it), `SameSite=Strict`
/// (no other site's page sends it), for the whole host, ending with the
/// session's absolute limit (`max_age` 0 clears it).
fn cookie_header(value: &str, max_age: i64) -> HeaderValue {
    let cookie =
        format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The text types the console serves.
const HTML: &str = "text/html; charset=utf-8";
#[cfg(console_built)]
const SCRIPT: &str = "text/javascript; charset=utf-8";
const STYLE: &str = "text/css; charset=utf-8";
const ICON: &str = "image/svg+xml";
#[cfg(console_built)]
const WASM: &str = "application/wasm";

/// A console page or asset, embedded in the binary, with the headers every
/// one carries: no caching (a sign-in code is in the URL), nothing loaded
/// from elsewhere, no framing.
fn page(status: StatusCode, content_type: &'static str, body: &'static str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    response
}

/// Text for an HTML page.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page for a sign-in link unknown, used or expired.
fn link_not_valid() -> Response {
    page(
        StatusCode::NOT_FOUND,
        HTML,
        include_str!("../../../console/sign-in-failed.html"),
    )
}

/// A code as the host makes them (64 hex digits); anything else is no code.
fn well_formed(code: &str) -> bool {
    code.len() == 64 && code.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// `GET /console/sign-in/{code}`: says whom the link signs in as and asks
/// to confirm, without spending the code: a link previewer or scanner that
/// fetches the URL signs nobody in.
pub(crate) async fn confirm(
    State(state): State<Arc<AppState>>,
    PathArgs(code): PathArgs<String>,
) -> Result<Response, ApiError> {
    if !well_formed(&code) {
        return Ok(link_not_valid());
    }
    let Some((actor, org)) = sessions::peek(&state.store, &code, unix_now()).await? else {
        return Ok(link_not_valid());
    };
    let org = org.map_or_else(String::new, |org| {
        format!(" in the org <strong>{}</strong>", escape(&org))
    });
    let html = include_str!("../../../console/sign-in.html")
        .replace("{actor}", &escape(&actor))
        .replace("{org}", &org)
        .replace("{code}", &code);
    let mut response = page(StatusCode::OK, HTML, "");
    *response.body_mut() = html.into();
    Ok(response)
}

/// Whether a browser sent the request from another site: a sign-in form
/// posted by another site's page would sign the user in as whoever made
/// the link (login CSRF).
fn from_another_site(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return site != "same-origin";
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, rest)| rest) != Some(host),
        _ => false,
    }
}

/// `POST /console/sign-in/{code}` (the confirmation's form): spends the
/// code, ends the session this browser had, sets the new session cookie
/// and moves on to the console. The move is the page's own (a `refresh`),
/// not a redirect: after a redirect that began on another site the
/// browser would not send a `SameSite=Strict` cookie.
pub(crate) async fn sign_in(
    State(state): State<Arc<AppState>>,
    PathArgs(code): PathArgs<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if from_another_site(&headers) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "a console sign-in is confirmed on the host's own page",
        ));
    }
    if !well_formed(&code) {
        return Ok(link_not_valid());
    }
    let Some((token, _)) = sessions::redeem(&state.store, &code, unix_now()).await? else {
        return Ok(link_not_valid());
    };
    if let Some(earlier) = session_cookie(&headers) {
        sessions::end(&state.store, &earlier).await?;
    }
    let mut response = page(
        StatusCode::OK,
        HTML,
        include_str!("../../../console/signed-in.html"),
    );
    response
        .headers_mut()
        .insert(SET_COOKIE, cookie_header(&token, ABSOLUTE_LIMIT));
    Ok(response)
}

/// `GET /console`: the console page, or, in a host built without it, how
/// to build it.
pub(crate) async fn console() -> Response {
    #[cfg(console_built)]
    let html = include_str!("../../../console/index.html");
    #[cfg(not(console_built))]
    let html = include_str!("../../../console/not-built.html");
    page(StatusCode::OK, HTML, html)
}

/// `GET /console/console.css`: the console page's style.
pub(crate) async fn style() -> Response {
    page(
        StatusCode::OK,
        STYLE,
        include_str!("../../../console/console.css"),
    )
}

/// `GET /console/icon.svg`: the console's icon (else the browser asks for
/// `/favicon.ico`).
pub(crate) async fn icon() -> Response {
    page(
        StatusCode::OK,
        ICON,
        include_str!("../../../console/icon.svg"),
    )
}

/// `GET /console/app.js` and `GET /console/tessera_wasm_bg.wasm`: the
/// console's bundle and the resolver it verifies and asks its snapshot
/// with, embedded by the build (`console_built`).
#[cfg(console_built)]
pub(crate) async fn script() -> Response {
    let mut response = page(StatusCode::OK, SCRIPT, "");
    *response.body_mut() = include_str!("../../../console/dist/app.js").into();
    response
}

/// See [`script`].
#[cfg(console_built)]
pub(crate) async fn wasm() -> Response {
    let mut response = page(StatusCode::OK, WASM, "");
    *response.body_mut() =
        axum::body::Body::from(&include_bytes!("../../../console/dist/tessera_wasm_bg.wasm")[..]);
    response
}
