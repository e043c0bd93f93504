//! The manifest's resource types and which parent types each allows: the
//! table every path is validated against (docs/model.md §1.4).

use serde::{Deserialize, Serialize};

/// One resource type. `parents` holds type indices, with `None` for the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeEntry {
    /// `^[a-z][a-z0-9_]*$`.
    pub name: String,
    /// Allowed parent types; `None` is the org root.
    pub parents: Vec<Option<u32>>,
    /// Whether hidden entries may name nodes of this type.
    pub hideable: bool,
}

/// The declared types with a name index for lookups that do not allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeTable {
    entries: Vec<TypeEntry>,
}

impl TypeTable {
    /// Wraps the entries.
    pub fn new(entries: Vec<TypeEntry>) -> Self {
        TypeTable { entries }
    }

    /// The entries in manifest order.
    pub fn entries(&self) -> &[TypeEntry] {
        &self.entries
    }

    /// The index of a type name. A manifest declares a handful of types,
    /// where a scan beats any index.
    #[inline]
    pub fn index(&self, name: &str) -> Option<u32> {
        self.entries
            .iter()
            .position(|entry| entry.name == name)
            .map(|at| at as u32)
    }

    /// The name of a type index.
    pub fn name(&self, index: u32) -> &str {
        name_at(&self.entries, index)
    }

    /// Whether a type is declared hideable.
    pub fn hideable(&self, index: u32) -> bool {
        self.entries
            .get(index as usize)
            .is_some_and(|entry| entry.hideable)
    }

    /// Whether `child` may sit directly under `parent` (`None`: the org).
    pub fn allows(&self, parent: Option<u32>, child: u32) -> bool {
        self.entries
            .get(child as usize)
            .is_some_and(|entry| entry.parents.contains(&parent))
    }

    /// Whether some type may be its own ancestor (no SQL filter then).
    pub fn is_recursive(&self) -> bool {
        (0..self.entries.len() as u32).any(|start| self.reaches(start, start))
    }

    /// Whether `to` is a strict ancestor type of `from`.
    fn reaches(&self, from: u32, to: u32) -> bool {
        let mut seen = vec![false; self.entries.len()];
        let mut stack = vec![from];
        while let Some(at) = stack.pop() {
            let parents = self
                .entries
                .get(at as usize)
                .map_or(&[][..], |entry| entry.parents.as_slice());
            for parent in parents.iter().flatten() {
                if *parent == to {
                    return true;
                }
                if let Some(slot) = seen.get_mut(*parent as usize)
                    && !*slot
                {
                    *slot = true;
                    stack.push(*parent);
                }
            }
        }
        false
    }
}

fn name_at(entries: &[TypeEntry], index: u32) -> &str {
    entries
        .get(index as usize)
        .map_or("", |entry| entry.name.as_str())
}
