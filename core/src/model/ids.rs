//! Identifier shapes: user ids, node types and ids, and node keys.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ModelError;

/// The reserved principal id for public (signed-out) access.
pub const ANONYMOUS: &str = "anonymous";

/// The reserved group whose members are exactly the superusers.
pub const ADMIN_GROUP: &str = "admin";

/// Node ids and user ids share one alphabet: `[A-Za-z0-9._~-]{1,128}`
/// (URL-unreserved characters, so they never need escaping in a route).
pub fn is_valid_node_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
}

/// A user id: the node-id alphabet, and not the reserved `anonymous`.
pub fn is_valid_user_id(id: &str) -> bool {
    is_valid_node_id(id) && id != ANONYMOUS
}

/// A node type name: `^[a-z][a-z0-9_]*$`.
pub fn is_valid_type_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A node, written `type:id` (`site:7`). The org root is never a node key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeKey {
    /// The declared resource type.
    pub ty: String,
    /// The id within the type.
    pub id: String,
}

impl NodeKey {
    /// Splits `type:id` without allocating, checking both halves' shapes.
    pub fn split(text: &str) -> Option<(&str, &str)> {
        let (ty, id) = text.split_once(':')?;
        (is_valid_type_name(ty) && is_valid_node_id(id)).then_some((ty, id))
    }
}

impl FromStr for NodeKey {
    type Err = ModelError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (ty, id) = Self::split(text).ok_or_else(|| ModelError::BadNodeKey(text.to_owned()))?;
        Ok(NodeKey {
            ty: ty.to_owned(),
            id: id.to_owned(),
        })
    }
}

impl fmt::Display for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ty, self.id)
    }
}

impl Serialize for NodeKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NodeKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn node_keys_parse_and_print() {
        let key: NodeKey = "site:7".parse().unwrap();
        assert_eq!(key.to_string(), "site:7");
        for bad in [
            "site", ":7", "Site:7", "site:", "site:a b", "site:7:8", "9x:1",
        ] {
            assert!(bad.parse::<NodeKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn user_ids_reserve_anonymous() {
        assert!(is_valid_user_id("alice.b-2~x_"));
        assert!(!is_valid_user_id("anonymous"));
        assert!(!is_valid_user_id(""));
        assert!(!is_valid_user_id(&"a".repeat(129)));
        assert!(is_valid_user_id(&"a".repeat(128)));
    }
}
