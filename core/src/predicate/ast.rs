//! The predicate tree.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A route predicate. Keys and types are kept as text: the manifest has
/// checked them against the catalog, and evaluation looks them up in the
/// snapshot it runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Predicate {
    /// `key`: `can_anywhere(key)`, plain grants only.
    Can(String),
    /// `key@type:{param}/…`: `check(key, path)` at a path bound from the route.
    CanAt(String, Vec<PathStep>),
    /// `any(p, …)`.
    Any(Vec<Predicate>),
    /// `all(p, …)`.
    All(Vec<Predicate>),
    /// `not(p)`.
    Not(Box<Predicate>),
    /// `superuser`: a superuser without token scopes.
    Superuser,
    /// `authenticated`: a signed-in user.
    Authenticated,
    /// `group(name)`: `groups.<name>` is among the claims.
    Group(String),
}

/// One node of a bound path: a type and where its id comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStep {
    /// The node type.
    pub ty: String,
    /// The id: a route parameter or a literal.
    pub id: IdSource,
}

/// Where a bound path's node id comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdSource {
    /// `{param}`: the value of a route parameter.
    Param(String),
    /// A literal id.
    Literal(String),
}

impl Predicate {
    /// Every permission key the predicate names, in order of appearance.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys = Vec::new();
        self.visit(&mut |predicate| {
            if let Predicate::Can(key) | Predicate::CanAt(key, _) = predicate {
                keys.push(key.as_str());
            }
        });
        keys
    }

    /// Every bound path the predicate names.
    pub fn paths(&self) -> Vec<&[PathStep]> {
        let mut paths = Vec::new();
        self.visit(&mut |predicate| {
            if let Predicate::CanAt(_, path) = predicate {
                paths.push(path.as_slice());
            }
        });
        paths
    }

    fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a Predicate)) {
        f(self);
        match self {
            Predicate::Any(items) | Predicate::All(items) => {
                for item in items {
                    item.visit(f);
                }
            }
            Predicate::Not(inner) => inner.visit(f),
            _ => {}
        }
    }
}

/// The canonical text form; parsing it gives the same predicate back.
impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, name: &str, items: &[Predicate]| {
            write!(f, "{name}(")?;
            for (at, item) in items.iter().enumerate() {
                if at > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            f.write_str(")")
        };
        match self {
            Predicate::Can(key) => f.write_str(key),
            Predicate::CanAt(key, path) => {
                write!(f, "{key}@")?;
                for (at, step) in path.iter().enumerate() {
                    if at > 0 {
                        f.write_str("/")?;
                    }
                    match &step.id {
                        IdSource::Param(param) => write!(f, "{}:{{{param}}}", step.ty)?,
                        IdSource::Literal(id) => write!(f, "{}:{id}", step.ty)?,
                    }
                }
                Ok(())
            }
            Predicate::Any(items) => list(f, "any", items),
            Predicate::All(items) => list(f, "all", items),
            Predicate::Not(inner) => write!(f, "not({inner})"),
            Predicate::Superuser => f.write_str("superuser"),
            Predicate::Authenticated => f.write_str("authenticated"),
            Predicate::Group(name) => write!(f, "group({name})"),
        }
    }
}
