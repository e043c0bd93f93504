//! The one error shape of the API (docs/errors.md):
//! `{"error": {"code", "message", "details"}}`, and the one place a code
//! gets its HTTP status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use tessera_core::{ErrorCode, SqlError};
use utoipa::ToSchema;

use crate::admin::AdminError;
use crate::authority::AuthorityError;
use crate::store::StoreError;

/// An API error: a stable code, its status, a message for people and
/// details for programs.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: ErrorCode,
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
    /// A stable code of docs/admin.md §5 (`NOT_FOUND`, `ESCALATION_DENIED`, ...).
    code: String,
    /// What went wrong, for people.
    message: String,
    /// Structured details (an object, possibly empty).
    #[schema(value_type = Object)]
    details: Value,
}

/// The HTTP status of each code the API answers with: the only place
/// statuses live. `None` for codes no HTTP answer carries (snapshot
/// verification, the CLI's, check diagnostics).
pub(crate) fn status(code: ErrorCode) -> Option<StatusCode> {
    use ErrorCode as C;
    Some(match code {
        C::BadRequest
        | C::UnknownPermission
        | C::Unsupported
        | C::ReadPairingViolation
        | C::ReservedRoleName
        | C::NotHideable
        | C::GroupCycle => StatusCode::BAD_REQUEST,
        C::Unauthenticated => StatusCode::UNAUTHORIZED,
        C::Forbidden
        | C::EscalationDenied
        | C::BuiltinRoleImmutable
        | C::BuiltinRoleNonDeletable => StatusCode::FORBIDDEN,
        C::NotFound => StatusCode::NOT_FOUND,
        C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        C::NameTaken
        | C::RoleInUse
        | C::GroupInUse
        | C::NodeInUse
        | C::ReservedGroup
        | C::LastSuperuser
        | C::LastGuardedAssignment
        | C::LastDefaultGroup
        | C::QuotaExceeded
        | C::Stale => StatusCode::CONFLICT,
        C::PayloadTooLarge | C::SnapshotTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        C::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        C::BadArgument
        | C::InvalidPath
        | C::OutsideSnapshot
        | C::InvalidFacts
        | C::BadManifest
        | C::TooLarge
        | C::BadEncoding
        | C::BadSignature
        | C::UnknownKey
        | C::Expired
        | C::WrongFormatVersion
        | C::WrongOrg
        | C::WrongPrincipal
        | C::BadKeySet
        | C::BadConfig
        | C::InvalidManifest
        | C::ManifestMismatch
        | C::Io
        | C::Store
        | C::Listen => return None,
    })
}

impl ApiError {
    /// An error with its code's status (500 for a code no HTTP answer
    /// should carry: that is a bug in the host, and it fails closed).
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status: status(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message: message.into(),
            details: json!({}),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::BadRequest, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::NotFound, message)
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
                ErrorCode::Unavailable,
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
            ErrorCode::Internal,
            "the host failed to answer; see its log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorFields {
                code: self.code.as_str().to_owned(),
                message: self.message,
                details: self.details,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// `{"kind", "id"}`: what a refusal is about, for programs.
fn about(kind: &str, id: &str) -> Value {
    json!({ "kind": kind, "id": id })
}

impl From<AdminError> for ApiError {
    fn from(err: AdminError) -> Self {
        let details = match &err {
            AdminError::Store(store) => return ApiError::store(store),
            AdminError::NotFound(missing) => about(missing.kind, &missing.id),
            AdminError::QuotaExceeded { quota, limit } => {
                json!({ "quota": quota, "limit": limit })
            }
            AdminError::UnknownPermission(key) => about("permission", key),
            AdminError::NotHideable(kind) => about("type", kind),
            AdminError::ReservedRoleName(name) | AdminError::NameTaken(name) => {
                json!({ "name": name })
            }
            AdminError::BuiltinRoleImmutable(role)
            | AdminError::BuiltinRoleNonDeletable(role)
            | AdminError::RoleInUse(role)
            | AdminError::LastGuardedAssignment(role) => about("role", role),
            AdminError::GroupInUse(group) | AdminError::ReservedGroup(group) => {
                about("group", group)
            }
            AdminError::NodeInUse(node) => about("node", node),
            AdminError::LastSuperuser(user) => about("user", user),
            AdminError::BadRequest { field, .. } => json!({ "field": field }),
            AdminError::ReadPairingViolation(_)
            | AdminError::GroupCycle
            | AdminError::Forbidden(_)
            | AdminError::EscalationDenied(_)
            | AdminError::LastDefaultGroup => json!({}),
        };
        ApiError::new(err.code(), err.to_string()).with_details(details)
    }
}

impl From<AuthorityError> for ApiError {
    fn from(err: AuthorityError) -> Self {
        let details = match &err {
            AuthorityError::Store(store) => return ApiError::store(store),
            AuthorityError::NotFound(missing) => about(missing.kind, &missing.id),
            AuthorityError::UnknownPermission(key) => about("permission", key),
            AuthorityError::Stale { wanted, have } => {
                json!({ "min_revision": wanted, "revision": have })
            }
            AuthorityError::Moved { from, to } => json!({ "revision": from, "now": to }),
            AuthorityError::SnapshotTooLarge { size, max } => json!({ "size": size, "max": max }),
            AuthorityError::BadRequest(_) => json!({}),
        };
        ApiError::new(err.code(), err.to_string()).with_details(details)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError::store(&err)
    }
}

impl From<SqlError> for ApiError {
    fn from(err: SqlError) -> Self {
        ApiError::new(err.code(), err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tessera_core::ErrorCode;

    use super::status;

    /// `docs/errors.md`'s table: code → status column.
    fn documented() -> BTreeMap<String, String> {
        let text = include_str!("../../../docs/errors.md");
        let table = text
            .split("| code | status | when |")
            .nth(1)
            .expect("docs/errors.md has the code table");
        table
            .lines()
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
            })
            .collect()
    }

    #[test]
    fn refusals_name_what_they_are_about_in_their_details() {
        use crate::admin::AdminError;
        use crate::missing::Missing;
        use serde_json::json;
        let cases = [
            (
                AdminError::NotFound(Missing::new("role", "r-1")),
                json!({"kind": "role", "id": "r-1"}),
            ),
            (
                AdminError::bad("name", "a group needs a name"),
                json!({"field": "name"}),
            ),
            (
                AdminError::LastGuardedAssignment("SUPER_ADMIN".to_owned()),
                json!({"kind": "role", "id": "SUPER_ADMIN"}),
            ),
            (AdminError::GroupCycle, json!({})),
        ];
        for (refusal, details) in cases {
            let code = refusal.code();
            let answer = super::ApiError::from(refusal);
            assert_eq!((answer.code, answer.details), (code, details));
        }
    }

    #[test]
    fn docs_list_every_error_code_with_the_status_the_api_answers_with() {
        let documented = documented();
        for code in ErrorCode::ALL {
            let expected =
                status(*code).map_or("—".to_owned(), |status| status.as_u16().to_string());
            assert_eq!(
                documented.get(code.as_str()),
                Some(&expected),
                "docs/errors.md: {code}"
            );
        }
        assert_eq!(
            documented.len(),
            ErrorCode::ALL.len(),
            "docs/errors.md lists codes the registry lacks"
        );
    }
}
