//! The model endpoints of docs/http.md §6: thin handlers over [`crate::Admin`].
//!
//! Every one takes an admin token ([`AdminCaller`](super::auth::AdminCaller)),
//! reads included, and acts for the `Tessera-Actor` user (or the trusted
//! backend without one). After a successful write, [`after_write`] makes
//! this server forget the revisions it remembers for the orgs the write
//! may have bumped, so its next answer asks the store (read-your-writes).

mod assignments;
mod audit;
mod documents;
mod groups;
mod nodes;
mod orgs;
mod policy;
mod roles;
mod settings;
mod users;

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use tessera_core::ModelError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;

/// Every model route, one `routes!` per path, behind [`after_write`].
pub(crate) fn routes(state: &Arc<AppState>) -> OpenApiRouter<Arc<AppState>> {
    handlers().layer(middleware::from_fn_with_state(
        Arc::clone(state),
        after_write,
    ))
}

/// The org a write under `/v1/orgs/{org}/…` touched; `None` for writes
/// that may bump every org (users, creating or deleting an org).
fn written_org(path: &str) -> Option<&str> {
    let mut segments = path.split('/').skip(1);
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some("v1"), Some("orgs"), Some(org), Some(_)) => Some(org),
        _ => None,
    }
}

/// Middleware: once a write succeeded, forget what this server knows of
/// the revisions it bumped (one place for every handler, so a new write
/// endpoint cannot forget to), and answer the org's revision after it in
/// `Tessera-Revision`: the `min_revision` that reads the write.
async fn after_write(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let write = request.method() != Method::GET;
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if write && response.status().is_success() {
        let org = written_org(&path);
        state.authority.forget(org);
        if let Some(org) = org
            && let Ok(revision) = state.authority.revision(org).await
        {
            response
                .headers_mut()
                .insert("tessera-revision", HeaderValue::from(revision));
        }
    }
    response
}

/// Every model route without [`after_write`]: what a preview runs its
/// write on, since a held write commits nothing to forget or announce.
pub(crate) fn handlers() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(orgs::create_org))
        .routes(routes!(orgs::rename_org, orgs::delete_org))
        .routes(routes!(users::put_user))
        .routes(routes!(users::search_members))
        .routes(routes!(users::put_member, users::delete_member))
        .routes(routes!(groups::list_groups, groups::create_group))
        .routes(routes!(groups::update_group, groups::delete_group))
        .routes(routes!(
            groups::put_group_member,
            groups::delete_group_member
        ))
        .routes(routes!(roles::list_roles, roles::create_role))
        .routes(routes!(roles::update_role, roles::delete_role))
        .routes(routes!(nodes::list_nodes))
        .routes(routes!(nodes::put_node, nodes::delete_node))
        .routes(routes!(
            assignments::list_assignments,
            assignments::create_assignment
        ))
        .routes(routes!(assignments::delete_assignment))
        .routes(routes!(policy::list_hidden, policy::create_hidden))
        .routes(routes!(policy::delete_hidden))
        .routes(routes!(policy::list_caps, policy::create_cap))
        .routes(routes!(policy::delete_cap))
        .routes(routes!(settings::get_settings, settings::put_settings))
        .routes(routes!(audit::audit))
        .routes(routes!(documents::export))
}

/// Parses the text form of a subject, selector, group member or node key;
/// a malformed one is a `BAD_REQUEST` naming it.
fn parse<T: FromStr<Err = ModelError>>(text: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|err: ModelError| ApiError::bad_request(err.to_string()))
}

/// [`parse`] for an optional value (`null`: none).
fn parse_opt<T: FromStr<Err = ModelError>>(text: Option<&str>) -> Result<Option<T>, ApiError> {
    text.map(parse).transpose()
}
