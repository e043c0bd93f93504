//! The model endpoints of DESIGN §6: thin handlers over [`crate::Admin`].
//!
//! Every one takes an admin token ([`AdminCaller`](super::auth::AdminCaller)),
//! reads included, and acts for the `Tessera-Actor` user (or the trusted
//! backend without one). A successful write forgets the revision this
//! server remembers for the orgs it bumped, so its next answer sees it.

mod assignments;
mod audit;
mod groups;
mod nodes;
mod orgs;
mod policy;
mod roles;
mod settings;
mod users;

use std::str::FromStr;
use std::sync::Arc;

use tessera_core::ModelError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;

/// Every model route, one `routes!` per path.
pub(crate) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(orgs::create_org))
        .routes(routes!(orgs::rename_org, orgs::delete_org))
        .routes(routes!(users::put_user))
        .routes(routes!(users::put_member, users::delete_member))
        .routes(routes!(groups::list_groups, groups::create_group))
        .routes(routes!(groups::update_group, groups::delete_group))
        .routes(routes!(
            groups::put_group_member,
            groups::delete_group_member
        ))
        .routes(routes!(roles::list_roles, roles::create_role))
        .routes(routes!(roles::update_role, roles::delete_role))
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
        .routes(routes!(settings::put_settings))
        .routes(routes!(audit::audit))
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
