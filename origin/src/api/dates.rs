//! `period=` and `date=` of the Reporting API: from the two strings and the site's "today" to
//! one period or a list of periods (spec/MATOMO.md 4.1, `core/Period/Factory.php`,
//! `core/Period/Range.php`, `core/Date.php::factory`).
//!
//! - `YYYY-MM-DD`, `today`, `now`, `yesterday`, `lastWeek`, `lastMonth`, `lastYear` name one day;
//!   with `period=day|week|month|year` the answer is the period containing it.
//! - `lastN` (N periods ending with the current one), `previousN` (N periods before the current
//!   one) and `D1,D2` (every period from the one holding D1 to the one holding D2) give several
//!   periods, which the API keys by [`label`].
//! - With `period=range` the same forms give ONE range of days (`last7` = the 7 days ending today).
//! - N is capped at Matomo's maximum per period (`Range::getMaxN`: day 5×365, week 10×52,
//!   month 10×12, year 10). An explicit `D1,D2` spanning more periods than that maximum is refused
//!   (Matomo would compute them all; one request must not be able to ask for 36,500 archives).
//! - A day before 1991-08-06 is refused with Matomo's message (`core/Date.php::factory`:
//!   `FIRST_WEBSITE_TIMESTAMP`, `General_ExceptionInvalidDateBeforeFirstWebsite`, followed by
//!   `": "` and the date's Unix timestamp, which is what `$dateString` holds after `strtotime`).
//! - A `period=range` longer than [`MAX_RANGE_DAYS`] is refused. Matomo has no such limit (it
//!   builds a long range from months and years); ours is built from its days, so
//!   `date=1991-08-06,2100-01-01` would keep a core busy for many seconds. The limit is the
//!   longest range `lastN` can ask for (`Range::getMaxN` for days).

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::reports::{Period, PeriodKind};

/// What a `period`/`date` pair asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dates {
    /// One period: the answer is that period's report.
    Single(Period),
    /// Several periods: the answer is keyed by each period's [`label`].
    Multi(Vec<Period>),
}

/// Parses `period=`.
pub fn parse_kind(period: &str) -> Result<PeriodKind, String> {
    match period {
        "day" => Ok(PeriodKind::Day),
        "week" => Ok(PeriodKind::Week),
        "month" => Ok(PeriodKind::Month),
        "year" => Ok(PeriodKind::Year),
        "range" => Ok(PeriodKind::Range),
        other => Err(format!(
            "The period '{other}' is not supported. Try any of the following instead: day, week, month, year, range"
        )),
    }
}

/// Resolves `period` and `date` with `today` the current day in the site's time zone.
pub fn parse(kind: PeriodKind, date: &str, today: NaiveDate) -> Result<Dates, String> {
    let date = date.trim();
    if kind == PeriodKind::Range {
        return range_period(date, today).map(Dates::Single);
    }
    if let Some((n, previous)) = last_or_previous(date) {
        let n = n.clamp(1, max_n(kind));
        let mut end = containing(kind, today);
        if previous {
            end = step(end, -1);
        }
        let mut periods = vec![end];
        for _ in 1..n {
            let earlier = step(periods[periods.len() - 1], -1);
            periods.push(earlier);
        }
        periods.reverse();
        return Ok(Dates::Multi(periods));
    }
    if let Some((from, to)) = date.split_once(',') {
        let (from, to) = (resolve_day(from, today)?, resolve_day(to, today)?);
        if from > to {
            return Err(invalid_range(date));
        }
        let last = containing(kind, to);
        let mut periods = vec![containing(kind, from)];
        while periods[periods.len() - 1].start < last.start {
            if periods.len() as u32 >= max_n(kind) {
                return Err(format!(
                    "The date range '{date}' holds more than {} periods of this kind: ask for a larger period",
                    max_n(kind)
                ));
            }
            let next = step(periods[periods.len() - 1], 1);
            periods.push(next);
        }
        return Ok(Dates::Multi(periods));
    }
    Ok(Dates::Single(containing(kind, resolve_day(date, today)?)))
}

/// The key of a period in multi-period answers: `2026-10-05`, `2026-09-28,2026-10-04` (weeks and
/// ranges), `2026-10`, `2026`.
pub fn label(period: &Period) -> String {
    match period.kind {
        PeriodKind::Day => period.start.format("%Y-%m-%d").to_string(),
        PeriodKind::Week | PeriodKind::Range => format!(
            "{},{}",
            period.start.format("%Y-%m-%d"),
            period.end.format("%Y-%m-%d")
        ),
        PeriodKind::Month => period.start.format("%Y-%m").to_string(),
        PeriodKind::Year => period.start.format("%Y").to_string(),
    }
}

/// The longest `period=range`, in days: what `period=range&date=lastN` is capped at.
pub const MAX_RANGE_DAYS: u32 = 5 * 365;

/// `Date::FIRST_WEBSITE_TIMESTAMP`: Tue, 06 Aug 1991, the first day Matomo accepts.
const FIRST_WEBSITE_DAY: (i32, u32, u32) = (1991, 8, 6);

/// `Range::getMaxN`.
fn max_n(kind: PeriodKind) -> u32 {
    match kind {
        PeriodKind::Day | PeriodKind::Range => 5 * 365,
        PeriodKind::Week => 10 * 52,
        PeriodKind::Month => 10 * 12,
        PeriodKind::Year => 10,
    }
}

/// `last7` -> (7, false), `previous3` -> (3, true).
fn last_or_previous(date: &str) -> Option<(u32, bool)> {
    let (digits, previous) = if let Some(rest) = date.strip_prefix("last") {
        (rest, false)
    } else {
        (date.strip_prefix("previous")?, true)
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // More digits than u32 holds is "a very large N", capped like any other.
    Some((digits.parse().unwrap_or(u32::MAX), previous))
}

/// One day: a `YYYY-MM-DD` date or a keyword (`Date::factory`).
pub fn resolve_day(value: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let value = value.trim();
    let day = match value {
        "today" | "now" => Some(today),
        "yesterday" => today.checked_sub_days(Days::new(1)),
        "lastWeek" => today.checked_sub_days(Days::new(7)),
        "lastMonth" => today.checked_sub_months(Months::new(1)),
        "lastYear" => today.checked_sub_months(Months::new(12)),
        _ => strict_iso(value),
    };
    let day = day.ok_or_else(|| {
        format!(
            "Date format must be: YYYY-MM-DD, or 'today' or 'yesterday' or any keyword supported by the strtotime function (see http://php.net/strtotime for more information): {value}"
        )
    })?;
    let (year, month, first) = FIRST_WEBSITE_DAY;
    let first_website = NaiveDate::from_ymd_opt(year, month, first).unwrap_or(NaiveDate::MIN);
    if day < first_website {
        let timestamp = day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp();
        return Err(format!(
            "The date '{day}' is a date before first website was online. Try date that's after Aug 6, 1991 (timestamp 681436800).: {timestamp}"
        ));
    }
    Ok(day)
}

/// `YYYY-MM-DD` with a four-digit year, nothing else.
fn strict_iso(value: &str) -> Option<NaiveDate> {
    let bytes = value.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()
}

fn invalid_range(date: &str) -> String {
    format!(
        "The date '{date}' is not a correct date range. It should have the following format: YYYY-MM-DD,YYYY-MM-DD."
    )
}

/// `period=range`: `D1,D2` (either end may be a keyword), `lastN`, `previousN`.
fn range_period(date: &str, today: NaiveDate) -> Result<Period, String> {
    let (start, end) = if let Some((n, previous)) = last_or_previous(date) {
        let n = n.clamp(1, max_n(PeriodKind::Range));
        let end = if previous {
            today.checked_sub_days(Days::new(1))
        } else {
            Some(today)
        };
        let start = end.and_then(|end| end.checked_sub_days(Days::new(u64::from(n) - 1)));
        match (start, end) {
            (Some(start), Some(end)) => (start, end),
            _ => return Err(invalid_range(date)),
        }
    } else if let Some((from, to)) = date.split_once(',') {
        (resolve_day(from, today)?, resolve_day(to, today)?)
    } else {
        return Err(invalid_range(date));
    };
    if start > end {
        return Err(invalid_range(date));
    }
    let days = (end - start).num_days() + 1;
    if days > i64::from(MAX_RANGE_DAYS) {
        return Err(format!(
            "The date range '{date}' spans {days} days, more than the {MAX_RANGE_DAYS} (5 years) a range may span: ask for period=year, or for several shorter ranges."
        ));
    }
    Ok(Period {
        kind: PeriodKind::Range,
        start,
        end,
    })
}

/// The period of `kind` that contains `day`.
pub fn containing(kind: PeriodKind, day: NaiveDate) -> Period {
    let (start, end) = match kind {
        PeriodKind::Day | PeriodKind::Range => (day, day),
        PeriodKind::Week => {
            let back = u64::from(day.weekday().num_days_from_monday());
            let start = day.checked_sub_days(Days::new(back)).unwrap_or(day);
            (start, start.checked_add_days(Days::new(6)).unwrap_or(start))
        }
        PeriodKind::Month => {
            let start = day.with_day(1).unwrap_or(day);
            let end = start
                .checked_add_months(Months::new(1))
                .and_then(|next| next.pred_opt())
                .unwrap_or(start);
            (start, end)
        }
        PeriodKind::Year => (
            NaiveDate::from_ymd_opt(day.year(), 1, 1).unwrap_or(day),
            NaiveDate::from_ymd_opt(day.year(), 12, 31).unwrap_or(day),
        ),
    };
    Period { kind, start, end }
}

/// The period `by` steps (±1) after `period`, of the same kind.
fn step(period: Period, by: i64) -> Period {
    let day = if by < 0 {
        period.start.pred_opt().unwrap_or(period.start)
    } else {
        period.end.succ_opt().unwrap_or(period.end)
    };
    containing(period.kind, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn labels(dates: &Dates) -> Vec<String> {
        match dates {
            Dates::Single(p) => vec![label(p)],
            Dates::Multi(ps) => ps.iter().map(label).collect(),
        }
    }

    const TODAY: &str = "2026-11-28";

    #[test]
    fn a_week_runs_monday_to_sunday_and_is_labelled_by_both_ends() {
        let got = parse(PeriodKind::Week, "2026-10-01", d(TODAY)).unwrap();
        assert_eq!(labels(&got), vec!["2026-09-28,2026-10-04"]);
        assert!(matches!(got, Dates::Single(_)));
    }

    #[test]
    fn last_n_ends_with_today_and_previous_n_ends_yesterday() {
        let last = parse(PeriodKind::Day, "last7", d(TODAY)).unwrap();
        assert_eq!(labels(&last).first().unwrap(), "2026-11-22");
        assert_eq!(labels(&last).last().unwrap(), "2026-11-28");
        assert_eq!(labels(&last).len(), 7);
        let previous = parse(PeriodKind::Day, "previous3", d(TODAY)).unwrap();
        assert_eq!(
            labels(&previous),
            vec!["2026-11-25", "2026-11-26", "2026-11-27"]
        );
    }

    #[test]
    fn last_two_years_are_labelled_by_year() {
        let got = parse(PeriodKind::Year, "last2", d(TODAY)).unwrap();
        assert_eq!(labels(&got), vec!["2025", "2026"]);
    }

    #[test]
    fn an_explicit_range_of_months_gives_every_month() {
        let got = parse(PeriodKind::Month, "2026-09-01,2026-10-31", d(TODAY)).unwrap();
        assert_eq!(labels(&got), vec!["2026-09", "2026-10"]);
        let weeks = parse(PeriodKind::Week, "2026-09-28,2026-10-11", d(TODAY)).unwrap();
        assert_eq!(
            labels(&weeks),
            vec!["2026-09-28,2026-10-04", "2026-10-05,2026-10-11"]
        );
    }

    #[test]
    fn a_range_period_is_one_period_and_accepts_keywords() {
        let got = parse(PeriodKind::Range, "2026-09-30,2026-10-08", d(TODAY)).unwrap();
        assert_eq!(labels(&got), vec!["2026-09-30,2026-10-08"]);
        let open = parse(PeriodKind::Range, "2026-11-01,today", d(TODAY)).unwrap();
        assert_eq!(labels(&open), vec!["2026-11-01,2026-11-28"]);
        let last = parse(PeriodKind::Range, "last7", d(TODAY)).unwrap();
        assert_eq!(labels(&last), vec!["2026-11-22,2026-11-28"]);
    }

    #[test]
    fn keywords_name_one_day_relative_to_today() {
        let t = d(TODAY);
        assert_eq!(resolve_day("yesterday", t).unwrap(), d("2026-11-27"));
        assert_eq!(resolve_day("lastWeek", t).unwrap(), d("2026-11-21"));
        assert_eq!(resolve_day("lastMonth", t).unwrap(), d("2026-10-28"));
        assert_eq!(resolve_day("lastYear", t).unwrap(), d("2025-11-28"));
        let month = parse(PeriodKind::Month, "lastMonth", t).unwrap();
        assert_eq!(labels(&month), vec!["2026-10"]);
    }

    #[test]
    fn n_is_capped_at_matomos_maximum() {
        let got = parse(PeriodKind::Year, "last50", d(TODAY)).unwrap();
        assert_eq!(labels(&got).len(), 10);
        let huge = parse(PeriodKind::Month, "last99999999999999999999", d(TODAY)).unwrap();
        assert_eq!(labels(&huge).len(), 120);
    }

    #[test]
    fn malformed_dates_and_backwards_ranges_are_refused() {
        let t = d(TODAY);
        assert!(parse(PeriodKind::Day, "2026-13-01", t).is_err());
        assert!(parse(PeriodKind::Day, "26-10-01", t).is_err());
        assert!(parse(PeriodKind::Day, "lastx", t).is_err());
        assert!(parse(PeriodKind::Range, "2026-10-02,2026-10-01", t).is_err());
        assert!(parse(PeriodKind::Range, "2026-10-02", t).is_err());
        assert!(parse(PeriodKind::Day, "1900-01-01,2026-01-01", t).is_err());
        assert!(parse_kind("hour").is_err());
    }

    #[test]
    fn a_day_before_the_first_website_is_refused_like_matomo() {
        let err = parse(PeriodKind::Range, "1000-01-01,2100-01-01", d(TODAY)).unwrap_err();
        assert_eq!(
            err,
            "The date '1000-01-01' is a date before first website was online. Try date that's after Aug 6, 1991 (timestamp 681436800).: -30610224000"
        );
        assert!(parse(PeriodKind::Day, "1991-08-05", d(TODAY)).is_err());
        assert!(parse(PeriodKind::Day, "1991-08-06", d(TODAY)).is_ok());
    }

    #[test]
    fn a_range_longer_than_five_years_is_refused_and_five_years_is_not() {
        let err = parse(PeriodKind::Range, "1991-08-06,2100-01-01", d(TODAY)).unwrap_err();
        assert!(
            err.contains("spans 39596 days, more than the 1825"),
            "{err}"
        );
        let end = d("2020-01-01") + Days::new(u64::from(MAX_RANGE_DAYS) - 1);
        let longest = format!("2020-01-01,{end}");
        assert!(parse(PeriodKind::Range, &longest, d(TODAY)).is_ok());
        let end = end + Days::new(1);
        assert!(parse(PeriodKind::Range, &format!("2020-01-01,{end}"), d(TODAY)).is_err());
        let capped = parse(PeriodKind::Range, "last99999", d(TODAY)).unwrap();
        assert!(matches!(capped, Dates::Single(p) if (p.end - p.start).num_days() + 1 == 1825));
    }
}
