//! Errors from parsing predicates and route patterns.

use thiserror::Error;

/// A predicate or route pattern that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PredicateError {
    /// Something other than what the grammar allows at `at` (a byte offset).
    #[error("expected {expected} at position {at} of `{text}`")]
    Expected {
        /// What the parser wanted.
        expected: &'static str,
        /// Byte offset into `text`.
        at: usize,
        /// The whole predicate.
        text: String,
    },
    /// Nesting deeper than the parser accepts.
    #[error("`{text}` nests deeper than {max} levels")]
    TooDeep {
        /// The whole predicate.
        text: String,
        /// The limit.
        max: usize,
    },
    /// A route pattern that is not `/static/:param/…`.
    #[error("route pattern `{pattern}`: {reason}")]
    BadPattern {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}
