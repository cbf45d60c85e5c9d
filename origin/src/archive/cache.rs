//! An in-memory cache of decoded archives, so a report on an archive already read skips the
//! numeric and blob queries and the inflate + JSON parse of every blob.
//!
//! An entry is only served while the archive's header row (id, status, `ts_archived`) is the one
//! it was read under: the reader still fetches the header (one indexed lookup), so an archive
//! invalidated or rebuilt by any process, the scheduler, the CLI or another origin on the same
//! database, is never served stale. This process also drops the entry when it rewrites the
//! archive ([`ArchiveCache::forget`]), which covers a rebuild within the same second.
//!
//! Bounded by entries and by the decoded size of their tables, least recently used
//! first out.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, Mutex, MutexGuard, PoisonError,
};

use super::{
    super::lru::Lru,
    data::ArchiveData,
    storage::{Header, Key},
};

/// Most archives kept.
const MAX_ENTRIES: usize = 1024;
/// Most decoded bytes kept, counted as the tables' JSON text (their memory takes a few times
/// more). Counting compressed bytes instead let a month's build keep about 500 MB of decoded days.
const MAX_BYTES: usize = 32 << 20;

struct Entry {
    header: Header,
    data: Arc<ArchiveData>,
}

/// Decoded archives by key, shared by the clones of one `Store`.
#[derive(Debug)]
pub struct ArchiveCache {
    inner: Mutex<Lru<Key, Entry>>,
    /// Bumped by every [`ArchiveCache::forget`]: a read that began before a rewrite must not
    /// cache what it read.
    generation: AtomicU64,
}

impl Default for ArchiveCache {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Lru::new(MAX_ENTRIES, MAX_BYTES)),
            generation: AtomicU64::default(),
        }
    }
}

impl ArchiveCache {
    fn lock(&self) -> MutexGuard<'_, Lru<Key, Entry>> {
        // A poisoned lock only means a thread panicked mid-update; the map stays consistent
        // enough for a cache (at worst an entry is missing).
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The archive read under exactly this header, if cached.
    pub fn get(&self, key: &Key, header: &Header) -> Option<Arc<ArchiveData>> {
        let mut inner = self.lock();
        let entry = inner.get_if(key, |entry| entry.header == *header)?;
        Some(Arc::clone(&entry.data))
    }

    /// Taken before reading an archive's header, passed back to [`ArchiveCache::put`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps an archive read under `header` (`bytes` is its decoded size), unless this
    /// process rewrote an archive since `generation` was taken.
    pub fn put(
        &self,
        generation: u64,
        key: Key,
        header: Header,
        data: Arc<ArchiveData>,
        bytes: usize,
    ) {
        if bytes > MAX_BYTES / 4 {
            // One huge archive would evict everything else.
            return;
        }
        let mut inner = self.lock();
        if self.generation() != generation {
            return;
        }
        inner.put(key, Entry { header, data }, bytes);
    }

    /// Drops an archive this process is rewriting.
    pub fn forget(&self, key: &Key) {
        let mut inner = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        inner.remove(key);
    }

    /// How many archives are cached.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::{super::storage::Status, *};

    fn key(day: u32) -> Key {
        Key {
            idsite: 1,
            period: 1,
            date1: format!("2026-01-{day:02}"),
            date2: format!("2026-01-{day:02}"),
            segment: String::new(),
        }
    }

    fn header(status: Status, ts_archived: i64) -> Header {
        Header {
            idarchive: 7,
            status,
            ts_archived,
        }
    }

    fn data(visits: f64) -> Arc<ArchiveData> {
        let mut data = ArchiveData::default();
        data.numeric.insert("nb_visits".into(), visits);
        Arc::new(data)
    }

    #[test]
    fn an_archive_is_served_only_under_the_header_it_was_read_with() {
        let cache = ArchiveCache::default();
        cache.put(0, key(1), header(Status::Ok, 100), data(3.0), 10);
        let hit = cache.get(&key(1), &header(Status::Ok, 100));
        assert_eq!(hit.map(|d| d.numeric["nb_visits"]), Some(3.0));
        assert!(cache
            .get(&key(1), &header(Status::Invalidated, 100))
            .is_none());
        assert!(cache.get(&key(1), &header(Status::Ok, 101)).is_none());
        assert!(cache.get(&key(2), &header(Status::Ok, 100)).is_none());
    }

    #[test]
    fn a_forgotten_archive_is_no_longer_served() {
        let cache = ArchiveCache::default();
        cache.put(0, key(1), header(Status::Ok, 100), data(3.0), 10);
        cache.forget(&key(1));
        assert!(cache.get(&key(1), &header(Status::Ok, 100)).is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn a_read_that_began_before_a_rewrite_is_not_kept() {
        let cache = ArchiveCache::default();
        let before = cache.generation();
        cache.forget(&key(2));
        cache.put(before, key(1), header(Status::Ok, 100), data(3.0), 10);
        assert!(cache.is_empty());
        cache.put(
            cache.generation(),
            key(1),
            header(Status::Ok, 100),
            data(3.0),
            10,
        );
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn the_least_recently_used_archive_goes_first_when_full() {
        let cache = ArchiveCache::default();
        let big = MAX_BYTES / 4;
        for day in 1..=4 {
            cache.put(0, key(day), header(Status::Ok, 1), data(1.0), big);
        }
        // Day 1 is used again, so day 2 is now the oldest.
        assert!(cache.get(&key(1), &header(Status::Ok, 1)).is_some());
        cache.put(0, key(5), header(Status::Ok, 1), data(1.0), big);
        assert_eq!(cache.len(), 4);
        assert!(cache.get(&key(2), &header(Status::Ok, 1)).is_none());
        assert!(cache.get(&key(1), &header(Status::Ok, 1)).is_some());
        assert!(cache.get(&key(5), &header(Status::Ok, 1)).is_some());
    }

    #[test]
    fn an_archive_larger_than_a_quarter_of_the_budget_is_not_kept() {
        let cache = ArchiveCache::default();
        cache.put(0, key(1), header(Status::Ok, 1), data(1.0), MAX_BYTES / 2);
        assert!(cache.is_empty());
    }
}
