//! `RouteGuard`: the manifest's routes (DESIGN §2.1) applied to the
//! request's path, as the browser's route guard applies them.

use std::sync::Arc;

use tessera_core::GuardResult;

use super::Authority;
use super::gate::{GateLayer, Verdict};

/// Builds a layer that applies the manifest's routes to every request
/// path: a route whose predicate holds passes, one that does not
/// redirects (`303`) to its fallback, a bound path hidden from the
/// principal is `404`. A path no route matches passes untouched (the
/// routes describe pages, not every endpoint).
#[derive(Debug, Clone, Copy)]
pub struct RouteGuard;

impl RouteGuard {
    /// The layer.
    pub fn layer(authority: Arc<Authority>) -> GateLayer {
        GateLayer::new(
            authority,
            Arc::new(|snapshot, parts| match snapshot.guard(parts.uri.path()) {
                GuardResult::Allow | GuardResult::NoRoute => Verdict::Pass,
                GuardResult::Redirect { fallback } => Verdict::Redirect(fallback),
                GuardResult::NotFound => Verdict::NotFound,
            }),
        )
    }
}
