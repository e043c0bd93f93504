//! Who a policy row is about: assignment subjects, hidden/cap selectors and
//! group members, each with its one textual form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ModelError, is_valid_node_id, is_valid_user_id};

/// Who an assignment gives a role to (docs/model.md §1.7).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// `user:<id>`: a member user.
    User(String),
    /// `group:<id>`: a group of the org.
    Group(String),
    /// `@everyone`: every principal, anonymous included.
    Everyone,
    /// `@authenticated`: every signed-in user, member or not.
    Authenticated,
    /// `@members`: every member of the org.
    Members,
}

/// Who a hidden entry or cap applies to (docs/model.md §1.10).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Selector {
    /// `everyone`.
    Everyone,
    /// `anonymous`.
    Anonymous,
    /// `authenticated`.
    Authenticated,
    /// `members`.
    Members,
    /// `user:<id>`.
    User(String),
    /// `group:<id>`: effective members of the group.
    Group(String),
    /// `not_group:<id>`: every principal not in the group.
    NotGroup(String),
}

/// A member of a group: a user or another group (nesting).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Member {
    /// `user:<id>`.
    User(String),
    /// `group:<id>`.
    Group(String),
}

fn user_id(id: &str) -> Option<String> {
    is_valid_user_id(id).then(|| id.to_owned())
}

fn group_id(id: &str) -> Option<String> {
    is_valid_node_id(id).then(|| id.to_owned())
}

impl FromStr for Subject {
    type Err = ModelError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = match text {
            "@everyone" => Some(Subject::Everyone),
            "@authenticated" => Some(Subject::Authenticated),
            "@members" => Some(Subject::Members),
            _ => match text.split_once(':') {
                Some(("user", id)) => user_id(id).map(Subject::User),
                Some(("group", id)) => group_id(id).map(Subject::Group),
                _ => None,
            },
        };
        parsed.ok_or_else(|| ModelError::BadSubject(text.to_owned()))
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::User(id) => write!(f, "user:{id}"),
            Subject::Group(id) => write!(f, "group:{id}"),
            Subject::Everyone => f.write_str("@everyone"),
            Subject::Authenticated => f.write_str("@authenticated"),
            Subject::Members => f.write_str("@members"),
        }
    }
}

impl FromStr for Selector {
    type Err = ModelError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = match text {
            "everyone" => Some(Selector::Everyone),
            "anonymous" => Some(Selector::Anonymous),
            "authenticated" => Some(Selector::Authenticated),
            "members" => Some(Selector::Members),
            _ => match text.split_once(':') {
                Some(("user", id)) => user_id(id).map(Selector::User),
                Some(("group", id)) => group_id(id).map(Selector::Group),
                Some(("not_group", id)) => group_id(id).map(Selector::NotGroup),
                _ => None,
            },
        };
        parsed.ok_or_else(|| ModelError::BadSelector(text.to_owned()))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Everyone => f.write_str("everyone"),
            Selector::Anonymous => f.write_str("anonymous"),
            Selector::Authenticated => f.write_str("authenticated"),
            Selector::Members => f.write_str("members"),
            Selector::User(id) => write!(f, "user:{id}"),
            Selector::Group(id) => write!(f, "group:{id}"),
            Selector::NotGroup(id) => write!(f, "not_group:{id}"),
        }
    }
}

impl FromStr for Member {
    type Err = ModelError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = match text.split_once(':') {
            Some(("user", id)) => user_id(id).map(Member::User),
            Some(("group", id)) => group_id(id).map(Member::Group),
            _ => None,
        };
        parsed.ok_or_else(|| ModelError::BadMember(text.to_owned()))
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Member::User(id) => write!(f, "user:{id}"),
            Member::Group(id) => write!(f, "group:{id}"),
        }
    }
}

/// Serde through the textual form, so JSON, TOML and SQL share one spelling.
macro_rules! serde_via_text {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

serde_via_text!(Subject, Selector, Member);

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn forms_round_trip() {
        for text in [
            "user:alice",
            "group:g1",
            "@everyone",
            "@authenticated",
            "@members",
        ] {
            assert_eq!(text.parse::<Subject>().unwrap().to_string(), text);
        }
        for text in [
            "everyone",
            "anonymous",
            "authenticated",
            "members",
            "user:bob",
            "group:g",
            "not_group:approved",
        ] {
            assert_eq!(text.parse::<Selector>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn bad_forms_are_errors() {
        for text in ["user:anonymous", "@admins", "user:", "group:a b", "role:x"] {
            assert!(text.parse::<Subject>().is_err(), "{text}");
        }
        for text in ["nobody", "not_group:", "user:anonymous", "@everyone"] {
            assert!(text.parse::<Selector>().is_err(), "{text}");
        }
        assert!("@members".parse::<Member>().is_err());
    }
}
