//! Display names of roles and groups: trimmed, 1 to 128 characters, no
//! control characters. Unique per org case-insensitively, so the lowercase
//! key is indexed; the limit keeps it far below Postgres's btree row limit.

use super::AdminError;

/// The longest name accepted (in characters, after trimming).
const MAX_NAME: usize = 128;

/// A checked display name and its uniqueness key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name {
    /// As shown, trimmed.
    pub(crate) name: String,
    /// Lowercase, for the unique index.
    pub(crate) key: String,
}

/// Checks the name of a `what` ("role", "group").
pub(crate) fn display_name(what: &str, name: &str) -> Result<Name, AdminError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AdminError::bad("name", format!("a {what} needs a name")));
    }
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(AdminError::bad(
            "name",
            format!("a {what} name has at most {MAX_NAME} characters and no control characters"),
        ));
    }
    Ok(Name {
        name: name.to_owned(),
        key: name_key(name),
    })
}

/// The uniqueness key of a name: case-insensitive, trim-insensitive.
pub(crate) fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}
