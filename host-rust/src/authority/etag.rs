//! Entity tags of exported snapshots (docs/http.md §6.3): a tag names the
//! question (org, principal, token scopes, subtree roots), the signing key,
//! what the snapshot takes from the manifest (catalog, types, routes,
//! format version: a deploy may change them without raising a revision),
//! the revision the copy was built at and when it expires. A client that
//! sends it back in `If-None-Match` gets `304 Not Modified` while no write
//! since that revision can have changed its snapshot, the key still signs,
//! and the copy has at least half a lifetime left.

use std::fmt;

use sha2::{Digest, Sha256};
use tessera_core::{FORMAT_VERSION, Manifest, Route};

use super::{Asking, scope_set};

/// The parts of a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tag {
    /// The org revision the copy was built at.
    pub(super) revision: u64,
    /// When the copy expires (unix seconds).
    pub(super) expires_at: i64,
    /// The question and the key, hashed (16 hex digits).
    hash: String,
}

impl Tag {
    /// The tag of a copy built for `asking` from the manifest `print`
    /// names ([`manifest_print`]), signed with `kid`.
    pub(super) fn new(
        asking: &Asking<'_>,
        print: &str,
        kid: &str,
        revision: u64,
        expires_at: i64,
    ) -> Tag {
        Tag {
            revision,
            expires_at,
            hash: question_hash(asking, print, kid),
        }
    }

    /// The first tag of ours in an `If-None-Match` list.
    pub(super) fn parse_list(header: &str) -> Option<Tag> {
        header.split(',').find_map(|item| Tag::parse(item.trim()))
    }

    fn parse(text: &str) -> Option<Tag> {
        let inner = text.strip_prefix("W/\"")?.strip_suffix('"')?;
        let mut parts = inner.split('-');
        let tag = Tag {
            revision: parts.next()?.parse().ok()?,
            expires_at: parts.next()?.parse().ok()?,
            hash: parts.next()?.to_owned(),
        };
        let hex = tag.hash.len() == 16 && tag.hash.bytes().all(|b| b.is_ascii_hexdigit());
        (hex && parts.next().is_none()).then_some(tag)
    }

    /// Whether it names this question, asked of the manifest `print`
    /// names, signed with `kid`.
    pub(super) fn names(&self, asking: &Asking<'_>, print: &str, kid: &str) -> bool {
        self.hash == question_hash(asking, print, kid)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "W/\"{}-{}-{}\"",
            self.revision, self.expires_at, self.hash
        )
    }
}

/// What a snapshot takes from `manifest`, as 16 hex digits.
pub(super) fn manifest_print(manifest: &Manifest) -> String {
    let routes: Vec<_> = manifest.routes.iter().map(Route::source).collect();
    let parts = (
        FORMAT_VERSION,
        manifest.catalog.entries(),
        manifest.types.entries(),
        routes,
    );
    let text = serde_json::to_string(&parts).unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    crate::ids::hex(digest.get(..8).unwrap_or_default())
}

/// The question, manifest and key as 16 hex digits: token scopes as a set
/// (as the cache keys them), each part length-prefixed so no two
/// questions share an encoding.
fn question_hash(asking: &Asking<'_>, print: &str, kid: &str) -> String {
    let mut hasher = Sha256::new();
    let mut part = |text: &str| {
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    };
    part(asking.org);
    part(asking.principal);
    part(print);
    part(kid);
    match asking.token_scopes {
        None => part("-"),
        Some(scopes) => {
            part("+");
            for scope in scope_set(scopes) {
                part(&scope);
            }
        }
    }
    match asking.under {
        None => part("-"),
        Some(roots) => {
            part("+");
            for root in roots {
                part(&root.to_string());
            }
        }
    }
    let digest = hasher.finalize();
    crate::ids::hex(digest.get(..8).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asking<'a>(principal: &'a str, scopes: Option<&'a [String]>) -> Asking<'a> {
        Asking {
            org: "acme",
            principal,
            token_scopes: scopes,
            under: None,
            min_revision: None,
        }
    }

    #[test]
    fn a_tag_reads_back_and_names_only_its_question() {
        let tag = Tag::new(&asking("ann", None), "m1", "k1", 7, 1_000);
        let text = tag.to_string();
        assert_eq!(
            Tag::parse_list(&format!("\"other\", {text}")),
            Some(tag.clone())
        );
        assert!(tag.names(&asking("ann", None), "m1", "k1"));
        assert!(!tag.names(&asking("bob", None), "m1", "k1"));
        assert!(!tag.names(&asking("ann", None), "m1", "k2"), "another key");
        assert!(
            !tag.names(&asking("ann", None), "m2", "k1"),
            "another manifest"
        );
        assert!(
            !tag.names(&asking("ann", Some(&[])), "m1", "k1"),
            "narrowed"
        );
    }

    #[test]
    fn token_scopes_name_a_set() {
        let ab = ["a".to_owned(), "b".to_owned()];
        let ba = ["b".to_owned(), "a".to_owned(), "a".to_owned()];
        let tag = Tag::new(&asking("ann", Some(&ab)), "m1", "k1", 7, 1_000);
        assert!(tag.names(&asking("ann", Some(&ba)), "m1", "k1"));
    }

    #[test]
    fn what_is_not_a_tag_of_ours_is_ignored() {
        for text in [
            "*",
            "\"7-1000-0123456789abcdef\"",
            "W/\"7-1000-xyz\"",
            "W/\"a-b-c\"",
            "",
        ] {
            assert_eq!(Tag::parse_list(text), None, "{text}");
        }
    }
}
