//! A fixed-width permission bitset, indexed by catalog position.

use serde::{Deserialize, Serialize};

/// A set of catalog indices: bit `i % 8` of byte `i / 8` is index `i`.
/// Bytes (not words) keep the encoding small and every JSON number below
/// 256. Bits at or beyond the catalog length are always zero
/// (`Snapshot::new` refuses a payload where they are not).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bits(Vec<u8>);

impl Bits {
    /// The empty set for a catalog of `len` permissions.
    pub fn empty(len: usize) -> Self {
        Bits(vec![0; len.div_ceil(8)])
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
            .get(index / 8)
            .is_some_and(|byte| byte & (1 << (index % 8)) != 0)
    }

    /// Adds `index`; an index past the width is ignored.
    pub fn insert(&mut self, index: usize) {
        if let Some(byte) = self.0.get_mut(index / 8) {
            *byte |= 1 << (index % 8);
        }
    }

    /// Removes `index`.
    pub fn remove(&mut self, index: usize) {
        if let Some(byte) = self.0.get_mut(index / 8) {
            *byte &= !(1 << (index % 8));
        }
    }

    /// In-place intersection.
    pub fn intersect_with(&mut self, other: &Bits) {
        for (index, byte) in self.0.iter_mut().enumerate() {
            *byte &= other.0.get(index).copied().unwrap_or(0);
        }
    }

    /// In-place union.
    pub fn union_with(&mut self, other: &Bits) {
        for (byte, theirs) in self.0.iter_mut().zip(&other.0) {
            *byte |= theirs;
        }
    }

    /// Whether no index is set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|byte| *byte == 0)
    }

    /// The set indices in ascending (catalog) order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(byte_index, byte)| {
            (0..8)
                .filter(move |bit| byte & (1 << bit) != 0)
                .map(move |bit| byte_index * 8 + bit)
        })
    }

    /// The set as 64-bit words (index `i` is bit `i % 64` of word `i / 64`)
    /// written over `words`, for loops that combine many sets.
    #[cfg(feature = "compile")]
    pub(crate) fn write_words(&self, words: &mut [u64]) {
        words.fill(0);
        for (at, byte) in self.0.iter().enumerate() {
            if let Some(word) = words.get_mut(at / 8) {
                *word |= u64::from(*byte) << (8 * (at % 8));
            }
        }
    }

    /// The set of [`Bits::write_words`]'s words, for a catalog of `len`
    /// (bits at or past `len` are dropped).
    #[cfg(feature = "compile")]
    pub(crate) fn from_words(words: &[u64], len: usize) -> Self {
        let mut bytes: Vec<u8> = (0..len.div_ceil(8))
            .map(|at| {
                words
                    .get(at / 8)
                    .map_or(0, |word| (word >> (8 * (at % 8))) as u8)
            })
            .collect();
        if let Some(last) = bytes.last_mut()
            && !len.is_multiple_of(8)
        {
            *last &= (1u8 << (len % 8)) - 1;
        }
        Bits(bytes)
    }

    /// Whether the set has exactly the width of a catalog of `len`.
    pub(crate) fn fits(&self, len: usize) -> bool {
        self.0.len() == len.div_ceil(8) && self.iter().all(|index| index < len)
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
        let mut c = a.clone();
        c.intersect_with(&b);
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![69]);
        c.union_with(&a);
        assert_eq!(c, a);
        assert!(Bits::full(70).fits(70) && !Bits::full(70).fits(80) && !Bits::full(72).fits(70));
    }

    #[cfg(feature = "compile")]
    #[test]
    fn words_round_trip() {
        let mut a = Bits::empty(130);
        for index in [0, 7, 8, 63, 64, 100, 129] {
            a.insert(index);
        }
        let mut words = [u64::MAX; 3];
        a.write_words(&mut words);
        assert_eq!(words, [1 | 1 << 7 | 1 << 8 | 1 << 63, 1 | 1 << 36, 1 << 1]);
        assert_eq!(Bits::from_words(&words, 130), a);
        assert_eq!(Bits::from_words(&[u64::MAX], 12), Bits::full(12));
    }
}
