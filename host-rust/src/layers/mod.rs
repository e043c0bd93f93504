//! Tower layers for apps that embed the host library in their own axum
//! service: [`RequirePermission`] guards a route with one permission at a
//! path taken from the request, [`RouteGuard`] applies the manifest's
//! routes (docs/decisions.md §2.1), and [`Relay`] serves the app's pages
//! their user's snapshot, the keys and the revision events. All answer from the same [`Authority`] the HTTP
//! API uses, so an embedded check and `POST /v1/check` cannot disagree.
//!
//! The app's authentication puts a [`Principal`] into the request's
//! extensions first; a request without one is `401 UNAUTHENTICATED`. Any
//! failure to answer denies (fail closed).

mod gate;
mod relay;
mod require;
mod route;

pub use gate::{Gate, GateLayer, Principal};
pub use relay::Relay;
pub use require::RequirePermission;
pub use route::RouteGuard;

use crate::authority::Authority;
