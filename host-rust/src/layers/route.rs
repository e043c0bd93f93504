//! `RouteGuard`: the manifest's routes (docs/decisions.md §2.1) applied to the
//! request's path, as the browser's route guard applies them.

use std::sync::Arc;

use serde_json::json;
use tessera_core::GuardResult;

use super::Authority;
use super::gate::{GateLayer, Verdict};

/// Builds a layer that applies the manifest's routes to the request's
/// path (as received, percent-encoded: core decodes each segment once).
/// Every [`GuardResult`] has one answer, the same as the Express
/// `routeGuard`'s (`docs/routes.md`):
///
/// | guard | answer |
/// |---|---|
/// | `allow` | the request passes |
/// | `redirect` | `403 FORBIDDEN`, `details.fallback` names the page to show |
/// | `not_found` (hidden, or a parameter that is no node id) | `404 NOT_FOUND` |
/// | `no_route` (no pattern matches) | `404 NOT_FOUND` |
///
/// A path no route describes is refused, so mount the layer on the page
/// routes the manifest describes (`Router::route_layer`), not on the API.
#[derive(Debug, Clone, Copy)]
pub struct RouteGuard;

impl RouteGuard {
    /// The layer.
    pub fn layer(authority: Arc<Authority>) -> GateLayer {
        GateLayer::new(
            authority,
            Arc::new(|snapshot, parts| match snapshot.guard(parts.uri.path()) {
                GuardResult::Allow => Verdict::Pass,
                GuardResult::Redirect { fallback } => {
                    Verdict::Forbidden(json!({ "fallback": fallback }))
                }
                GuardResult::NotFound | GuardResult::NoRoute => Verdict::NotFound,
            }),
        )
    }
}
