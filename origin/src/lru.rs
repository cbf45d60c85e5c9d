//! A map bounded by its number of entries and by the bytes they stand for, which evicts the
//! least recently used entry first: the memory of the in-memory caches (decoded archives in
//! `archive::cache`, rendered API answers in `api::cache`). Not synchronised: each cache keeps
//! one behind its mutex.

use std::{borrow::Borrow, collections::HashMap, fmt, hash::Hash};

pub(crate) struct Lru<K, V> {
    entries: HashMap<K, Slot<V>>,
    bytes: usize,
    clock: u64,
    max_entries: usize,
    max_bytes: usize,
}

/// Shows the size, not the entries (which can be large).
impl<K, V> fmt::Debug for Lru<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lru")
            .field("entries", &self.entries.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

struct Slot<V> {
    value: V,
    bytes: usize,
    used: u64,
}

impl<K: Eq + Hash + Clone, V> Lru<K, V> {
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            entries: HashMap::new(),
            bytes: 0,
            clock: 0,
            max_entries,
            max_bytes,
        }
    }

    /// The value under `key` when `valid` accepts it; it then counts as just used.
    pub(crate) fn get_if<Q>(&mut self, key: &Q, valid: impl FnOnce(&V) -> bool) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.clock += 1;
        let now = self.clock;
        let slot = self.entries.get_mut(key)?;
        if !valid(&slot.value) {
            return None;
        }
        slot.used = now;
        Some(&slot.value)
    }

    /// Keeps `value` (standing for `bytes`) under `key`, evicting the least recently used
    /// entries until both bounds hold.
    pub(crate) fn put(&mut self, key: K, value: V, bytes: usize) {
        self.remove(&key);
        while !self.entries.is_empty()
            && (self.entries.len() >= self.max_entries || self.bytes + bytes > self.max_bytes)
        {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, slot)| slot.used)
                .map(|(key, _)| key.clone())
            else {
                break;
            };
            self.remove(&oldest);
        }
        self.clock += 1;
        self.bytes += bytes;
        let used = self.clock;
        self.entries.insert(key, Slot { value, bytes, used });
    }

    /// Drops the entry under `key`, if any.
    pub(crate) fn remove<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        if let Some(old) = self.entries.remove(key) {
            self.bytes -= old.bytes;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_entry_goes_first_when_the_count_is_reached() {
        let mut lru = Lru::new(2, 100);
        lru.put("a", 1, 1);
        lru.put("b", 2, 1);
        assert_eq!(lru.get_if("a", |_| true), Some(&1));
        lru.put("c", 3, 1);
        assert_eq!(lru.get_if("b", |_| true), None);
        assert_eq!(lru.get_if("a", |_| true), Some(&1));
        assert_eq!(lru.get_if("c", |_| true), Some(&3));
    }

    #[test]
    fn entries_are_evicted_until_the_bytes_fit() {
        let mut lru = Lru::new(10, 10);
        lru.put(1, (), 4);
        lru.put(2, (), 4);
        lru.put(3, (), 6);
        assert_eq!(lru.get_if(&1, |_| true), None);
        assert_eq!((lru.len(), lru.bytes), (2, 10));
        lru.put(4, (), 10);
        assert_eq!((lru.len(), lru.bytes), (1, 10));
    }

    #[test]
    fn a_value_the_check_refuses_is_not_served_and_replacing_keeps_the_byte_count() {
        let mut lru = Lru::new(10, 100);
        lru.put("k", 7, 5);
        assert_eq!(lru.get_if("k", |v| *v == 8), None);
        lru.put("k", 8, 3);
        assert_eq!(lru.get_if("k", |v| *v == 8), Some(&8));
        assert_eq!(lru.bytes, 3);
        lru.remove("k");
        assert_eq!((lru.len(), lru.bytes), (0, 0));
    }
}
