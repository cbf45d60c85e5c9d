//! Archiving: pre-computed reports per site, period and segment (spec/MATOMO.md 5).
//!
//! Days are archived from the logs in the site's time zone ([`day`]); weeks and months are summed
//! from their days, years from their months, ranges from their days ([`data`]), with unique
//! visitors and users recomputed from the logs for weeks and months and absent for years and
//! ranges, as Matomo's defaults. An archive containing today is temporary and rebuilt after
//! [`Settings::today_ttl`]; the tracker's `archive_invalidation` rows invalidate a past day and
//! every period above it. [`run_once`] is one pass of the scheduler that `edgemeter serve` runs
//! ([`spawn_scheduler`]) and that `edgemeter archive` runs once.

pub mod actions;
pub mod cache;
pub mod cli;
pub mod data;
pub mod day;
pub mod dimensions;
pub mod periods;
pub mod records;
pub mod storage;

use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use chrono::NaiveDate;

pub use data::{ArchiveData, Rec, Table};
pub use storage::Key;
use storage::Status;

use crate::{
    period::{Period, PeriodKind},
    store::{Result, Site, Store},
    tracker::SiteTz,
};

/// Archiving settings (from `[archiving]` in the configuration), passed to every archiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Whether a report request archives a missing period on the fly (Matomo's
    /// `enable_browser_archiving_triggering`). Ranges are always archived on demand
    /// (`archiving_range_force_on_browser_request = 1`).
    pub browser_trigger: bool,
    /// Seconds an archive containing today stays fresh
    /// (`time_before_today_archive_considered_outdated`).
    pub today_ttl: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            browser_trigger: true,
            today_ttl: 900,
        }
    }
}

impl From<&crate::config::ArchivingConfig> for Settings {
    fn from(config: &crate::config::ArchivingConfig) -> Self {
        Self {
            browser_trigger: config.browser_trigger,
            today_ttl: config.today_ttl_secs,
        }
    }
}

impl Settings {
    /// The mode a report request reads archives in: built on demand unless browser archiving
    /// is off (ranges are always built, as Matomo's `archiving_range_force_on_browser_request`).
    pub fn report_mode(&self, period: &Period) -> Mode {
        if self.browser_trigger || period.kind == PeriodKind::Range {
            Mode::Build
        } else {
            Mode::ReadOnly
        }
    }
}

/// What one archiving pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Tracker invalidations consumed.
    pub invalidations: usize,
    /// Archives built (days and the periods above them).
    pub archived: usize,
    /// Sites whose archiving failed (logged; retried on the next pass).
    pub errors: usize,
}

/// How an archive is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only read valid archives; a missing one reads as empty (browser archiving disabled).
    ReadOnly,
    /// Build missing, invalidated or outdated archives.
    Build,
    /// Rebuild this archive even when valid (its sub-periods are only built when needed).
    Force,
}

/// Where a period's archive stands, read with [`SiteArchiver::lookup`].
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    pub period: Period,
    /// `None` for a period entirely in the future (always empty, never stored).
    pub key: Option<Key>,
    /// The stored header, when the archive exists.
    pub header: Option<storage::Header>,
    /// Whether the archive is served as stored (or as empty) without building: then the answer
    /// depends only on `key` and `header`, which is what callers may cache an answer under.
    pub ready: bool,
}

/// One site's archiving context.
pub struct SiteArchiver<'a> {
    store: &'a Store,
    idsite: i64,
    tz: SiteTz,
    now: i64,
    today: NaiveDate,
    ttl: i64,
    built: AtomicUsize,
}

impl<'a> SiteArchiver<'a> {
    pub fn new(store: &'a Store, site: &Site, now: i64, settings: Settings) -> Self {
        let tz = SiteTz::parse(&site.timezone);
        Self {
            store,
            idsite: site.idsite,
            today: tz.local_date(now),
            tz,
            now,
            ttl: settings.today_ttl,
            built: AtomicUsize::new(0),
        }
    }

    /// How many archives this context built.
    pub fn built(&self) -> usize {
        self.built.load(Ordering::Relaxed)
    }

    /// The site-local day of `now`.
    pub fn today(&self) -> NaiveDate {
        self.today
    }

    fn key(&self, period: &Period) -> Key {
        Key {
            idsite: self.idsite,
            period: periods::code(period.kind),
            date1: period.start.to_string(),
            date2: period.end.to_string(),
            segment: String::new(),
        }
    }

    /// Whether a stored archive can be served as is.
    fn is_valid(&self, period: &Period, header: &storage::Header) -> bool {
        match header.status {
            Status::Ok => true,
            Status::Temporary => {
                period.end >= self.today && self.now - header.ts_archived < self.ttl
            }
            Status::Invalidated | Status::Error => false,
        }
    }

    /// The archive of `period`, built as `mode` allows; a period entirely in the future is empty.
    pub fn get<'s>(
        &'s self,
        period: Period,
        mode: Mode,
    ) -> Pin<Box<dyn Future<Output = Result<Arc<ArchiveData>>> + Send + 's>> {
        Box::pin(async move {
            let generation = self.store.archives.generation();
            let lookups = self.lookup(&[period], mode).await?;
            match lookups.first() {
                Some(lookup) => self.serve(lookup, generation, mode).await,
                None => Ok(Arc::default()),
            }
        })
    }

    /// Looks up the archive headers of `periods` (one query for all of them), and whether each
    /// archive can be served as it is stored. Take [`cache::ArchiveCache::generation`] before,
    /// and pass it with each lookup to [`SiteArchiver::serve`].
    pub async fn lookup(&self, periods: &[Period], mode: Mode) -> Result<Vec<Lookup>> {
        let stored: Vec<Period> = periods
            .iter()
            .filter(|period| period.start <= self.today)
            .copied()
            .collect();
        let keys: Vec<Key> = stored.iter().map(|period| self.key(period)).collect();
        let mut headers = storage::headers(self.store, &keys).await?.into_iter();
        let mut keys = keys.into_iter();
        Ok(periods
            .iter()
            .map(|period| {
                if period.start > self.today {
                    return Lookup {
                        period: *period,
                        key: None,
                        header: None,
                        ready: true,
                    };
                }
                let header = headers.next().flatten();
                let ready = mode != Mode::Force
                    && match &header {
                        Some(header) => self.is_valid(period, header) || mode == Mode::ReadOnly,
                        None => mode == Mode::ReadOnly && period.kind != PeriodKind::Range,
                    };
                Lookup {
                    period: *period,
                    key: keys.next(),
                    header,
                    ready,
                }
            })
            .collect())
    }

    /// The archive of a looked-up period: as stored (from the cache when it was read under the
    /// same header) when the lookup is ready, else built as `mode` allows and stored.
    pub async fn serve(
        &self,
        lookup: &Lookup,
        generation: u64,
        mode: Mode,
    ) -> Result<Arc<ArchiveData>> {
        let Some(key) = &lookup.key else {
            // Entirely in the future: empty.
            return Ok(Arc::default());
        };
        let period = lookup.period;
        if lookup.ready {
            let Some(header) = &lookup.header else {
                return Ok(Arc::default());
            };
            let cache = &self.store.archives;
            if let Some(data) = cache.get(key, header) {
                return Ok(data);
            }
            let (data, bytes) = storage::read(self.store, header.idarchive, None).await?;
            let data = Arc::new(data);
            cache.put(
                generation,
                key.clone(),
                header.clone(),
                Arc::clone(&data),
                bytes,
            );
            return Ok(data);
        }
        let data = self.build(&period, mode).await?;
        let status = if period.end >= self.today {
            Status::Temporary
        } else {
            Status::Ok
        };
        storage::write(self.store, key, status, self.now, &data).await?;
        self.built.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(data))
    }

    async fn build(&self, period: &Period, mode: Mode) -> Result<ArchiveData> {
        let (from, to) = periods::utc_bounds(&self.tz, period.start, period.end);
        if period.kind == PeriodKind::Day {
            return day::archive_day(self.store, self.idsite, &self.tz, from, to).await;
        }
        let mut data = ArchiveData::default();
        if storage::has_visits(self.store, self.idsite, from, to).await? {
            // Sub-periods are read or built, never forced: forcing applies to the asked period.
            let sub_mode = if mode == Mode::ReadOnly {
                Mode::ReadOnly
            } else {
                Mode::Build
            };
            for sub in periods::sub_periods(period) {
                let sub_data = self.get(sub, sub_mode).await?;
                data.merge(&sub_data);
            }
        } else {
            // No visit in the whole period (Matomo's `Loader::canSkipThisArchive`): every day
            // of it is the same empty day, and so is their sum; one is computed instead of
            // building and storing each sub-period (a year of a new site was 365 day builds).
            data = day::archive_day(self.store, self.idsite, &self.tz, from, from).await?;
        }
        match period.kind {
            PeriodKind::Week | PeriodKind::Month => {
                let (visitors, users) =
                    storage::unique_counts(self.store, self.idsite, from, to).await?;
                data.numeric
                    .insert("nb_uniq_visitors".into(), visitors as f64);
                data.numeric.insert("nb_users".into(), users as f64);
            }
            _ => {
                data.numeric.remove("nb_uniq_visitors");
                data.numeric.remove("nb_users");
            }
        }
        for (name, table) in &mut data.blobs {
            let limits = records::limits(name).ok_or_else(|| {
                crate::store::StoreError::Db(sqlx::Error::Decode(
                    format!("the archive table {name:?} is in no record list (archive::records)")
                        .into(),
                ))
            })?;
            table.truncate(limits.rows, limits.subtable_rows, "nb_visits");
        }
        Ok(data)
    }

    /// Archives the days of the site that have logs but no valid archive (gap healing), today
    /// when its archive is outdated, and the week, month and year above every day it archived.
    pub async fn heal(&self, window_days: u64) -> Result<()> {
        let Some((first, last)) = storage::visit_time_span(self.store, self.idsite).await? else {
            return Ok(());
        };
        let earliest = self
            .today
            .checked_sub_days(chrono::Days::new(window_days))
            .unwrap_or(self.today);
        let from = self.tz.local_date(first).max(earliest);
        let to = self.tz.local_date(last).min(self.today);
        if from > to {
            return Ok(());
        }
        let statuses: std::collections::HashMap<String, Status> =
            storage::day_statuses(self.store, self.idsite, &from.to_string(), &to.to_string())
                .await?
                .into_iter()
                .collect();
        let mut touched = Vec::new();
        for date in periods::days(from, to) {
            let status = statuses.get(&date.to_string()).copied();
            let stale = match status {
                None => {
                    let (start, end) = periods::utc_bounds(&self.tz, date, date);
                    storage::has_visits(self.store, self.idsite, start, end).await?
                }
                Some(Status::Ok) => false,
                Some(Status::Temporary) => true,
                Some(Status::Invalidated | Status::Error) => true,
            };
            if stale {
                let before = self.built();
                self.get(periods::day(date), Mode::Build).await?;
                if self.built() > before {
                    touched.push(date);
                }
            }
        }
        let mut parents = Vec::new();
        for date in touched {
            for kind in [PeriodKind::Week, PeriodKind::Month, PeriodKind::Year] {
                let period = periods::containing(kind, date);
                if !parents.contains(&period) {
                    parents.push(period);
                }
            }
        }
        for period in parents {
            self.get(period, Mode::Build).await?;
        }
        Ok(())
    }
}

/// Consumes the tracker's invalidations: each invalidates its day and every archive above it.
pub async fn process_invalidations(store: &Store) -> Result<usize> {
    let pending = storage::pending_invalidations(store).await?;
    for invalidation in &pending {
        storage::invalidate_containing(store, invalidation.idsite, &invalidation.date).await?;
        storage::remove_invalidation(store, invalidation).await?;
    }
    Ok(pending.len())
}

/// How far back gap healing looks (days before today).
const HEAL_WINDOW_DAYS: u64 = 400;

/// One archiving pass over every site: consume invalidations, then archive what is missing,
/// invalidated or outdated (today after its TTL, yesterday once complete, gaps in the past).
pub async fn run_once(store: &Store, now: i64, settings: Settings) -> Result<Outcome> {
    run_once_with(store, now, settings, &|_| {}).await
}

/// [`run_once`], calling `succeeded(idsite)` for every site archived without error (the
/// scheduler's hook for `/metrics`).
async fn run_once_with(
    store: &Store,
    now: i64,
    settings: Settings,
    succeeded: &(dyn Fn(i64) + Send + Sync),
) -> Result<Outcome> {
    let mut outcome = Outcome {
        invalidations: process_invalidations(store).await?,
        ..Outcome::default()
    };
    for idsite in storage::site_ids(store).await? {
        let Some(site) = store.site(idsite).await? else {
            continue;
        };
        let archiver = SiteArchiver::new(store, &site, now, settings);
        match archiver.heal(HEAL_WINDOW_DAYS).await {
            Ok(()) => succeeded(idsite),
            Err(error) => {
                tracing::warn!(idsite, %error, "archiving failed");
                outcome.errors += 1;
            }
        }
        outcome.archived += archiver.built();
    }
    Ok(outcome)
}

/// Runs [`run_once`] every `interval` (plus up to 10% jitter, so several origins on one database
/// do not archive in lockstep) until `stop` turns true; `succeeded(idsite, started_at)` is called
/// for every site a pass archived without error.
pub fn spawn_scheduler(
    store: Store,
    interval: Duration,
    settings: Settings,
    mut stop: tokio::sync::watch::Receiver<bool>,
    succeeded: impl Fn(i64, i64) + Send + Sync + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let now = crate::store::now_unix();
            // Shutdown abandons a pass: each archive is written in its own transaction, so what
            // is cut short is rolled back and built by the next pass.
            let record = |idsite| succeeded(idsite, now);
            let pass = tokio::select! {
                outcome = run_once_with(&store, now, settings, &record) => outcome,
                _ = stop.changed() => break,
            };
            match pass {
                Ok(outcome) if outcome.archived > 0 || outcome.invalidations > 0 => {
                    tracing::info!(
                        archived = outcome.archived,
                        invalidations = outcome.invalidations,
                        errors = outcome.errors,
                        "archiving pass"
                    );
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "archiving pass failed"),
            }
            let jitter_ms = rand::random_range(0..=interval.as_millis().max(10) as u64 / 10);
            let pause = interval + Duration::from_millis(jitter_ms);
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
    })
}

/// The archive `produce` reads for a report, in [`Settings::report_mode`].
pub async fn for_report(
    store: &Store,
    site: &Site,
    period: Period,
    settings: Settings,
) -> Result<Arc<ArchiveData>> {
    let archiver = SiteArchiver::new(store, site, crate::store::now_unix(), settings);
    archiver.get(period, settings.report_mode(&period)).await
}

/// Marks invalidated the archive of `period` and every period above it (higher periods and
/// ranges that overlap it); with `cascade`, also the periods inside it. Returns the count.
pub async fn invalidate_period(
    store: &Store,
    idsite: i64,
    period: &Period,
    cascade: bool,
) -> Result<u64> {
    let code = periods::code(period.kind);
    let (start, end) = (period.start.to_string(), period.end.to_string());
    let mut count = storage::invalidate_overlapping(store, idsite, code, &start, &end).await?;
    if cascade {
        for lower in 1..code.min(5) {
            count += storage::invalidate_within(store, idsite, lower, &start, &end).await?;
        }
    }
    Ok(count)
}
