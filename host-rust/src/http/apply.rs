//! `POST /v1/orgs/{org}/apply` (docs/documents.md §9.3): the plan that
//! makes an org what a document says, and its application in one
//! transaction; a dry run runs it held, as a preview does, for its refusal
//! or the decisions it changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::auth::AdminCaller;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, PathArgs};
use super::preview::preview_run;
use crate::admin::{ApplyError, Plan, PlanStep, holding, read_document};
use crate::clock::unix_now;

/// The body of `POST …/apply`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApplyBody {
    /// A `tessera.org/1` document of this org.
    #[schema(value_type = Object)]
    document: Value,
    /// Only plan (the default), or apply.
    #[serde(default = "plan_only")]
    dry_run: bool,
}

fn plan_only() -> bool {
    true
}

/// How many steps of one kind create, update and delete.
#[derive(Debug, Default, Serialize, ToSchema)]
pub(crate) struct Counts {
    create: usize,
    update: usize,
    delete: usize,
}

/// The answer of `POST …/apply`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Applied {
    /// The steps, in the order they run (ran).
    plan: Vec<PlanStep>,
    /// The steps counted per kind.
    counts: BTreeMap<&'static str, Counts>,
    /// How many principals' decisions the plan changes (a dry run of an
    /// org that exists; else null).
    principals_affected: Option<u64>,
    /// Whether the plan was applied (`dry_run: false` and a plan that is
    /// not empty).
    applied: bool,
    /// The org's revision after (0 for an org a dry run would create).
    revision: u64,
}

/// An apply's refusal as the API answers it: the single write's code,
/// status and details, and `details.pointer` into the document.
fn refusal(err: ApplyError) -> ApiError {
    let mut error = ApiError::from(err.error);
    if let (Some(pointer), Some(details)) = (err.pointer, error.details.as_object_mut()) {
        details.insert("pointer".to_owned(), Value::String(pointer));
    }
    error
}

/// The plan that makes the org what `document` says; with `dry_run:
/// false`, applied in one transaction (every single write's checks, one
/// audit row per step and one for the apply, one revision bump), or
/// nothing written and the first refusal answered with its pointer.
#[utoipa::path(post, path = "/v1/orgs/{org}/apply", tag = "model", request_body = ApplyBody,
    params(("org" = String, Path, description = "org id")),
    responses((status = 200, body = Applied), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn apply(
    State(state): State<Arc<AppState>>,
    caller: AdminCaller,
    PathArgs(org): PathArgs<String>,
    JsonBody(body): JsonBody<ApplyBody>,
) -> Result<Response, ApiError> {
    let document = read_document(&body.document).map_err(refusal)?;
    if !body.dry_run {
        let plan = state
            .admin
            .apply(&caller.actor, &org, &document, unix_now())
            .await
            .map_err(refusal)?;
        // What the model routes' middleware does after a write: forget the
        // revisions it bumped (every org's, when a user's flags changed).
        let users = plan.steps().iter().any(|step| step.kind == "user");
        state
            .authority
            .forget(if users { None } else { Some(&org) });
        let revision = state.authority.revision(&org).await?;
        return Ok(axum::Json(answer(&plan, None, !plan.is_empty(), revision)).into_response());
    }
    let (plan, exists) = state
        .admin
        .plan(&caller.actor, &org, &document)
        .await
        .map_err(refusal)?;
    if !exists {
        return Ok(axum::Json(answer(&plan, None, false, 0)).into_response());
    }
    let mut affected = Some(0);
    if !plan.is_empty() {
        // The same apply, its transaction held instead of committed: its
        // refusal, or the decisions it changes.
        let now = unix_now();
        let held = preview_run(&state, &caller, &org, |held| async {
            holding(held, state.admin.apply(&caller.actor, &org, &document, now))
                .await
                .map_err(refusal)?;
            Ok(StatusCode::OK.into_response())
        })
        .await;
        affected = match held {
            Ok(Ok(preview)) => u64::try_from(preview.principals_affected).ok(),
            Ok(Err(refused)) => return Ok(refused),
            // More principals than a preview compares: the plan still holds.
            Err(error)
                if error.details.get("quota") == Some(&Value::from("preview_principals")) =>
            {
                None
            }
            Err(error) => return Err(error),
        };
    }
    let revision = state.authority.revision(&org).await?;
    Ok(axum::Json(answer(&plan, affected, false, revision)).into_response())
}

fn answer(plan: &Plan, principals_affected: Option<u64>, applied: bool, revision: u64) -> Applied {
    let steps = plan.steps();
    let mut counts: BTreeMap<&'static str, Counts> = BTreeMap::new();
    for step in &steps {
        let count = counts.entry(step.kind).or_default();
        match step.op {
            "create" => count.create += 1,
            "update" => count.update += 1,
            _ => count.delete += 1,
        }
    }
    Applied {
        plan: steps,
        counts,
        principals_affected,
        applied,
        revision,
    }
}
