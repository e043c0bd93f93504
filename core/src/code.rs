//! The registry of error codes: every stable code any Tessera runtime
//! answers with, in one enum, so a code is never a string typed twice.
//!
//! The codes are the contract (`docs/errors.md` lists them; a host test
//! keeps the two in step). An error type elsewhere maps each of its
//! variants to one of these; HTTP statuses are the host's business and
//! live in its HTTP layer, not here.

use core::fmt;

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal,)*) => {
        /// A stable error code; [`ErrorCode::as_str`] is its wire form.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears on the wire and in JS errors.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)*
                }
            }
        }
    };
}

codes! {
    /// Malformed input: a bad id, node key, selector, body or shape.
    BadRequest = "BAD_REQUEST",
    /// A JS argument of the wrong type or range.
    BadArgument = "BAD_ARGUMENT",
    /// A permission key that is not in the catalog.
    UnknownPermission = "UNKNOWN_PERMISSION",
    /// A check's path that is not a valid path (a diagnostic: the answer is deny).
    InvalidPath = "INVALID_PATH",
    /// A check's path outside the snapshot's subtrees (a diagnostic: deny).
    OutsideSnapshot = "OUTSIDE_SNAPSHOT",
    /// A query the SQL filter planner cannot express.
    Unsupported = "UNSUPPORTED",
    /// Facts that contradict themselves or the manifest.
    InvalidFacts = "INVALID_FACTS",
    /// A manifest that does not parse or validate.
    BadManifest = "BAD_MANIFEST",
    /// A role's keys not closed under `requires`.
    ReadPairingViolation = "READ_PAIRING_VIOLATION",
    /// A custom role named like a built-in.
    ReservedRoleName = "RESERVED_ROLE_NAME",
    /// Hiding a node whose type is not hideable.
    NotHideable = "NOT_HIDEABLE",
    /// A membership that would close a group cycle.
    GroupCycle = "GROUP_CYCLE",
    /// No bearer token, or one the host does not know.
    Unauthenticated = "UNAUTHENTICATED",
    /// The caller may not make this call.
    Forbidden = "FORBIDDEN",
    /// The acting user would grant or lift more than they hold.
    EscalationDenied = "ESCALATION_DENIED",
    /// Editing or deleting an immutable built-in role.
    BuiltinRoleImmutable = "BUILTIN_ROLE_IMMUTABLE",
    /// Deleting an editable built-in role.
    BuiltinRoleNonDeletable = "BUILTIN_ROLE_NON_DELETABLE",
    /// An unknown org, principal, role, group, node or record.
    NotFound = "NOT_FOUND",
    /// An HTTP method the route does not serve.
    MethodNotAllowed = "METHOD_NOT_ALLOWED",
    /// A role or group name already taken.
    NameTaken = "NAME_TAKEN",
    /// Deleting a role that still has assignments.
    RoleInUse = "ROLE_IN_USE",
    /// Deleting a group that is still referenced.
    GroupInUse = "GROUP_IN_USE",
    /// Deleting a node with children or policy.
    NodeInUse = "NODE_IN_USE",
    /// Editing `admin` or a pseudo-group's membership.
    ReservedGroup = "RESERVED_GROUP",
    /// Removing the last active superuser.
    LastSuperuser = "LAST_SUPERUSER",
    /// Removing the last active org-root holder of a guarded role.
    LastGuardedAssignment = "LAST_GUARDED_ASSIGNMENT",
    /// Removing the org's last default group.
    LastDefaultGroup = "LAST_DEFAULT_GROUP",
    /// A write or request over one of the org's quotas.
    QuotaExceeded = "QUOTA_EXCEEDED",
    /// A `min_revision` ahead of the store.
    Stale = "STALE",
    /// A request body over the host's limit.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE",
    /// An exported snapshot over the configured maximum.
    SnapshotTooLarge = "SNAPSHOT_TOO_LARGE",
    /// A snapshot envelope or text over the format's byte limit.
    TooLarge = "TOO_LARGE",
    /// A snapshot that does not decode.
    BadEncoding = "BAD_ENCODING",
    /// A snapshot whose signature does not verify.
    BadSignature = "BAD_SIGNATURE",
    /// A snapshot signed by a key the verifier does not hold.
    UnknownKey = "UNKNOWN_KEY",
    /// A snapshot past its expiry.
    Expired = "EXPIRED",
    /// A snapshot of a format version this build does not read.
    WrongFormatVersion = "WRONG_FORMAT_VERSION",
    /// A snapshot of another org than expected.
    WrongOrg = "WRONG_ORG",
    /// A snapshot of another principal than expected.
    WrongPrincipal = "WRONG_PRINCIPAL",
    /// A key set (JWKS) that does not parse.
    BadKeySet = "BAD_KEY_SET",
    /// The store cannot be reached or is busy.
    Unavailable = "UNAVAILABLE",
    /// The host failed; the detail is in its log.
    Internal = "INTERNAL",
    /// A CLI or configuration value out of range.
    BadConfig = "BAD_CONFIG",
    /// The manifest file does not parse (CLI).
    InvalidManifest = "INVALID_MANIFEST",
    /// The manifest differs from the one the store was reconciled with.
    ManifestMismatch = "MANIFEST_MISMATCH",
    /// A file or directory could not be read or written (CLI).
    Io = "IO",
    /// The store could not be opened or migrated (CLI).
    Store = "STORE",
    /// The listen address could not be bound (CLI).
    Listen = "LISTEN",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code equals its wire form, so callers and tests can compare either.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<ErrorCode> for &str {
    fn eq(&self, other: &ErrorCode) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn wire_codes_are_unique_and_screaming_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            let wire = code.as_str();
            assert!(seen.insert(wire), "{wire} is listed twice");
            assert!(
                wire.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{wire} is not SCREAMING_SNAKE_CASE"
            );
        }
    }
}
