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
///
/// The path is percent-decoded segment by segment first, as the app's
/// router decodes its parameters (`/sites/%31/racks` is site 1's page); a
/// segment that decodes to something with a `/` or to invalid UTF-8 can
/// name no node, and is refused with `404`.
#[derive(Debug, Clone, Copy)]
pub struct RouteGuard;

impl RouteGuard {
    /// The layer.
    pub fn layer(authority: Arc<Authority>) -> GateLayer {
        GateLayer::new(
            authority,
            Arc::new(|snapshot, parts| {
                let Some(path) = decoded_path(parts.uri.path()) else {
                    return Verdict::NotFound;
                };
                match snapshot.guard(&path) {
                    GuardResult::Allow | GuardResult::NoRoute => Verdict::Pass,
                    GuardResult::Redirect { fallback } => Verdict::Redirect(fallback),
                    GuardResult::NotFound => Verdict::NotFound,
                }
            }),
        )
    }
}

/// The path with each segment percent-decoded; `None` when a segment
/// decodes to invalid UTF-8 or contains a `/`.
fn decoded_path(raw: &str) -> Option<String> {
    let segments: Option<Vec<String>> = raw
        .split('/')
        .map(|segment| {
            let decoded = percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .ok()?;
            (!decoded.contains('/')).then(|| decoded.into_owned())
        })
        .collect();
    segments.map(|segments| segments.join("/"))
}
