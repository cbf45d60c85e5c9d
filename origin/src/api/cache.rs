//! Rendered report answers kept in memory, so a repeated report request skips turning the
//! archive into rows, the generic filters and the rendering (for `Actions.getPageUrls` of a day
//! that was most of a request's CPU, 8 ms; for `date=last30` thirty times that).
//!
//! An answer is keyed by every request parameter except `token_auth` ([`ApiParams::cache_key`])
//! and is only served under the same *stamp*: for each site asked, the site's settings and, for
//! each period, the archive lookup (key and stored header) it was rendered from. The request
//! still checks the token and the caller's access, resolves its periods (so `today` moves on)
//! and looks the headers up (one query per site), exactly as an uncached request does, and only
//! then compares the stamp: an archive invalidated or rebuilt by any process, a changed time
//! zone or URL, or a new day are never answered from here. Only answers whose every archive was
//! served as stored ([`crate::archive::Lookup::ready`]) are kept, and only under the archive
//! cache's generation taken before their lookups: once this process rewrites any archive, which
//! can give a header equal to the old one (same id, status and second), the answers rendered
//! before are not served again (the archive cache drops the rewritten entry for the same reason).
//!
//! Bounded by entries and by body bytes, least recently used first out.
//!
//! [`TokenCache`] keeps verified tokens briefly: a token is a SHA-256 digest looked up in
//! `user_token_auth` (no password hash on this path), but that lookup was still one query per
//! request; a token deleted or a user demoted by any process is honoured within [`TOKEN_TTL`].
//!
//! [`ApiParams::cache_key`]: super::ApiParams::cache_key

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use super::render::Rendered;
use crate::{
    archive::Lookup,
    lru::Lru,
    store::{Site, TokenOwner},
};

/// How long a verified token is trusted without asking the database again.
pub const TOKEN_TTL: Duration = Duration::from_secs(5);
/// Most tokens kept; the map is emptied when full (tokens are few in practice).
const MAX_TOKENS: usize = 1024;

/// Owners of recently verified token digests (unknown tokens are never kept, so a new token
/// works at once).
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, (TokenOwner, Instant)>>,
}

impl TokenCache {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, (TokenOwner, Instant)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The owner of `digest` if it was verified less than [`TOKEN_TTL`] ago.
    pub fn get(&self, digest: &str) -> Option<TokenOwner> {
        self.get_at(digest, Instant::now())
    }

    fn get_at(&self, digest: &str, now: Instant) -> Option<TokenOwner> {
        let entries = self.lock();
        let (owner, verified) = entries.get(digest)?;
        (now.saturating_duration_since(*verified) < TOKEN_TTL).then(|| owner.clone())
    }

    /// Keeps a digest just verified against the database.
    pub fn put(&self, digest: String, owner: TokenOwner) {
        let mut entries = self.lock();
        if entries.len() >= MAX_TOKENS {
            entries.clear();
        }
        entries.insert(digest, (owner, Instant::now()));
    }

    /// Forgets every token (after this process changed users or tokens).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// Most answers kept.
const MAX_ENTRIES: usize = 512;
/// Most body bytes kept.
const MAX_BYTES: usize = 32 << 20;

/// What an answer was rendered from: per site asked, its settings and its periods' lookups.
pub type Stamp = Vec<(Site, Vec<Lookup>)>;

struct Entry {
    /// The archive cache's generation when the answer's archives were looked up.
    generation: u64,
    stamp: Stamp,
    rendered: Arc<Rendered>,
}

/// Rendered answers by request key, shared by the clones of one `Store`.
#[derive(Debug)]
pub struct AnswerCache {
    inner: Mutex<Lru<String, Entry>>,
}

impl Default for AnswerCache {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Lru::new(MAX_ENTRIES, MAX_BYTES)),
        }
    }
}

impl AnswerCache {
    fn lock(&self) -> MutexGuard<'_, Lru<String, Entry>> {
        // A poisoned lock only means a thread panicked mid-update; at worst an entry is missing.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer to `key` rendered under exactly `stamp` and archive cache `generation`.
    pub fn get(&self, key: &str, generation: u64, stamp: &Stamp) -> Option<Arc<Rendered>> {
        self.get_if(key, generation, |kept| kept == stamp)
    }

    /// The answer to `key` if it was rendered under `generation` and its stamp passes `same`
    /// (which compares it with what the request resolved to without building a stamp first).
    pub fn get_if(
        &self,
        key: &str,
        generation: u64,
        same: impl FnOnce(&Stamp) -> bool,
    ) -> Option<Arc<Rendered>> {
        let mut inner = self.lock();
        let entry = inner.get_if(key, |entry| {
            entry.generation == generation && same(&entry.stamp)
        })?;
        Some(Arc::clone(&entry.rendered))
    }

    /// Keeps an answer rendered under `stamp`, its archives looked up at archive cache
    /// `generation` (taken before the lookups, and still current after rendering).
    pub fn put(&self, key: String, generation: u64, stamp: Stamp, rendered: Arc<Rendered>) {
        let bytes = rendered.body.len() + key.len();
        if bytes > MAX_BYTES / 8 {
            // One huge answer would evict everything else.
            return;
        }
        self.lock().put(
            key,
            Entry {
                generation,
                stamp,
                rendered,
            },
            bytes,
        );
    }

    /// How many answers are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        archive::{
            storage::{Header, Status},
            Key,
        },
        reports::{fixture, Period, PeriodKind},
    };

    fn stamp(ts_archived: i64) -> Stamp {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap_or_default();
        let lookup = Lookup {
            period: Period {
                kind: PeriodKind::Day,
                start: day,
                end: day,
            },
            key: Some(Key {
                idsite: 1,
                period: 1,
                date1: day.to_string(),
                date2: day.to_string(),
                segment: String::new(),
            }),
            header: Some(Header {
                idarchive: 3,
                status: Status::Ok,
                ts_archived,
            }),
            ready: true,
        };
        vec![(fixture::site(), vec![lookup])]
    }

    #[test]
    fn a_verified_token_is_trusted_only_for_the_ttl() {
        let tokens = TokenCache::default();
        let owner = TokenOwner {
            login: "admin".into(),
            superuser_access: 1,
            secure_only: false,
        };
        assert!(tokens.get("d").is_none());
        tokens.put("d".into(), owner.clone());
        assert_eq!(tokens.get("d"), Some(owner));
        let later = Instant::now() + TOKEN_TTL;
        assert!(tokens.get_at("d", later).is_none());
        tokens.clear();
        assert!(tokens.get("d").is_none());
    }

    fn body(text: &str) -> Arc<Rendered> {
        Arc::new(Rendered {
            content_type: "application/json",
            body: text.as_bytes().to_vec(),
        })
    }

    #[test]
    fn an_answer_is_served_only_under_the_stamp_it_was_rendered_with() {
        let cache = AnswerCache::default();
        cache.put("k".into(), 0, stamp(100), body("[1]"));
        assert_eq!(
            cache.get("k", 0, &stamp(100)).map(|r| r.body.clone()),
            Some(b"[1]".to_vec())
        );
        // The archive was rebuilt.
        assert!(cache.get("k", 0, &stamp(101)).is_none());
        // Another question.
        assert!(cache.get("other", 0, &stamp(100)).is_none());
        // The site's URL changed.
        let mut moved = stamp(100);
        moved[0].0.main_url = "https://example.com".into();
        assert!(cache.get("k", 0, &moved).is_none());
        // This process rewrote an archive since.
        assert!(cache.get("k", 1, &stamp(100)).is_none());
    }

    #[test]
    fn the_least_recently_used_answer_goes_first_when_full() {
        let cache = AnswerCache::default();
        for n in 0..MAX_ENTRIES {
            cache.put(format!("k{n}"), 0, stamp(1), body("x"));
        }
        assert!(cache.get("k0", 0, &stamp(1)).is_some());
        cache.put("new".into(), 0, stamp(1), body("x"));
        assert_eq!(cache.len(), MAX_ENTRIES);
        assert!(cache.get("k0", 0, &stamp(1)).is_some());
        assert!(cache.get("k1", 0, &stamp(1)).is_none());
        assert!(cache.get("new", 0, &stamp(1)).is_some());
    }

    #[test]
    fn an_answer_larger_than_an_eighth_of_the_budget_is_not_kept() {
        let cache = AnswerCache::default();
        cache.put("k".into(), 0, stamp(1), body(&"x".repeat(MAX_BYTES / 4)));
        assert!(cache.is_empty());
    }
}
