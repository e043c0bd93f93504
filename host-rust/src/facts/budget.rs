//! How much of the store the loader keeps in memory, over every org: about
//! 200 bytes a row (nodes, groups, nesting edges, role permissions, hidden
//! entries, caps, and the group assignments builds read).

/// Rows every kept structure may hold together; least recently used
/// structures are evicted past it ([`super::cache`]).
pub(super) const ROWS: usize = 2_000_000;

/// Group assignments one org keeps, kept after its structure is: a quarter
/// of [`ROWS`], so one org's groups cannot crowd the others out
/// ([`super::grants`]).
pub(super) const GROUP_ROWS: usize = ROWS / 4;
