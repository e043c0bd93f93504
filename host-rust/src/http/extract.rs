//! What handlers take from a request, each refusal in the API's error
//! shape. Bodies are at most 1 MiB (`PAYLOAD_TOO_LARGE`) of JSON that
//! parses into the endpoint's type, or a `BAD_REQUEST` saying why;
//! serde_json's recursion limit turns hostile nesting into a parse error,
//! not a stack overflow.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use tessera_core::ErrorCode;

use super::error::ApiError;

/// The largest request body accepted (docs/admin.md §5).
pub(crate) const MAX_BODY: usize = 1 << 20;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("request bodies are limited to {MAX_BODY} bytes"),
    )
}

/// Reads a whole body, refusing one over [`MAX_BODY`].
pub(crate) async fn read_limited(request: Request) -> Result<axum::body::Bytes, ApiError> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY as u64) {
        return Err(too_large());
    }
    let body: Body = request.into_body();
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(err) => Err(ApiError::bad_request(format!(
            "could not read the request body: {err}"
        ))),
    }
}

/// Parses a JSON object body; an empty body parses as `{}` for types that
/// allow it. Every body of the API is an object: serde would otherwise
/// read a list as a struct whose fields are all optional.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
    let bytes: &[u8] = match first {
        None => b"{}",
        Some(b'{') => bytes,
        Some(_) => {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
    };
    serde_json::from_slice(bytes)
        .map_err(|err| ApiError::bad_request(format!("malformed JSON body: {err}")))
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_limited(request).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Query parameters of type `T`, or a `BAD_REQUEST` saying which is wrong.
#[derive(Debug)]
pub(crate) struct QueryArgs<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for QueryArgs<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(args)| QueryArgs(args))
            .map_err(|err| ApiError::bad_request(err.body_text()))
    }
}

/// Path parameters of type `T`, or a `BAD_REQUEST` (bad percent-encoding).
#[derive(Debug)]
pub(crate) struct PathArgs<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for PathArgs<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(args)| PathArgs(args))
            .map_err(|err| ApiError::bad_request(err.body_text()))
    }
}

/// A comma-separated list parameter (`path=site:7,rack:3`); empty items
/// are dropped, so `path=` is the org itself.
pub(crate) fn comma_list(text: Option<&str>) -> Vec<String> {
    text.map(|text| {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}
