//! Stored rows to core's types: the small conversions every loader query
//! shares.

use tessera_core::NodeKey;

use super::FactsError;

/// A stored text column parsed to its type; text the store could not have
/// written is `Corrupt`.
pub(super) fn parse<T: std::str::FromStr>(text: &str) -> Result<T, FactsError> {
    text.parse()
        .map_err(|_| FactsError::Corrupt(text.to_owned()))
}

/// A node key from its two columns.
pub(super) fn node_key(ty: String, id: String) -> NodeKey {
    NodeKey { ty, id }
}

/// An optional scope from its two nullable columns (`None`: the org root).
pub(super) fn scope(ty: Option<String>, id: Option<String>) -> Option<NodeKey> {
    ty.zip(id).map(|(ty, id)| node_key(ty, id))
}
