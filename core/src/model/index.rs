//! A small open-addressing hash table from text keys to positions in a list
//! its owner keeps: built once, looked up without allocating. Checks walk a
//! path segment by segment, and a binary search over a thousand known nodes
//! (pointer chasing and string compares at every step) cost ten times the
//! budget of a check; one hash and one compare do not.

/// Marks an empty slot.
const EMPTY: u64 = u64::MAX;

/// Positions by key hash; the owner compares keys on a hit. Each slot holds
/// the position (low half) and the hash's high half, so a probe that meets
/// another key is rejected without touching the owner's (colder) entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HashIndex {
    // INVARIANT: the length is a power of two at least twice the number of
    // entries, so every probe sequence reaches an empty slot and ends.
    slots: Vec<u64>,
}

fn slot(position: u32, hash: u64) -> u64 {
    (hash & 0xffff_ffff_0000_0000) | u64::from(position)
}

const K: u64 = 0x517c_c1b7_2722_0a95;

#[inline]
fn mix(hash: u64, word: u64) -> u64 {
    (hash.rotate_left(5) ^ word).wrapping_mul(K)
}

/// Mixes `bytes` into `hash` eight at a time, the tail as one word.
#[inline]
fn mix_bytes(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        hash = mix(
            hash,
            u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or([0; 8])),
        );
    }
    // Shifts, not a copy into a stack buffer: reading back a just-written
    // buffer as a word stalls store forwarding and cost a third of a check.
    let tail = chunks
        .remainder()
        .iter()
        .enumerate()
        .fold(0u64, |word, (at, byte)| word | u64::from(*byte) << (8 * at));
    mix(hash, tail)
}

/// The tables mask low bits: an avalanche (splitmix64's last round: one
/// multiply between two xor-shifts) makes each of them depend on every bit
/// of the state, so that ids crafted to collide must predict the whole
/// state, which the seed keeps secret.
#[inline]
fn finish(mut hash: u64) -> u64 {
    hash ^= hash >> 31;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^ (hash >> 32)
}

/// An Fx-style multiplicative hash over a key, eight bytes at a time (a few
/// cycles for a short id), keyed by `seed`. Node ids are chosen by an org's
/// administrators: a host keys its tables with a secret seed
/// ([`crate::CompileRequest::hash_seed`], [`crate::Snapshot::with_seed`]) so
/// that no tenant can craft ids that collide and make every compile or
/// lookup of its org quadratic. Seed 0 is for trusted data (the catalog).
#[inline]
pub(crate) fn hash_key(seed: u64, key: &str) -> u64 {
    finish(mix_bytes(mix(seed, key.len() as u64), key.as_bytes()))
}

/// The same hash as a [`Hasher`], for the `HashMap`s the compiler builds
/// from one org's facts (node keys, group, user and role ids). SipHash,
/// the std default, cost two thirds of a compile in hashing short ids.
#[cfg(feature = "compile")]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FxHasher(u64);

/// Builds [`FxHasher`]s starting from a seed (the core has no randomness:
/// the host gives it one).
#[cfg(feature = "compile")]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FxBuildHasher {
    seed: u64,
}

#[cfg(feature = "compile")]
impl FxBuildHasher {
    /// Hashers keyed by `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        FxBuildHasher { seed }
    }
}

#[cfg(feature = "compile")]
impl std::hash::BuildHasher for FxBuildHasher {
    type Hasher = FxHasher;

    fn build_hasher(&self) -> FxHasher {
        FxHasher(self.seed)
    }
}

#[cfg(feature = "compile")]
impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.0 = mix_bytes(self.0, bytes);
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.0 = mix(self.0, u64::from(byte));
    }

    #[inline]
    fn write_u32(&mut self, word: u32) {
        self.0 = mix(self.0, u64::from(word));
    }

    #[inline]
    fn write_u64(&mut self, word: u64) {
        self.0 = mix(self.0, word);
    }

    #[inline]
    fn write_usize(&mut self, word: usize) {
        self.0 = mix(self.0, word as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        finish(self.0)
    }
}

impl HashIndex {
    /// Indexes positions `0..count`; `Err(position)` at the first position
    /// whose key equals an earlier one's.
    pub(crate) fn build(
        count: usize,
        hash_of: impl Fn(u32) -> u64,
        same: impl Fn(u32, u32) -> bool,
    ) -> Result<HashIndex, u32> {
        let capacity = (count.saturating_mul(2)).next_power_of_two().max(2);
        let mask = capacity - 1;
        let mut slots = vec![EMPTY; capacity];
        for position in 0..count as u32 {
            let hash = hash_of(position);
            let mut at = hash as usize & mask;
            loop {
                match slots.get_mut(at) {
                    Some(entry) if *entry == EMPTY => {
                        *entry = slot(position, hash);
                        break;
                    }
                    Some(entry) if same(*entry as u32, position) => return Err(position),
                    _ => at = (at + 1) & mask,
                }
            }
        }
        Ok(HashIndex { slots })
    }

    /// The position whose key hashes to `hash` and satisfies `is`.
    #[inline]
    pub(crate) fn find(&self, hash: u64, is: impl Fn(u32) -> bool) -> Option<u32> {
        let mask = self.slots.len().wrapping_sub(1);
        let high = hash & 0xffff_ffff_0000_0000;
        let mut at = hash as usize & mask;
        loop {
            let entry = *self.slots.get(at)?;
            if entry == EMPTY {
                return None;
            }
            if entry & 0xffff_ffff_0000_0000 == high && is(entry as u32) {
                return Some(entry as u32);
            }
            at = (at + 1) & mask;
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn finds_every_key_and_refuses_duplicates() {
        let keys = ["a", "b", "site", "rack", "", "b2"];
        let index = HashIndex::build(
            keys.len(),
            |at| hash_key(0, keys[at as usize]),
            |a, b| keys[a as usize] == keys[b as usize],
        )
        .unwrap();
        for (at, key) in keys.iter().enumerate() {
            assert_eq!(
                index.find(hash_key(0, key), |p| keys[p as usize] == *key),
                Some(at as u32)
            );
        }
        assert_eq!(
            index.find(hash_key(0, "zz"), |p| keys[p as usize] == "zz"),
            None
        );
        assert_eq!(HashIndex::default().find(1, |_| true), None);
        let twice = ["x", "y", "x"];
        let built = HashIndex::build(
            3,
            |at| hash_key(0, twice[at as usize]),
            |a, b| twice[a as usize] == twice[b as usize],
        );
        assert_eq!(built, Err(2));
    }
}
