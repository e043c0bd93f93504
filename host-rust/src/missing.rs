//! What a `NOT_FOUND` names: the kind of thing and its id, so a client can
//! tell "no such role" from "no such org" without parsing a message.

use std::fmt;

/// A thing that does not exist (or belongs to another org, which a caller
/// must not be able to tell apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// What it is: `org`, `user`, `member`, `principal`, `group`, `role`,
    /// `node`, `assignment`, `membership`, `hidden`, `cap`.
    pub kind: &'static str,
    /// The id asked for.
    pub id: String,
}

impl Missing {
    /// A missing `kind` with this id.
    pub fn new(kind: &'static str, id: &str) -> Self {
        Missing {
            kind,
            id: id.to_owned(),
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`", self.kind, self.id)
    }
}
