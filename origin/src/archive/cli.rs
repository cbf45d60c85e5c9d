//! The `edgemeter archive` and `edgemeter invalidate-report-data` commands, with Matomo's
//! options and progress lines on stderr.

use anyhow::{bail, Context};
use chrono::NaiveDate;

use super::{periods, process_invalidations, run_once, storage, Mode, SiteArchiver};
use crate::{
    cli::{ArchiveArgs, InvalidateArgs},
    period::{Period, PeriodKind},
    store::Store,
};

fn parse_kind(name: &str) -> anyhow::Result<PeriodKind> {
    Ok(match name.trim() {
        "day" => PeriodKind::Day,
        "week" => PeriodKind::Week,
        "month" => PeriodKind::Month,
        "year" => PeriodKind::Year,
        "range" => PeriodKind::Range,
        other => bail!("unknown period {other:?} (day, week, month, year, range)"),
    })
}

/// `YYYY-MM-DD` or `YYYY-MM-DD,YYYY-MM-DD` as an inclusive pair.
fn parse_dates(value: &str) -> anyhow::Result<(NaiveDate, NaiveDate)> {
    let parse = |s: &str| {
        s.trim()
            .parse::<NaiveDate>()
            .with_context(|| format!("invalid date {s:?} (expected YYYY-MM-DD)"))
    };
    let (start, end) = match value.split_once(',') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => (parse(value)?, parse(value)?),
    };
    if start > end {
        bail!("the date range {value:?} ends before it starts");
    }
    Ok((start, end))
}

async fn sites(store: &Store, only: &[i64]) -> anyhow::Result<Vec<crate::store::Site>> {
    let mut sites = Vec::new();
    for idsite in storage::site_ids(store).await? {
        if !only.is_empty() && !only.contains(&idsite) {
            continue;
        }
        if let Some(site) = store.site(idsite).await? {
            sites.push(site);
        }
    }
    for idsite in only {
        if !sites.iter().any(|s| s.idsite == *idsite) {
            bail!("no site with id {idsite}");
        }
    }
    Ok(sites)
}

/// `edgemeter archive`.
pub async fn archive(
    store: &Store,
    args: &ArchiveArgs,
    settings: super::Settings,
) -> anyhow::Result<()> {
    let now = crate::store::now_unix();
    let Some(range) = &args.force_date_range else {
        if !args.force_idsites.is_empty() {
            eprintln!("note: without --force-date-range every site is archived");
        }
        let outcome = run_once(store, now, settings).await?;
        eprintln!(
            "archived {} archives, consumed {} invalidations, {} sites failed",
            outcome.archived, outcome.invalidations, outcome.errors
        );
        if outcome.errors > 0 {
            bail!("archiving failed for {} sites", outcome.errors);
        }
        return Ok(());
    };
    let (start, end) = parse_dates(range)?;
    let kinds: Vec<PeriodKind> = if args.force_periods.is_empty() {
        vec![
            PeriodKind::Day,
            PeriodKind::Week,
            PeriodKind::Month,
            PeriodKind::Year,
        ]
    } else {
        args.force_periods
            .iter()
            .map(|p| parse_kind(p))
            .collect::<anyhow::Result<_>>()?
    };
    let invalidations = process_invalidations(store).await?;
    if invalidations > 0 {
        eprintln!("consumed {invalidations} invalidations");
    }
    for site in sites(store, &args.force_idsites).await? {
        let archiver = SiteArchiver::new(store, &site, now, settings);
        eprintln!(
            "site {} ({}): archiving {start} to {end} ({})",
            site.idsite,
            site.timezone,
            kinds
                .iter()
                .map(|k| format!("{k:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(",")
        );
        for kind in &kinds {
            let mut done: Vec<Period> = Vec::new();
            for date in periods::days(start, end) {
                let period = if *kind == PeriodKind::Range {
                    Period {
                        kind: PeriodKind::Range,
                        start,
                        end,
                    }
                } else {
                    periods::containing(*kind, date)
                };
                if done.contains(&period) {
                    continue;
                }
                done.push(period);
                archiver.get(period, Mode::Force).await?;
            }
            eprintln!("  {} {kind:?} archives", done.len());
        }
        eprintln!("site {}: {} archives built", site.idsite, archiver.built());
    }
    Ok(())
}

/// `edgemeter invalidate-report-data`.
pub async fn invalidate(store: &Store, args: &InvalidateArgs) -> anyhow::Result<()> {
    let only: Vec<i64> = if args.sites.trim() == "all" {
        Vec::new()
    } else {
        args.sites
            .split(',')
            .map(|s| s.trim().parse::<i64>().context("invalid --sites"))
            .collect::<anyhow::Result<_>>()?
    };
    let kinds: Vec<PeriodKind> = if args.periods.trim() == "all" {
        vec![
            PeriodKind::Day,
            PeriodKind::Week,
            PeriodKind::Month,
            PeriodKind::Year,
            PeriodKind::Range,
        ]
    } else {
        args.periods
            .split(',')
            .map(parse_kind)
            .collect::<anyhow::Result<_>>()?
    };
    let ranges: Vec<(NaiveDate, NaiveDate)> = args
        .dates
        .iter()
        .map(|d| parse_dates(d))
        .collect::<anyhow::Result<_>>()?;
    let mut total = 0;
    for site in sites(store, &only).await? {
        for (start, end) in &ranges {
            for kind in &kinds {
                let mut seen: Vec<Period> = Vec::new();
                for date in periods::days(*start, *end) {
                    let period = if *kind == PeriodKind::Range {
                        Period {
                            kind: PeriodKind::Range,
                            start: *start,
                            end: *end,
                        }
                    } else {
                        periods::containing(*kind, date)
                    };
                    if seen.contains(&period) {
                        continue;
                    }
                    seen.push(period);
                    total +=
                        super::invalidate_period(store, site.idsite, &period, args.cascade).await?;
                }
            }
        }
    }
    eprintln!("{total} archives invalidated; run `edgemeter archive` to rebuild them");
    Ok(())
}
