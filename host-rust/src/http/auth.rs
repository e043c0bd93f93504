//! Who is calling: the API token's kind (`Authorization: Bearer <token>`,
//! docs/admin.md §5) and, for admin writes, the acting user (`Tessera-Actor`);
//! or, on the model and access endpoints, a console session's cookie, which
//! acts as its user (docs/console.md §10.1).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera_core::ErrorCode;

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

use super::AppState;
use super::error::ApiError;
use tessera_core::is_valid_user_id;

use crate::admin::Actor;
use crate::authority::AuthorityError;
use crate::lru::Lru;
use crate::missing::Missing;
use crate::sessions::Session;
use crate::tokens::{TokenAccess, TokenKind, digest, token_access};

/// Tokens already seen to be valid, by SHA-256 (the plaintext is not
/// kept), so a check does not cost a store query for its token. A
/// remembered token is trusted for [`TOKEN_TRUST`], so a token row deleted
/// from the store stops working within that time; unknown tokens are asked
/// of the store every time (a token created by `tessera token create`
/// works at once).
#[derive(Debug)]
pub(crate) struct TokenCache {
    known: Mutex<Lru<String, (TokenAccess, Instant)>>,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache {
            known: Mutex::new(Lru::new(TOKEN_CACHE_MAX)),
        }
    }
}

/// How many valid tokens are remembered.
const TOKEN_CACHE_MAX: usize = 4096;

/// How long a token seen valid is trusted without asking the store.
const TOKEN_TRUST: Duration = Duration::from_secs(60);

impl TokenCache {
    fn get(&self, token: &str) -> Option<TokenAccess> {
        let mut known = self.known.lock().ok()?;
        let (access, at) = known.get(&digest(token))?;
        (at.elapsed() < TOKEN_TRUST).then(|| access.clone())
    }

    /// Forgets every token seen: the next call of each asks the store.
    pub(crate) fn forget_all(&self) {
        if let Ok(mut known) = self.known.lock() {
            known.retain(|_, _| false);
        }
    }

    fn remember(&self, token: &str, access: &TokenAccess) {
        if let Ok(mut known) = self.known.lock() {
            known.insert(digest(token), (access.clone(), Instant::now()), 1);
        }
    }
}

/// A caller with a valid token of any kind (decisions, snapshots, keys).
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The token's kind and the orgs it is bound to.
    pub(crate) access: TokenAccess,
}

impl Caller {
    /// `404 NOT_FOUND` for an org the token is not bound to, the answer
    /// an unknown org gets: a bound token learns nothing of other orgs.
    pub(crate) fn reach(&self, org: &str) -> Result<(), ApiError> {
        if self.access.reaches(org) {
            Ok(())
        } else {
            Err(AuthorityError::NotFound(Missing::new("org", org)).into())
        }
    }
}

/// A caller with an admin token, and the user it acts for.
#[derive(Debug, Clone)]
pub(crate) struct AdminCaller {
    /// The acting user, or the backend itself without `Tessera-Actor`.
    pub(crate) actor: Actor,
    /// The token's orgs, for an endpoint that names its org in the body.
    pub(crate) caller: Caller,
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message)
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            unauthenticated("an `Authorization: Bearer <token>` header is required")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(token)
            })
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer <token>`"))?;
        if let Some(access) = state.tokens.get(token) {
            return Ok(Caller { access });
        }
        let access = token_access(&state.store, token)
            .await?
            .ok_or_else(|| unauthenticated("unknown API token"))?;
        state.tokens.remember(token, &access);
        Ok(Caller { access })
    }
}

/// Every model endpoint names its org in the path (`/v1/orgs/{org}/…`) or
/// is global (`/v1/orgs`, `/v1/users/…`): an org a bound token does not
/// reach is not found, and a bound token may not call a global endpoint
/// (a user's flags and new orgs reach beyond its orgs). Checked here, where
/// every model handler's caller is made, so no handler can forget it.
fn reach_model_path(caller: &Caller, path: &str) -> Result<(), ApiError> {
    if caller.access.orgs.is_none() {
        return Ok(());
    }
    let mut segments = path.split('/').skip(1);
    match (segments.next(), segments.next(), segments.next()) {
        // Name their org in the body; the handler checks it with `caller.reach`.
        (Some("v1"), Some("who-can" | "console-sessions"), None) => Ok(()),
        // The manifest's, the same for every org.
        (Some("v1"), Some("catalog"), None) => Ok(()),
        (Some("v1"), Some("orgs"), Some(org)) if !org.is_empty() => {
            let org = percent_encoding::percent_decode_str(org)
                .decode_utf8()
                .map_err(|_| ApiError::not_found("org not found"))?;
            caller.reach(&org)
        }
        _ => Err(ApiError::new(
            ErrorCode::Forbidden,
            "a token bound to orgs may not call global endpoints",
        )),
    }
}

/// The console session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "tessera_console";

/// The console session cookie's value, if the request carries exactly
/// one: a second one (planted by a sibling subdomain, say) makes it
/// unknowable which is the host's, so neither is used.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    let mut values = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim());
    match (values.next(), values.next()) {
        (Some(value), None) if !value.is_empty() => Some(value.to_owned()),
        _ => None,
    }
}

/// A console session's write must carry its `Tessera-Csrf` value: another
/// site's page can make the browser send a request, but cannot read the
/// value to put in a header.
pub(crate) fn require_csrf(headers: &HeaderMap, session: &Session) -> Result<(), ApiError> {
    let given = headers
        .get("tessera-csrf")
        .and_then(|value| value.to_str().ok());
    if given.is_some_and(|given| constant_time_eq(given.as_bytes(), session.csrf.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            "a console write needs the Tessera-Csrf header of its session",
        ))
    }
}

/// Equal bytes, compared in time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// A caller signed in to the console: its session's user acts, in its org
/// when it has one; a write needs the CSRF header. No token is involved.
async fn console_caller(
    parts: &Parts,
    state: &AppState,
    token: &str,
) -> Result<AdminCaller, ApiError> {
    let session = crate::sessions::session(&state.store, token, crate::clock::unix_now())
        .await?
        .ok_or_else(|| unauthenticated("the console session ended; sign in again"))?;
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        require_csrf(&parts.headers, &session)?;
    }
    if parts.headers.contains_key("tessera-actor") {
        return Err(ApiError::bad_request(
            "a console session acts as its own user: no Tessera-Actor header",
        ));
    }
    let caller = Caller {
        access: TokenAccess {
            kind: TokenKind::Admin,
            orgs: session.org.map(|org| BTreeSet::from([org])),
        },
    };
    reach_model_path(&caller, parts.uri.path())?;
    Ok(AdminCaller {
        actor: Actor::User(session.actor),
        caller,
    })
}

impl FromRequestParts<Arc<AppState>> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(AUTHORIZATION)
            && let Some(token) = session_cookie(&parts.headers)
        {
            return console_caller(parts, state, &token).await;
        }
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.access.kind != TokenKind::Admin {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "a `check` token may not read or write the model",
            ));
        }
        reach_model_path(&caller, parts.uri.path())?;
        let mut values = parts.headers.get_all("tessera-actor").iter();
        let actor = match (values.next(), values.next()) {
            (None, _) => Actor::Backend,
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request("one Tessera-Actor header at most"));
            }
            (Some(value), None) => {
                let user = value
                    .to_str()
                    .map(str::trim)
                    .ok()
                    .filter(|user| is_valid_user_id(user))
                    .ok_or_else(|| {
                        ApiError::bad_request("the Tessera-Actor header must be a user id")
                    })?;
                Actor::User(user.to_owned())
            }
        };
        Ok(AdminCaller { actor, caller })
    }
}
