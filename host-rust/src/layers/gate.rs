//! The service both layers share: find the request's principal, get its
//! compiled snapshot, let a rule decide, then pass the request on or
//! answer in the API's error shape.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tessera_core::ErrorCode;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tessera_core::Snapshot;
use tower::{Layer, Service};

use super::Authority;
use crate::authority::Asking;
use crate::http::ApiError;

/// Who a request is for: set by the app's authentication as a request
/// extension before the layers run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The org (tenant) the request acts in.
    pub org: String,
    /// The user id, or `anonymous`.
    pub user: String,
}

/// What a rule decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Pass the request on.
    Pass,
    /// `403 FORBIDDEN`, with the decision in `details`.
    Forbidden(serde_json::Value),
    /// `404 NOT_FOUND` (the thing is hidden from the principal, or the path
    /// names nothing the manifest describes).
    NotFound,
}

/// A rule: the verdict for a request, given the principal's snapshot.
pub(crate) type Rule = Arc<dyn Fn(&Snapshot, &Parts) -> Verdict + Send + Sync>;

/// The layer behind [`super::RequirePermission`] and [`super::RouteGuard`].
#[derive(Clone)]
pub struct GateLayer {
    authority: Arc<Authority>,
    rule: Rule,
}

impl std::fmt::Debug for GateLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateLayer").finish_non_exhaustive()
    }
}

impl GateLayer {
    pub(crate) fn new(authority: Arc<Authority>, rule: Rule) -> Self {
        GateLayer { authority, rule }
    }
}

impl<S> Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gate {
            inner,
            authority: Arc::clone(&self.authority),
            rule: Arc::clone(&self.rule),
        }
    }
}

/// The service a [`GateLayer`] wraps around a route.
#[derive(Clone)]
pub struct Gate<S> {
    inner: S,
    authority: Arc<Authority>,
    rule: Rule,
}

impl<S> std::fmt::Debug for Gate<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").finish_non_exhaustive()
    }
}

impl Verdict {
    fn into_response(self) -> Response {
        match self {
            Verdict::Pass => StatusCode::NO_CONTENT.into_response(),
            Verdict::Forbidden(details) => ApiError::new(ErrorCode::Forbidden, "permission denied")
                .with_details(details)
                .into_response(),
            Verdict::NotFound => ApiError::not_found("not found").into_response(),
        }
    }
}

/// Decides a request: the verdict, or the response that refuses it.
async fn decide(authority: &Authority, rule: &Rule, parts: &Parts) -> Result<Verdict, Response> {
    let Some(principal) = parts.extensions.get::<Principal>() else {
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "no principal: authenticate the request before the permission layer",
        )
        .into_response());
    };
    let asking = Asking {
        org: &principal.org,
        principal: &principal.user,
        token_scopes: None,
        under: None,
        min_revision: None,
    };
    match authority.snapshot(&asking).await {
        Ok((snapshot, _)) => Ok(rule(&snapshot, parts)),
        Err(err) => Err(ApiError::from(err).into_response()),
    }
}

impl<S> Service<Request> for Gate<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was polled ready serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authority = Arc::clone(&self.authority);
        let rule = Arc::clone(&self.rule);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            match decide(&authority, &rule, &parts).await {
                Ok(Verdict::Pass) => inner.call(Request::from_parts(parts, body)).await,
                Ok(verdict) => Ok(verdict.into_response()),
                Err(response) => Ok(response),
            }
        })
    }
}

/// The decision of a denied check, as `details`.
pub(crate) fn denied_details(decision: &tessera_core::Decision) -> serde_json::Value {
    json!({ "decision": decision.decision, "diagnostic": decision.diagnostic })
}
