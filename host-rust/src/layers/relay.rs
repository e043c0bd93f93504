//! The app backend's relay for its own pages (docs/frontend.md §8.1): three
//! routes that serve the logged-in user's snapshot, the public keys and
//! the org's revision events, so a browser never holds a host token. The
//! principal comes only from the app's authentication (a [`Principal`] in
//! the request's extensions), never from the request itself.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, IF_NONE_MATCH};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tessera_core::ErrorCode;

use super::{Authority, Principal};
use crate::authority::Asking;
use crate::clock::unix_now;
use crate::http::{ApiError, Streams, export_response};
use crate::keys::{MAX_SNAPSHOT_TTL, published_keys};

/// The relay's settings and open streams.
#[derive(Debug, Clone)]
pub struct Relay {
    authority: Arc<Authority>,
    ttl: i64,
    max_snapshot_bytes: usize,
    streams: Streams,
}

impl Relay {
    /// A relay answering from `authority`: snapshots live 300 s, are at
    /// most 256 KiB, and 10,000 event streams may be open at once.
    pub fn new(authority: Arc<Authority>) -> Relay {
        Relay {
            authority,
            ttl: 300,
            max_snapshot_bytes: 256 * 1024,
            streams: Streams::new(10_000),
        }
    }

    /// Snapshots that live `seconds` (kept within 1 ..= 3600).
    #[must_use]
    pub fn with_ttl(self, seconds: i64) -> Relay {
        Relay {
            ttl: seconds.clamp(1, MAX_SNAPSHOT_TTL),
            ..self
        }
    }

    /// At most `max` event streams open at once (`UNAVAILABLE` beyond).
    #[must_use]
    pub fn with_max_streams(self, max: usize) -> Relay {
        Relay {
            streams: Streams::new(max),
            ..self
        }
    }

    /// The open event streams: [`Streams::close_all`] at shutdown.
    pub fn streams(&self) -> &Streams {
        &self.streams
    }

    /// `GET /snapshot` (the `tss1.` text; `If-None-Match` answers `304`
    /// for a copy still valid; `?min_revision=N` for read-your-writes),
    /// `GET /keys` and `GET /events`, to nest under the app's prefix
    /// behind its authentication.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let relay = Arc::new(self.clone());
        let (snapshot, keys, events) = (Arc::clone(&relay), Arc::clone(&relay), relay);
        Router::new()
            .route(
                "/snapshot",
                get(move |request: Request| async move { snapshot.snapshot(request).await }),
            )
            .route("/keys", get(move || async move { keys.keys().await }))
            .route(
                "/events",
                get(move |request: Request| async move { events.events(request).await }),
            )
    }

    async fn snapshot(&self, request: Request) -> Response {
        // The parts only: a body is not `Sync`, so it may not be held by
        // reference across an await.
        let (request, _) = request.into_parts();
        let answer = async {
            let principal = principal_of(&request)?;
            let min_revision = min_revision(request.uri.query())?;
            let asking = Asking {
                org: &principal.org,
                principal: &principal.user,
                token_scopes: None,
                under: None,
                min_revision,
            };
            let if_none_match = request
                .headers
                .get(IF_NONE_MATCH)
                .and_then(|value| value.to_str().ok());
            let exported = self
                .authority
                .export(
                    &asking,
                    self.ttl,
                    self.max_snapshot_bytes,
                    unix_now(),
                    if_none_match,
                )
                .await?;
            Ok::<_, ApiError>(export_response(exported, true))
        };
        let mut response = answer.await.unwrap_or_else(IntoResponse::into_response);
        // A snapshot is one user's: no shared cache may keep it.
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    async fn keys(&self) -> Response {
        match published_keys(self.authority.store(), unix_now()).await {
            Ok(keys) => axum::Json(serde_json::json!({ "keys": keys })).into_response(),
            Err(err) => ApiError::from(err).into_response(),
        }
    }

    async fn events(&self, request: Request) -> Response {
        let (request, _) = request.into_parts();
        let answer = async {
            let principal = principal_of(&request)?;
            self.streams
                .respond(
                    Arc::clone(&self.authority),
                    principal.org.clone(),
                    &request.headers,
                )
                .await
        };
        answer.await.unwrap_or_else(IntoResponse::into_response)
    }
}

/// The principal the app's authentication set, or `UNAUTHENTICATED`.
fn principal_of(request: &Parts) -> Result<&Principal, ApiError> {
    request.extensions.get::<Principal>().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unauthenticated,
            "no principal: authenticate the request before the relay",
        )
    })
}

/// `min_revision` from the query, the only parameter the relay takes.
fn min_revision(query: Option<&str>) -> Result<Option<u64>, ApiError> {
    let mut found = None;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "min_revision" || found.is_some() {
            return Err(ApiError::bad_request(
                "the snapshot relay takes one parameter, `min_revision`",
            ));
        }
        found = Some(
            value
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request("`min_revision` must be a revision number"))?,
        );
    }
    Ok(found)
}
