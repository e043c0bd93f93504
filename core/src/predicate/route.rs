//! Route patterns (`/sites/:site/racks`) and matching a concrete route path
//! against them with docs/decisions.md §2.1's precedence.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::PredicateError;
use crate::model::is_valid_node_id;

/// A parsed route pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePattern {
    /// The pattern as written, without a trailing slash.
    pub path: String,
    /// Its segments.
    pub segments: Vec<Segment>,
}

/// One segment of a route pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Segment {
    /// Matches itself.
    Static(String),
    /// `:name`: matches any one segment and binds it.
    Param(String),
}

fn is_static_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-')
}

fn is_param_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Splits a concrete route path into segments. It must start with `/`;
/// trailing slashes and any query or fragment are ignored; an empty inner
/// segment (`/sites//7`) matches nothing.
pub(crate) fn split_route(route: &str) -> Option<Vec<&str>> {
    let end = route.find(['?', '#']).unwrap_or(route.len());
    let body = route.get(..end)?.strip_prefix('/')?.trim_end_matches('/');
    if body.is_empty() {
        return Some(Vec::new());
    }
    let segments: Vec<&str> = body.split('/').collect();
    segments
        .iter()
        .all(|segment| !segment.is_empty())
        .then_some(segments)
}

/// A parameter's value, percent-decoded once: routes arrive as a
/// browser's `location.pathname` or a server's raw request path, both
/// encoded, and the app's router decodes its parameters the same way. A
/// value whose escapes are malformed, that decodes to invalid UTF-8 or that
/// decodes to a `/` is `None`: it can name no node.
fn decode_segment(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        if byte == b'%' {
            let high = bytes.get(at + 1).copied().and_then(hex_value)?;
            let low = bytes.get(at + 2).copied().and_then(hex_value)?;
            out.push(high << 4 | low);
            at += 3;
        } else {
            out.push(byte);
            at += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (!text.contains('/')).then_some(text)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl RoutePattern {
    /// Parses `/a/:b/c`; a pattern must start with `/`.
    pub fn parse(pattern: &str) -> Result<Self, PredicateError> {
        let bad = |reason| PredicateError::BadPattern {
            pattern: pattern.to_owned(),
            reason,
        };
        let body = pattern
            .strip_prefix('/')
            .ok_or_else(|| bad("must start with `/`"))?;
        let body = body.trim_end_matches('/');
        let mut segments = Vec::new();
        if !body.is_empty() {
            for segment in body.split('/') {
                segments.push(match segment.strip_prefix(':') {
                    Some(name) if is_param_name(name) => {
                        if segments.contains(&Segment::Param(name.to_owned())) {
                            return Err(bad("repeats a parameter"));
                        }
                        Segment::Param(name.to_owned())
                    }
                    Some(_) => return Err(bad("has a parameter without a valid name")),
                    None if !segment.is_empty() && segment.bytes().all(is_static_byte) => {
                        Segment::Static(segment.to_owned())
                    }
                    None => return Err(bad("has an empty or invalid segment")),
                });
            }
        }
        Ok(RoutePattern {
            path: format!("/{body}"),
            segments,
        })
    }

    /// Whether the pattern has no parameters (a nav item or a fallback).
    pub fn is_static(&self) -> bool {
        self.segments
            .iter()
            .all(|segment| matches!(segment, Segment::Static(_)))
    }

    /// The parameter names, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Param(name) => Some(name.as_str()),
            Segment::Static(_) => None,
        })
    }

    /// Whether the route's raw segments fit this pattern: same count,
    /// static segments equal as received (routers match them undecoded, so
    /// `/sites/%6Eew` is not the page `/sites/new` for the app either),
    /// anything in a parameter's place (checked by [`RoutePattern::bind`],
    /// so a malformed value is found, not skipped).
    pub(crate) fn matches(&self, segments: &[&str]) -> bool {
        self.segments.len() == segments.len()
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(pattern, segment)| match pattern {
                    Segment::Static(text) => text == segment,
                    Segment::Param(_) => true,
                })
    }

    /// Binds parameters to their values, percent-decoded once as the app's
    /// router decodes them; `None` when a value is not a node id.
    pub(crate) fn bind<'a>(&'a self, segments: &[&str]) -> Option<Vec<(&'a str, String)>> {
        let mut bound = Vec::new();
        for (pattern, raw) in self.segments.iter().zip(segments) {
            if let Segment::Param(name) = pattern {
                let value = decode_segment(raw).filter(|value| is_valid_node_id(value))?;
                bound.push((name.as_str(), value));
            }
        }
        Some(bound)
    }

    /// Precedence between two patterns that match the same route: at the
    /// first segment where they differ, a static segment comes first.
    pub(crate) fn precedence(&self, other: &RoutePattern) -> Ordering {
        for (mine, theirs) in self.segments.iter().zip(&other.segments) {
            match (mine, theirs) {
                (Segment::Static(_), Segment::Param(_)) => return Ordering::Less,
                (Segment::Param(_), Segment::Static(_)) => return Ordering::Greater,
                _ => {}
            }
        }
        Ordering::Equal
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn patterns_parse() {
        let pattern = RoutePattern::parse("/sites/:site/racks/").unwrap();
        assert_eq!(pattern.path, "/sites/:site/racks");
        assert_eq!(pattern.params().collect::<Vec<_>>(), vec!["site"]);
        assert!(RoutePattern::parse("/").unwrap().is_static());
        for bad in ["sites", "/a//b", "/:", "/:x/:x", "/a b", "/:Site"] {
            assert!(RoutePattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn static_beats_param_at_first_difference() {
        let fixed = RoutePattern::parse("/sites/new").unwrap();
        let param = RoutePattern::parse("/sites/:site").unwrap();
        assert_eq!(fixed.precedence(&param), Ordering::Less);
        let route = split_route("/sites/new/?tab=1").unwrap();
        assert_eq!(split_route("sites/new"), None);
        assert_eq!(split_route("/sites//new"), None);
        assert_eq!(split_route("/"), Some(vec![]));
        assert!(fixed.matches(&route) && param.matches(&route));
        assert_eq!(param.bind(&["sites", "a%20b"]), None);
        assert_eq!(
            param.bind(&["sites", "%31"]),
            Some(vec![("site", "1".to_owned())])
        );
        assert!(
            !fixed.matches(&["sites", "%6Eew"]),
            "statics match undecoded"
        );
    }

    #[test]
    fn segments_decode_once() {
        assert_eq!(decode_segment("%31").as_deref(), Some("1"));
        assert_eq!(decode_segment("%2531").as_deref(), Some("%31"));
        assert_eq!(decode_segment("caf%C3%A9").as_deref(), Some("café"));
        for bad in ["%", "%2", "%zz", "a%2Fb", "%FF"] {
            assert_eq!(decode_segment(bad), None, "{bad}");
        }
    }
}
