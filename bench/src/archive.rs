//! Archive: the data set (one day of traffic ingested through the origin, copied onto the 29
//! following days, the last being yesterday), seconds to archive a month and one day of it, and
//! peak memory. Archiving runs in a child process (`bench archive-worker`) so its peak RSS is its
//! own; the baseline is a plain SQL scan of the same day's logs (every row read once, grouped),
//! the floor of any archiver that reads the logs, timed in the same kind of child.

use std::time::Instant;

use anyhow::{bail, Context};
use chrono::{Datelike, NaiveDate};
use origin::{
    archive::{periods, Mode, SiteArchiver},
    reports::{Period, PeriodKind},
    store::Store,
};

use crate::{
    db::{self, Backend, FreshDb, Running},
    ingest::{self, Transport},
    traffic::{self, Spec},
};

/// Days in the data set.
pub const DAYS: i64 = 30;

/// A SQLite database holding `DAYS` days of traffic ending yesterday.
pub struct Dataset {
    pub db: FreshDb,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// Requests in one day.
    pub requests_per_day: usize,
    /// Visits in one day.
    pub visits_per_day: usize,
}

impl Dataset {
    /// The day reports are asked for: the middle of the data set.
    pub fn middle_day(&self) -> NaiveDate {
        self.first_day + chrono::Days::new(DAYS as u64 / 2)
    }
}

fn midnight(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp())
}

/// Ingests `requests_per_day` through `/matomo.php` bulk and copies the day onto the next 29.
pub async fn dataset(requests_per_day: usize, clients: usize) -> anyhow::Result<Dataset> {
    let today = chrono::Utc::now().date_naive();
    let first_day = today - chrono::Days::new(DAYS as u64);
    let last_day = today - chrono::Days::new(1);
    let hits = traffic::generate(Spec {
        requests: requests_per_day,
        day_start: midnight(first_day),
    });
    let visits_per_day = hits.iter().filter(|h| h.first_of_visit).count();
    let fresh = FreshDb::create(Backend::Sqlite, None, "dataset").await?;
    let store = db::prepare(&fresh.url).await?;
    let origin = Running::start(store, &fresh.url).await?;
    let started = Instant::now();
    ingest::send(&origin.base, &hits, Transport::Bulk, clients).await?;
    origin.stop().await?;
    eprintln!(
        "  data set: {} requests ({} visits) ingested in {:.1} s; copying onto {} more days",
        hits.len(),
        visits_per_day,
        started.elapsed().as_secs_f64(),
        DAYS - 1
    );
    db::replicate_day(&fresh.url, DAYS - 1).await?;
    Ok(Dataset {
        db: fresh,
        first_day,
        last_day,
        requests_per_day: hits.len(),
        visits_per_day,
    })
}

/// What a worker measured.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub seconds: f64,
    pub peak_rss_mb: f64,
}

/// What the worker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Job {
    /// Force the day archives of every day, then the months above them.
    Archive,
    /// Only the day archives (Force).
    Days,
    /// The baseline: one grouped scan of each day's logs per site.
    Scan,
}

/// Runs `bench archive-worker` on the data set and reads its figures.
pub async fn in_child(
    url: &str,
    from: NaiveDate,
    to: NaiveDate,
    job: Job,
) -> anyhow::Result<Measured> {
    let exe = std::env::current_exe()?;
    let job_name = match job {
        Job::Archive => "archive",
        Job::Days => "days",
        Job::Scan => "scan",
    };
    let output = tokio::process::Command::new(exe)
        .args([
            "archive-worker",
            "--database-url",
            url,
            "--from",
            &from.to_string(),
            "--to",
            &to.to_string(),
            "--job",
            job_name,
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .await?;
    if !output.status.success() {
        bail!("archive-worker failed ({})", output.status);
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().last().unwrap_or_default();
    let value: serde_json::Value =
        serde_json::from_str(line).with_context(|| format!("archive-worker printed {text:?}"))?;
    Ok(Measured {
        seconds: value["seconds"].as_f64().unwrap_or(f64::NAN),
        peak_rss_mb: value["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
    })
}

/// The child's work: prints `{"seconds": S, "peak_rss_mb": M}`.
pub async fn worker(url: &str, from: NaiveDate, to: NaiveDate, job: Job) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    let sites = store.sites().await?;
    let now = origin::store::now_unix();
    let start = Instant::now();
    match job {
        Job::Scan => scan(url, &sites, from, to).await?,
        Job::Archive | Job::Days => {
            for site in &sites {
                let archiver =
                    SiteArchiver::new(&store, site, now, origin::archive::Settings::default());
                let mut months: Vec<Period> = Vec::new();
                for day in periods::days(from, to) {
                    archiver.get(periods::day(day), Mode::Force).await?;
                    let month = periods::containing(PeriodKind::Month, day);
                    if !months.contains(&month) {
                        months.push(month);
                    }
                }
                if job == Job::Archive {
                    for month in months {
                        archiver.get(month, Mode::Force).await?;
                    }
                }
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    store.close().await;
    println!(
        "{}",
        serde_json::json!({ "seconds": seconds, "peak_rss_mb": peak_rss_kb() as f64 / 1024.0 })
    );
    Ok(())
}

/// Reads every log row of the days once, grouped as the day archiver groups them (visits per
/// site, actions per URL), with no further logic.
async fn scan(
    url: &str,
    sites: &[origin::store::Site],
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<()> {
    let mut conn = db::sqlite_conn(url).await?;
    let (start, end) = (midnight(from), midnight(to) + 86_400);
    for site in sites {
        let _: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT idvisitor), COALESCE(SUM(visit_total_actions), 0), \
             COALESCE(SUM(visit_total_time), 0) FROM log_visit \
             WHERE idsite = ?1 AND visit_last_action_time >= ?2 AND visit_last_action_time < ?3 \
             GROUP BY referer_type, config_browser_name",
        )
        .bind(site.idsite)
        .bind(start)
        .bind(end)
        .fetch_all(&mut conn)
        .await?;
        let _: Vec<(Option<i64>, i64, i64)> = sqlx::query_as(
            "SELECT idaction_url, COUNT(*), COUNT(DISTINCT idvisit) FROM log_link_visit_action \
             WHERE idsite = ?1 AND server_time >= ?2 AND server_time < ?3 GROUP BY idaction_url",
        )
        .bind(site.idsite)
        .bind(start)
        .bind(end)
        .fetch_all(&mut conn)
        .await?;
    }
    Ok(())
}

/// The process's peak resident set (VmHWM), in kB; 0 where /proc is missing.
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| parse_vmhwm(&status))
        .unwrap_or(0)
}

fn parse_vmhwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The months (first day) a range touches, for the report.
pub fn months_of(from: NaiveDate, to: NaiveDate) -> usize {
    let months = |d: NaiveDate| d.year() * 12 + d.month() as i32;
    (months(to) - months(from) + 1).max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_resident_set_is_read_from_vmhwm() {
        let status = "Name:\tbench\nVmPeak:\t  9000 kB\nVmHWM:\t    4321 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(parse_vmhwm(status), Some(4321));
        assert_eq!(parse_vmhwm("Name: x\n"), None);
        assert!(peak_rss_kb() > 0, "this process has a resident set");
    }

    #[test]
    fn a_range_across_a_month_end_touches_two_months() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(months_of(d("2024-04-10"), d("2024-05-09")), 2);
        assert_eq!(months_of(d("2024-04-01"), d("2024-04-30")), 1);
    }
}
