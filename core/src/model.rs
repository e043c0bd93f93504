//! The org's data model as the resolver sees it: identifiers, selectors,
//! subjects and the facts of one org.

mod bits;
mod catalog;
mod err;
mod facts;
mod ids;
mod index;
mod selector;
mod types;

pub use bits::Bits;
pub use catalog::{Catalog, CatalogEntry, Permission, catalog_hash};
pub use err::ModelError;
pub use facts::{
    AssignmentFact, CapFact, Facts, GroupFact, GroupMemberFact, HiddenFact, NodeFact, RoleFact,
    UserFact,
};
pub use ids::{
    ADMIN_GROUP, ANONYMOUS, NodeKey, is_valid_node_id, is_valid_type_name, is_valid_user_id,
};
#[cfg(feature = "compile")]
pub(crate) use index::FxBuildHasher;
pub(crate) use index::{HashIndex, hash_key};
pub use selector::{Member, Selector, Subject};
pub use types::{TypeEntry, TypeTable};
