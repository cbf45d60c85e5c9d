//! Calendar arithmetic of archiving: the period containing a day, the sub-periods a period is
//! summed from, and the UTC bounds of a site-local day.

use chrono::{Datelike, Days, NaiveDate, TimeZone};

use crate::{
    period::{Period, PeriodKind},
    tracker::SiteTz,
};

/// Matomo's numeric period codes (`archive.period`): 1 day, 2 week, 3 month, 4 year, 5 range.
pub fn code(kind: PeriodKind) -> i64 {
    match kind {
        PeriodKind::Day => 1,
        PeriodKind::Week => 2,
        PeriodKind::Month => 3,
        PeriodKind::Year => 4,
        PeriodKind::Range => 5,
    }
}

/// The kind of a period code, `None` for an unknown code.
pub fn kind_of(code: i64) -> Option<PeriodKind> {
    Some(match code {
        1 => PeriodKind::Day,
        2 => PeriodKind::Week,
        3 => PeriodKind::Month,
        4 => PeriodKind::Year,
        5 => PeriodKind::Range,
        _ => return None,
    })
}

/// The period of `kind` containing `date` (weeks run Monday to Sunday). A range is the day itself.
pub fn containing(kind: PeriodKind, date: NaiveDate) -> Period {
    let (start, end) = match kind {
        PeriodKind::Day | PeriodKind::Range => (date, date),
        PeriodKind::Week => {
            let start = date - Days::new(u64::from(date.weekday().num_days_from_monday()));
            (start, start + Days::new(6))
        }
        PeriodKind::Month => {
            let start = date.with_day(1).unwrap_or(date);
            (start, last_day_of_month(start))
        }
        PeriodKind::Year => {
            let start = NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date);
            let end = NaiveDate::from_ymd_opt(date.year(), 12, 31).unwrap_or(date);
            (start, end)
        }
    };
    Period { kind, start, end }
}

fn last_day_of_month(first: NaiveDate) -> NaiveDate {
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    next.pred_opt().unwrap_or(first)
}

/// A day as a period.
pub fn day(date: NaiveDate) -> Period {
    containing(PeriodKind::Day, date)
}

/// Every day from `start` to `end` inclusive.
pub fn days(start: NaiveDate, end: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    start.iter_days().take_while(move |d| *d <= end)
}

/// The periods a period's archive is summed from: a week and a month from their days, a year
/// from its months, a range from its days. A day has none.
pub fn sub_periods(period: &Period) -> Vec<Period> {
    match period.kind {
        PeriodKind::Day => Vec::new(),
        PeriodKind::Week | PeriodKind::Month | PeriodKind::Range => {
            days(period.start, period.end).map(day).collect()
        }
        PeriodKind::Year => {
            let mut months = Vec::new();
            let mut first = period.start;
            while first <= period.end {
                months.push(containing(PeriodKind::Month, first));
                match first.checked_add_months(chrono::Months::new(1)) {
                    Some(next) => first = next,
                    None => break,
                }
            }
            months
        }
    }
}

/// The first UNIX second of a site-local day. A midnight that does not exist (a DST jump at
/// midnight) starts at the first existing local time.
pub fn local_midnight(tz: &SiteTz, date: NaiveDate) -> i64 {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    match tz {
        SiteTz::Named(tz) => {
            let mut probe = midnight;
            // Gaps last at most a few hours; probing by the quarter hour finds the first valid time.
            for _ in 0..16 {
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.timestamp();
                }
                probe += chrono::Duration::minutes(15);
            }
            midnight.and_utc().timestamp()
        }
        SiteTz::Fixed(offset) => {
            midnight.and_utc().timestamp() - i64::from(offset.local_minus_utc())
        }
    }
}

/// The UTC seconds `[from, to)` of a site-local period.
pub fn utc_bounds(tz: &SiteTz, start: NaiveDate, end: NaiveDate) -> (i64, i64) {
    let after = end.succ_opt().unwrap_or(end);
    (local_midnight(tz, start), local_midnight(tz, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_week_runs_from_monday_to_sunday() {
        let week = containing(PeriodKind::Week, date("2026-10-01"));
        assert_eq!(week.start, date("2026-09-28"));
        assert_eq!(week.end, date("2026-10-04"));
    }

    #[test]
    fn february_of_a_leap_year_ends_on_the_29th() {
        let month = containing(PeriodKind::Month, date("2028-02-10"));
        assert_eq!(month.end, date("2028-02-29"));
    }

    #[test]
    fn a_year_is_summed_from_its_twelve_months() {
        let year = containing(PeriodKind::Year, date("2026-05-05"));
        let months = sub_periods(&year);
        assert_eq!(months.len(), 12);
        assert_eq!(months[11].end, date("2026-12-31"));
    }

    #[test]
    fn a_new_york_day_starts_at_four_or_five_utc() {
        let tz = SiteTz::parse("America/New_York");
        let (from, to) = utc_bounds(&tz, date("2026-10-01"), date("2026-10-01"));
        // 2026-10-01 04:00 UTC (EDT, UTC-4).
        assert_eq!(from, 1_790_827_200);
        assert_eq!(to - from, 86_400);
        let (from, _) = utc_bounds(&tz, date("2026-12-01"), date("2026-12-01"));
        // 2026-12-01 05:00 UTC (EST, UTC-5).
        assert_eq!(from, 1_796_101_200);
    }
}
