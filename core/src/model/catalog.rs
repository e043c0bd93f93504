//! The permission catalog in canonical (manifest) order, with the `requires`
//! closure every effective set goes through.

use serde::{Deserialize, Serialize};

use super::{Bits, HashIndex, hash_key};

/// One catalog permission: its key and the indices it requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// `resource:action`.
    pub key: String,
    /// Catalog indices that must also be held for this one to take effect.
    pub requires: Vec<u32>,
}

/// A permission key resolved once to its catalog index, for callers that
/// check in loops. It carries a tag of the catalog it was resolved in, so a
/// handle used on a snapshot with another catalog answers
/// `UNKNOWN_PERMISSION` instead of checking some other key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    index: u32,
    catalog: u64,
}

impl Permission {
    /// The catalog index.
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// The catalog with a key index for lookups that do not allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
    /// Catalog indices by key.
    by_key: HashIndex,
    /// See [`crate::catalog_hash`].
    hash: [u8; 32],
}

impl Catalog {
    /// Builds the lookup index. Callers have validated that keys are unique
    /// and `requires` indices are in range; with a duplicate key, lookups
    /// find its first position.
    pub fn new(entries: Vec<CatalogEntry>) -> Self {
        let hash = catalog_hash(&entries);
        Catalog::with_hash(entries, hash)
    }

    /// A catalog whose hash is already known (a verified snapshot's header
    /// carries it, signed), so opening a snapshot need not hash again.
    pub fn with_hash(entries: Vec<CatalogEntry>, hash: [u8; 32]) -> Self {
        let by_key = HashIndex::build(
            entries.len(),
            |at| hash_key(0, key_at(&entries, at)),
            |_, _| false,
        )
        .unwrap_or_default();
        Catalog {
            entries,
            by_key,
            hash,
        }
    }

    /// The catalog hash.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// The tag handles carry: the first 8 bytes of the hash.
    fn tag(&self) -> u64 {
        let [a, b, c, d, e, f, g, h, ..] = self.hash;
        u64::from_le_bytes([a, b, c, d, e, f, g, h])
    }

    /// Whether a handle was resolved in this catalog.
    pub fn owns(&self, permission: Permission) -> bool {
        permission.catalog == self.tag() && permission.index() < self.entries.len()
    }

    /// The entries in canonical order.
    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    /// The number of permissions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Resolves a key; `None` for unknown or deprecated keys.
    pub fn permission(&self, key: &str) -> Option<Permission> {
        self.by_key
            .find(hash_key(0, key), |at| key_at(&self.entries, at) == key)
            .map(|index| Permission {
                index,
                catalog: self.tag(),
            })
    }

    /// The key of a catalog index.
    pub fn key(&self, index: usize) -> &str {
        self.entries
            .get(index)
            .map_or("", |entry| entry.key.as_str())
    }

    /// The keys of a set, in catalog order.
    pub fn keys(&self, bits: &Bits) -> Vec<String> {
        bits.iter()
            .map(|index| self.key(index).to_owned())
            .collect()
    }

    /// Resolves keys to a set, returning the first key not in the catalog.
    pub fn bits_of<'a, I>(&self, keys: I) -> Result<Bits, &'a str>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut bits = Bits::empty(self.len());
        for key in keys {
            let permission = self.permission(key).ok_or(key)?;
            bits.insert(permission.index());
        }
        Ok(bits)
    }

    /// What kiosk mode leaves an anonymous principal
    /// (docs/model.md §1.9): the `:read` keys. The
    /// compiler applies it as a root cap; the host's escalation rules ask
    /// it for what turning kiosk mode off lifts.
    pub fn kiosk_allow(&self) -> Bits {
        let mut bits = Bits::empty(self.len());
        for index in 0..self.len() {
            if self.key(index).ends_with(":read") {
                bits.insert(index);
            }
        }
        bits
    }

    /// The set of the keys that are in the catalog; the others are
    /// deprecated and grant (or allow) nothing.
    pub fn bits_of_known<'a, I>(&self, keys: I) -> Bits
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut bits = Bits::empty(self.len());
        for permission in keys.into_iter().filter_map(|key| self.permission(key)) {
            bits.insert(permission.index());
        }
        bits
    }

    /// docs/decisions.md §2 step 11: drop every permission whose requirements are not
    /// all present, until nothing changes.
    pub fn close(&self, bits: &Bits) -> Bits {
        let mut closed = bits.clone();
        loop {
            let mut changed = false;
            for index in 0..self.len() {
                if closed.contains(index) && self.missing_requirement(index, &closed).is_some() {
                    closed.remove(index);
                    changed = true;
                }
            }
            if !changed {
                return closed;
            }
        }
    }

    /// The first requirement of `index` that `bits` lacks, if any.
    pub fn missing_requirement(&self, index: usize, bits: &Bits) -> Option<usize> {
        self.entries.get(index).and_then(|entry| {
            entry
                .requires
                .iter()
                .map(|required| *required as usize)
                .find(|required| !bits.contains(*required))
        })
    }

    /// Every key `index` requires, directly or through another key (not
    /// `index` itself): what a role editor ticks along with it, so the
    /// saved set is closed under `requires` (docs/model.md §1.5).
    pub fn requirements_of(&self, index: usize) -> Bits {
        let edges: Vec<Vec<usize>> = self
            .entries
            .iter()
            .map(|entry| entry.requires.iter().map(|at| *at as usize).collect())
            .collect();
        reach(&edges, index)
    }

    /// Every key that requires `index`, directly or through another key
    /// (not `index` itself): what taking `index` away from a role takes
    /// away too, since none of them takes effect without it.
    pub fn dependents_of(&self, index: usize) -> Bits {
        let mut edges: Vec<Vec<usize>> = vec![Vec::new(); self.len()];
        for (at, entry) in self.entries.iter().enumerate() {
            for required in &entry.requires {
                if let Some(list) = edges.get_mut(*required as usize) {
                    list.push(at);
                }
            }
        }
        reach(&edges, index)
    }

    /// Whether a set is closed under `requires`; lists what is missing.
    pub fn missing_requirements(&self, bits: &Bits) -> Vec<(usize, usize)> {
        bits.iter()
            .flat_map(|index| {
                self.entries
                    .get(index)
                    .into_iter()
                    .flat_map(|entry| entry.requires.iter())
                    .map(|required| *required as usize)
                    .filter(|required| !bits.contains(*required))
                    .map(move |required| (index, required))
            })
            .collect()
    }
}

/// The indices reachable from `start` along `edges` (one list per index),
/// without `start`; each visited once, so a cycle cannot loop.
fn reach(edges: &[Vec<usize>], start: usize) -> Bits {
    let mut seen = Bits::empty(edges.len());
    let mut stack = vec![start];
    while let Some(from) = stack.pop() {
        for &to in edges.get(from).into_iter().flatten() {
            if to != start && to < edges.len() && !seen.contains(to) {
                seen.insert(to);
                stack.push(to);
            }
        }
    }
    seen
}

fn key_at(entries: &[CatalogEntry], index: u32) -> &str {
    entries
        .get(index as usize)
        .map_or("", |entry| entry.key.as_str())
}

/// SHA-256 of the postcard encoding of the catalog entries.
pub fn catalog_hash(entries: &[CatalogEntry]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let bytes = postcard::to_allocvec(entries).unwrap_or_default();
    Sha256::digest(&bytes).into()
}

#[cfg(test)]
mod test {
    use super::*;

    fn catalog() -> Catalog {
        let entry = |key: &str, requires: &[u32]| CatalogEntry {
            key: key.to_owned(),
            requires: requires.to_vec(),
        };
        Catalog::new(vec![
            entry("page:read", &[]),
            entry("page:write", &[0]),
            entry("page:upload", &[1]),
            entry("admin:all", &[]),
        ])
    }

    #[test]
    fn lookup_by_key() {
        let catalog = catalog();
        assert_eq!(
            catalog.permission("page:upload").map(Permission::index),
            Some(2)
        );
        let other = Catalog::new(catalog.entries()[..3].to_vec());
        assert!(!other.owns(catalog.permission("page:read").unwrap()));
        assert!(catalog.owns(catalog.permission("page:read").unwrap()));
        assert_eq!(catalog.permission("page:delete"), None);
        assert_eq!(catalog.bits_of(["page:read", "nope:x"]), Err("nope:x"));
    }

    #[test]
    fn closure_strips_transitively() {
        let catalog = catalog();
        let bits = catalog
            .bits_of(["page:write", "page:upload", "admin:all"])
            .unwrap();
        let closed = catalog.close(&bits);
        assert_eq!(catalog.keys(&closed), vec!["admin:all"]);
        assert_eq!(catalog.missing_requirements(&bits), vec![(1, 0)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a:read` ← `a:write` ← `a:admin`, and `b:read` alone.
    fn chain() -> Catalog {
        let entry = |key: &str, requires: &[u32]| CatalogEntry {
            key: key.to_owned(),
            requires: requires.to_vec(),
        };
        Catalog::new(vec![
            entry("a:read", &[]),
            entry("a:write", &[0]),
            entry("a:admin", &[1]),
            entry("b:read", &[]),
        ])
    }

    fn keys(catalog: &Catalog, bits: &Bits) -> Vec<String> {
        catalog.keys(bits)
    }

    #[test]
    fn requirements_are_transitive() {
        let catalog = chain();
        assert_eq!(
            keys(&catalog, &catalog.requirements_of(2)),
            ["a:read", "a:write"]
        );
        assert!(catalog.requirements_of(0).is_empty());
    }

    #[test]
    fn dependents_are_transitive() {
        let catalog = chain();
        assert_eq!(
            keys(&catalog, &catalog.dependents_of(0)),
            ["a:write", "a:admin"]
        );
        assert!(catalog.dependents_of(2).is_empty());
        assert!(catalog.dependents_of(3).is_empty());
    }
}
