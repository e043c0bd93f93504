//! One error type for every subcommand, a stable code and a one-line
//! message printed as `error: CODE: message` with exit status 2, and the
//! exit statuses of success and of a denied check (STYLE: a deny is an
//! answer, not a failure, so it has its own status).

use std::error::Error;
use std::process::ExitCode;
use tessera_core::ErrorCode;

use tessera_core::VerifyError;
use tessera_host::setup::SetupError;
use tessera_host::{AdminError, AuthorityError, ServeError, SessionError, StoreError, TokenError};

use super::output;

/// How a subcommand that ran to its end finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Done; for `check`, the answer is `allow` (status 0).
    Success,
    /// `check` answered `deny` or `not_found` (status 1).
    Denied,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        match exit {
            Exit::Success => ExitCode::SUCCESS,
            Exit::Denied => ExitCode::from(1),
        }
    }
}

/// Why a subcommand failed (status 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CliError {
    /// A stable code: one of docs/admin.md §5's, a verifier's, or one of
    /// [`ServeError::code`]'s (`BAD_CONFIG`, `IO`, `STORE`, ...).
    pub(crate) code: ErrorCode,
    /// One line, for the operator.
    pub(crate) message: String,
}

impl CliError {
    /// An error with its code.
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }

    /// A bad setting (flag, environment variable or config file).
    pub(crate) fn config(message: impl Into<String>) -> Self {
        CliError::new(ErrorCode::BadConfig, message)
    }

    /// A file that could not be read or written.
    pub(crate) fn io(path: &std::path::Path, err: &std::io::Error) -> Self {
        CliError::new(ErrorCode::Io, format!("{}: {err}", path.display()))
    }

    /// An error whose causes are worth showing to the operator (the
    /// library hides the database's text from API callers; the operator
    /// running the command needs it).
    pub(crate) fn with_causes(code: ErrorCode, err: &(dyn Error + 'static)) -> Self {
        let mut message = err.to_string();
        let mut cause = err.source();
        while let Some(inner) = cause {
            let text = inner.to_string();
            if !message.ends_with(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            cause = inner.source();
        }
        CliError::new(code, message.replace('\n', "; "))
    }

    /// Prints `error: CODE: message` on stderr; the exit status is 2.
    pub(crate) fn report(&self) -> ExitCode {
        output::note(&format!("error: {}: {}", self.code, self.message));
        ExitCode::from(2)
    }
}

impl From<StoreError> for CliError {
    fn from(err: StoreError) -> Self {
        ServeError::from(err).into()
    }
}

impl From<TokenError> for CliError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::BadOrg(_) => CliError::new(ErrorCode::BadRequest, err.to_string()),
            TokenError::Store(err) => err.into(),
        }
    }
}

impl From<SessionError> for CliError {
    fn from(err: SessionError) -> Self {
        match err {
            SessionError::BadId(_) => CliError::new(ErrorCode::BadRequest, err.to_string()),
            SessionError::UnknownActor(_) | SessionError::UnknownOrg(_) => {
                CliError::new(ErrorCode::NotFound, err.to_string())
            }
            SessionError::Store(err) => err.into(),
        }
    }
}

impl From<SetupError> for CliError {
    fn from(err: SetupError) -> Self {
        ServeError::Setup(err).into()
    }
}

impl From<AuthorityError> for CliError {
    fn from(err: AuthorityError) -> Self {
        match err {
            AuthorityError::Store(err) => err.into(),
            err => CliError::new(err.code(), err.to_string()),
        }
    }
}

impl From<AdminError> for CliError {
    fn from(err: AdminError) -> Self {
        match err {
            AdminError::Store(err) => err.into(),
            err => CliError::new(err.code(), err.to_string()),
        }
    }
}

impl From<VerifyError> for CliError {
    fn from(err: VerifyError) -> Self {
        CliError::new(err.code(), err.to_string())
    }
}

/// Store and setup failures take `tessera serve`'s codes (`STORE`, `IO`,
/// `INVALID_MANIFEST`, ...), so one failure has one code in every subcommand.
impl From<ServeError> for CliError {
    fn from(err: ServeError) -> Self {
        CliError::with_causes(err.code(), &err)
    }
}
