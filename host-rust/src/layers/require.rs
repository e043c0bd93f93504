//! `RequirePermission`: one permission, at a path the app derives from
//! the request (usually its path parameters).

use std::sync::Arc;

use axum::http::request::Parts;
use tessera_core::Effect;

use super::Authority;
use super::gate::{GateLayer, Verdict, denied_details};

/// Builds a layer that lets a request through only when its
/// [`super::Principal`] holds `permission` at the path `path(parts)`
/// returns (`["site:7", "rack:3"]`; empty for the org itself). A deny is
/// `403 FORBIDDEN`, a thing hidden from the principal `404 NOT_FOUND`.
#[derive(Debug, Clone, Copy)]
pub struct RequirePermission;

impl RequirePermission {
    /// A layer requiring `permission` at the org root.
    pub fn at_org(authority: Arc<Authority>, permission: &str) -> GateLayer {
        RequirePermission::at(authority, permission, |_| Vec::new())
    }

    /// A layer requiring `permission` at the path `path` derives.
    pub fn at<F>(authority: Arc<Authority>, permission: &str, path: F) -> GateLayer
    where
        F: Fn(&Parts) -> Vec<String> + Send + Sync + 'static,
    {
        RequirePermission::owned(authority, permission, path, |_| None)
    }

    /// A layer requiring `permission` at the path `path` derives, on a
    /// thing `owner` says who owns (a user id, looked up in the app's
    /// data), so owner-only grants apply.
    pub fn owned<F, O>(authority: Arc<Authority>, permission: &str, path: F, owner: O) -> GateLayer
    where
        F: Fn(&Parts) -> Vec<String> + Send + Sync + 'static,
        O: Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    {
        let permission = permission.to_owned();
        GateLayer::new(
            authority,
            Arc::new(move |snapshot, parts| {
                let owner = owner(parts);
                let decision = snapshot.check(&permission, &path(parts), owner.as_deref());
                match decision.decision {
                    Effect::Allow => Verdict::Pass,
                    Effect::NotFound => Verdict::NotFound,
                    Effect::Deny => Verdict::Forbidden(denied_details(&decision)),
                }
            }),
        )
    }
}
