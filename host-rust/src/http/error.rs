//! The one error shape of the API (DESIGN §5):
//! `{"error": {"code", "message", "details"}}` with the code's status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use tessera_core::SqlError;
use utoipa::ToSchema;

use crate::admin::AdminError;
use crate::authority::AuthorityError;
use crate::store::StoreError;

/// An API error: a stable code, its status, a message for people and
/// details for programs.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) details: Value,
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorFields,
}

/// The fields of an error.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorFields {
    /// A stable code of DESIGN §5 (`NOT_FOUND`, `ESCALATION_DENIED`, ...).
    code: String,
    /// What went wrong, for people.
    message: String,
    /// Structured details (an object, possibly empty).
    #[schema(value_type = Object)]
    details: Value,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: json!({}),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    pub(crate) fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// A store failure: bad input the database refused (a NUL character in
    /// a Postgres text value) is a `BAD_REQUEST`; anything else is a
    /// failure of the host itself, whose detail goes to the log, not the
    /// client.
    fn store(err: &StoreError) -> Self {
        if err.is_unstorable_text() {
            return ApiError::bad_request("text values may not contain NUL characters");
        }
        if err.is_unavailable() {
            eprintln!("tessera: store unavailable: {err}");
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "the store cannot be reached or is busy; retry",
            );
        }
        let mut detail = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            detail.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        eprintln!("tessera: internal error: {detail}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "the host failed to answer; see its log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorFields {
                code: self.code.to_owned(),
                message: self.message,
                details: self.details,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<AdminError> for ApiError {
    fn from(err: AdminError) -> Self {
        if let AdminError::Store(store) = &err {
            return ApiError::store(store);
        }
        let status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let details = match &err {
            AdminError::QuotaExceeded { quota, limit } => {
                json!({ "quota": quota, "limit": limit })
            }
            _ => json!({}),
        };
        ApiError::new(status, err.code(), err.to_string()).with_details(details)
    }
}

impl From<AuthorityError> for ApiError {
    fn from(err: AuthorityError) -> Self {
        let status = match &err {
            AuthorityError::NotFound(_) => StatusCode::NOT_FOUND,
            AuthorityError::UnknownPermission(_) | AuthorityError::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            AuthorityError::Stale { .. } => StatusCode::CONFLICT,
            AuthorityError::SnapshotTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AuthorityError::Store(store) => return ApiError::store(store),
        };
        let details = match &err {
            AuthorityError::Stale { wanted, have } => {
                json!({ "min_revision": wanted, "revision": have })
            }
            AuthorityError::SnapshotTooLarge { size, max } => json!({ "size": size, "max": max }),
            _ => json!({}),
        };
        ApiError::new(status, err.code(), err.to_string()).with_details(details)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError::store(&err)
    }
}

impl From<SqlError> for ApiError {
    fn from(err: SqlError) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, err.code(), err.to_string())
    }
}
