//! The writer's unit of work: the rows one group of requests creates and changes live in memory
//! and reach the database in a few multi-row statements at the group's end ([`Group::finish`]),
//! instead of a dozen statements per request.
//!
//! The visit rules read visits by visitor id and by fingerprint. [`OpenVisits`] remembers, across
//! groups, the visits the writer has seen and, per visitor id and per fingerprint, which visit is
//! the latest one: a request that continues a visit then reads nothing from the database. What it
//! remembers is only trusted while this writer is the only one writing: each group takes the
//! tracker's write lock and generation (`store::visits::next_generation`), and a generation that
//! is not the previous one plus one (another origin process wrote meanwhile), a failed group or
//! a full memory starts it over.
//!
//! A lookup the memory cannot answer asks the database, whose rows lag behind this group's
//! changes until [`Group::finish`]: the answer is the latest of the database's row (replaced by
//! the in-memory version when there is one) and this group's changed visits with the same key.
//! The rare lookups that need more (an out-of-order request older than the latest visit, a
//! fingerprint whose latest visit belongs to another user, a visitor id that moved) first write
//! the group's rows and then ask the database the exact question.

use std::collections::{BTreeSet, HashMap};

use crate::store::{
    visits::{
        self, ActionType, LastAction, NewAction, NewConversion, Visit, VisitKey, VisitUpdate,
    },
    Result, Store, Tx,
};

/// Visits remembered at most (about 1 KB each, so about 50 MB); see [`OpenVisits::shrink`].
const MAX_VISITS: usize = 50_000;

/// A visitor id or a fingerprint of one site.
type Key = (i64, VisitKey, Vec<u8>);

/// What the writer knows of the log tables between groups (see the module docs).
#[derive(Debug, Default)]
pub(super) struct OpenVisits {
    /// Visits by id, with their current values.
    visits: HashMap<i64, Visit>,
    /// Per key, the id of its latest visit among all the stored ones (`None`: it has none). Every
    /// id here is in `visits`.
    latest: HashMap<Key, Option<i64>>,
    /// The generation of the last group this writer committed.
    generation: i64,
}

impl OpenVisits {
    /// Forgets everything (after a failed group, whose changes were rolled back).
    pub(super) fn clear(&mut self) {
        self.visits.clear();
        self.latest.clear();
    }

    /// Makes room when full: keeps the visits whose last action is within `keep` seconds of the
    /// newest one (those later requests continue), forgets the rest and what pointed at them.
    fn shrink(&mut self, keep: i64) {
        if self.visits.len() <= MAX_VISITS && self.latest.len() <= 2 * MAX_VISITS {
            return;
        }
        let newest = self
            .visits
            .values()
            .map(|visit| visit.visit_last_action_time)
            .max()
            .unwrap_or(0);
        self.visits
            .retain(|_, visit| visit.visit_last_action_time >= newest - keep);
        if self.visits.len() > MAX_VISITS / 2 {
            self.visits.clear();
        }
        let visits = &self.visits;
        self.latest
            .retain(|_, latest| latest.is_some_and(|id| visits.contains_key(&id)));
    }
}

/// One group's transaction and the rows it has not written yet.
pub(super) struct Group<'a> {
    pub tx: Tx,
    /// Dictionary names noted while the writer gathers them (see `Rules::gather_names`).
    pub gathering: Option<Vec<(ActionType, String, Option<i64>)>>,
    open: &'a mut OpenVisits,
    generation: i64,
    /// Visits created or changed by this group (written by `finish`).
    changed: BTreeSet<i64>,
    actions: Vec<NewAction>,
    /// Time spent on actions of earlier groups, `(idlink_va, seconds)`.
    times_spent: Vec<(i64, i64)>,
    conversions: Vec<NewConversion>,
    invalidated: BTreeSet<(i64, String)>,
    last_idvisit: i64,
    last_idlink_va: i64,
    /// The highest ids this group wrote, for `sync_id_sequences`.
    max_written: (i64, i64),
}

impl<'a> Group<'a> {
    /// Begins a group: the transaction, the write lock, and the check that what `open` remembers
    /// is still true. `keep` is how long after its last action a visit may still be continued
    /// (the visit length, or the look-back window when longer): older ones are forgotten first
    /// when the memory is full.
    pub(super) async fn begin(store: &Store, open: &'a mut OpenVisits, keep: i64) -> Result<Self> {
        let mut tx = store.begin().await?;
        let generation = visits::next_generation(&mut tx).await?;
        if generation != open.generation + 1 {
            open.clear();
        }
        open.shrink(keep);
        let (last_idvisit, last_idlink_va) = visits::max_ids(&mut tx).await?;
        Ok(Self {
            tx,
            gathering: None,
            open,
            generation,
            changed: BTreeSet::new(),
            actions: Vec::new(),
            times_spent: Vec::new(),
            conversions: Vec::new(),
            invalidated: BTreeSet::new(),
            last_idvisit,
            last_idlink_va,
            max_written: (0, 0),
        })
    }

    /// Writes the group's rows, marks its past days as invalidated at `now`, and commits.
    pub(super) async fn finish(mut self, now: i64) -> Result<()> {
        self.write_pending().await?;
        let days: Vec<_> = std::mem::take(&mut self.invalidated).into_iter().collect();
        visits::invalidate_days(&mut self.tx, &days, now).await?;
        let (idvisit, idlink_va) = self.max_written;
        if idvisit > 0 || idlink_va > 0 {
            visits::sync_id_sequences(&mut self.tx, idvisit, idlink_va).await?;
        }
        self.tx.commit().await?;
        self.open.generation = self.generation;
        Ok(())
    }

    /// Writes what the group changed so far, inside its transaction.
    async fn write_pending(&mut self) -> Result<()> {
        let changed: Vec<Visit> = std::mem::take(&mut self.changed)
            .into_iter()
            .filter_map(|id| self.open.visits.get(&id).cloned())
            .collect();
        visits::upsert_visits(&mut self.tx, &changed).await?;
        visits::insert_actions(&mut self.tx, &std::mem::take(&mut self.actions)).await?;
        visits::set_times_spent(&mut self.tx, &std::mem::take(&mut self.times_spent)).await?;
        visits::insert_conversions(&mut self.tx, &std::mem::take(&mut self.conversions)).await?;
        Ok(())
    }

    /// Finds, with one query per kind of key, the latest visit of every `(idsite, claimed
    /// visitor id, fingerprint)` this group will look up and does not remember yet. Called
    /// before the group changes anything, when what it remembers equals the database.
    pub(super) async fn prefetch(
        &mut self,
        lookups: impl IntoIterator<Item = (i64, Option<[u8; 8]>, [u8; 8])>,
    ) -> Result<()> {
        let mut wanted = HashMap::<VisitKey, BTreeSet<(i64, Vec<u8>)>>::new();
        for (idsite, visitor, config_id) in lookups {
            let keys = visitor
                .map(|id| (idsite, VisitKey::Visitor, id.to_vec()))
                .into_iter()
                .chain([(idsite, VisitKey::Config, config_id.to_vec())]);
            for (idsite, kind, bytes) in keys.filter(|key| !self.open.latest.contains_key(key)) {
                wanted.entry(kind).or_default().insert((idsite, bytes));
            }
        }
        for (kind, keys) in wanted {
            let keys: Vec<_> = keys.into_iter().collect();
            let found = visits::latest_visits(&mut self.tx, kind, &keys).await?;
            for (idsite, bytes) in keys {
                self.open.latest.insert((idsite, kind, bytes), None);
            }
            for visit in found {
                let key = key_of(&visit, kind);
                let id = self.remember(visit).idvisit;
                self.open.latest.insert(key, Some(id));
            }
        }
        Ok(())
    }

    /// The visitor's latest visit whose last action is not later than `until`.
    pub(super) async fn visit_by_visitor(
        &mut self,
        idsite: i64,
        idvisitor: &[u8],
        until: i64,
    ) -> Result<Option<Visit>> {
        let key = (idsite, VisitKey::Visitor, idvisitor.to_vec());
        if let Some(latest) = self.latest(&key).await? {
            let Some(visit) = latest.and_then(|id| self.open.visits.get(&id)) else {
                return Ok(None);
            };
            if visit.visit_last_action_time <= until {
                return Ok(Some(visit.clone()));
            }
        }
        self.ask_database(idsite, (VisitKey::Visitor, idvisitor), None, until, None)
            .await
    }

    /// The fingerprint's latest visit whose last action is in `[from, until]`; with `user_id`,
    /// only a visit of no user or of that user.
    pub(super) async fn visit_by_config(
        &mut self,
        idsite: i64,
        config_id: &[u8],
        (from, until): (i64, i64),
        user_id: Option<&str>,
    ) -> Result<Option<Visit>> {
        let key = (idsite, VisitKey::Config, config_id.to_vec());
        if let Some(latest) = self.latest(&key).await? {
            let Some(visit) = latest.and_then(|id| self.open.visits.get(&id)) else {
                return Ok(None);
            };
            if visit.visit_last_action_time < from {
                return Ok(None);
            }
            let other_user =
                user_id.is_some() && visit.user_id.is_some() && visit.user_id.as_deref() != user_id;
            if visit.visit_last_action_time <= until && !other_user {
                return Ok(Some(visit.clone()));
            }
        }
        self.ask_database(
            idsite,
            (VisitKey::Config, config_id),
            Some(from),
            until,
            user_id,
        )
        .await
    }

    /// The exact question to the database, after writing the group's rows so it sees them.
    async fn ask_database(
        &mut self,
        idsite: i64,
        (key, value): (VisitKey, &[u8]),
        from: Option<i64>,
        until: i64,
        user_id: Option<&str>,
    ) -> Result<Option<Visit>> {
        self.write_pending().await?;
        let window = Some((from.unwrap_or(i64::MIN), until));
        let found = visits::latest_visit(&mut self.tx, idsite, key, value, window, user_id).await?;
        Ok(found.map(|row| self.remember(row).clone()))
    }

    /// The id of the key's latest visit (`Some(None)`: it has none), or `None` when that cannot
    /// be known without writing the group's rows first.
    async fn latest(&mut self, key: &Key) -> Result<Option<Option<i64>>> {
        if let Some(latest) = self.open.latest.get(key) {
            return Ok(Some(*latest));
        }
        let (idsite, kind, bytes) = key;
        let stored = visits::latest_visit(&mut self.tx, *idsite, *kind, bytes, None, None).await?;
        let mut best = match stored {
            Some(row) => {
                let id = self.remember(row).idvisit;
                // A visit whose visitor id this group changed: the database answered for a key
                // the visit no longer has, and the key's real latest visit is unknown.
                if !self.open.visits.get(&id).is_some_and(|v| has_key(v, key)) {
                    return Ok(None);
                }
                Some(id)
            }
            None => None,
        };
        for id in &self.changed {
            if let Some(visit) = self.open.visits.get(id) {
                if has_key(visit, key) && later(visit, best, &self.open.visits) {
                    best = Some(*id);
                }
            }
        }
        self.open.latest.insert(key.clone(), best);
        Ok(Some(best))
    }

    /// Keeps a visit read from the database; the in-memory version wins, being newer or equal.
    fn remember(&mut self, row: Visit) -> &Visit {
        self.open.visits.entry(row.idvisit).or_insert(row)
    }

    /// Starts a visit; returns its id.
    pub(super) fn insert_visit(&mut self, mut visit: Visit) -> i64 {
        self.last_idvisit += 1;
        let id = self.last_idvisit;
        self.max_written.0 = id;
        visit.idvisit = id;
        let keys = keys_of(&visit);
        self.open.visits.insert(id, visit);
        self.changed.insert(id);
        for key in keys {
            self.maybe_latest(key, id);
        }
        id
    }

    /// Changes a visit of this group or read by it.
    pub(super) fn update_visit(&mut self, idvisit: i64, update: &VisitUpdate) {
        let Some(visit) = self.open.visits.get_mut(&idvisit) else {
            return;
        };
        let old_keys = keys_of(visit);
        visit.apply(update);
        let new_keys = keys_of(visit);
        self.changed.insert(idvisit);
        for key in old_keys.iter().filter(|key| !new_keys.contains(key)) {
            // The visit left this key: the key's latest visit is unknown again.
            if self.open.latest.get(key) == Some(&Some(idvisit)) {
                self.open.latest.remove(key);
            }
        }
        for key in new_keys {
            self.maybe_latest(key, idvisit);
        }
    }

    /// Changes a visit's columns by hand (the goal conversion columns).
    pub(super) fn change_visit(&mut self, idvisit: i64, change: impl FnOnce(&mut Visit)) {
        if let Some(visit) = self.open.visits.get_mut(&idvisit) {
            change(visit);
            self.changed.insert(idvisit);
        }
    }

    /// Makes `id` the latest visit of `key` when the key's latest is known and older.
    fn maybe_latest(&mut self, key: Key, id: i64) {
        let Some(current) = self.open.latest.get(&key).copied() else {
            return;
        };
        if current == Some(id) {
            return;
        }
        if let Some(visit) = self.open.visits.get(&id) {
            if later(visit, current, &self.open.visits) {
                self.open.latest.insert(key, Some(id));
            }
        }
    }

    /// The visit's latest action, for rows written before visits kept it (every action this
    /// writer records sets it on its visit).
    pub(super) async fn last_action(&mut self, idvisit: i64) -> Result<Option<LastAction>> {
        visits::last_action(&mut self.tx, idvisit).await
    }

    /// Records an action; returns its id.
    pub(super) fn insert_action(&mut self, mut action: NewAction) -> i64 {
        self.last_idlink_va += 1;
        let id = self.last_idlink_va;
        self.max_written.1 = id;
        action.idlink_va = id;
        self.actions.push(action);
        id
    }

    /// Sets the time spent on an action once the next one arrives.
    pub(super) fn set_time_spent(&mut self, idlink_va: i64, seconds: i64) {
        // Ids only grow, so the group's own actions are sorted by id.
        match self
            .actions
            .binary_search_by_key(&idlink_va, |a| a.idlink_va)
        {
            Ok(at) => self.actions[at].time_spent = Some(seconds),
            Err(_) => self.times_spent.push((idlink_va, seconds)),
        }
    }

    /// Whether the visit already converted this goal.
    pub(super) async fn has_conversion(&mut self, idvisit: i64, idgoal: i64) -> Result<bool> {
        if self
            .conversions
            .iter()
            .any(|c| c.idvisit == idvisit && c.idgoal == idgoal)
        {
            return Ok(true);
        }
        visits::has_conversion(&mut self.tx, idvisit, idgoal).await
    }

    /// Records a conversion (a duplicate of a stored one is ignored when written).
    pub(super) fn insert_conversion(&mut self, conversion: NewConversion) {
        self.conversions.push(conversion);
    }

    /// Remembers a past (site, day) to re-archive; marked once at the group's end.
    pub(super) fn invalidate(&mut self, idsite: i64, day: String) {
        self.invalidated.insert((idsite, day));
    }
}

fn key_of(visit: &Visit, kind: VisitKey) -> Key {
    (visit.idsite, kind, kind.of(visit).to_vec())
}

fn has_key(visit: &Visit, (idsite, kind, bytes): &Key) -> bool {
    visit.idsite == *idsite && kind.of(visit) == bytes.as_slice()
}

fn keys_of(visit: &Visit) -> [Key; 2] {
    [
        key_of(visit, VisitKey::Visitor),
        key_of(visit, VisitKey::Config),
    ]
}

/// Whether `visit` is later than the visit `than` (by last action time, then id, as the
/// database orders them in `visits::latest_visit`).
fn later(visit: &Visit, than: Option<i64>, visits: &HashMap<i64, Visit>) -> bool {
    let Some(other) = than.and_then(|id| visits.get(&id)) else {
        return true;
    };
    (visit.visit_last_action_time, visit.idvisit) > (other.visit_last_action_time, other.idvisit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(idvisit: i64, last: i64) -> Visit {
        Visit {
            idvisit,
            idsite: 1,
            idvisitor: idvisit.to_be_bytes().to_vec(),
            visit_last_action_time: last,
            ..Visit::default()
        }
    }

    #[test]
    fn a_full_memory_keeps_the_recent_visits_and_forgets_what_pointed_at_old_ones() {
        let mut open = OpenVisits::default();
        let quarter = MAX_VISITS as i64 / 4;
        // Visits 1..=quarter end at 100,000 + id; a negative entry for a key without visits.
        for id in 1..=quarter {
            let recent = visit(id, 100_000 + id);
            open.latest
                .insert(key_of(&recent, VisitKey::Visitor), Some(id));
            open.visits.insert(id, recent);
        }
        open.latest.insert((1, VisitKey::Config, vec![9]), None);
        open.shrink(1_800);
        assert_eq!(
            open.visits.len() as i64,
            quarter,
            "nothing to do below the bound"
        );

        // Old visits overflow the memory: only the last 1,800 seconds before the newest stay.
        for id in quarter + 1..=MAX_VISITS as i64 + 1 {
            open.visits.insert(id, visit(id, 0));
        }
        open.shrink(1_800);
        let newest = 100_000 + quarter;
        assert_eq!(open.visits.len(), 1_801);
        assert!(open
            .visits
            .values()
            .all(|v| v.visit_last_action_time >= newest - 1_800));
        assert_eq!(
            open.latest.len(),
            1_801,
            "entries of forgotten visits go too"
        );
        assert!(open
            .latest
            .values()
            .all(|latest| latest.is_some_and(|id| open.visits.contains_key(&id))));
    }

    #[test]
    fn a_memory_still_too_full_after_forgetting_old_visits_starts_over() {
        let mut open = OpenVisits::default();
        for id in 0..=MAX_VISITS as i64 {
            let recent = visit(id, 1_000);
            open.latest
                .insert(key_of(&recent, VisitKey::Visitor), Some(id));
            open.visits.insert(id, recent);
        }
        open.shrink(1_800);
        assert!(open.visits.is_empty());
        assert!(open.latest.is_empty());
    }
}
