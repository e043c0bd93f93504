//! The one cache shape of the host: a map that remembers how recently each
//! entry was used and, past its budget, drops the least recently used.
//! Entries weigh what their owner says (one each, or the rows they hold),
//! so one type bounds a count of snapshots and a volume of rows alike.
//! Not synchronised: each owner wraps it in the lock it needs.

use std::borrow::Borrow;
use std::hash::Hash;

use foldhash::HashMap;

#[derive(Debug)]
struct Entry<V> {
    value: V,
    weight: usize,
    used: u64,
}

/// A least-recently-used map with a total weight budget.
#[derive(Debug)]
pub(crate) struct Lru<K, V> {
    entries: HashMap<K, Entry<V>>,
    budget: usize,
    weight: usize,
    tick: u64,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    /// An empty cache holding entries that weigh at most `budget` together.
    pub(crate) fn new(budget: usize) -> Self {
        Lru {
            entries: HashMap::default(),
            budget,
            weight: 0,
            tick: 0,
        }
    }

    /// The value of `key`, marked as just used.
    pub(crate) fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_mut(key).map(|value| &*value)
    }

    /// The value of `key` to change in place, marked as just used (its
    /// weight stays what it was).
    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.tick += 1;
        let entry = self.entries.get_mut(key)?;
        entry.used = self.tick;
        Some(&mut entry.value)
    }

    /// The value of `key`, leaving its recency alone.
    pub(crate) fn peek<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key).map(|entry| &entry.value)
    }

    /// Keeps `value` under `key` (replacing what was there), evicting the
    /// least recently used entries until it fits. A value heavier than the
    /// whole budget is not kept.
    pub(crate) fn insert(&mut self, key: K, value: V, weight: usize) {
        self.remove(&key);
        if weight > self.budget {
            return;
        }
        while self.weight + weight > self.budget {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(key, _)| key.clone())
            else {
                break;
            };
            self.remove(&oldest);
        }
        self.tick += 1;
        self.weight += weight;
        let used = self.tick;
        self.entries.insert(
            key,
            Entry {
                value,
                weight,
                used,
            },
        );
    }

    /// Drops `key`'s entry.
    pub(crate) fn remove<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(entry) = self.entries.remove(key) {
            self.weight -= entry.weight;
        }
    }

    /// Weighs every entry again: for values that grow while kept.
    pub(crate) fn reweigh(&mut self, weigh: impl Fn(&V) -> usize) {
        self.weight = 0;
        for entry in self.entries.values_mut() {
            entry.weight = weigh(&entry.value);
            self.weight += entry.weight;
        }
    }

    /// Keeps only the entries `keep` accepts.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let mut dropped = 0;
        self.entries.retain(|key, entry| {
            let kept = keep(key, &entry.value);
            if !kept {
                dropped += entry.weight;
            }
            kept
        });
        self.weight -= dropped;
    }
}

#[cfg(test)]
mod tests {
    use super::Lru;

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let mut lru = Lru::new(2);
        lru.insert("a", 1, 1);
        lru.insert("b", 2, 1);
        assert_eq!(lru.get("a"), Some(&1));
        lru.insert("c", 3, 1);
        assert_eq!(lru.peek("b"), None, "b was used least recently");
        assert_eq!(lru.peek("a"), Some(&1));
        assert_eq!(lru.peek("c"), Some(&3));
    }

    #[test]
    fn weights_count_against_the_budget_and_a_too_heavy_value_is_not_kept() {
        let mut lru = Lru::new(10);
        lru.insert("a", (), 6);
        lru.insert("b", (), 6);
        assert!(lru.peek("a").is_none() && lru.peek("b").is_some());
        lru.insert("c", (), 11);
        assert!(lru.peek("c").is_none() && lru.peek("b").is_some());
        lru.retain(|_, ()| false);
        lru.insert("d", (), 10);
        assert!(lru.peek("d").is_some(), "retain gave the weight back");
    }
}
