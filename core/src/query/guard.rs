//! `guard(route)` and `nav()`: the manifest's routes evaluated with the same
//! predicate the host's middleware uses (docs/decisions.md §2.1).

use super::check::Reached;
use super::path::segments;
use super::{GuardResult, Snapshot};
use crate::manifest::Route;
use crate::predicate::route::split_route;
use crate::predicate::{IdSource, PathStep, Predicate};

impl Snapshot {
    /// The guard decision for a concrete route path such as `/sites/7/racks`,
    /// as the browser or the server received it (percent-encoded).
    pub fn guard(&self, route: &str) -> GuardResult {
        let Some(route_segments) = split_route(route) else {
            return GuardResult::NoRoute;
        };
        let Some(found) = self
            .routes
            .iter()
            .filter(|candidate| candidate.pattern.matches(&route_segments))
            .min_by(|a, b| a.pattern.precedence(&b.pattern))
        else {
            return GuardResult::NoRoute;
        };
        // A pattern matches but a parameter names no node: the page the
        // route stands for cannot exist, and it must never pass unguarded.
        let Some(bound) = found.pattern.bind(&route_segments) else {
            return GuardResult::NotFound;
        };
        let params: Vec<(&str, &str)> = bound
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        let redirect = || GuardResult::Redirect {
            fallback: found.fallback.clone(),
        };
        let principal = &self.payload.header.principal;
        if !principal.active {
            return redirect();
        }
        let hidden = found.when.paths().into_iter().any(|steps| {
            let path = bind_path(steps, &params);
            matches!(self.reach(segments(&path)), Reached::Hidden(_))
        });
        if hidden {
            return GuardResult::NotFound;
        }
        if self.holds(&found.when, &params) {
            GuardResult::Allow
        } else {
            redirect()
        }
    }

    /// The parameter-free routes whose predicate holds, in manifest order.
    pub fn nav(&self) -> Vec<String> {
        self.routes
            .iter()
            .filter(|route| route.pattern.is_static() && self.holds(&route.when, &[]))
            .map(|route: &Route| route.pattern.path.clone())
            .collect()
    }

    /// Evaluates a predicate with the route's bound parameters.
    pub(crate) fn holds(&self, predicate: &Predicate, params: &[(&str, &str)]) -> bool {
        let principal = &self.payload.header.principal;
        if !principal.active {
            return false;
        }
        match predicate {
            Predicate::Can(key) => self.can_anywhere(key),
            Predicate::CanAt(key, steps) => {
                self.check(key, &bind_path(steps, params), None).is_allow()
            }
            Predicate::Any(items) => items.iter().any(|item| self.holds(item, params)),
            Predicate::All(items) => items.iter().all(|item| self.holds(item, params)),
            Predicate::Not(inner) => !self.holds(inner, params),
            Predicate::Superuser => self.is_superuser(),
            Predicate::Authenticated => !principal.anonymous,
            Predicate::Group(name) => self.has_group_claim(name),
        }
    }
}

/// `type:id` strings for a bound path; a parameter the route lacks binds to
/// an empty id, which no path accepts.
fn bind_path(steps: &[PathStep], params: &[(&str, &str)]) -> Vec<String> {
    steps
        .iter()
        .map(|step| {
            let id = match &step.id {
                IdSource::Literal(id) => id.as_str(),
                IdSource::Param(name) => params
                    .iter()
                    .find(|(param, _)| param == name)
                    .map_or("", |(_, value)| *value),
            };
            format!("{}:{id}", step.ty)
        })
        .collect()
}
