//! Queries on an opened snapshot (docs/decisions.md §2): `check` and everything derived
//! from the same rules. Every answer is a serde type defined here, so every
//! runtime returns the same JSON.

mod answer;
mod check;
mod claims;
mod explain;
mod filter;
mod guard;
mod path;
mod snapshot;
mod sql;

pub use answer::{CheckRequest, Decision, Diagnostic, Effect, GuardResult};
pub use explain::{ExplainAssignment, ExplainCap, Explanation};
pub use filter::{FilterItem, FilterPlan, PlanMatcher, PlanRule, Rule};
pub use path::path_text_segments;
pub use snapshot::Snapshot;
pub use sql::{Dialect, SqlError, SqlFilter, plan_sql};
