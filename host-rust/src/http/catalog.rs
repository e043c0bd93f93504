//! The manifest's permission catalog (docs/http.md §6.4), for role
//! editors: each key with what it requires and what requires it, both
//! transitive and computed by the core, so an editor that ticks and unticks
//! along them saves sets the host accepts (closed under `requires`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::auth::AdminCaller;
use super::error::{ApiError, ErrorBody};

/// One catalog key.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CatalogKey {
    /// `resource:action`.
    key: String,
    /// The manifest's description, or null.
    description: Option<String>,
    /// Every key this one requires, directly or not, in catalog order.
    requires: Vec<String>,
    /// Every key that requires this one, directly or not, in catalog order.
    required_by: Vec<String>,
}

/// The answer of `GET /v1/catalog`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CatalogAnswer {
    /// The keys in catalog order (deprecated keys are not in it).
    catalog: Vec<CatalogKey>,
}

/// The permission catalog, the same for every org. Any admin token or
/// console session; a bound one too (the manifest is no org's data).
#[utoipa::path(get, path = "/v1/catalog", tag = "model",
    responses((status = 200, body = CatalogAnswer), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(crate) async fn catalog(
    State(state): State<Arc<AppState>>,
    _caller: AdminCaller,
) -> Result<Json<CatalogAnswer>, ApiError> {
    let manifest = &state.admin.manifest;
    let catalog = &manifest.catalog;
    let keys = (0..catalog.len())
        .map(|index| CatalogKey {
            key: catalog.key(index).to_owned(),
            description: manifest.descriptions.get(index).cloned().flatten(),
            requires: catalog.keys(&catalog.requirements_of(index)),
            required_by: catalog.keys(&catalog.dependents_of(index)),
        })
        .collect();
    Ok(Json(CatalogAnswer { catalog: keys }))
}
