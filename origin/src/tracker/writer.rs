//! The one task that writes tracking data: it takes the items of many HTTP requests, runs them
//! through the visit rules in one transaction (group commit) and answers each caller after the
//! commit, so an acknowledged request is durable. A group that fails is retried one job per
//! transaction, so one bad request never takes the good ones of other callers down with it.
//! What waits for it is tracked ([`WriterStatus`]) for `/metrics` and `/readyz`.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::sync::{mpsc, oneshot};

use super::{
    group::{Group, OpenVisits},
    visit::{lock, ActionIds, Rules},
    Item, Outcome, Rejection, SiteCache,
};
use crate::{
    config::TrackerConfig,
    metrics::Metrics,
    store::{now_unix, visits, Store, StoreError},
};

/// Items written per transaction at most; larger groups would delay the first callers' answers.
const MAX_GROUP: usize = 2000;
/// Jobs waiting for the writer before callers wait to submit (back-pressure).
const QUEUE: usize = 1024;

/// Why a submission failed; the caller answers 500 (direct) or 503 (edge, which retries).
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriterError {
    #[error("storing the requests failed: {0}")]
    Store(String),
    #[error("the tracker is shutting down")]
    Closed,
}

struct Job {
    items: Vec<Item>,
    reply: oneshot::Sender<Result<Vec<Outcome>, WriterError>>,
}

/// Submits items to the writer task; cheap to clone.
#[derive(Clone, Debug)]
pub struct WriterHandle {
    jobs: mpsc::Sender<Job>,
    waiting: Arc<Mutex<Waiting>>,
}

/// The submissions not yet answered, and when the writer last finished a group.
#[derive(Debug)]
struct Waiting {
    next: u64,
    /// Per submission (by sequence number): when it was submitted and its item count.
    jobs: BTreeMap<u64, (Instant, usize)>,
    last_progress: Instant,
}

impl Waiting {
    fn status(&self, now: Instant) -> WriterStatus {
        let oldest = self.jobs.values().map(|(since, _)| *since).min();
        WriterStatus {
            queued_items: self.jobs.values().map(|(_, items)| items).sum(),
            oldest_waiting: oldest.map(|since| now.saturating_duration_since(since)),
            // Work arrived at `oldest`; progress since then (or since the last group, if later)
            // is what counts.
            stalled_for: oldest.map_or(Duration::ZERO, |since| {
                now.saturating_duration_since(since.max(self.last_progress))
            }),
        }
    }
}

/// Removes a submission from [`Waiting`] when it is answered or its caller gives up.
struct WaitingGuard<'a> {
    waiting: &'a Mutex<Waiting>,
    seq: u64,
}

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        lock(self.waiting).jobs.remove(&self.seq);
    }
}

/// A snapshot of what waits for the writer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriterStatus {
    /// Items submitted and not yet answered (queued or in the running group).
    pub queued_items: usize,
    /// How long the oldest unanswered submission has waited.
    pub oldest_waiting: Option<Duration>,
    /// How long the writer has had work without finishing a group: zero when idle.
    pub stalled_for: Duration,
}

impl WriterStatus {
    /// Whether the writer has had work for longer than `bound` without finishing any group.
    pub fn is_stuck(&self, bound: Duration) -> bool {
        self.stalled_for > bound
    }
}

/// What the writer task owns.
struct Writer {
    store: Store,
    sites: Arc<SiteCache>,
    config: TrackerConfig,
    fingerprint_key: Vec<u8>,
    ip_mask_bytes: u8,
    /// Dictionary ids, kept across groups (see [`ActionIds`]).
    action_ids: Mutex<ActionIds>,
    /// Visits remembered across groups (see [`OpenVisits`]).
    open_visits: tokio::sync::Mutex<OpenVisits>,
    /// Shared with the handles; the writer records its progress.
    waiting: Arc<Mutex<Waiting>>,
    metrics: Arc<Metrics>,
}

impl WriterHandle {
    /// Starts the writer task; it stops when every handle is dropped, after the queued jobs.
    pub fn spawn(
        store: Store,
        sites: Arc<SiteCache>,
        config: TrackerConfig,
        fingerprint_key: Vec<u8>,
        ip_mask_bytes: u8,
        metrics: Arc<Metrics>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let waiting = Arc::new(Mutex::new(Waiting {
            next: 0,
            jobs: BTreeMap::new(),
            last_progress: Instant::now(),
        }));
        let writer = Writer {
            waiting: Arc::clone(&waiting),
            metrics,
            store,
            sites,
            config,
            fingerprint_key,
            ip_mask_bytes,
            action_ids: Mutex::default(),
            open_visits: tokio::sync::Mutex::default(),
        };
        (Self { jobs, waiting }, tokio::spawn(writer.run(queue)))
    }

    /// What waits for the writer now.
    pub fn status(&self) -> WriterStatus {
        lock(&self.waiting).status(Instant::now())
    }

    /// Processes the items and returns one outcome per item, in order, once they are committed.
    pub async fn submit(&self, items: Vec<Item>) -> Result<Vec<Outcome>, WriterError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let seq = {
            let mut waiting = lock(&self.waiting);
            let seq = waiting.next;
            waiting.next += 1;
            waiting.jobs.insert(seq, (Instant::now(), items.len()));
            seq
        };
        let _waiting = WaitingGuard {
            waiting: &self.waiting,
            seq,
        };
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { items, reply })
            .await
            .map_err(|_| WriterError::Closed)?;
        answer.await.map_err(|_| WriterError::Closed)?
    }
}

impl Writer {
    async fn run(self, mut queue: mpsc::Receiver<Job>) {
        while let Some(first) = queue.recv().await {
            let mut size = first.items.len();
            let mut jobs = vec![first];
            while size < MAX_GROUP {
                match queue.try_recv() {
                    Ok(job) => {
                        size += job.items.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            let started = Instant::now();
            let written = self.write(&jobs).await;
            self.metrics.commit_seconds.observe(started.elapsed());
            match written {
                Ok(outcomes) => {
                    for (job, outcome) in jobs.into_iter().zip(outcomes) {
                        let _ = job.reply.send(Ok(outcome));
                    }
                }
                Err(err) if jobs.len() > 1 => {
                    tracing::warn!(error = %err, jobs = jobs.len(), "group write failed; retrying job by job");
                    for job in jobs {
                        let result = self.write(std::slice::from_ref(&job)).await;
                        let _ = job
                            .reply
                            .send(result.map(|mut all| all.remove(0)).map_err(failed));
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "writing tracking requests failed");
                    let err = failed(err);
                    for job in jobs {
                        let _ = job.reply.send(Err(err.clone()));
                    }
                }
            }
            lock(&self.waiting).last_progress = Instant::now();
        }
    }

    /// One transaction for all the jobs; outcomes per job, per item. When it fails, what the
    /// writer remembers is dropped: dictionary ids and visits may come from the rolled-back
    /// transaction.
    async fn write(&self, jobs: &[Job]) -> Result<Vec<Vec<Outcome>>, StoreError> {
        let mut open_visits = self.open_visits.lock().await;
        let result = self.write_group(jobs, &mut open_visits).await;
        if result.is_err() {
            lock(&self.action_ids).clear();
            open_visits.clear();
        }
        result
    }

    async fn write_group(
        &self,
        jobs: &[Job],
        open_visits: &mut OpenVisits,
    ) -> Result<Vec<Vec<Outcome>>, StoreError> {
        let now = now_unix();
        let rules = Rules {
            config: &self.config,
            fingerprint_key: &self.fingerprint_key,
            ip_mask_bytes: self.ip_mask_bytes,
            now,
            action_ids: &self.action_ids,
        };
        let keep = self
            .config
            .visit_standard_length
            .max(self.config.window_look_back_for_visitor);
        let mut group = Group::begin(&self.store, open_visits, keep).await?;
        let request_ids: Vec<_> = jobs
            .iter()
            .flat_map(|job| &job.items)
            .filter_map(|item| item.request_id.map(|id| (id, item.facts.received_at)))
            .collect();
        let mut claimed = visits::claim_request_ids(&mut group.tx, &request_ids).await?;
        // Every item's site and visitor first (`None`: an unknown site), so the visits they
        // continue are found with one query per group rather than one or two per request.
        let mut prepared = Vec::with_capacity(jobs.iter().map(|job| job.items.len()).sum());
        for item in jobs.iter().flat_map(|job| &job.items) {
            let site = self
                .sites
                .get(&self.store, i64::from(item.request.site_id.get()))
                .await?;
            let known = site.map(|site| {
                let seen = rules.seen(&site, item);
                (site, seen)
            });
            prepared.push((item, known));
        }
        group
            .prefetch(prepared.iter().filter_map(|(item, known)| {
                let (_, seen) = known.as_ref()?;
                Some((
                    i64::from(item.request.site_id.get()),
                    seen.claimed_visitor,
                    seen.config_id,
                ))
            }))
            .await?;
        // And every dictionary name their actions need, also looked up together.
        for (item, known) in &prepared {
            let duplicate = item.request_id.is_some_and(|id| !claimed.contains(&id));
            if let (Some((site, seen)), false) = (known, duplicate) {
                rules.gather_names(&mut group, site, item, seen).await?;
            }
        }
        rules.resolve_gathered(&mut group).await?;
        let mut prepared = prepared.into_iter();
        let mut all = Vec::with_capacity(jobs.len());
        for job in jobs {
            let mut outcomes = Vec::with_capacity(job.items.len());
            for (item, known) in prepared.by_ref().take(job.items.len()) {
                let outcome = match (&item.request_id, known) {
                    // A request id claimed by an earlier item (of this group or an earlier
                    // batch): already stored.
                    (Some(id), _) if !claimed.remove(id) => Outcome::Duplicate,
                    (_, Some((site, seen))) => {
                        rules.process(&mut group, &site, item, &seen).await?
                    }
                    (_, None) => {
                        Outcome::Rejected(Rejection::UnknownSite(item.request.site_id.get()))
                    }
                };
                outcomes.push(outcome);
            }
            all.push(outcomes);
        }
        // Past days are marked with the same `now` the rules compared them with.
        group.finish(now).await?;
        Ok(all)
    }
}

fn failed(err: StoreError) -> WriterError {
    WriterError::Store(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_is_stuck_only_when_work_waits_without_progress() {
        let start = Instant::now();
        let at = |secs| start + Duration::from_secs(secs);
        let bound = Duration::from_secs(30);
        let mut waiting = Waiting {
            next: 0,
            jobs: BTreeMap::new(),
            last_progress: start,
        };
        // Idle for long: not stuck.
        let idle = waiting.status(at(1000));
        assert_eq!(idle.stalled_for, Duration::ZERO);
        assert!(!idle.is_stuck(bound));
        // Work that arrived after a long idle time is measured from its arrival.
        waiting.jobs.insert(0, (at(990), 3));
        waiting.jobs.insert(1, (at(995), 2));
        let busy = waiting.status(at(1000));
        assert_eq!(busy.queued_items, 5);
        assert_eq!(busy.oldest_waiting, Some(Duration::from_secs(10)));
        assert!(!busy.is_stuck(bound));
        // Forty seconds without a finished group while it waits: stuck.
        assert!(waiting.status(at(1030)).is_stuck(bound));
        // A group finished recently: progressing, even though the oldest job still waits.
        waiting.last_progress = at(1025);
        assert!(!waiting.status(at(1030)).is_stuck(bound));
    }
}
