//! The JSON surface every binding shares (docs/decisions.md §2: "all query results have
//! one serde shape"). The wasm module, the Node addon, the raw-ABI parity
//! module and the conformance runners all answer queries through here, so
//! no binding carries a rule of its own.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::ErrorCode;
use crate::query::{CheckRequest, FilterItem, Snapshot};
use crate::snapshot::VerifyError;

/// A query in its JSON form: `{"check": {...}}`, `{"nav": {}}`, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Query {
    /// `check`.
    Check(CheckRequest),
    /// A batch of checks, answered in order.
    CheckMany {
        /// The checks.
        checks: Vec<CheckRequest>,
    },
    /// `can_anywhere`.
    CanAnywhere {
        /// The permission key.
        permission: String,
    },
    /// `effective`.
    Effective {
        /// The path.
        path: Vec<String>,
        /// The owner, if any.
        #[serde(default)]
        owner: Option<String>,
    },
    /// `filter` on in-memory items: the ids kept, in input order.
    Filter {
        /// The permission key.
        permission: String,
        /// The items.
        items: Vec<FilterItem>,
    },
    /// `filter_plan`.
    FilterPlan {
        /// The permission key.
        permission: String,
    },
    /// `guard`.
    Guard {
        /// A concrete route path.
        route: String,
    },
    /// `nav`.
    Nav {},
    /// `claims`.
    Claims {},
    /// `explain`.
    Explain(CheckRequest),
    /// Who the snapshot says the principal is, as every rule reads it:
    /// [`Standing`].
    Header {},
}

/// The part of a header that rules read (a vector's `header` query): the
/// effective superuser flag ([`Snapshot::is_superuser`]), whether the
/// principal is active, and the token scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// Flagged, active and not narrowed by token scopes.
    pub superuser: bool,
    /// An inactive principal is denied everything.
    pub active: bool,
    /// The keys the snapshot was narrowed to, in catalog order, or null.
    pub token_scopes: Option<Vec<String>>,
}

/// What a binding shows of a snapshot's header (`org`, `principal`,
/// `expiresAt`, ...): plain numbers and strings, the catalog hash in hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// The org id.
    pub org: String,
    /// The principal id (`anonymous` for public access).
    pub principal: String,
    /// The principal's display name.
    pub principal_name: String,
    /// Whether the principal is a superuser to every rule: flagged, active
    /// and not narrowed by token scopes ([`Snapshot::is_superuser`]).
    pub superuser: bool,
    /// Whether the principal is active (an inactive one is denied
    /// everything).
    pub active: bool,
    /// Whether the principal is anonymous.
    pub anonymous: bool,
    /// The keys the snapshot was narrowed to, or null when not narrowed.
    pub token_scopes: Option<Vec<String>>,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// The org's store revision.
    pub revision: u64,
    /// The catalog hash, lowercase hex.
    pub catalog_hash: String,
    /// The signing key id.
    pub kid: String,
    /// The subtree roots, or null for the whole org.
    pub subtrees: Option<Vec<String>>,
}

/// A failure at the binding boundary, with the stable code bindings throw.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct FfiError {
    /// `BAD_ARGUMENT`, or a [`VerifyError`] code.
    pub code: ErrorCode,
    /// A one-line message.
    pub message: String,
}

impl FfiError {
    /// A malformed argument (bad JSON, a time that is not a whole number of
    /// seconds, ...).
    pub fn bad_argument(message: impl Into<String>) -> Self {
        FfiError {
            code: ErrorCode::BadArgument,
            message: message.into(),
        }
    }
}

impl From<VerifyError> for FfiError {
    fn from(err: VerifyError) -> Self {
        FfiError {
            code: err.code(),
            message: err.to_string(),
        }
    }
}

/// A key set from a JWKS's keys given as parallel arrays of their fields
/// (the JS side parses the JSON; the key checks stay here).
pub fn key_set_from_fields(
    kids: &[String],
    ktys: &[String],
    crvs: &[String],
    xs: &[String],
) -> Result<crate::snapshot::KeySet, FfiError> {
    let field = |list: &[String], at: usize| list.get(at).cloned().unwrap_or_default();
    let keys: Vec<crate::snapshot::Jwk> = (0..kids.len())
        .map(|at| crate::snapshot::Jwk {
            kid: field(kids, at),
            kty: field(ktys, at),
            crv: field(crvs, at),
            x: field(xs, at),
        })
        .collect();
    Ok(crate::snapshot::KeySet::from_jwks_keys(&keys)?)
}

/// A decision as a number, so it crosses a binding without a string copy:
/// `allow` = 0, `deny` = 1, `not_found` = 2.
pub fn effect_code(effect: crate::query::Effect) -> u8 {
    match effect {
        crate::query::Effect::Allow => 0,
        crate::query::Effect::Deny => 1,
        crate::query::Effect::NotFound => 2,
    }
}

/// An owner from JS: absent or `""` is "no owner" (no user id is empty).
pub fn owner_arg(owner: Option<&str>) -> Option<&str> {
    owner.filter(|owner| !owner.is_empty())
}

/// A JS number of seconds as `u64`: finite, whole, in `0..=2^53`.
pub fn seconds_from_f64(seconds: f64) -> Result<u64, FfiError> {
    const MAX_SAFE: f64 = 9_007_199_254_740_992.0;
    if seconds.is_finite() && seconds.fract() == 0.0 && (0.0..=MAX_SAFE).contains(&seconds) {
        Ok(seconds as u64)
    } else {
        // No float formatting here: it would pull ~20 KB into the wasm bundle.
        Err(FfiError::bad_argument(
            "time must be a whole, non-negative number of unix seconds",
        ))
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl Snapshot {
    /// Answers a query as JSON, in the core's shapes.
    pub fn answer(&self, query: &Query) -> Value {
        match query {
            Query::Check(args) => {
                to_value(&self.check(&args.permission, &args.path, args.owner.as_deref()))
            }
            Query::CheckMany { checks } => to_value(&self.check_many(checks)),
            Query::CanAnywhere { permission } => Value::Bool(self.can_anywhere(permission)),
            Query::Effective { path, owner } => to_value(&self.effective(path, owner.as_deref())),
            Query::Filter { permission, items } => Value::Array(
                self.filter(permission, items)
                    .into_iter()
                    .map(|item| Value::String(item.id.clone()))
                    .collect(),
            ),
            Query::FilterPlan { permission } => to_value(&self.filter_plan(permission)),
            Query::Guard { route } => to_value(&self.guard(route)),
            Query::Nav {} => to_value(&self.nav()),
            Query::Claims {} => to_value(&self.claims()),
            Query::Explain(args) => {
                to_value(&self.explain(&args.permission, &args.path, args.owner.as_deref()))
            }
            Query::Header {} => {
                let info = self.info();
                to_value(&Standing {
                    superuser: info.superuser,
                    active: info.active,
                    token_scopes: info.token_scopes,
                })
            }
        }
    }

    /// A batch of checks given as parallel arrays (paths in text form,
    /// `""` owners meaning none), as bindings pass them.
    pub fn check_many_texts(
        &self,
        permissions: &[String],
        paths: &[String],
        owners: &[String],
    ) -> Vec<crate::query::Decision> {
        permissions
            .iter()
            .enumerate()
            .map(|(at, permission)| {
                let path = paths.get(at).map_or("", String::as_str);
                let owner = owner_arg(owners.get(at).map(String::as_str));
                self.check_text(permission, path, owner)
            })
            .collect()
    }

    /// `filter` as bindings call it: paths in text form, `""` owners
    /// meaning none; the positions kept.
    pub fn filter_text_items(
        &self,
        permission: &str,
        paths: &[String],
        owners: &[String],
    ) -> Vec<u32> {
        let owners: Vec<Option<String>> = owners
            .iter()
            .map(|owner| owner_arg(Some(owner)).map(str::to_owned))
            .collect();
        self.filter_texts(permission, paths, &owners)
    }

    /// The header as a binding shows it.
    pub fn info(&self) -> SnapshotInfo {
        let header = self.header();
        SnapshotInfo {
            org: header.org.clone(),
            principal: header.principal.id.clone(),
            principal_name: header.principal.name.clone(),
            superuser: self.is_superuser(),
            active: header.principal.active,
            anonymous: header.principal.anonymous,
            token_scopes: self.token_scopes(),
            issued_at: header.issued_at,
            expires_at: header.expires_at,
            revision: header.revision,
            catalog_hash: header
                .catalog_hash
                .iter()
                .flat_map(|byte| [hex_digit(byte >> 4), hex_digit(byte & 0xf)])
                .collect(),
            kid: header.kid.clone(),
            subtrees: header
                .subtrees
                .as_ref()
                .map(|keys| keys.iter().map(ToString::to_string).collect()),
        }
    }

    /// [`Snapshot::info`] as JSON text.
    pub fn header_json(&self) -> Result<String, FfiError> {
        serde_json::to_string(&self.info()).map_err(|err| FfiError::bad_argument(err.to_string()))
    }

    /// [`Snapshot::answer`] from and to JSON text.
    pub fn answer_json(&self, query: &str) -> Result<String, FfiError> {
        let query: Query =
            serde_json::from_str(query).map_err(|err| FfiError::bad_argument(err.to_string()))?;
        serde_json::to_string(&self.answer(&query))
            .map_err(|err| FfiError::bad_argument(err.to_string()))
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn seconds_must_be_whole_and_safe() {
        assert_eq!(seconds_from_f64(1_700_000_000.0), Ok(1_700_000_000));
        for bad in [f64::NAN, f64::INFINITY, -1.0, 1.5, 1e300] {
            assert_eq!(
                seconds_from_f64(bad).unwrap_err().code,
                ErrorCode::BadArgument
            );
        }
    }
}
