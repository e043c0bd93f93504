//! Route predicates and route patterns (docs/decisions.md §2.1): their syntax, parsed
//! once when the manifest is validated and carried compiled in snapshots.

mod ast;
mod err;
mod parse;
pub(crate) mod route;

pub use ast::{IdSource, PathStep, Predicate};
pub use err::PredicateError;
pub use route::{RoutePattern, Segment};
