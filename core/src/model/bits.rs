//! A fixed-width permission bitset, indexed by catalog position.

use serde::{Deserialize, Serialize};

/// A set of catalog indices. Words are little-endian in index order; bits at
/// or beyond the catalog length are always zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bits(Vec<u64>);

impl Bits {
    /// The empty set for a catalog of `len` permissions.
    pub fn empty(len: usize) -> Self {
        Bits(vec![0; len.div_ceil(64)])
    }

    /// The full set for a catalog of `len` permissions.
    pub fn full(len: usize) -> Self {
        let mut bits = Bits::empty(len);
        for index in 0..len {
            bits.insert(index);
        }
        bits
    }

    /// Whether `index` is in the set; out of range is simply absent.
    #[inline]
    pub fn contains(&self, index: usize) -> bool {
        self.0
            .get(index / 64)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    /// Adds `index`; an index past the width is ignored.
    pub fn insert(&mut self, index: usize) {
        if let Some(word) = self.0.get_mut(index / 64) {
            *word |= 1 << (index % 64);
        }
    }

    /// Removes `index`.
    pub fn remove(&mut self, index: usize) {
        if let Some(word) = self.0.get_mut(index / 64) {
            *word &= !(1 << (index % 64));
        }
    }

    /// In-place intersection.
    pub fn intersect_with(&mut self, other: &Bits) {
        for (index, word) in self.0.iter_mut().enumerate() {
            *word &= other.0.get(index).copied().unwrap_or(0);
        }
    }

    /// In-place union.
    pub fn union_with(&mut self, other: &Bits) {
        for (word, theirs) in self.0.iter_mut().zip(&other.0) {
            *word |= theirs;
        }
    }

    /// Whether no index is set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|word| *word == 0)
    }

    /// Whether every index of `self` is also in `other`.
    pub fn is_subset(&self, other: &Bits) -> bool {
        self.0
            .iter()
            .enumerate()
            .all(|(index, word)| word & !other.0.get(index).copied().unwrap_or(0) == 0)
    }

    /// The set indices in ascending (catalog) order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(word_index, word)| {
            (0..64)
                .filter(move |bit| word & (1 << bit) != 0)
                .map(move |bit| word_index * 64 + bit)
        })
    }

    /// The number of words, used to check a decoded set fits its catalog.
    pub(crate) fn words(&self) -> usize {
        self.0.len()
    }

    /// Whether any bit at or past `len` is set.
    pub(crate) fn has_bits_past(&self, len: usize) -> bool {
        self.iter().any(|index| index >= len)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn set_operations() {
        let mut a = Bits::empty(70);
        a.insert(1);
        a.insert(69);
        a.insert(700);
        assert!(a.contains(69) && !a.contains(700) && !a.contains(2));
        let mut b = Bits::full(70);
        b.remove(1);
        assert!(!a.is_subset(&b));
        let mut c = a.clone();
        c.intersect_with(&b);
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![69]);
        c.union_with(&a);
        assert_eq!(c, a);
        assert!(!Bits::full(70).has_bits_past(70));
    }
}
